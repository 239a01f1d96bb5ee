//! One peer connection: the answerer for a caller's browser or app, or the offerer for
//! `voicegate dial ws://...`; trickled ICE both ways; its state as events; and the end, which
//! always releases the connection's sockets (the stack keeps them until `close`).
//!
//! ICE: host candidates on the configured addresses (one socket per call: webrtc-rs 0.21 has no
//! UDP mux), optionally ICE-lite, STUN and TURN servers for callers behind NAT. A call that is
//! not connected within `connect_timeout` ends with `ice_timeout`; one whose consent checks
//! stop (the app vanished without hanging up) ends with `connection_lost` after the
//! disconnected and failed timeouts.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rtc::ice::mdns::MulticastDnsMode;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_TELEPHONE_EVENT};
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::debug;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::media_stream::MediaStreamTrack;
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceCandidateInit,
    RTCIceConnectionState, RTCIceGatheringState, RTCIceServer, RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription, Registry,
    SettingEngineBuilder,
};
use webrtc::rtp_transceiver::RtpSender;

use crate::media::{random, Inbound, MediaStats, MediaTask, Outbound, PayloadTypes, RxPacket};
use crate::sdp;

const OPUS_PT: u8 = 111;
const TELEPHONE_EVENT_PT: u8 = 110;

/// A STUN or TURN server, as the browser's RTCIceServer has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub credential: String,
}

/// How in-app calls connect.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Addresses offered as host candidates (one socket each per call).
    pub ips: Vec<IpAddr>,
    /// Ports to take the call's sockets from (inclusive); None: any free port.
    pub ports: Option<(u16, u16)>,
    pub ice_servers: Vec<IceServer>,
    /// ICE-lite: we only answer checks (for a gateway on a public address).
    pub lite: bool,
    /// The connection must be up within this.
    pub connect_timeout: Duration,
    /// No consent from the far end for this long: disconnected; then this much more: over.
    pub disconnected_timeout: Duration,
    pub failed_timeout: Duration,
    /// Packets held before playout (20 ms each).
    pub jitter_depth: usize,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            ips: vec![IpAddr::from([127, 0, 0, 1])],
            ports: None,
            ice_servers: Vec::new(),
            lite: false,
            connect_timeout: Duration::from_secs(15),
            disconnected_timeout: Duration::from_secs(5),
            failed_timeout: Duration::from_secs(10),
            jitter_depth: 3,
        }
    }
}

/// A trickled ICE candidate (the browser's RTCIceCandidateInit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub candidate: String,
    #[serde(rename = "sdpMid", default)]
    pub sdp_mid: Option<String>,
    #[serde(rename = "sdpMLineIndex", default)]
    pub sdp_mline_index: Option<u16>,
}

/// What the connection reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// A local candidate to trickle to the far end.
    LocalCandidate(Candidate),
    /// Every local candidate is out.
    GatheringComplete,
    /// Media flows (ICE and DTLS up).
    Connected,
    /// Consent checks stopped; the connection may come back.
    Disconnected,
    /// The connection is over: `ice_timeout`, `ice_failed`, `dtls_failed`, `connection_lost`,
    /// `closed`.
    Ended { reason: String },
}

/// Why a session could not be set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    /// The offer or answer is unusable (the far end's fault).
    BadDescription(String),
    /// No socket could be had, or the stack failed (ours).
    Internal(String),
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::BadDescription(s) => write!(f, "{s}"),
            SessionError::Internal(s) => write!(f, "WebRTC: {s}"),
        }
    }
}

impl std::error::Error for SessionError {}

fn internal(e: impl std::fmt::Display) -> SessionError {
    SessionError::Internal(e.to_string())
}

fn bad(e: impl std::fmt::Display) -> SessionError {
    SessionError::BadDescription(e.to_string())
}

/// The call's side of the session.
pub struct SessionIo {
    /// One item per 20 ms slot, from the moment the session exists.
    pub inbound: mpsc::Receiver<Inbound>,
    pub outbound: mpsc::Sender<Outbound>,
    /// Keys to send (RFC 4733), for the dialling side.
    pub keys: mpsc::UnboundedSender<char>,
    pub events: mpsc::UnboundedReceiver<SessionEvent>,
    pub stats: Arc<Mutex<MediaStats>>,
}

