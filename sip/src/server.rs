//! The user agent server on rsipstack: SIP over UDP and TCP, INVITE (with the trunk guard:
//! allow-list, per-source rate limit, digest authentication), ACK, BYE, CANCEL, OPTIONS,
//! re-INVITE and UPDATE (hold, resume, session refresh) and session timers (RFC 4028). Each
//! answered call comes out as an [`IncomingCall`] with its running media session.
//! Transactions, retransmissions and dialog matching are rsipstack's; malformed requests are
//! answered by the screen in front of it (`screen`, `screened_udp`, `screened_stream`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rsipstack::dialog::dialog::{
    DialogState, DialogStateReceiver, DialogStateSender, TerminatedReason, TransactionHandle,
};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Method, Request, StatusCode, StatusCodeKind};
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::tcp_listener::TcpListenerConnection;
use rsipstack::transport::tls::{ReloadableCertResolver, TlsConfig, TlsListenerConnection};
use rsipstack::transport::udp::{UdpConnection, UdpInner};
use rsipstack::transport::{SipAddr, SipConnection, TransportLayer};
use rsipstack::EndpointBuilder;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::guard::{AllowList, AuthVerdict, DigestAuth, RateLimiter};
use crate::media::{self, Control, MediaParams, MediaSession};
use crate::registrar::{read_register, RegisterAsk, RegistrarRef, MIN_EXPIRES};
use crate::screen::{self, Policy};
use crate::screened_stream::StreamScreen;
use crate::screened_udp::ScreenedUdp;
use crate::sdp::{self, AudioOffer, Negotiated, SdpError};
use crate::timer::{self, Negotiation, SessionClock, SessionTimer, TimerAction, TimerRequest};

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
    /// Slots of a caller's audio handed to the call at once (`MediaParams::deliver_slots`):
    /// 1 where calls are listened to, more where they are only recorded.
    pub deliver_slots: usize,
    /// No RTP from the caller for this long (not on hold) ends the call (`rtp_timeout`).
    pub rtp_timeout: Option<Duration>,
    /// Users (agents' softphones) who may REGISTER; none: REGISTER gets 405.
    pub registrar: Option<RegistrarRef>,
    /// SIP over TLS (`sips:`, RFC 3261 §26), beside UDP and TCP.
    pub tls: Option<TlsListen>,
}

/// Where SIP over TLS listens, and its certificate chain and private key (PEM).
#[derive(Clone)]
pub struct TlsListen {
    pub listen: SocketAddr,
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for TlsListen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListen").field("listen", &self.listen).finish_non_exhaustive()
    }
}

/// What happens to an answered call after it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegEvent {
    Held,
    Resumed,
    /// The call is over: `caller_hangup`, `bot_hangup`, `timeout`, `session_expired` (no
    /// session refresh in time, RFC 4028), ...
    Ended {
        reason: String,
    },
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
    /// Where SIP over TLS listens, when it does.
    pub tls_local: Option<SocketAddr>,
    cancel: CancellationToken,
    pub stats: Arc<Mutex<ServerStats>>,
    endpoint: EndpointInnerRef,
    shared: Arc<Shared>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ServerStats {
    pub invites: u64,
    pub answered: u64,
    pub rejected_allow_list: u64,
    pub rejected_rate: u64,
    pub challenged: u64,
    pub rejected_auth: u64,
    /// No common codec, an SDP that does not parse, a body that is no SDP (415), an Accept
    /// without SDP (406).
    pub rejected_codec: u64,
    pub rejected_busy: u64,
    pub cancelled: u64,
    pub active: usize,
    /// Malformed requests answered by the screen (400, 416, 420, 501, 505, 513).
    pub malformed_answered: u64,
    /// Datagrams nobody could be answered for (no Via, a malformed ACK or response).
    pub malformed_dropped: u64,
    /// Calls ended because the caller did not refresh the session in time (RFC 4028).
    pub session_expired: u64,
}

/// What the server holds at this moment; each returns to zero once calls and floods are over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LiveCounts {
    /// Transactions rsipstack is running (rejected INVITEs stay until their ACK or Timer D).
    pub transactions: usize,
    /// Answered INVITEs still waiting for their ACK.
    pub waiting_ack: usize,
    pub dialogs: usize,
    pub legs: usize,
    /// Sources whose INVITE or REGISTER rate bucket is still refilling (forgotten once full).
    pub sources: usize,
}

/// Reads a running server's live-object counts (for /v1/sip and the flood test).
#[derive(Clone)]
pub struct LiveCounter {
    endpoint: EndpointInnerRef,
    shared: Arc<Shared>,
}

impl LiveCounter {
    pub fn read(&self) -> LiveCounts {
        let stats = self.endpoint.get_stats();
        LiveCounts {
            transactions: stats.running_transactions,
            waiting_ack: stats.waiting_ack,
            dialogs: self.shared.layer.len(),
            legs: lock(&self.shared.legs).len(),
            sources: lock(&self.shared.limiter).sources() + lock(&self.shared.register_limiter).sources(),
        }
    }
}

impl SipServer {
    pub fn shutdown(&self) {
        self.cancel.cancel();
    }

    pub fn live(&self) -> LiveCounts {
        self.counter().read()
    }

