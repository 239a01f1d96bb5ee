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
    let engines = Engines::load(config)?;
    super::runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| Error::Config(format!("cannot listen on {listen}: {e}")))?;
        let addr = listener.local_addr().map_err(Error::internal)?;
        print_banner(&engines, addr);
        axum::serve(listener, router(AppState::new(engines)))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| Error::internal(format!("HTTP server: {e}")))
    })
}

fn print_banner(engines: &Engines, addr: SocketAddr) {
    let a = &engines.asr_model;
    let v = &engines.vad_model;
    println!("voicegate {} listening on http://{addr}", env!("CARGO_PKG_VERSION"));
    println!(
        "  ASR  {:<16} {} (from {}), {} worker(s) x {} thread(s)",
        a.name,
        a.path.display(),
        a.origin,
        engines.asr.workers(),
        engines.asr.options.threads
    );
    println!("  VAD  {:<16} {} (from {})", v.name, v.path.display(), v.origin);
    println!("try:");
    println!("  curl http://{addr}/health");
    println!("  curl --data-binary @audio-fixtures/en_order_status.wav http://{addr}/v1/replay");
    println!("  curl -d '{{\"session_id\":\"demo\",\"text\":\"where is order 48152\"}}' http://{addr}/v1/chat");
    println!("  {} replay audio-fixtures/conv_en_shop_address.wav --out call.wav", this_command());
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