/// A running peer connection; `close` ends it (also when dropped).
pub struct Session {
    pc: Arc<dyn PeerConnection>,
    cancel: CancellationToken,
    /// Remote candidates that came before the remote description.
    pending: tokio::sync::Mutex<Option<Vec<RTCIceCandidateInit>>>,
    gathered: watch::Receiver<bool>,
    track: Arc<TrackLocalStaticRTP>,
    /// The far end decodes in-band FEC (its offer says so).
    pub fec: bool,
}

struct Handler {
    events: mpsc::UnboundedSender<SessionEvent>,
    gathered: watch::Sender<bool>,
    tracks: mpsc::UnboundedSender<Arc<dyn TrackRemote>>,
    state: watch::Sender<RTCPeerConnectionState>,
    ice_connected: Arc<std::sync::atomic::AtomicBool>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, ev: RTCPeerConnectionIceEvent) {
        if let Ok(init) = ev.candidate.to_json() {
            let _ = self.events.send(SessionEvent::LocalCandidate(Candidate { candidate: init.candidate, sdp_mid: init.sdp_mid, sdp_mline_index: init.sdp_mline_index }));
        }
    }
    async fn on_ice_gathering_state_change(&self, s: RTCIceGatheringState) {
        if s == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(true);
            let _ = self.events.send(SessionEvent::GatheringComplete);
        }
    }
    async fn on_ice_connection_state_change(&self, s: RTCIceConnectionState) {
        if matches!(s, RTCIceConnectionState::Connected | RTCIceConnectionState::Completed) {
            self.ice_connected.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    async fn on_connection_state_change(&self, s: RTCPeerConnectionState) {
        debug!(state = %s, "peer connection");
        let _ = self.state.send(s);
    }
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        // Runs on the connection's driver: the reader runs elsewhere.
        let _ = self.tracks.send(track);
    }
}

fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec { mime_type: MIME_TYPE_OPUS.to_owned(), clock_rate: 48000, channels: 2, sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(), rtcp_feedback: vec![] }
}

fn telephone_event_codec() -> RTCRtpCodec {
    RTCRtpCodec { mime_type: MIME_TYPE_TELEPHONE_EVENT.to_owned(), clock_rate: 48000, channels: 1, sdp_fmtp_line: "0-16".to_owned(), rtcp_feedback: vec![] }
}

fn codecs() -> Vec<RTCRtpCodecParameters> {
    vec![
        RTCRtpCodecParameters { rtp_codec: opus_codec(), payload_type: OPUS_PT },
        RTCRtpCodecParameters { rtp_codec: telephone_event_codec(), payload_type: TELEPHONE_EVENT_PT },
    ]
}

/// The payload types of Opus and telephone-event in a list of agreed codecs.
fn payload_types(codecs: &[RTCRtpCodecParameters]) -> PayloadTypes {
    let find = |mime: &str| codecs.iter().find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(mime)).map(|c| c.payload_type);
    PayloadTypes { opus: find(MIME_TYPE_OPUS).unwrap_or(OPUS_PT), telephone_event: find(MIME_TYPE_TELEPHONE_EVENT) }
}

/// Where the call's sockets go: each address, on a free port of `ports` (probed, then released
/// for the stack to bind), or on any port.
fn bind_addrs(cfg: &EndpointConfig) -> Vec<SocketAddr> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let Some((lo, hi)) = cfg.ports else {
        return cfg.ips.iter().map(|ip| SocketAddr::new(*ip, 0)).collect();
    };
    let span = (hi.saturating_sub(lo) as u32 + 1).max(1);
    let start = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed).wrapping_add(std::process::id());
    cfg.ips
        .iter()
        .filter_map(|ip| (0..span).map(|i| lo + (start.wrapping_add(i) % span) as u16).find_map(|port| std::net::UdpSocket::bind((*ip, port)).ok().map(|_| SocketAddr::new(*ip, port))))
        .collect()
}

