//! One in-app call's leg: the WebRTC session's 20 ms slots of Opus decoded into the pipeline's
//! 16 kHz frames (with FEC or concealment where a packet was lost), the bot's frames encoded to
//! Opus, the recording at 16 kHz (caller left, bot right), and the call's events to the page.
//! The call itself is `crate::live`, as for a phone call.
//!
//! A call exists in the store once its media is connected: an offer whose ICE never connects
//! ends with `ice_timeout`, its sockets released, and leaves nothing behind.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use voicegate_webrtc::{Inbound, Outbound, Session, SessionEvent, SessionIo};

use super::signal::{Candidate, ToPage};
use super::token::CallClaims;
use super::{CallSlot, InApp};
use crate::audio::opus::{OpusDecoder, OpusEncoder, FRAME_SAMPLES};
use crate::audio::{to_i16, AudioFrame, FRAME_MS};
use crate::live::{CallInfo, Caller, LegIo, LegNote};
use crate::phone::recorder::CallRecorder;
use crate::pipeline::playout::BotFrame;

/// Why an in-app call could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the gateway is at its limit of in-app calls; try again shortly")]
    Busy,
    #[error("{0}")]
    BadOffer(String),
    #[error("{0}")]
    Internal(String),
}

/// A call being set up or up, as its signalling sees it.
pub struct CallHandle {
    pub call_id: String,
    session: Arc<Session>,
    caller_hung_up: CancellationToken,
}

impl CallHandle {
    /// A candidate the caller's side trickled.
    pub async fn add_candidate(&self, c: Candidate) -> Result<(), String> {
        let Some(candidate) = c.candidate else { return Ok(()) };
        let c = voicegate_webrtc::Candidate { candidate, sdp_mid: c.sdp_mid, sdp_mline_index: c.sdp_mline_index };
        self.session.add_remote_candidate(c).await.map_err(|e| e.to_string())
    }

    /// The caller hung up (a hangup message, the signalling socket gone, a WHIP DELETE).
    pub fn hang_up(&self) {
        self.caller_hung_up.cancel();
    }

    /// The answer with every local candidate (for WHIP, which does not trickle).
    pub async fn complete_sdp(&self, wait: std::time::Duration) -> String {
        self.session.complete_sdp(wait).await
    }

    /// Stopped once the call is over.
    pub fn ended(&self) -> CancellationToken {
        self.session.ended()
    }
}

/// Answers a caller's offer: the answer's SDP, the call's handle, and what the page is told as
/// the call goes on (candidates, state, the call's events, the end).
pub async fn start(ctx: Arc<InApp>, claims: CallClaims, call_id: String, offer: &str) -> Result<(Arc<CallHandle>, String, mpsc::UnboundedReceiver<ToPage>), StartError> {
    let slot = ctx.call_slot().ok_or(StartError::Busy)?;
    let (session, answer, io) = Session::answer(&ctx.endpoint, offer).await.map_err(|e| match e {
        voicegate_webrtc::SessionError::BadDescription(s) => StartError::BadOffer(s),
        voicegate_webrtc::SessionError::Internal(s) => StartError::Internal(s),
    })?;
    let session = Arc::new(session);
    let handle = Arc::new(CallHandle { call_id: call_id.clone(), session: session.clone(), caller_hung_up: CancellationToken::new() });
    let (to_page, updates) = mpsc::unbounded_channel();
    tokio::spawn(run(ctx, slot, handle.clone(), io, claims, to_page));
    Ok((handle, answer, updates))
}

