//! `voicegate serve`: the gateway.

use std::net::SocketAddr;

use clap::Args;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::{router, AppState};
use crate::pipeline::Engines;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// HTTP address to listen on (default from the config: http.listen); port 0 picks a free one
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// SIP address, UDP and TCP (default from the config: sip.listen); port 0 picks a free one
    #[arg(long, value_name = "ADDR")]
    pub sip: Option<SocketAddr>,
    /// Do not answer phone calls (HTTP only)
    #[arg(long)]
    pub no_sip: bool,
}

pub fn run(config: Config, args: ServeArgs) -> Result<()> {
    let listen = match args.listen {
        Some(a) => a,
        None => config
            .http
            .listen
            .parse()
            .map_err(|e| Error::Config(format!("http.listen: {e}")))?,
    };
    let mut config = config;
    if args.no_sip {
        config.sip.enabled = false;
    }
    let engines = Engines::load(config)?;
    engines.keep_voice_detectors_ready()?;
    super::runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| Error::Config(format!("cannot listen on {listen}: {e}")))?;
        let addr = listener.local_addr().map_err(Error::internal)?;
        let sip = crate::phone::start(engines.clone(), args.sip).await?;
        print_banner(&engines, addr, sip.as_ref().map(|(s, _)| s.local));
        let state = AppState::new(engines).with_phone(sip.as_ref().map(|(s, p)| (s.stats.clone(), p.clone())));
        let served = axum::serve(listener, router(state))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| Error::internal(format!("HTTP server: {e}")));
        if let Some((s, _)) = &sip {
            s.shutdown();
            // The calls still up get their BYE and close their recordings.
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        served
    })
}

/// Where a started `voicegate serve` listens, as its banner says (read back by whoever started
/// it: the calls bench, the tests).
#[derive(Debug, Default, PartialEq)]
pub struct Banner {
    pub http: Option<String>,
    /// None with "SIP  off".
    pub sip: Option<SocketAddr>,
}

/// Reads the first two lines [`print_banner`] writes: the HTTP address, then the SIP one.
pub fn read_banner(lines: &mut impl Iterator<Item = std::io::Result<String>>) -> std::io::Result<Banner> {
    let mut banner = Banner::default();
    for line in lines.take(2) {
        for w in line?.split_whitespace() {
            if w.starts_with("http://") {
                banner.http = Some(w.to_string());
            } else if let Ok(a) = w.parse() {
                banner.sip = Some(a);
            }
        }
    }
    Ok(banner)
}

fn print_banner(engines: &Engines, addr: SocketAddr, sip: Option<SocketAddr>) {
    let a = &engines.asr_model;
    let v = &engines.vad_model;
    println!("voicegate {} listening on http://{addr}", env!("CARGO_PKG_VERSION"));
    match sip {
        Some(s) => println!("  SIP  udp+tcp {s} (calls recorded under {})", engines.config.sip.recordings.display()),
        None => println!("  SIP  off"),
    }
    println!(
        "  ASR  {:<16} {} (from {}), {} worker(s) and {} for partial transcripts, up to {} thread(s) per decode",
        a.name,
        a.path.display(),
        a.origin,
        engines.asr.workers(),
        engines.asr.partial_workers(),
        engines.asr.options.threads
    );
    println!("  VAD  {:<16} {} (from {})", v.name, v.path.display(), v.origin);
    println!("try:");
    println!("  curl http://{addr}/health");
    println!("  curl --data-binary @audio-fixtures/en_order_status.wav http://{addr}/v1/replay");
    println!("  curl -d '{{\"session_id\":\"demo\",\"text\":\"where is order 48152\"}}' http://{addr}/v1/chat");
    println!("  {} replay audio-fixtures/conv_en_shop_address.wav --out call.wav", this_command());
    if let Some(s) = sip {
        println!("  {} dial sip:bot@127.0.0.1:{} --play audio-fixtures/en_order_status.wav --record call.wav", this_command(), s.port());
        println!("  {} calls", this_command());
    }
    println!("stop with Ctrl-C");
}

/// How to call this binary from here: `voicegate` when it is on the PATH, else its path.
fn this_command() -> String {
    let Ok(exe) = std::env::current_exe() else {
        return "voicegate".into();
    };
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("voicegate") == exe))
        .unwrap_or(false);
    if on_path {
        return "voicegate".into();
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    exe.strip_prefix(&cwd).unwrap_or(&exe).display().to_string()
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[cfg(test)]
mod banner_tests {
    use super::*;

    #[test]
    fn the_banner_reads_back() {
        let text = "voicegate 0.1.0 listening on http://127.0.0.1:8080\n  SIP  udp+tcp 127.0.0.1:5060 (calls recorded under var/recordings)\n  ASR  whisper-tiny.en  x\n";
        let mut lines = text.lines().map(|l| Ok(l.to_string()));
        let b = read_banner(&mut lines).unwrap();
        assert_eq!(b, Banner { http: Some("http://127.0.0.1:8080".into()), sip: Some("127.0.0.1:5060".parse().unwrap()) });
        // Only the two lines are taken.
        assert!(lines.next().is_some());
        let off = "voicegate 0.1.0 listening on http://127.0.0.1:8080\n  SIP  off\n";
        assert_eq!(read_banner(&mut off.lines().map(|l| Ok(l.to_string()))).unwrap().sip, None);
    }
}