impl Session {
    /// Answers an offer: the answer's SDP (its candidates trickle as events; `complete_sdp`
    /// waits for all of them) and the call's side of the session.
    pub async fn answer(cfg: &EndpointConfig, offer: &str) -> Result<(Session, String, SessionIo), SessionError> {
        let summary = sdp::check_offer(offer).map_err(bad)?;
        let offer = sdp::keep_one_telephone_event(offer, 48_000);
        let desc = RTCSessionDescription::offer(offer).map_err(|e| bad(format!("the offer does not parse: {e}")))?;
        let (session, io) = Self::start(cfg, summary.fec).await?;
        let setup = async {
            session.pc.set_remote_description(desc).await.map_err(|e| bad(format!("the offer cannot be used: {e}")))?;
            session.remote_is_set().await?;
            session.pc.add_track(session.track.clone() as Arc<dyn TrackLocal>).await.map_err(internal)?;
            let answer = session.pc.create_answer(None).await.map_err(|e| bad(format!("no answer to this offer: {e}")))?;
            session.pc.set_local_description(answer).await.map_err(internal)?;
            session.pc.local_description().await.map(|d| d.sdp).ok_or_else(|| internal("no local description"))
        };
        match setup.await {
            Ok(sdp) => Ok((session, sdp, io)),
            Err(e) => {
                session.close().await;
                Err(e)
            }
        }
    }

    /// Makes an offer (the dialling side): its SDP with every local candidate.
    pub async fn offer(cfg: &EndpointConfig) -> Result<(Session, String, SessionIo), SessionError> {
        let (session, io) = Self::start(cfg, true).await?;
        let setup = async {
            let sender = session.pc.add_track(session.track.clone() as Arc<dyn TrackLocal>).await.map_err(internal)?;
            // add_track narrows the offer to the track's codec; telephone-event goes with it.
            for t in session.pc.get_transceivers().await {
                if let Ok(Some(s)) = t.sender().await {
                    if s.id() == sender.id() {
                        t.set_codec_preferences(codecs()).await.map_err(internal)?;
                    }
                }
            }
            let offer = session.pc.create_offer(None).await.map_err(internal)?;
            session.pc.set_local_description(offer).await.map_err(internal)?;
            Ok::<_, SessionError>(session.complete_sdp(Duration::from_secs(5)).await)
        };
        match setup.await {
            Ok(sdp) => Ok((session, sdp, io)),
            Err(e) => {
                session.close().await;
                Err(e)
            }
        }
    }

    /// The far end's answer to our offer.
    pub async fn accept_answer(&self, answer: &str) -> Result<(), SessionError> {
        let desc = RTCSessionDescription::answer(answer.to_owned()).map_err(|e| bad(format!("the answer does not parse: {e}")))?;
        self.pc.set_remote_description(desc).await.map_err(|e| bad(format!("the answer cannot be used: {e}")))?;
        self.remote_is_set().await
    }

    /// The local description once gathering is complete (or `wait` has passed).
    pub async fn complete_sdp(&self, wait: Duration) -> String {
        let mut g = self.gathered.clone();
        let _ = tokio::time::timeout(wait, g.wait_for(|done| *done)).await;
        self.pc.local_description().await.map(|d| d.sdp).unwrap_or_default()
    }

    /// A candidate from the far end (kept until the remote description is set).
    pub async fn add_remote_candidate(&self, c: Candidate) -> Result<(), SessionError> {
        if c.candidate.trim().is_empty() {
            return Ok(());
        }
        let init = RTCIceCandidateInit { candidate: c.candidate, sdp_mid: c.sdp_mid, sdp_mline_index: c.sdp_mline_index, ..Default::default() };
        let mut pending = self.pending.lock().await;
        if let Some(list) = pending.as_mut() {
            if list.len() < 64 {
                list.push(init);
            }
            return Ok(());
        }
        drop(pending);
        self.pc.add_ice_candidate(init).await.map_err(|e| bad(format!("candidate refused: {e}")))
    }

    async fn remote_is_set(&self) -> Result<(), SessionError> {
        let queued = self.pending.lock().await.take().unwrap_or_default();
        for init in queued {
            if let Err(e) = self.pc.add_ice_candidate(init).await {
                debug!(error = %e, "queued candidate refused");
            }
        }
        Ok(())
    }

