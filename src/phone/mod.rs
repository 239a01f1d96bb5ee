//! Phone calls: the SIP user agent (crate `voicegate-sip`) answering calls into the per-call
//! pipeline, recording each one (`recorder.rs`) with its events in the store (`call.rs`).

pub mod call;
pub mod recorder;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use voicegate_sip::guard::{AllowList, DigestAuth};
use voicegate_sip::media::MediaStats;
use voicegate_sip::server::{self, ServerConfig, SipServer};

use crate::error::{Error, Result};
use crate::pipeline::Engines;

/// What every phone call shares.
pub struct PhoneContext {
    pub engines: Arc<Engines>,
    pub live: Arc<crate::live::LiveCalls>,
    pub recordings: PathBuf,
    pub greet: bool,
    pub pipeline: bool,
    /// Calls go straight to the agents' queue (`sip.to_agents`).
    pub to_agents: bool,
    pub totals: Mutex<PhoneTotals>,
}

/// Media figures over the calls finished so far (for `bench calls` and /v1/sip).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PhoneTotals {
    #[serde(flatten)]
    pub media: crate::live::MediaTotals,
    pub rtcp_tx: u64,
    pub rtcp_rx: u64,
}

/// A phone leg's media figures for the call's end event and the totals.
pub fn figures(s: &MediaStats) -> crate::live::MediaFigures {
    crate::live::MediaFigures { rx_packets: s.rx_packets, rx_lost: s.rx_lost, rx_dtmf: s.rx_dtmf, jitter_ms: s.jitter_ms, tx_packets: s.tx_packets, tx_late: s.tx_late, tx_max_late_ms: s.tx_max_late_ms, srtp: s.srtp }
}

impl PhoneContext {
    fn finished(&self, _id: &str, s: MediaStats) {
        let mut t = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        t.media.add(figures(&s));
        t.rtcp_tx += s.rtcp_tx;
        t.rtcp_rx += s.rtcp_rx;
    }

    pub fn totals(&self) -> PhoneTotals {
        self.totals.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The address callers reach us on: the one configured, the one SIP listens on, or the
/// machine's outward address (loopback when it has none).
fn advertised_ip(configured: &str, listen: SocketAddr) -> IpAddr {
    if let Ok(ip) = configured.parse() {
        return ip;
    }
    if !listen.ip().is_unspecified() {
        return listen.ip();
    }
    voicegate_sip::outward_ip()
}

/// SIP over TLS when `sip.tls_listen` is set: the configured certificate, or the self-signed
/// one HTTPS uses (made beside the store).
fn tls_listen(c: &crate::config::SipConfig, store: &std::path::Path, ip: IpAddr) -> Result<Option<voicegate_sip::server::TlsListen>> {
    if c.tls_listen.is_empty() {
        return Ok(None);
    }
    let listen = c.tls_listen.parse().map_err(|e| Error::Config(format!("sip.tls_listen: {e}")))?;
    let var = store.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    let pair = crate::http::tls::pem_files(&c.tls_cert, &c.tls_key, &var, &crate::http::tls::local_names(&[ip]))?;
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| Error::Config(format!("sip.tls_cert/tls_key: {}: {e}", p.display())));
    Ok(Some(voicegate_sip::server::TlsListen { listen, cert_pem: read(&pair.cert)?, key_pem: read(&pair.key)? }))
}

/// Starts answering phone calls, if `[sip]` is enabled; `listen` overrides `sip.listen`.
pub async fn start(engines: Arc<Engines>, live: Arc<crate::live::LiveCalls>, listen: Option<SocketAddr>, registrar: Option<Arc<crate::agents::softphones::Softphones>>) -> Result<Option<(SipServer, Arc<PhoneContext>)>> {
    let c = &engines.config.sip;
    if !c.enabled {
        return Ok(None);
    }
    let listen = match listen {
        Some(l) => l,
        None => c.listen.parse().map_err(|e| Error::Config(format!("sip.listen: {e}")))?,
    };
    let allow = AllowList::parse(&c.allow).map_err(|e| Error::Config(format!("sip.allow: {e}")))?;
    let auth = (!c.users.is_empty()).then(|| DigestAuth::new(&c.realm, c.users.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<HashMap<_, _>>(), &format!("{:016x}", voicegate_sip::random_u64())));
    let cfg = ServerConfig {
        listen,
        tcp: c.tcp,
        media_ip: advertised_ip(&c.media_ip, listen),
        rtp_ports: (c.rtp_ports[0], c.rtp_ports[1]),
        allow,
        auth,
        invite_rate: c.invite_rate,
        invite_burst: c.invite_burst,
        answer_after: Duration::from_millis(c.answer_after_ms),
        max_calls: c.max_calls,
        jitter_depth: (c.jitter_ms as usize).div_ceil(20),
        // Media and recording only: the caller's audio is written, not listened to.
        deliver_slots: if c.caller_heard() { 1 } else { 5 },
        rtp_timeout: (c.rtp_timeout_ms > 0).then(|| Duration::from_millis(c.rtp_timeout_ms)),
        registrar: registrar.map(|r| voicegate_sip::registrar::RegistrarRef(r)),
        tls: tls_listen(c, &engines.config.store.path, advertised_ip(&c.media_ip, listen))?,
    };
    let ctx = Arc::new(PhoneContext {
        recordings: c.recordings.clone(),
        greet: c.greet,
        pipeline: c.pipeline,
        to_agents: c.to_agents,
        engines: engines.clone(),
        live,
        totals: Mutex::new(PhoneTotals::default()),
    });
    let (tx, mut rx) = mpsc::channel(64);
    let server = server::start(cfg, tx).await.map_err(Error::Config)?;
    let c2 = ctx.clone();
    tokio::spawn(async move {
        while let Some(call) = rx.recv().await {
            tokio::spawn(call::run(c2.clone(), call));
        }
    });
    Ok(Some((server, ctx)))
}