    pub fn counter(&self) -> LiveCounter {
        LiveCounter { endpoint: self.endpoint.clone(), shared: self.shared.clone() }
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
    /// What the INVITE asked of session timers, and the timer agreed on.
    timer_request: TimerRequest,
    timer: Option<SessionTimer>,
    clock: Arc<Mutex<SessionClock>>,
    clock_changed: Arc<Notify>,
    /// The caller's Allow lists UPDATE: our refreshes use it instead of a re-INVITE.
    peer_update: bool,
    /// Why we are ending the call, when it is not a plain hangup.
    end_reason: Option<&'static str>,
}

struct Shared {
    cfg: ServerConfig,
    layer: Arc<DialogLayer>,
    state_tx: DialogStateSender,
    legs: Mutex<HashMap<String, Leg>>,
    limiter: Mutex<RateLimiter>,
    /// REGISTERs per second per source (password guessing is slowed down).
    register_limiter: Mutex<RateLimiter>,
    stats: Arc<Mutex<ServerStats>>,
    calls: mpsc::Sender<IncomingCall>,
    contact: rsipstack::sip::Uri,
    /// The Contact for calls that came over TLS (in-dialog requests come back that way).
    tls_contact: Option<rsipstack::sip::Uri>,
    policy: Policy,
    /// Nonces and checks for REGISTER, when there is a registrar.
    register_auth: Option<DigestAuth>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// SIP over TLS on `t.listen`: the certificate and key are checked now, for a clear error at
/// start-up rather than a failed handshake later.
async fn listen_tls(transport: &TransportLayer, t: &TlsListen) -> Result<SocketAddr, String> {
    // One crypto provider for the whole process (several crates bring rustls).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    ReloadableCertResolver::new(&t.cert_pem, &t.key_pem, provider).map_err(|e| format!("SIP TLS certificate or key: {e}"))?;
    // The listener binds when served: take a free port now and check it for a clear error.
    let local = std::net::TcpListener::bind(t.listen)
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("cannot listen for SIP on tls {}: {e}", t.listen))?;
    let config = TlsConfig { cert: Some(t.cert_pem.clone()), key: Some(t.key_pem.clone()), ..TlsConfig::default() };
    let tls = TlsListenerConnection::new(local, None, config).await.map_err(|e| format!("SIP TLS: {e}"))?;
    transport.add_transport(tls.into());
    Ok(local)
}

/// SIP's UDP socket on `listen`, with TCP free on the same port where TCP is wanted. Asked for
/// any port (0), it takes another when TCP is already in use on the one the system gave UDP (an
/// outgoing connection can hold it).
fn bind_udp(listen: SocketAddr, tcp: bool) -> Result<std::net::UdpSocket, String> {
    let tries = if tcp && listen.port() == 0 { 20 } else { 1 };
    let mut taken = String::new();
    for _ in 0..tries {
        let sock = std::net::UdpSocket::bind(listen).map_err(|e| format!("cannot listen for SIP on udp {listen}: {e}"))?;
        if !tcp {
            return Ok(sock);
        }
        let local = sock.local_addr().map_err(|e| format!("SIP UDP address: {e}"))?;
        match std::net::TcpListener::bind(local) {
            Ok(_) => return Ok(sock),
            Err(e) => taken = format!("cannot listen for SIP on tcp {local}: {e}"),
        }
    }
    Err(taken)
}

/// Binds SIP on `cfg.listen` (UDP, and TCP on the same port; TLS where configured) and serves
/// until shut down.
pub async fn start(cfg: ServerConfig, calls: mpsc::Sender<IncomingCall>) -> Result<SipServer, String> {
    let cancel = CancellationToken::new();
    let transport = TransportLayer::new(cancel.clone());
    let stats = Arc::new(Mutex::new(ServerStats::default()));
    let policy = if cfg.registrar.is_some() { Policy::registrar() } else { Policy::standard() };
    // Our own socket, read through the screen (rsipstack would drop malformed requests unanswered).
    let sock = bind_udp(cfg.listen, cfg.tcp)?;
    sock.set_nonblocking(true).map_err(|e| format!("SIP UDP socket: {e}"))?;
    let sock = tokio::net::UdpSocket::from_std(sock).map_err(|e| format!("SIP UDP socket: {e}"))?;
    let bound = sock
        .local_addr()
        .map_err(|e| format!("SIP UDP address: {e}"))?;
    let addr = SipAddr {
        r#type: Some(rsipstack::sip::Transport::Udp),
        addr: SipConnection::resolve_bind_address(bound).into(),
    };
    let conn: Arc<dyn rsipstack::platform::net::UdpSocket> =
        Arc::new(ScreenedUdp::new(sock, policy.clone(), stats.clone()));
    let udp =
        UdpConnection::attach(UdpInner { conn, addr }, None, Some(cancel.child_token())).await;
    let local = udp
        .get_addr()
        .get_socketaddr()
        .map_err(|e| format!("SIP UDP address: {e}"))?;
    transport.add_transport(udp.into());
    if cfg.tcp {
        // The listener binds when served; `bind_udp` checked the port is free for a clear error.
        let tcp = TcpListenerConnection::new(local, None).await.map_err(|e| format!("SIP TCP: {e}"))?;
        transport.add_transport(tcp.into());
    }
    let tls_local = match &cfg.tls {
        Some(t) => Some(listen_tls(&transport, t).await?),
        None => None,
    };
    let endpoint = EndpointBuilder::new()
        .with_cancel_token(cancel.clone())
        .with_transport_layer(transport)
        .with_user_agent(concat!("voicegate/", env!("CARGO_PKG_VERSION")))
        .with_allows(
            [Method::Invite, Method::Ack, Method::Bye, Method::Cancel, Method::Options, Method::Update]
                .into_iter()
                .chain(cfg.registrar.is_some().then_some(Method::Register))
                .collect(),
        )
        .with_transport_inspector(Box::new(StreamScreen::new(policy.clone(), stats.clone())))
        .build();
    let mut incoming = endpoint.incoming_transactions().map_err(|e| format!("SIP endpoint: {e}"))?;
    let layer = Arc::new(DialogLayer::new(endpoint.inner.clone()));
    let (state_tx, state_rx) = layer.new_dialog_state_channel();
    let ip = if cfg.media_ip.is_unspecified() {
        local.ip()
    } else {
        cfg.media_ip
    };
    // Our Contact on a port, with the URI parameters of its transport.
    let contact_at = |port: u16, params: &str| -> Result<rsipstack::sip::Uri, String> {
        format!("sip:voicegate@{}{params}", SocketAddr::new(ip, port)).as_str().try_into().map_err(|e| format!("contact: {e:?}"))
    };
    let contact = contact_at(local.port(), "")?;
    let tls_contact = tls_local.map(|t| contact_at(t.port(), ";transport=tls")).transpose()?;
    let limiter = Mutex::new(RateLimiter::new(cfg.invite_rate, cfg.invite_burst));
    // Nonces are keyed with a secret of this process: a restart makes phones register again.
    let register_auth = cfg.registrar.as_ref().map(|r| DigestAuth::new(&r.0.realm(), HashMap::new(), &format!("{:016x}{:016x}", crate::random_u64(), crate::random_u64())));
    let shared = Arc::new(Shared {
        register_auth,
        cfg,
        layer,
        state_tx,
        legs: Mutex::new(HashMap::new()),
        limiter,
        register_limiter: Mutex::new(RateLimiter::new(REGISTER_RATE, REGISTER_BURST)),
        stats: stats.clone(),
        calls,
        contact,
        tls_contact,
        policy,
    });
    let ep = endpoint.inner.clone();
    tokio::spawn(async move {
        if let Err(e) = ep.serve().await {
            warn!(error = %e, "SIP endpoint stopped");
        }
    });
    tokio::spawn(dialog_states(shared.clone(), state_rx));
    tokio::spawn(forget_refilled_sources(shared.clone(), cancel.clone()));
    let server_shared = shared.clone();
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
    info!(%local, tls = ?tls_local, "SIP listening");
    Ok(SipServer {
        local,
        tls_local,
        cancel,
        stats,
        endpoint: endpoint.inner.clone(),
        shared: server_shared,
    })
}

/// Per-source rate state lasts only while a source's bucket refills: after a flood from many
/// addresses, memory goes back to what it was.
async fn forget_refilled_sources(s: Arc<Shared>, cancel: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = every.tick() => {
                let now = std::time::Instant::now();
                lock(&s.limiter).sweep(now);
                lock(&s.register_limiter).sweep(now);
            }
        }
    }
}