    /// Ends the session and releases its sockets (also when the far end already left).
    pub async fn close(&self) {
        self.cancel.cancel();
        let _ = self.pc.close().await;
    }

    /// Stopped once the session has ended.
    pub fn ended(&self) -> CancellationToken {
        self.cancel.clone()
    }

    async fn start(cfg: &EndpointConfig, fec: bool) -> Result<(Session, SessionIo), SessionError> {
        let mut me = MediaEngine::default();
        for c in codecs() {
            me.register_codec(c, RtpCodecKind::Audio).map_err(internal)?;
        }
        let registry = register_default_interceptors(Registry::new(), &mut me).map_err(internal)?;
        let se = SettingEngineBuilder::new()
            .with_lite(cfg.lite)
            .with_multicast_dns_mode(MulticastDnsMode::Disabled)
            // Consent is checked by keepalives: several of them within the disconnected timeout.
            .with_ice_timeouts(Some(cfg.disconnected_timeout), Some(cfg.failed_timeout), Some((cfg.disconnected_timeout / 4).min(Duration::from_secs(2))))
            .build();
        let servers = cfg.ice_servers.iter().map(|s| RTCIceServer { urls: s.urls.clone(), username: s.username.clone(), credential: s.credential.clone() }).collect();
        let config = RTCConfigurationBuilder::new().with_ice_servers(servers).build();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let (gathered_tx, gathered_rx) = watch::channel(false);
        let (track_tx, track_rx) = mpsc::unbounded_channel();
        let (state_tx, state_rx) = watch::channel(RTCPeerConnectionState::New);
        let ice_connected = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let handler = Arc::new(Handler { events: ev_tx.clone(), gathered: gathered_tx, tracks: track_tx, state: state_tx, ice_connected: ice_connected.clone() });
        let addrs = bind_addrs(cfg);
        if addrs.is_empty() {
            return Err(internal("no free UDP port for the call's media"));
        }
        let pc = PeerConnectionBuilder::new()
            .with_configuration(config)
            .with_media_engine(me)
            .with_interceptor_registry(registry)
            .with_setting_engine(se)
            .with_handler(handler)
            .with_udp_addrs(addrs)
            .build()
            .await
            .map_err(internal)?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let ssrc = random() as u32;
        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            "voicegate".into(),
            "voicegate-audio".into(),
            "voicegate".into(),
            RtpCodecKind::Audio,
            vec![RTCRtpEncodingParameters { rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() }, codec: opus_codec(), ..Default::default() }],
        )));
        let cancel = CancellationToken::new();
        let (in_tx, in_rx) = mpsc::channel(256);
        let (out_tx, out_rx) = mpsc::channel(64);
        let (keys_tx, keys_rx) = mpsc::unbounded_channel();
        let stats = Arc::new(Mutex::new(MediaStats::default()));
        let (pkt_tx, pkt_rx) = mpsc::channel(512);
        let (pts_tx, pts_rx) = mpsc::unbounded_channel();
        let (sender_tx, sender_rx) = mpsc::unbounded_channel();
        tokio::spawn(MediaTask::new(cfg.jitter_depth, ssrc, stats.clone()).run(pkt_rx, pts_rx, sender_rx, in_tx, out_rx, keys_rx, cancel.clone()));
        let watcher = Watcher { pc: pc.clone(), cancel: cancel.clone(), events: ev_tx, track: track.clone(), ice_connected, connect_timeout: cfg.connect_timeout };
        tokio::spawn(watcher.run(state_rx, track_rx, pkt_tx, pts_tx, sender_tx));
        let session = Session { pc, cancel, pending: tokio::sync::Mutex::new(Some(Vec::new())), gathered: gathered_rx, track, fec };
        let io = SessionIo { inbound: in_rx, outbound: out_tx, keys: keys_tx, events: ev_rx, stats };
        Ok((session, io))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // The stack keeps a connection's sockets until it is closed.
        if !self.cancel.is_cancelled() {
            self.cancel.cancel();
        }
    }
}

