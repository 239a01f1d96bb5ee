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
    /// HTTPS address (default from the config: http.tls_listen); port 0 picks a free one, "off"
    /// serves no HTTPS
    #[arg(long, value_name = "ADDR")]
    pub tls_listen: Option<String>,
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
    let tls_listen: Option<SocketAddr> = match args.tls_listen.as_deref().unwrap_or(&config.http.tls_listen) {
        "" | "off" => None,
        a => Some(a.parse().map_err(|e| Error::Config(format!("http.tls_listen ({a}): {e}")))?),
    };
    let engines = Engines::load(config)?;
    // Calls a killed gateway left "in progress" are closed before any new one starts.
    let recovered = crate::live::close_interrupted_calls(&engines.store)?;
    if !recovered.is_empty() {
        eprintln!("closed {} call(s) left in progress by a previous gateway process (reason gateway_restart)", recovered.len());
    }
    // Calls from before the QA console's index (or a crash) are indexed now.
    match engines.store.index_missing(Some(&engines.config.qa)) {
        Ok(0) => {}
        Ok(n) => tracing::info!(calls = n, "calls indexed for search"),
        Err(e) => tracing::warn!(error = %e, "calls not indexed for search"),
    }
    engines.keep_voice_detectors_ready()?;
    super::runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| Error::Config(format!("cannot listen on {listen}: {e}")))?;
        let addr = listener.local_addr().map_err(Error::internal)?;
        crate::store::retention::start_daily(engines.store.clone(), engines.config.privacy.retention_days);
        let live = std::sync::Arc::new(crate::live::LiveCalls::default());
        crate::live::memory::start_returning(live.clone());
        // The Chinese recogniser's slow first decode, made once no call has been up for 5 s in
        // a row (a gateway started for a call at once leaves it to that call).
        {
            let (engines, live) = (engines.clone(), live.clone());
            tokio::spawn(async move {
                let mut idle_s = 0;
                while idle_s < 5 {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    idle_s = if live.count() == 0 { idle_s + 1 } else { 0 };
                }
                engines.warm_up().await;
                tracing::debug!("Chinese recogniser warmed up");
            });
        }
        // Agents' softphones register with the SIP server; the desk rings them there.
        let softphones = crate::agents::softphones::Softphones::new(engines.store.clone(), &engines.config.sip.realm);
        softphones.start_sweeping();
        let sip = crate::phone::start(engines.clone(), live.clone(), args.sip, Some(softphones.clone())).await?;
        let inapp = crate::inapp::InApp::start(engines.clone(), live.clone())?;
        // The agents' desk: handed-off calls queue there; SIP agents are called from beside
        // the SIP listener.
        let agents_from = sip.as_ref().map(|(s, _)| {
            let ip = if s.local.ip().is_unspecified() { voicegate_sip::outward_ip() } else { s.local.ip() };
            SocketAddr::new(ip, 0)
        });
        let rtp = engines.config.sip.rtp_ports;
        let hold = crate::live::room::HoldAudio::load(&engines.config.agents.hold_audio).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "hold audio not read: the chime instead");
            crate::live::room::HoldAudio::chime()
        });
        live.set_desk(crate::agents::desk::Desk::start(engines.config.agents.acd(), engines.store.clone(), agents_from, (rtp[0], rtp[1]), (engines.config.sip.jitter_ms as usize).div_ceil(20), hold, Some(softphones)).await);
        // HTTPS beside plain HTTP, on the same routes.
        let https = match tls_listen {
            Some(at) => {
                let names = crate::http::tls::local_names(&inapp.as_ref().map(|c| c.endpoint.ips.clone()).unwrap_or_default());
                let var = engines.config.store.path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
                let tls = crate::http::tls::load(&engines.config.http, &var, &names).await?;
                let l = std::net::TcpListener::bind(at).map_err(|e| Error::Config(format!("cannot listen on {at} (HTTPS, http.tls_listen): {e}")))?;
                l.set_nonblocking(true).map_err(Error::internal)?;
                let bound = l.local_addr().map_err(Error::internal)?;
                Some((l, bound, tls))
            }
            None => None,
        };
        let first_admin = first_admin(&engines.store)?;
        print_banner(&engines, addr, sip.as_ref().map(|(s, _)| (s.local, s.tls_local)), inapp.as_deref(), https.as_ref().map(|(_, a, t)| (*a, t.self_signed.clone())), first_admin.as_deref());
        let state = AppState::new(engines.clone(), live.clone()).with_inapp(inapp).with_phone(sip.as_ref().map(|(s, p)| crate::http::PhoneState { stats: s.stats.clone(), live: s.counter(), calls: p.clone() }));
        // Threshold alerts from today's figures, the queue and the recogniser.
        crate::alerts::start(engines.config.alerts.clone(), state.alerts.clone(), move || {
            let day = crate::orders::date::Day::today().iso();
            let (csat_satisfied, surveys) = engines.store.satisfaction(&day).unwrap_or_default();
            crate::alerts::Facts {
                csat_satisfied,
                surveys,
                anger_rate: engines.store.anger_rate(&day).ok().flatten(),
                longest_wait_ms: live.desk().map(|d| d.waiting_now().iter().map(|w| w.1).max().unwrap_or(0)).unwrap_or(0),
                asr_queued: engines.asr.queued(),
            }
        });
        let app = router(state);
        let handle = axum_server::Handle::new();
        if let Some((l, _, tls)) = https {
            let server = axum_server::tls_rustls::from_tcp_rustls(l, tls.config).map_err(Error::internal)?.handle(handle.clone());
            let app = app.clone().layer(axum::Extension(crate::http::auth::Https));
            tokio::spawn(async move {
                if let Err(e) = server.serve(app.into_make_service_with_connect_info::<SocketAddr>()).await {
                    tracing::warn!(error = %e, "HTTPS server stopped");
                }
            });
        }
        let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| Error::internal(format!("HTTP server: {e}")));
        handle.graceful_shutdown(Some(std::time::Duration::from_secs(1)));
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
    /// SIP over TLS, when on (`tls=ADDR` on the SIP line).
    pub sip_tls: Option<SocketAddr>,
}

