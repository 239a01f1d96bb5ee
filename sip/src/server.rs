//! The user agent server on rsipstack: SIP over UDP and TCP, INVITE (with the trunk guard:
//! allow-list, per-source rate limit, digest authentication), ACK, BYE, CANCEL, OPTIONS and
//! re-INVITE for hold and resume. Each answered call comes out as an [`IncomingCall`] with its
//! running media session. Transactions, retransmissions and dialog matching are rsipstack's.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver, DialogStateSender, TerminatedReason};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Method, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::tcp_listener::TcpListenerConnection;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::TransportLayer;
use rsipstack::EndpointBuilder;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::guard::{AllowList, AuthVerdict, DigestAuth, RateLimiter};
use crate::media::{self, Control, MediaParams, MediaSession};
use crate::sdp::{self, AudioOffer, Negotiated, SdpError};

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// SIP over UDP; TCP listens on the same address and port.
    pub listen: SocketAddr,
    pub tcp: bool,
    /// The address in our SDP and Contact (the one callers reach us on); RTP binds on
    /// `listen`'s address.
    pub media_ip: IpAddr,
    pub rtp_ports: (u16, u16),
    pub allow: AllowList,
    pub auth: Option<DigestAuth>,
    /// New INVITEs per second per source address (0: no limit), and the burst allowed.
    pub invite_rate: f64,
    pub invite_burst: u32,
    /// Ring this long before answering (180 Ringing first).
    pub answer_after: Duration,
    /// Calls at once; more get 486 Busy Here.
    pub max_calls: usize,
    pub jitter_depth: usize,
    /// No RTP from the caller for this long (not on hold) ends the call (`rtp_timeout`).
    pub rtp_timeout: Option<Duration>,
}

/// What happens to an answered call after it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegEvent {
    Held,
    Resumed,
    /// The call is over: `caller_hangup`, `bot_hangup`, `timeout`, ...
    Ended { reason: String },
}

/// An answered call, ready for the pipeline.
pub struct IncomingCall {
    pub call_id: String,
    pub from: String,
    pub to: String,
    pub source: Option<SocketAddr>,
    pub transport: String,
    /// 0 (PCMU) or 8 (PCMA).
    pub codec: u8,
    pub media: MediaSession,
    pub events: mpsc::UnboundedReceiver<LegEvent>,
    pub hangup: Hangup,
}

/// Ends a call from our side (BYE).
#[derive(Clone)]
pub struct Hangup(InviteDialog);

impl Hangup {
    pub async fn hangup(&self) {
        if let Err(e) = self.0.hangup().await {
            debug!(error = %e, "BYE failed");
        }
    }
}