/// Follows the connection: its tracks to the media task, its state to events, the connect
/// deadline, and the end.
struct Watcher {
    pc: Arc<dyn PeerConnection>,
    cancel: CancellationToken,
    events: mpsc::UnboundedSender<SessionEvent>,
    track: Arc<TrackLocalStaticRTP>,
    ice_connected: Arc<std::sync::atomic::AtomicBool>,
    connect_timeout: Duration,
}

impl Watcher {
    async fn run(
        self,
        mut state: watch::Receiver<RTCPeerConnectionState>,
        mut tracks: mpsc::UnboundedReceiver<Arc<dyn TrackRemote>>,
        packets: mpsc::Sender<RxPacket>,
        rx_pts: mpsc::UnboundedSender<PayloadTypes>,
        sender: mpsc::UnboundedSender<(Arc<TrackLocalStaticRTP>, PayloadTypes)>,
    ) {
        let deadline = tokio::time::sleep(self.connect_timeout);
        tokio::pin!(deadline);
        let mut connected = false;
        let reason = loop {
            tokio::select! {
                _ = self.cancel.cancelled() => break "closed",
                _ = &mut deadline, if !connected => break "ice_timeout",
                Some(track) = tracks.recv() => {
                    tokio::spawn(read_track(self.pc.clone(), track, packets.clone(), rx_pts.clone(), self.cancel.clone()));
                }
                changed = state.changed() => {
                    if changed.is_err() {
                        break "closed";
                    }
                    let s = *state.borrow_and_update();
                    match s {
                        RTCPeerConnectionState::Connected if !connected => {
                            connected = true;
                            let pts = match self.pc.get_senders().await.first() {
                                Some(s) => sender_pts(s).await,
                                None => PayloadTypes { opus: OPUS_PT, telephone_event: None },
                            };
                            let _ = sender.send((self.track.clone(), pts));
                            let _ = self.events.send(SessionEvent::Connected);
                        }
                        RTCPeerConnectionState::Disconnected => {
                            let _ = self.events.send(SessionEvent::Disconnected);
                        }
                        RTCPeerConnectionState::Connected => {
                            let _ = self.events.send(SessionEvent::Connected);
                        }
                        RTCPeerConnectionState::Failed => {
                            break match (connected, self.ice_connected.load(std::sync::atomic::Ordering::Relaxed)) {
                                (true, _) => "connection_lost",
                                (false, true) => "dtls_failed",
                                (false, false) => "ice_failed",
                            };
                        }
                        RTCPeerConnectionState::Closed => break "closed",
                        _ => {}
                    }
                }
            }
        };
        let _ = self.events.send(SessionEvent::Ended { reason: reason.to_owned() });
        self.cancel.cancel();
        let _ = self.pc.close().await;
    }
}

async fn sender_pts(s: &Arc<dyn RtpSender>) -> PayloadTypes {
    match s.get_parameters().await {
        Ok(p) => payload_types(&p.rtp_parameters.codecs),
        Err(_) => PayloadTypes { opus: OPUS_PT, telephone_event: None },
    }
}

/// Reads one remote track into the media task until the session ends.
async fn read_track(pc: Arc<dyn PeerConnection>, track: Arc<dyn TrackRemote>, packets: mpsc::Sender<RxPacket>, rx_pts: mpsc::UnboundedSender<PayloadTypes>, cancel: CancellationToken) {
    let id = track.track_id().await;
    for r in pc.get_receivers().await {
        if r.track().track_id().await == id {
            if let Ok(p) = r.get_parameters().await {
                let _ = rx_pts.send(payload_types(&p.rtp_parameters.codecs));
            }
        }
    }
    loop {
        let ev = tokio::select! {
            _ = cancel.cancelled() => return,
            ev = track.poll() => ev,
        };
        match ev {
            Some(TrackRemoteEvent::OnRtpPacket(p)) => {
                let h = &p.header;
                let pkt = RxPacket { payload_type: h.payload_type, sequence: h.sequence_number, timestamp: h.timestamp, ssrc: h.ssrc, payload: p.payload.clone() };
                // A media task too slow to take packets loses them, as on the wire.
                let _ = packets.try_send(pkt);
            }
            Some(TrackRemoteEvent::OnEnded) | None => return,
            Some(_) => {}
        }
    }
}