/// Reads a datagram the way the server reads an INVITE: the SIP message, its headers, the SDP
/// offer and the digest credentials. For the fuzzer: no input may panic.
pub fn inspect(datagram: &[u8]) -> Result<String, String> {
    let datagram = match screen::screen_datagram(datagram, &Policy::standard()) {
        screen::Verdict::Pass(bytes) => bytes,
        screen::Verdict::Reply { code, bytes } => {
            return Ok(format!(
                "screened {code}, {} octets",
                screen::strip_synthetic_tags(&bytes).len()
            ))
        }
        screen::Verdict::Drop(why) => return Err(why.to_string()),
    };
    let msg = rsipstack::sip::SipMessage::try_from(datagram.as_ref()).map_err(|e| e.to_string())?;
    let rsipstack::sip::SipMessage::Request(req) = msg else {
        return Ok("response".into());
    };
    let call_id = req
        .call_id_header()
        .map(|h| h.value().to_string())
        .map_err(|e| e.to_string())?;
    let _ = req.to_header().ok().and_then(|t| t.tag().ok().flatten());
    let _ = req.from_header().map(|h| h.value().to_string());
    let _ = req.cseq_header().and_then(|c| c.seq());
    let auth = DigestAuth::new(
        "voicegate",
        HashMap::from([("trunk".to_string(), "pw".to_string())]),
        "k",
    );
    let _ = auth.verify(
        "INVITE",
        req.authorization_header().map(|h| h.value()),
        unix_now(),
    );
    let _ = media_type_rejection(&req);
    let _ = TimerRequest::from_request(&req).map(|t| timer::negotiate(&t));
    let _ = screen::screen_request(&req, &Policy::standard());
    let body = String::from_utf8_lossy(&req.body).to_string();
    let n = AudioOffer::parse(&body).and_then(|o| sdp::negotiate(&o, [0; crate::sdes::KEY_SALT_LEN])).map_err(|e| e.to_string())?;
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
    Header::Other("Warning".into(), screen::warning(text))
}

fn allow(s: &Shared) -> Header {
    Header::Other("Allow".into(), s.policy.allow_header())
}

/// What OPTIONS (RFC 3261 §11.2) and our 2xx to INVITE say we can do.
fn capabilities(s: &Shared) -> Vec<Header> {
    vec![
        allow(s),
        Header::Other("Accept".into(), s.policy.accept.into()),
        Header::Other("Supported".into(), s.policy.supported.join(", ")),
    ]
}

async fn reply(tx: &mut Transaction, code: StatusCode, headers: Vec<Header>) {
    if let Err(e) = tx.reply_with(code, headers, None).await {
        debug!(error = %e, "reply failed");
    }
}

/// A final non-2xx to an INVITE. Over UDP rsipstack retransmits it (Timer G) and absorbs the
/// ACK only while someone drives the transaction, so drive it until it ends: the ACK and
/// Timer K, or Timer D (64*T1) without one. Dropping it at once would cancel Timer G, and a
/// caller that already had our 100 Trying waits for a lost final response until Timer B.
async fn reject_invite(mut tx: Transaction, code: StatusCode, headers: Vec<Header>) {
    if let Err(e) = tx.reply_with(code, headers, None).await {
        debug!(error = %e, "reply failed");
        return;
    }
    while tx.receive().await.is_some() {}
}