/// A running server; dropping it does not stop it, `shutdown` does.
pub struct SipServer {
    pub local: SocketAddr,
    cancel: CancellationToken,
    pub stats: Arc<Mutex<ServerStats>>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ServerStats {
    pub invites: u64,
    pub answered: u64,
    pub rejected_allow_list: u64,
    pub rejected_rate: u64,
    pub challenged: u64,
    pub rejected_auth: u64,
    pub rejected_codec: u64,
    pub rejected_busy: u64,
    pub cancelled: u64,
    pub active: usize,
}

impl SipServer {
    pub fn shutdown(&self) {
        self.cancel.cancel();
    }
}

/// A call between its INVITE and its end, as the server keeps it.
struct Leg {
    dialog: InviteDialog,
    negotiated: Negotiated,
    media_port: u16,
    session_id: u64,
    control: mpsc::UnboundedSender<Control>,
    events: mpsc::UnboundedSender<LegEvent>,
    media_cancel: CancellationToken,
    /// The call, until it is answered and handed over.
    pending: Option<IncomingCall>,
    held: bool,
}

struct Shared {
    cfg: ServerConfig,
    layer: Arc<DialogLayer>,
    state_tx: DialogStateSender,
    legs: Mutex<HashMap<String, Leg>>,
    limiter: Mutex<RateLimiter>,
    stats: Arc<Mutex<ServerStats>>,
    calls: mpsc::Sender<IncomingCall>,
    contact: rsipstack::sip::Uri,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Binds SIP on `cfg.listen` (UDP, and TCP on the same port) and serves until shut down.
pub async fn start(cfg: ServerConfig, calls: mpsc::Sender<IncomingCall>) -> Result<SipServer, String> {
    let cancel = CancellationToken::new();
    let transport = TransportLayer::new(cancel.clone());
    let udp = UdpConnection::create_connection(cfg.listen, None, Some(cancel.child_token()))
        .await
        .map_err(|e| format!("cannot listen for SIP on udp {}: {e}", cfg.listen))?;
    let local = udp.get_addr().get_socketaddr().map_err(|e| format!("SIP UDP address: {e}"))?;
    transport.add_transport(udp.into());
    if cfg.tcp {
        // The listener binds when served; check the port is free now for a clear error.
        std::net::TcpListener::bind(local).map_err(|e| format!("cannot listen for SIP on tcp {local}: {e}"))?;
        let tcp = TcpListenerConnection::new(local, None).await.map_err(|e| format!("SIP TCP: {e}"))?;
        transport.add_transport(tcp.into());
    }
    let endpoint = EndpointBuilder::new()
        .with_cancel_token(cancel.clone())
        .with_transport_layer(transport)
        .with_user_agent(concat!("voicegate/", env!("CARGO_PKG_VERSION")))
        .with_allows(vec![Method::Invite, Method::Ack, Method::Bye, Method::Cancel, Method::Options])
        .build();
    let mut incoming = endpoint.incoming_transactions().map_err(|e| format!("SIP endpoint: {e}"))?;
    let layer = Arc::new(DialogLayer::new(endpoint.inner.clone()));
    let (state_tx, state_rx) = layer.new_dialog_state_channel();
    let ip = if cfg.media_ip.is_unspecified() { local.ip() } else { cfg.media_ip };
    let contact: rsipstack::sip::Uri = format!("sip:voicegate@{}", SocketAddr::new(ip, local.port()))
        .as_str()
        .try_into()
        .map_err(|e| format!("contact: {e:?}"))?;
    let stats = Arc::new(Mutex::new(ServerStats::default()));
    let limiter = Mutex::new(RateLimiter::new(cfg.invite_rate, cfg.invite_burst));
    let shared = Arc::new(Shared {
        cfg,
        layer,
        state_tx,
        legs: Mutex::new(HashMap::new()),
        limiter,
        stats: stats.clone(),
        calls,
        contact,
    });
    let ep = endpoint.inner.clone();
    tokio::spawn(async move {
        if let Err(e) = ep.serve().await {
            warn!(error = %e, "SIP endpoint stopped");
        }
    });
    tokio::spawn(dialog_states(shared.clone(), state_rx));
    let c = cancel.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = c.cancelled() => break,
                tx = incoming.recv() => match tx {
                    Some(tx) => {
                        let s = shared.clone();
                        tokio::spawn(async move { on_transaction(s, tx).await });
                    }
                    None => break,
                },
            }
        }
        // Hang up what is still up.
        let legs: Vec<_> = lock(&shared.legs).drain().map(|(_, l)| l).collect();
        for leg in legs {
            let _ = leg.dialog.hangup().await;
            leg.media_cancel.cancel();
            let _ = leg.events.send(LegEvent::Ended { reason: "shutdown".into() });
        }
    });
    info!(%local, "SIP listening");
    Ok(SipServer { local, cancel, stats })
}

/// Reads a datagram the way the server reads an INVITE: the SIP message, its headers, the SDP
/// offer and the digest credentials. For the fuzzer: no input may panic.
pub fn inspect(datagram: &[u8]) -> Result<String, String> {
    let msg = rsipstack::sip::SipMessage::try_from(datagram).map_err(|e| e.to_string())?;
    let rsipstack::sip::SipMessage::Request(req) = msg else { return Ok("response".into()) };
    let call_id = req.call_id_header().map(|h| h.value().to_string()).map_err(|e| e.to_string())?;
    let _ = req.to_header().ok().and_then(|t| t.tag().ok().flatten());
    let _ = req.from_header().map(|h| h.value().to_string());
    let _ = req.cseq_header().and_then(|c| c.seq());
    let auth = DigestAuth::new("voicegate", HashMap::from([("trunk".to_string(), "pw".to_string())]), "k");
    let _ = auth.verify("INVITE", req.authorization_header().map(|h| h.value()), unix_now());
    let body = String::from_utf8_lossy(&req.body).to_string();
    let n = AudioOffer::parse(&body).and_then(|o| sdp::negotiate(&o)).map_err(|e| e.to_string())?;
    let _ = remote_media(&n, None);
    Ok(call_id)
}