/// An in-app leg's media figures (Opus over DTLS-SRTP, whose keys the browser and we agree).
fn figures(s: &voicegate_webrtc::media::MediaStats) -> crate::live::MediaFigures {
    crate::live::MediaFigures { rx_packets: s.rx_packets, rx_lost: s.rx_lost, rx_dtmf: s.rx_dtmf, jitter_ms: 0.0, tx_packets: s.tx_packets, tx_late: s.tx_late, tx_max_late_ms: s.tx_max_late_ms, srtp: true }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The call from its offer to its end.
async fn run(ctx: Arc<InApp>, _slot: CallSlot, handle: Arc<CallHandle>, io: SessionIo, claims: CallClaims, to_page: mpsc::UnboundedSender<ToPage>) {
    let SessionIo { inbound, outbound, keys: _keys, mut events, stats } = io;
    let session = handle.session.clone();
    let id = handle.call_id.clone();
    // Until the media connects: candidates to the page; a failure or a hang-up ends it here.
    let failed = loop {
        tokio::select! {
            _ = handle.caller_hung_up.cancelled() => break Some("caller_hangup".to_string()),
            ev = events.recv() => match ev {
                Some(SessionEvent::LocalCandidate(c)) => drop(to_page.send(ToPage::Candidate(Candidate { candidate: Some(c.candidate), sdp_mid: c.sdp_mid, sdp_mline_index: c.sdp_mline_index }))),
                Some(SessionEvent::GatheringComplete) => drop(to_page.send(ToPage::Candidate(Candidate { candidate: None, sdp_mid: None, sdp_mline_index: None }))),
                Some(SessionEvent::Connected) => break None,
                Some(SessionEvent::Disconnected) => {}
                Some(SessionEvent::Ended { reason }) => break Some(reason),
                None => break Some("closed".to_string()),
            }
        }
    };
    if let Some(reason) = failed {
        info!(call = %id, %reason, customer = %claims.customer, "in-app call not connected");
        if reason != "caller_hangup" {
            let _ = to_page.send(ToPage::error(match reason.as_str() {
                "ice_timeout" => "the call's audio connection could not be established in time (check that UDP is not blocked)",
                "dtls_failed" => "the call's encryption handshake failed",
                _ => "the call's audio connection failed",
            }));
        }
        let _ = to_page.send(ToPage::Hangup { reason });
        session.close().await;
        lock(&ctx.totals).refused += 1;
        return;
    }
    let _ = to_page.send(ToPage::State { state: "connected".into() });

    let started = Instant::now();
    let source = format!("webrtc:{}", claims.customer);
    let live = ctx.live.register(&id, &source);
    // The call's events to the page as they happen: its captions.
    let mut watch = live.watch();
    let forward = {
        let to_page = to_page.clone();
        tokio::spawn(async move {
            loop {
                match watch.recv().await {
                    Ok(event) => drop(to_page.send(ToPage::Event { event: serde_json::to_value(&event).unwrap_or_default() })),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                }
            }
        })
    };
    let recording = ctx.recordings.join(format!("{id}.wav"));
    let recorder = match CallRecorder::create_at(&recording, crate::audio::SAMPLE_RATE) {
        Ok(r) => Some(r),
        Err(e) => {
            warn!(error = %e, "call not recorded");
            None
        }
    };
    let recorder = Arc::new(Mutex::new(recorder));
    info!(call = %id, customer = %claims.customer, fec = session.fec, "in-app call connected");

    let (frames_tx, frames_rx) = mpsc::channel::<AudioFrame>(64);
    let (note_tx, notes) = mpsc::unbounded_channel();
    let listener = tokio::spawn(listen(inbound, events, handle.caller_hung_up.clone(), frames_tx, note_tx, recorder.clone(), session.clone(), to_page.clone()));
    let (bot_tx, bot_rx) = mpsc::channel::<BotFrame>(64);
    let speaker = tokio::spawn(speak(bot_rx, outbound, started, recorder.clone()));
    let hangup: crate::live::Hangup = {
        let session = session.clone();
        Box::new(move || Box::pin(async move { session.close().await }))
    };
    let info = CallInfo {
        id: id.clone(),
        source,
        caller: claims.customer.clone(),
        callee: "app".into(),
        sip_call_id: None,
        recording: Some(recording.display().to_string()),
        who: Caller { customer: Some(claims.customer.clone()), order: claims.order.clone(), lang: claims.lang().map(str::to_string) },
        greet: ctx.greet,
        // `sip.pipeline = false` (capacity tests) holds for in-app calls too.
        pipeline: ctx.engines.config.sip.pipeline,
        to_agents: ctx.engines.config.sip.to_agents,
    };
    let probe = stats.clone();
    let media = Box::new(move || figures(&lock(&probe)));
    let io = LegIo { caller: frames_rx, bot: bot_tx, notes, hangup, recorder: recorder.clone(), media };
    let ended = crate::live::run(ctx.engines.clone(), live, info, io, started).await;
    session.close().await;
    let _ = listener.await;
    let _ = speaker.await;
    let _ = forward.await;
    let _ = to_page.send(ToPage::Hangup { reason: ended.reason.clone() });
    let s = lock(&stats).clone();
    lock(&ctx.totals).media.add(figures(&s));
    info!(call = %id, reason = %ended.reason, duration_ms = ended.duration_ms, recorded_ms = ?ended.recorded_ms, rx = s.rx_packets, lost = s.rx_lost, tx = s.tx_packets, late = s.tx_late, "in-app call ended");
}

/// The caller's side: a 20 ms slot at a time, decoded (lost packets rebuilt or concealed),
/// recorded and handed to the call; the end of the leg as a note before the frames stop.
#[allow(clippy::too_many_arguments)]
async fn listen(
    mut inbound: mpsc::Receiver<Inbound>,
    mut events: mpsc::UnboundedReceiver<SessionEvent>,
    caller_hung_up: CancellationToken,
    frames: mpsc::Sender<AudioFrame>,
    notes: mpsc::UnboundedSender<LegNote>,
    recorder: Arc<Mutex<Option<CallRecorder>>>,
    session: Arc<Session>,
    to_page: mpsc::UnboundedSender<ToPage>,
) {
    let mut dec = match OpusDecoder::new() {
        Ok(d) => d,
        Err(e) => {
            warn!(error = %e, "no Opus decoder");
            let _ = notes.send(LegNote::Ended { reason: "error".into() });
            return;
        }
    };
    // The slots that passed before the media connected are not part of the call: the call's
    // clock (and the recording's) starts now.
    while inbound.try_recv().is_ok() {}
    let mut slot = 0u64;
    let mut key = None;
    let reason = loop {
        let item = tokio::select! {
            biased;
            _ = caller_hung_up.cancelled() => break "caller_hangup".to_string(),
            ev = events.recv() => match ev {
                Some(SessionEvent::Ended { reason }) => break reason,
                Some(SessionEvent::Disconnected) => {
                    let _ = to_page.send(ToPage::State { state: "disconnected".into() });
                    continue;
                }
                Some(SessionEvent::Connected) => {
                    let _ = to_page.send(ToPage::State { state: "connected".into() });
                    continue;
                }
                Some(_) => continue,
                None => break "closed".to_string(),
            },
            item = inbound.recv() => match item {
                Some(i) => i,
                None => break "closed".to_string(),
            },
        };
        let samples = match slot_pcm(&mut dec, item) {
            Ok(pcm) => pcm,
            Err(k) => {
                key = Some(k);
                continue;
            }
        };
        if let Some(r) = lock(&recorder).as_mut() {
            let ints: Vec<i16> = samples.iter().map(|s| to_i16(*s)).collect();
            if let Err(e) = r.caller(slot, &ints) {
                warn!(error = %e, "recording stopped");
                *lock(&recorder) = None;
            }
        }
        let frame = AudioFrame { t_ms: slot * FRAME_MS, samples, dtmf: key.take() };
        if frames.send(frame).await.is_err() {
            break "bot_hangup".to_string();
        }
        slot += 1;
    };
    // The note first: the call keeps the leg's reason when its frames stop.
    let _ = notes.send(LegNote::Ended { reason });
    drop(frames);
    session.close().await;
}

/// One 20 ms slot of a WebRTC leg as 16 kHz samples: decoded, or rebuilt by forward error
/// correction or concealed when lost; `Err` with the key for an RFC 4733 key press.
pub fn slot_pcm(dec: &mut OpusDecoder, item: Inbound) -> Result<Vec<f32>, char> {
    let mut pcm = match item {
        Inbound::Dtmf(k) => return Err(k),
        Inbound::Audio(p) => dec.decode(&p),
        Inbound::Lost { next } => dec.conceal(next.as_deref()),
        Inbound::Silence => vec![0.0; FRAME_SAMPLES],
    };
    // Browsers send 20 ms packets; anything else is cut or padded to the slot.
    pcm.resize(FRAME_SAMPLES, 0.0);
    Ok(pcm)
}

/// The bot's side: each frame encoded to Opus, recorded on its slot, and handed to the paced
/// sender.
async fn speak(mut bot: mpsc::Receiver<BotFrame>, out: mpsc::Sender<Outbound>, started: Instant, recorder: Arc<Mutex<Option<CallRecorder>>>) {
    let mut enc = match OpusEncoder::new() {
        Ok(e) => e,
        Err(e) => {
            warn!(error = %e, "no Opus encoder: the bot is not heard");
            return;
        }
    };
    while let Some(f) = bot.recv().await {
        if let Some(r) = lock(&recorder).as_mut() {
            let pcm: Vec<i16> = f.samples.iter().map(|x| to_i16(*x)).collect();
            r.bot(f.t_ms / FRAME_MS, &pcm);
        }
        let payload = match enc.encode(&f.samples) {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %e, "frame not encoded");
                continue;
            }
        };
        let due = started + std::time::Duration::from_millis(f.t_ms);
        if out.send(Outbound { due: Some(due), payload }).await.is_err() {
            break;
        }
    }
}