/// The methods we serve; every other method rsipstack knows gets 405 with our Allow (RFC 3261
/// §8.2.1), in a dialog or not. INFO inside a call is still acknowledged (some trunks send
/// keys that way and hang up on a 405).
fn served(method: Method, in_dialog: bool) -> bool {
    matches!(
        method,
        Method::Invite
            | Method::Ack
            | Method::Bye
            | Method::Cancel
            | Method::Options
            | Method::Update
    ) || (in_dialog && method == Method::Info)
}

async fn on_transaction(s: Arc<Shared>, mut tx: Transaction) {
    let in_dialog = tx
        .original
        .to_header()
        .ok()
        .and_then(|t| t.tag().ok().flatten())
        .is_some();
    let method = tx.original.method;
    if method == Method::Register && !in_dialog && s.register_auth.is_some() {
        return on_register(s, tx).await;
    }
    if !served(method, in_dialog) {
        return reply(&mut tx, StatusCode::MethodNotAllowed, vec![allow(&s)]).await;
    }
    if in_dialog {
        match s.layer.match_dialog(&tx) {
            Some(mut d) => {
                let waits = matches!(
                    method,
                    Method::Invite | Method::Update | Method::Options | Method::Info
                );
                if waits && !confirmed(&d).await {
                    return not_yet(&s, tx).await;
                }
                if let Err(e) = d.handle(&mut tx).await {
                    debug!(error = %e, "in-dialog request");
                }
            }
            None if method == Method::Ack => {}
            None if method == Method::Invite => {
                reject_invite(tx, StatusCode::CallTransactionDoesNotExist, vec![]).await
            }
            None => reply(&mut tx, StatusCode::CallTransactionDoesNotExist, vec![]).await,
        }
        return;
    }
    match method {
        Method::Invite => on_invite(s, tx).await,
        Method::Options => reply(&mut tx, StatusCode::OK, capabilities(&s)).await,
        Method::Ack => {}
        // BYE and UPDATE belong to a dialog, and this request names none.
        _ => reply(&mut tx, StatusCode::CallTransactionDoesNotExist, vec![]).await,
    }
}

/// REGISTERs a source may send per second, and at once (a phone sends two per registration).
const REGISTER_RATE: f64 = 1.0;
const REGISTER_BURST: u32 = 10;

/// REGISTER from an agent's softphone: digest-checked against the user's HA1 (401 with a
/// challenge, 403 for wrong credentials or another user's address), then bound (200 with the
/// binding and its expiry), forgotten, or queried.
async fn on_register(s: Arc<Shared>, mut tx: Transaction) {
    let (Some(auth), Some(reg)) = (s.register_auth.as_ref(), s.cfg.registrar.as_ref()) else { return };
    if let Some(ip) = source_of(&tx).map(|a| a.ip()) {
        if !lock(&s.register_limiter).allow(ip, Instant::now()) {
            lock(&s.stats).rejected_rate += 1;
            return reply(&mut tx, StatusCode::ServiceUnavailable, vec![Header::Other("Retry-After".into(), "5".into()), warning("too many REGISTERs from this source")]).await;
        }
    }
    let header = tx.original.authorization_header().map(|h| h.value().to_string());
    let user = match auth.verify_ha1("REGISTER", header.as_deref(), unix_now(), |u| reg.0.ha1(u)) {
        AuthVerdict::Accepted { user } => user,
        AuthVerdict::Challenge { stale } => {
            lock(&s.stats).challenged += 1;
            let h = Header::Other("WWW-Authenticate".into(), auth.challenge(unix_now(), stale));
            return reply(&mut tx, StatusCode::Unauthorized, vec![h]).await;
        }
        AuthVerdict::Refused => {
            lock(&s.stats).rejected_auth += 1;
            return reply(&mut tx, StatusCode::Forbidden, vec![warning("wrong credentials")]).await;
        }
    };
    // The address of record is the To URI's user; one user cannot register another.
    let aor = tx.original.to_header().ok().and_then(|t| t.uri().ok()).and_then(|u| u.user().map(str::to_string)).unwrap_or_default();
    if aor != user {
        lock(&s.stats).rejected_auth += 1;
        return reply(&mut tx, StatusCode::Forbidden, vec![warning(&format!("{user} may not register {aor:?}"))]).await;
    }
    let contacts: Vec<String> = tx.original.headers.iter().filter_map(|h| if let Header::Contact(c) = h { Some(c.value().to_string()) } else { None }).collect();
    let expires = tx.original.headers.iter().find_map(|h| if let Header::Expires(e) = h { Some(e.value().to_string()) } else { None });
    let binding = match read_register(&contacts, expires.as_deref()) {
        Ok(RegisterAsk::Query) => reg.0.binding(&user),
        Ok(RegisterAsk::UnbindAll) => {
            reg.0.bind(&user, "", 0);
            None
        }
        Ok(RegisterAsk::Bind { contact, expires }) => {
            let granted = reg.0.bind(&user, &contact, expires);
            (granted > 0).then_some((contact, granted))
        }
        Err(r) => {
            let code = StatusCode::from(r.code);
            let mut headers = vec![warning(&r.why)];
            if r.code == 423 {
                headers.push(Header::Other("Min-Expires".into(), MIN_EXPIRES.to_string()));
            }
            return reply(&mut tx, code, headers).await;
        }
    };
    let headers = match binding {
        Some((contact, expires)) => vec![Header::Other("Contact".into(), format!("<{contact}>;expires={expires}"))],
        None => vec![],
    };
    reply(&mut tx, StatusCode::OK, headers).await
}

/// How long an in-dialog request waits for the ACK that confirms its dialog.
const ACK_GRACE: Duration = Duration::from_secs(2);