fn source_of(tx: &Transaction) -> Option<SocketAddr> {
    tx.connection.as_ref()?.get_remote_addr()?.get_socketaddr().ok()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn warning(text: &str) -> Header {
    Header::Other("Warning".into(), format!("399 voicegate \"{}\"", text.replace('"', "'")))
}

async fn reply(tx: &mut Transaction, code: StatusCode, headers: Vec<Header>) {
    if let Err(e) = tx.reply_with(code, headers, None).await {
        debug!(error = %e, "reply failed");
    }
}

async fn on_transaction(s: Arc<Shared>, mut tx: Transaction) {
    let in_dialog = tx.original.to_header().ok().and_then(|t| t.tag().ok().flatten()).is_some();
    if in_dialog {
        match s.layer.match_dialog(&tx) {
            Some(mut d) => {
                if let Err(e) = d.handle(&mut tx).await {
                    debug!(error = %e, "in-dialog request");
                }
            }
            None if tx.original.method == Method::Ack => {}
            None => reply(&mut tx, StatusCode::CallTransactionDoesNotExist, vec![]).await,
        }
        return;
    }
    match tx.original.method {
        Method::Invite => on_invite(s, tx).await,
        Method::Options => {
            let allow = Header::Other("Allow".into(), "INVITE, ACK, BYE, CANCEL, OPTIONS".into());
            let accept = Header::Other("Accept".into(), "application/sdp".into());
            reply(&mut tx, StatusCode::OK, vec![allow, accept]).await
        }
        Method::Ack => {}
        Method::Bye => reply(&mut tx, StatusCode::CallTransactionDoesNotExist, vec![]).await,
        _ => reply(&mut tx, StatusCode::MethodNotAllowed, vec![]).await,
    }
}

async fn on_invite(s: Arc<Shared>, mut tx: Transaction) {
    lock(&s.stats).invites += 1;
    let source = source_of(&tx);
    let ip = source.map(|a| a.ip());
    // Who may call at all, how often, and with which credentials.
    if let Some(ip) = ip {
        if !s.cfg.allow.allows(ip) {
            lock(&s.stats).rejected_allow_list += 1;
            info!(%ip, "INVITE refused: not on the allow-list");
            return reply(&mut tx, StatusCode::Forbidden, vec![warning("source not allowed")]).await;
        }
        if !lock(&s.limiter).allow(ip, Instant::now()) {
            lock(&s.stats).rejected_rate += 1;
            return reply(&mut tx, StatusCode::ServiceUnavailable, vec![Header::Other("Retry-After".into(), "5".into()), warning("too many calls from this source")]).await;
        }
    }
    if let Some(auth) = &s.cfg.auth {
        let header = tx.original.authorization_header().map(|h| h.value().to_string());
        match auth.verify("INVITE", header.as_deref(), unix_now()) {
            AuthVerdict::Accepted { user } => debug!(%user, "INVITE authenticated"),
            AuthVerdict::Challenge { stale } => {
                lock(&s.stats).challenged += 1;
                let h = Header::Other("WWW-Authenticate".into(), auth.challenge(unix_now(), stale));
                return reply(&mut tx, StatusCode::Unauthorized, vec![h]).await;
            }
            AuthVerdict::Refused => {
                lock(&s.stats).rejected_auth += 1;
                return reply(&mut tx, StatusCode::Forbidden, vec![warning("wrong credentials")]).await;
            }
        }
    }
    let body = String::from_utf8_lossy(&tx.original.body).to_string();
    let negotiated = match AudioOffer::parse(&body).and_then(|o| sdp::negotiate(&o)) {
        Ok(n) => n,
        Err(e) => {
            lock(&s.stats).rejected_codec += 1;
            let code = match e {
                SdpError::NoCommonCodec(_) => StatusCode::NotAcceptableHere,
                _ if body.trim().is_empty() => StatusCode::NotAcceptableHere,
                _ => StatusCode::BadRequest,
            };
            let why = if body.trim().is_empty() { "an SDP offer is required".to_string() } else { e.to_string() };
            return reply(&mut tx, code, vec![warning(&why)]).await;
        }
    };
    if lock(&s.legs).len() >= s.cfg.max_calls {
        lock(&s.stats).rejected_busy += 1;
        return reply(&mut tx, StatusCode::BusyHere, vec![warning("all lines busy")]).await;
    }
    let Some(remote) = remote_media(&negotiated, source) else {
        return reply(&mut tx, StatusCode::NotAcceptableHere, vec![warning("no usable media address")]).await;
    };
    let (rtp, rtcp) = match media::bind_pair(s.cfg.listen.ip(), s.cfg.rtp_ports).await {
        Ok(p) => p,
        Err(e) => {
            warn!(error = %e, "no RTP port");
            return reply(&mut tx, StatusCode::ServiceUnavailable, vec![warning("no free media port")]).await;
        }
    };
    let media_port = rtp.local_addr().map(|a| a.port()).unwrap_or(0);
    let dialog = match s.layer.get_or_create_server_invite(&tx, s.state_tx.clone(), None, Some(s.contact.clone())) {
        Ok(d) => d,
        Err(e) => {
            debug!(error = %e, "INVITE without a usable dialog");
            return reply(&mut tx, StatusCode::BadRequest, vec![warning("malformed INVITE")]).await;
        }
    };
    let call_id = tx.original.call_id_header().map(|h| h.value().to_string()).unwrap_or_default();
    // The parties without their dialog tags.
    let untagged = |v: &str| v.split(";tag=").next().unwrap_or(v).trim().to_string();
    let from = tx.original.from_header().map(|h| untagged(h.value())).unwrap_or_default();
    let to = tx.original.to_header().map(|h| untagged(h.value())).unwrap_or_default();
    let transport = tx.connection.as_ref().map(|c| c.get_addr().r#type.map(|t| t.to_string()).unwrap_or_default()).unwrap_or_default();
    let media_cancel = CancellationToken::new();
    let params = MediaParams { codec: negotiated.codec, telephone_event: negotiated.telephone_event, remote, send: !negotiated_hold(&negotiated), jitter_depth: s.cfg.jitter_depth, timeout: s.cfg.rtp_timeout };
    let session = media::start(rtp, rtcp, params, media_cancel.clone());
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let call = IncomingCall {
        call_id: call_id.clone(),
        from,
        to,
        source,
        transport,
        codec: negotiated.codec,
        media: session,
        events: ev_rx,
        hangup: Hangup(dialog.clone()),
    };
    let control = call.media.control.clone();
    let id = dialog.id().to_string();
    lock(&s.legs).insert(
        id.clone(),
        Leg { dialog: dialog.clone(), negotiated, media_port, session_id: unix_now(), control, events: ev_tx, media_cancel, pending: Some(call), held: false },
    );
    lock(&s.stats).active = lock(&s.legs).len();
    // Ring, then answer; the INVITE transaction (ACK, CANCEL) runs on beside.
    let s2 = s.clone();
    let d2 = dialog.clone();
    tokio::spawn(async move {
        if !s2.cfg.answer_after.is_zero() {
            let _ = d2.ringing(None, None);
            tokio::time::sleep(s2.cfg.answer_after).await;
        }
        answer(&s2, &id, &d2).await;
    });
    let mut dialog = dialog;
    if let Err(e) = dialog.handle(&mut tx).await {
        debug!(error = %e, %call_id, "INVITE transaction");
    }
}

fn negotiated_hold(n: &Negotiated) -> bool {
    matches!(n.direction, sdp::Direction::RecvOnly | sdp::Direction::Inactive)
}

/// Where to send RTP before any comes in: the SDP's address, or the signalling source when the
/// SDP names none we can use.
fn remote_media(n: &Negotiated, source: Option<SocketAddr>) -> Option<SocketAddr> {
    let ip: IpAddr = n.remote.0.parse().ok().filter(|ip: &IpAddr| !ip.is_unspecified()).or(source.map(|s| s.ip()))?;
    Some(SocketAddr::new(ip, n.remote.1))
}

async fn answer(s: &Shared, id: &str, dialog: &InviteDialog) {
    let body = {
        let legs = lock(&s.legs);
        let Some(leg) = legs.get(id) else { return };
        sdp::answer(&leg.negotiated, &sdp_ip(s), leg.media_port, leg.session_id)
    };
    let ct = Header::ContentType("application/sdp".into());
    if let Err(e) = dialog.accept(Some(vec![ct]), Some(body.into_bytes())) {
        debug!(error = %e, "accept failed");
        return;
    }
    let call = lock(&s.legs).get_mut(id).and_then(|l| l.pending.take());
    if let Some(call) = call {
        lock(&s.stats).answered += 1;
        if s.calls.send(call).await.is_err() {
            let _ = dialog.hangup().await;
        }
    }
}

fn sdp_ip(s: &Shared) -> String {
    s.contact.host_with_port.host.to_string()
}

/// Dialog state changes: confirmation, re-INVITEs (hold, resume), in-dialog OPTIONS, the end.
async fn dialog_states(s: Arc<Shared>, mut rx: DialogStateReceiver) {
    while let Some(state) = rx.recv().await {
        match state {
            DialogState::Updated(id, req, handle) => {
                let id = id.to_string();
                if req.method != Method::Invite {
                    let _ = handle.reply(StatusCode::OK).await;
                    continue;
                }
                let body = String::from_utf8_lossy(&req.body).to_string();
                let result = if body.trim().is_empty() {
                    // A re-INVITE without an offer: offer what we have (session refresh).
                    Err(SdpError::NoAudio)
                } else {
                    AudioOffer::parse(&body).and_then(|o| sdp::negotiate(&o).map(|n| (o.is_hold(), n)))
                };
                let answer = (|| {
                    let mut legs = lock(&s.legs);
                    let leg = legs.get_mut(&id)?;
                    Some(match result {
                        Ok((hold, n)) => {
                            if let Some(remote) = remote_media(&n, None).or(Some(SocketAddr::new(IpAddr::from([0, 0, 0, 0]), n.remote.1))) {
                                let _ = leg.control.send(Control::Update { remote, send: !hold });
                            }
                            if hold != leg.held {
                                leg.held = hold;
                                let _ = leg.events.send(if hold { LegEvent::Held } else { LegEvent::Resumed });
                            }
                            leg.negotiated = n;
                            leg.session_id += 1;
                            Ok(sdp::answer(&leg.negotiated, &sdp_ip(&s), leg.media_port, leg.session_id))
                        }
                        Err(SdpError::NoAudio) if body.trim().is_empty() => Ok(sdp::answer(&leg.negotiated, &sdp_ip(&s), leg.media_port, leg.session_id)),
                        Err(e) => Err(e),
                    })
                })();
                let Some(answer) = answer else {
                    let _ = handle.reply(StatusCode::CallTransactionDoesNotExist).await;
                    continue;
                };
                match answer {
                    Ok(sdp) => {
                        let ct = Header::ContentType("application/sdp".into());
                        let _ = handle.respond(StatusCode::OK, Some(vec![ct]), Some(sdp.into_bytes())).await;
                    }
                    Err(e) => {
                        let _ = handle.respond(StatusCode::NotAcceptableHere, Some(vec![warning(&e.to_string())]), None).await;
                    }
                }
            }
            DialogState::Options(_, _, handle) | DialogState::Info(_, _, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
            }
            DialogState::Terminated(id, reason) => {
                let leg = lock(&s.legs).remove(&id.to_string());
                lock(&s.stats).active = lock(&s.legs).len();
                s.layer.remove_dialog(&id);
                if let Some(leg) = leg {
                    leg.media_cancel.cancel();
                    let why = match reason {
                        TerminatedReason::UacBye => "caller_hangup",
                        TerminatedReason::UasBye => "bot_hangup",
                        TerminatedReason::UacCancel => "cancelled",
                        TerminatedReason::Timeout => "timeout",
                        _ => "ended",
                    };
                    if why == "cancelled" {
                        lock(&s.stats).cancelled += 1;
                    }
                    let _ = leg.events.send(LegEvent::Ended { reason: why.into() });
                }
            }
            _ => {}
        }
    }
}