/// Reads the first two lines [`print_banner`] writes: the HTTP address, then the SIP one.
pub fn read_banner(lines: &mut impl Iterator<Item = std::io::Result<String>>) -> std::io::Result<Banner> {
    let mut banner = Banner::default();
    for line in lines.take(2) {
        for w in line?.split_whitespace() {
            if w.starts_with("http://") {
                banner.http = Some(w.to_string());
            } else if let Some(a) = w.strip_prefix("tls=").and_then(|a| a.parse().ok()) {
                banner.sip_tls = Some(a);
            } else if let Ok(a) = w.parse() {
                banner.sip = Some(a);
            }
        }
    }
    Ok(banner)
}

/// How long the banner's demo call link works.
const DEMO_TOKEN_TTL_S: u64 = 12 * 3600;

/// With no users and no tokens yet, an admin with a new password, printed once in the banner.
fn first_admin(store: &crate::store::Store) -> Result<Option<String>> {
    if !store.users()?.is_empty() || !store.tokens()?.is_empty() {
        return Ok(None);
    }
    let pw = crate::auth::new_password()?;
    store.add_user("admin", crate::auth::Role::Admin, &pw)?;
    store.audit("voicegate", "first_admin", "admin")?;
    Ok(Some(pw))
}

fn print_banner(engines: &Engines, addr: SocketAddr, sip: Option<(SocketAddr, Option<SocketAddr>)>, inapp: Option<&crate::inapp::InApp>, https: Option<(SocketAddr, Option<std::path::PathBuf>)>, first_admin: Option<&str>) {
    use std::fmt::Write as _;
    let mut o = String::new();
    let a = &engines.asr_model;
    let v = &engines.vad_model;
    let _ = writeln!(o, "voicegate {} listening on http://{addr}", env!("CARGO_PKG_VERSION"));
    let _ = match sip {
        Some((s, None)) => writeln!(o, "  SIP  udp+tcp {s} (calls recorded under {})", engines.config.sip.recordings.display()),
        Some((s, Some(t))) => writeln!(o, "  SIP  udp+tcp {s} tls={t} (calls recorded under {})", engines.config.sip.recordings.display()),
        None => writeln!(o, "  SIP  off"),
    };
    let _ = writeln!(
        o,
        "  ASR  {:<16} {} (from {}), {} worker(s) and {} for partial transcripts, up to {} thread(s) per decode",
        a.name,
        a.path.display(),
        a.origin,
        engines.asr.workers(),
        engines.asr.partial_workers(),
        engines.asr.options.threads
    );
    if let Some(zh) = &engines.asr_zh_model {
        let _ = writeln!(o, "  ASR  {:<16} {} (from {}), for Chinese calls", zh.name, zh.path.display(), zh.origin);
    }
    let _ = writeln!(o, "  VAD  {:<16} {} (from {})", v.name, v.path.display(), v.origin);
    let _ = match &https {
        Some((a, Some(cert))) => writeln!(o, "  HTTPS {a} with a self-signed certificate ({}; browsers warn until it is trusted: set http.tls_cert/tls_key for a real one)", cert.display()),
        Some((a, None)) => writeln!(o, "  HTTPS {a}"),
        None => writeln!(o, "  HTTPS off"),
    };
    let call_url = inapp.map(|c| {
        let claims = crate::inapp::token::CallClaims { customer: "demo".into(), order: None, locale: None, exp: crate::inapp::token::unix_now() + DEMO_TOKEN_TTL_S };
        let host = if addr.ip().is_unspecified() { "127.0.0.1".to_string() } else { addr.ip().to_string() };
        let ips: Vec<String> = c.endpoint.ips.iter().map(|i| i.to_string()).collect();
        let _ = writeln!(o, "  WebRTC in-app calls on /v1/webrtc and /v1/whip, ICE on {}", ips.join(", "));
        format!("http://{host}:{}/call?token={}", addr.port(), c.tokens.mint(&claims))
    });
    if let Some(pw) = first_admin {
        let _ = writeln!(o, "  first sign-in: admin / {pw}   (shown this once; sign in at http://{addr}/login; more users: `voicegate users add NAME --role agent|supervisor|admin`)");
    }
    let _ = writeln!(o, "try:");
    if let Some(url) = &call_url {
        let _ = writeln!(o, "  open {url}   (call the bot from a browser; the link works for 12 hours)");
    }
    let _ = writeln!(o, "  open http://{addr}/qa   (QA console; also /dashboard, /supervisor; agents: /agent, after `{} agents add NAME --languages en` and `users add NAME --role agent`)", this_command());
    let _ = writeln!(o, "  curl http://{addr}/health");
    let _ = writeln!(o, "  TOKEN=$({} tokens add --role supervisor --name me | tail -n1 | awk '{{print $NF}}')", this_command());
    let _ = writeln!(o, "  curl -H \"Authorization: Bearer $TOKEN\" --data-binary @audio-fixtures/en_order_status.wav http://{addr}/v1/replay");
    let _ = writeln!(o, "  curl -H \"Authorization: Bearer $TOKEN\" -d '{{\"session_id\":\"demo\",\"text\":\"where is order 48152\"}}' http://{addr}/v1/chat");
    let _ = writeln!(o, "  {} replay audio-fixtures/conv_en_shop_address.wav --out call.wav", this_command());
    if let Some((s, _)) = sip {
        let _ = writeln!(o, "  {} dial sip:bot@127.0.0.1:{} --play audio-fixtures/en_order_status.wav --record call.wav", this_command(), s.port());
        let _ = writeln!(o, "  {} calls", this_command());
    }
    let _ = writeln!(o, "stop with Ctrl-C");
    // Written at once; a closed stdout (whoever started us stopped reading) is no reason to stop serving.
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(o.as_bytes()).and_then(|_| out.flush());
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
        assert_eq!(b, Banner { http: Some("http://127.0.0.1:8080".into()), sip: Some("127.0.0.1:5060".parse().unwrap()), sip_tls: None });
        // Only the two lines are taken.
        assert!(lines.next().is_some());
        let tls = "voicegate 0.1.0 listening on http://127.0.0.1:8080\n  SIP  udp+tcp 127.0.0.1:5060 tls=127.0.0.1:5061 (calls recorded under r)\n";
        let b = read_banner(&mut tls.lines().map(|l| Ok(l.to_string()))).unwrap();
        assert_eq!((b.sip, b.sip_tls), (Some("127.0.0.1:5060".parse().unwrap()), Some("127.0.0.1:5061".parse().unwrap())));
        let off = "voicegate 0.1.0 listening on http://127.0.0.1:8080\n  SIP  off\n";
        assert_eq!(read_banner(&mut off.lines().map(|l| Ok(l.to_string()))).unwrap().sip, None);
    }
}