/// rsipstack passes a server dialog's re-INVITE, UPDATE, OPTIONS or INFO on only while the
/// dialog is confirmed, and drops it unanswered otherwise; one that overtakes the ACK of our
/// 2xx (or comes while another is being answered) waits for it a moment.
async fn confirmed(d: &rsipstack::dialog::dialog::Dialog) -> bool {
    let deadline = Instant::now() + ACK_GRACE;
    loop {
        let state = d.state();
        if state.is_confirmed() {
            return true;
        }
        if state.is_terminated() || Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An in-dialog request the dialog cannot take yet (no ACK, or still ringing): 500 with
/// Retry-After (RFC 3261 §14.2, RFC 3311 §5.2); OPTIONS is answered anyway.
async fn not_yet(s: &Shared, mut tx: Transaction) {
    let retry = vec![Header::Other("Retry-After".into(), "1".into())];
    match tx.original.method {
        Method::Options => reply(&mut tx, StatusCode::OK, capabilities(s)).await,
        Method::Invite => reject_invite(tx, StatusCode::ServerInternalError, retry).await,
        _ => reply(&mut tx, StatusCode::ServerInternalError, retry).await,
    }
}

/// Why an INVITE's body cannot be the SDP offer we answer: 415 with Accept for a body of
/// another type (RFC 3261 §21.4.13), 406 when the caller's Accept allows no SDP answer
/// (RFC 4475 3.3.15). A body without Content-Type is read as SDP, as old trunks send it.
fn media_type_rejection(req: &Request) -> Option<(StatusCode, Vec<Header>)> {
    let mime = |v: &str| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    };
    let content_type = req.headers.iter().find_map(|h| {
        if let Header::ContentType(c) = h {
            Some(mime(c.value()))
        } else {
            None
        }
    });
    let has_body = !req.body.iter().all(u8::is_ascii_whitespace);
    if has_body
        && content_type
            .as_deref()
            .is_some_and(|c| !c.is_empty() && c != "application/sdp")
    {
        let accept = Header::Other("Accept".into(), "application/sdp".into());
        return Some((
            StatusCode::UnsupportedMediaType,
            vec![
                accept,
                warning("only application/sdp bodies are understood"),
            ],
        ));
    }
    let accepts: Vec<String> = req
        .headers
        .iter()
        .filter_map(|h| {
            if let Header::Accept(a) = h {
                Some(a.value().to_string())
            } else {
                None
            }
        })
        .collect();
    if !accepts.is_empty() {
        let takes_sdp = accepts
            .iter()
            .flat_map(|a| a.split(','))
            .map(mime)
            .any(|m| m == "application/sdp" || m == "application/*" || m == "*/*");
        if !takes_sdp {
            return Some((
                StatusCode::NotAcceptable,
                vec![warning(
                    "Accept does not allow application/sdp, the only answer we give",
                )],
            ));
        }
    }
    None
}

/// The session timer an INVITE or UPDATE asks for, or the answer refusing it (400, 422).
fn timer_for(
    req: &Request,
) -> Result<(TimerRequest, Option<SessionTimer>), (StatusCode, Vec<Header>)> {
    let treq = TimerRequest::from_request(req)
        .map_err(|why| (StatusCode::BadRequest, vec![warning(why)]))?;
    match timer::negotiate(&treq) {
        Negotiation::Off => Ok((treq, None)),
        Negotiation::On(t) => Ok((treq, Some(t))),
        Negotiation::TooSmall { min_se } => Err((
            StatusCode::SessionIntervalTooSmall,
            vec![Header::Other("Min-SE".into(), min_se.to_string())],
        )),
    }
}

fn timer_headers(timer: Option<&SessionTimer>, req: &TimerRequest) -> Vec<Header> {
    timer
        .map(|t| timer::response_headers(t, req))
        .unwrap_or_default()
        .into_iter()
        .map(|(n, v)| Header::Other(n.into(), v))
        .collect()
}

async fn on_invite(s: Arc<Shared>, mut tx: Transaction) {
    lock(&s.stats).invites += 1;
    // 100 Trying first (rsipstack sends none on its own): the caller stops retransmitting.
    if let Err(e) = tx.send_trying().await {
        debug!(error = %e, "100 Trying not sent");
    }
    let source = source_of(&tx);
    let ip = source.map(|a| a.ip());
    // Who may call at all, how often, and with which credentials.
    if let Some(ip) = ip {
        if !s.cfg.allow.allows(ip) {
            lock(&s.stats).rejected_allow_list += 1;
            info!(%ip, "INVITE refused: not on the allow-list");
            return reject_invite(
                tx,
                StatusCode::Forbidden,
                vec![warning("source not allowed")],
            )
            .await;
        }
        if !lock(&s.limiter).allow(ip, Instant::now()) {
            lock(&s.stats).rejected_rate += 1;
            return reject_invite(
                tx,
                StatusCode::ServiceUnavailable,
                vec![
                    Header::Other("Retry-After".into(), "5".into()),
                    warning("too many calls from this source"),
                ],
            )
            .await;
        }
    }
    if let Some(auth) = &s.cfg.auth {
        let header = tx.original.authorization_header().map(|h| h.value().to_string());
        match auth.verify("INVITE", header.as_deref(), unix_now()) {
            AuthVerdict::Accepted { user } => debug!(%user, "INVITE authenticated"),
            AuthVerdict::Challenge { stale } => {
                lock(&s.stats).challenged += 1;
                let h = Header::Other("WWW-Authenticate".into(), auth.challenge(unix_now(), stale));
                return reject_invite(tx, StatusCode::Unauthorized, vec![h]).await;
            }
            AuthVerdict::Refused => {
                lock(&s.stats).rejected_auth += 1;
                return reject_invite(
                    tx,
                    StatusCode::Forbidden,
                    vec![warning("wrong credentials")],
                )
                .await;
            }
        }
    }
    if let Some((code, headers)) = media_type_rejection(&tx.original) {
        lock(&s.stats).rejected_codec += 1;
        return reject_invite(tx, code, headers).await;
    }
    let (timer_request, timer) = match timer_for(&tx.original) {
        Ok(t) => t,
        Err((code, headers)) => return reject_invite(tx, code, headers).await,
    };
    let body = String::from_utf8_lossy(&tx.original.body).to_string();
    let local_key = match crate::srtp::fresh_key() {
        Ok(k) => k,
        Err(e) => {
            warn!(error = %e, "no SRTP key");
            return reject_invite(tx, StatusCode::ServerInternalError, vec![warning("no media key")]).await;
        }
    };
    let negotiated = match AudioOffer::parse(&body).and_then(|o| sdp::negotiate(&o, local_key)) {
        Ok(n) => n,
        Err(e) => {
            lock(&s.stats).rejected_codec += 1;
            let code = match e {
                SdpError::NoCommonCodec(_) | SdpError::NoUsableCrypto => StatusCode::NotAcceptableHere,
                _ if body.trim().is_empty() => StatusCode::NotAcceptableHere,
                _ => StatusCode::BadRequest,
            };
            let why = if body.trim().is_empty() {
                "an SDP offer is required".to_string()
            } else {
                e.to_string()
            };
            return reject_invite(tx, code, vec![warning(&why)]).await;
        }
    };
    if lock(&s.legs).len() >= s.cfg.max_calls {
        lock(&s.stats).rejected_busy += 1;
        return reject_invite(tx, StatusCode::BusyHere, vec![warning("all lines busy")]).await;
    }
    let Some(remote) = remote_media(&negotiated, source) else {
        return reject_invite(
            tx,
            StatusCode::NotAcceptableHere,
            vec![warning("no usable media address")],
        )
        .await;
    };
    let (rtp, rtcp) = match media::bind_pair(s.cfg.listen.ip(), s.cfg.rtp_ports).await {
        Ok(p) => p,
        Err(e) => {
            warn!(error = %e, "no RTP port");
            return reject_invite(
                tx,
                StatusCode::ServiceUnavailable,
                vec![warning("no free media port")],
            )
            .await;
        }
    };
    let media_port = rtp.local_addr().map(|a| a.port()).unwrap_or(0);
    let over_tls = tx.connection.as_ref().is_some_and(|c| c.get_addr().r#type == Some(rsipstack::sip::Transport::Tls));
    let contact = if over_tls { s.tls_contact.clone() } else { None }.unwrap_or_else(|| s.contact.clone());
    let dialog = match s.layer.get_or_create_server_invite(&tx, s.state_tx.clone(), None, Some(contact)) {
        Ok(d) => d,
        Err(e) => {
            debug!(error = %e, "INVITE without a usable dialog");
            return reject_invite(
                tx,
                StatusCode::BadRequest,
                vec![warning("malformed INVITE")],
            )
            .await;
        }
    };
    let call_id = tx.original.call_id_header().map(|h| h.value().to_string()).unwrap_or_default();
    // The parties without their dialog tags.
    let untagged = |v: &str| v.split(";tag=").next().unwrap_or(v).trim().to_string();
    let from = tx.original.from_header().map(|h| untagged(h.value())).unwrap_or_default();
    let to = tx.original.to_header().map(|h| untagged(h.value())).unwrap_or_default();
    let transport = tx.connection.as_ref().map(|c| c.get_addr().r#type.map(|t| t.to_string()).unwrap_or_default()).unwrap_or_default();
    let media_cancel = CancellationToken::new();
    let params = MediaParams { codec: negotiated.codec, telephone_event: negotiated.telephone_event, remote, send: !negotiated_hold(&negotiated), jitter_depth: s.cfg.jitter_depth, timeout: s.cfg.rtp_timeout, srtp: negotiated.srtp, deliver_slots: s.cfg.deliver_slots.max(1) };
    let session = match media::start(rtp, rtcp, params, media_cancel.clone()) {
        Ok(session) => session,
        Err(e) => {
            warn!(error = %e, "media not started");
            return reject_invite(tx, StatusCode::ServerInternalError, vec![warning("media could not start")]).await;
        }
    };
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
    let peer_update = tx.original.headers.iter().any(|h| matches!(h, Header::Allow(a) if a.value().split(',').any(|m| m.trim().eq_ignore_ascii_case("UPDATE"))));
    let leg = Leg {
        dialog: dialog.clone(),
        negotiated,
        media_port,
        session_id: unix_now(),
        control,
        events: ev_tx,
        media_cancel,
        pending: Some(call),
        held: false,
        timer_request,
        timer,
        clock: Arc::new(Mutex::new(SessionClock::new(None, timer::now()))),
        clock_changed: Arc::new(Notify::new()),
        peer_update,
        end_reason: None,
    };
    lock(&s.legs).insert(id.clone(), leg);
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
    // A CANCEL ends the dialog with a 487 that, like any rejection, is retransmitted until its
    // ACK only while the transaction is driven.
    while !tx.is_terminated() && tx.receive().await.is_some() {}
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

async fn answer(s: &Arc<Shared>, id: &str, dialog: &InviteDialog) {
    let (body, mut headers) = {
        let legs = lock(&s.legs);
        let Some(leg) = legs.get(id) else { return };
        (
            sdp::answer(&leg.negotiated, &sdp_ip(s), leg.media_port, leg.session_id),
            timer_headers(leg.timer.as_ref(), &leg.timer_request),
        )
    };
    headers.push(Header::ContentType("application/sdp".into()));
    headers.extend(capabilities(s));
    if let Err(e) = dialog.accept(Some(headers), Some(body.into_bytes())) {
        debug!(error = %e, "accept failed");
        return;
    }
    // The session interval runs from the 2xx (RFC 4028 §7.2).
    let timer = lock(&s.legs).get(id).map(|l| {
        (
            l.timer,
            l.clock.clone(),
            l.clock_changed.clone(),
            l.media_cancel.clone(),
        )
    });
    if let Some((timer, clock, changed, cancel)) = timer {
        lock(&clock).refreshed(timer, timer::now());
        run_session_timer(
            s.clone(),
            id.to_string(),
            dialog.clone(),
            clock,
            changed,
            cancel,
        );
    }
    let call = lock(&s.legs).get_mut(id).and_then(|l| l.pending.take());
    if let Some(call) = call {
        lock(&s.stats).answered += 1;
        if s.calls.send(call).await.is_err() {
            let _ = dialog.hangup().await;
        }
    }
}

/// Runs one answered leg's session timer until the leg ends: sends our refreshes when we are
/// the refresher, ends the call when the session expires.
fn run_session_timer(
    s: Arc<Shared>,
    id: String,
    dialog: InviteDialog,
    clock: Arc<Mutex<SessionClock>>,
    changed: Arc<Notify>,
    cancel: CancellationToken,
) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(timer::drive(clock.clone(), changed.clone(), cancel, tx));
    tokio::spawn(async move {
        while let Some(action) = rx.recv().await {
            let action = match action {
                TimerAction::Refresh => match refresh_session(&s, &id, &dialog).await {
                    Refresh::Done(timer) => {
                        lock(&clock).refreshed(timer, timer::now());
                        changed.notify_one();
                        None
                    }
                    Refresh::Gone => lock(&clock).refresh_failed(),
                    // Not refreshed; the session still ends at its interval.
                    Refresh::NotNow => None,
                },
                TimerAction::Expire => Some(TimerAction::Expire),
            };
            if action == Some(TimerAction::Expire) {
                expire_session(&s, &id, &dialog).await;
                break;
            }
        }
    });
}

enum Refresh {
    Done(Option<SessionTimer>),
    /// 408, 481 or no answer: the caller is gone (RFC 4028 §10).
    Gone,
    NotNow,
}

/// Our session refresh: UPDATE without a body when the caller allows it, else a re-INVITE
/// with the SDP we last sent (RFC 4028 §7.4). We are the refresher, and in this request we
/// are the UAC: `refresher=uac`.
async fn refresh_session(s: &Shared, id: &str, dialog: &InviteDialog) -> Refresh {
    let Some((update, sdp, interval)) = lock(&s.legs).get(id).and_then(|l| {
        Some((
            l.peer_update,
            sdp::answer(&l.negotiated, &sdp_ip(s), l.media_port, l.session_id),
            l.timer?.interval,
        ))
    }) else {
        return Refresh::NotNow;
    };
    let mut headers = vec![
        Header::Other(
            "Session-Expires".into(),
            format!("{interval};refresher=uac"),
        ),
        Header::Other("Supported".into(), "timer".into()),
    ];
    let response = if update {
        dialog.update(Some(headers), None).await
    } else {
        headers.push(Header::ContentType("application/sdp".into()));
        dialog.reinvite(Some(headers), Some(sdp.into_bytes())).await
    };
    match response {
        Ok(Some(r)) if r.status_code.kind() == StatusCodeKind::Successful => {
            // The 2xx's refresher is named from this request's roles: `uac` is us.
            let treq = TimerRequest::from_headers(r.headers.iter().filter_map(|h| {
                if let Header::SessionExpires(v) = h {
                    Some(("Session-Expires", v.value()))
                } else {
                    None
                }
            }));
            let timer = treq.ok().and_then(|t| {
                let refresher = if t.refresher == Some(timer::Refresher::Uas) {
                    timer::Refresher::Uac
                } else {
                    timer::Refresher::Uas
                };
                Some(SessionTimer {
                    interval: t.session_expires?,
                    refresher,
                })
            });
            if let Some(leg) = lock(&s.legs).get_mut(id) {
                leg.timer = timer;
            }
            Refresh::Done(timer)
        }
        Ok(Some(r))
            if matches!(
                r.status_code,
                StatusCode::RequestTimeout | StatusCode::CallTransactionDoesNotExist
            ) =>
        {
            Refresh::Gone
        }
        Ok(_) => Refresh::NotNow,
        Err(e) => {
            debug!(error = %e, %id, "session refresh failed");
            Refresh::Gone
        }
    }
}

/// The session was not refreshed in time: BYE, and the leg ends with `session_expired`.
async fn expire_session(s: &Shared, id: &str, dialog: &InviteDialog) {
    match lock(&s.legs).get_mut(id) {
        Some(leg) => leg.end_reason = Some("session_expired"),
        None => return,
    }
    lock(&s.stats).session_expired += 1;
    info!(%id, "session expired without a refresh: hanging up");
    if let Err(e) = dialog
        .hangup_with_reason("SIP;text=\"Session expired\"".into())
        .await
    {
        debug!(error = %e, %id, "BYE for an expired session failed");
        end_leg(s, id, "session_expired");
        s.layer.remove_dialog(&dialog.id());
    }
}

/// Forgets a leg and tells the call it is over (once: the leg is gone after).
fn end_leg(s: &Shared, id: &str, why: &str) -> Option<&'static str> {
    let leg = lock(&s.legs).remove(id);
    let active = lock(&s.legs).len();
    lock(&s.stats).active = active;
    let leg = leg?;
    leg.media_cancel.cancel();
    let reason = leg.end_reason;
    let _ = leg.events.send(LegEvent::Ended {
        reason: reason
            .map(str::to_string)
            .unwrap_or_else(|| why.to_string()),
    });
    reason
}

fn sdp_ip(s: &Shared) -> String {
    s.contact.host_with_port.host.to_string()
}

/// Dialog state changes: confirmation, re-INVITEs and UPDATEs (hold, resume, session
/// refresh), in-dialog OPTIONS, the end.
async fn dialog_states(s: Arc<Shared>, mut rx: DialogStateReceiver) {
    while let Some(state) = rx.recv().await {
        match state {
            DialogState::Updated(id, req, handle) => {
                on_session_update(&s, &id.to_string(), &req, handle).await
            }
            DialogState::Options(_, _, handle) => {
                let _ = handle
                    .respond(StatusCode::OK, Some(capabilities(&s)), None)
                    .await;
            }
            DialogState::Info(_, _, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
            }
            // Methods we do not serve were answered 405 before they reached the dialog.
            DialogState::Notify(_, _, handle)
            | DialogState::Refer(_, _, handle)
            | DialogState::Message(_, _, handle)
            | DialogState::Publish(_, _, handle) => {
                let _ = handle
                    .respond(StatusCode::MethodNotAllowed, Some(vec![allow(&s)]), None)
                    .await;
            }
            DialogState::Terminated(id, reason) => {
                let why = match reason {
                    TerminatedReason::UacBye => "caller_hangup",
                    TerminatedReason::UasBye => "bot_hangup",
                    TerminatedReason::UacCancel => "cancelled",
                    TerminatedReason::Timeout => "timeout",
                    _ => "ended",
                };
                let had_leg = lock(&s.legs).contains_key(&id.to_string());
                end_leg(&s, &id.to_string(), why);
                s.layer.remove_dialog(&id);
                if had_leg && why == "cancelled" {
                    lock(&s.stats).cancelled += 1;
                }
            }
            _ => {}
        }
    }
}

/// A re-INVITE or an UPDATE from the caller: a new offer (hold, resume, another codec), a
/// session refresh (RFC 4028), or both. An UPDATE without a body only refreshes; a re-INVITE
/// without one gets our offer in the 2xx.
async fn on_session_update(s: &Shared, id: &str, req: &Request, handle: TransactionHandle) {
    let is_invite = req.method == Method::Invite;
    let (treq, timer) = match timer_for(req) {
        Ok(t) => t,
        Err((code, headers)) => return refuse(&handle, code, headers).await,
    };
    let has_body = !req.body.iter().all(u8::is_ascii_whitespace);
    if let Some((code, headers)) = media_type_rejection(req).filter(|_| has_body || is_invite) {
        return refuse(&handle, code, headers).await;
    }
    let answer = (|| {
        let mut legs = lock(&s.legs);
        let leg = legs.get_mut(id)?;
        // Our key stays ours for the call; the far end may change its own. A call cannot
        // change between RTP and SRTP (that would need new media).
        let result = if has_body {
            let body = String::from_utf8_lossy(&req.body).to_string();
            let our_key = leg.negotiated.srtp.map(|k| k.local).unwrap_or_default();
            AudioOffer::parse(&body).and_then(|o| sdp::negotiate(&o, our_key).map(|n| Some((o.is_hold(), n))))
        } else {
            Ok(None)
        };
        let result = match result {
            Ok(Some((_, n))) if n.srtp.is_some() != leg.negotiated.srtp.is_some() => Err(SdpError::Malformed("a call cannot change between RTP and SRTP".into())),
            r => r,
        };
        Some(match result {
            Ok(Some((hold, n))) => {
                let remote = remote_media(&n, None)
                    .unwrap_or(SocketAddr::new(IpAddr::from([0, 0, 0, 0]), n.remote.1));
                let _ = leg.control.send(Control::Update {
                    remote,
                    send: !hold,
                    srtp: n.srtp,
                });
                if hold != leg.held {
                    leg.held = hold;
                    let _ = leg.events.send(if hold {
                        LegEvent::Held
                    } else {
                        LegEvent::Resumed
                    });
                }
                leg.negotiated = n;
                leg.session_id += 1;
                Ok(Some(sdp::answer(
                    &leg.negotiated,
                    &sdp_ip(s),
                    leg.media_port,
                    leg.session_id,
                )))
            }
            // A re-INVITE without an offer: offer what we have (RFC 3261 §14.2).
            Ok(None) if is_invite => Ok(Some(sdp::answer(
                &leg.negotiated,
                &sdp_ip(s),
                leg.media_port,
                leg.session_id,
            ))),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        })
    })();
    let Some(answer) = answer else {
        return refuse(&handle, StatusCode::CallTransactionDoesNotExist, vec![]).await;
    };
    match answer {
        Ok(body) => {
            let mut headers = timer_headers(timer.as_ref(), &treq);
            headers.push(Header::Other(
                "Supported".into(),
                s.policy.supported.join(", "),
            ));
            if body.is_some() {
                headers.push(Header::ContentType("application/sdp".into()));
            }
            let _ = handle
                .respond(StatusCode::OK, Some(headers), body.map(String::into_bytes))
                .await;
            // A 2xx to a re-INVITE or UPDATE refreshes the session; one without
            // Session-Expires turns the timer off (RFC 4028 §10).
            if let Some(leg) = lock(&s.legs).get_mut(id) {
                leg.timer = timer;
                leg.timer_request = treq;
                lock(&leg.clock).refreshed(timer, timer::now());
                leg.clock_changed.notify_one();
            }
        }
        Err(e) => {
            refuse(
                &handle,
                StatusCode::NotAcceptableHere,
                vec![warning(&e.to_string())],
            )
            .await
        }
    }
}

async fn refuse(handle: &TransactionHandle, code: StatusCode, headers: Vec<Header>) {
    let _ = handle.respond(code, Some(headers), None).await;
}
