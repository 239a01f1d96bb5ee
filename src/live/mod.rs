//! A live call, whatever its leg (SIP/RTP from a trunk, WebRTC from the shop's app): its row in
//! the store, every event into the store as it happens and to the call's watchers, the per-call
//! pipeline, and the end. A leg adapter (`phone::call`, `inapp::call`) turns its transport into
//! 16 kHz caller frames and takes the bot's 16 kHz frames; nothing here knows which it is.
//!
//! The end is call control, not a side effect: when the leg ends (the caller hung up, the media
//! timed out) the caller's frames stop, and the pipeline stops at once (`CallSpec::live`):
//! no transcription, reply or synthesis runs for a caller who is gone.

pub mod registry;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::audio::AudioFrame;
use crate::events::{Event, EventKind};
use crate::pipeline::playout::BotFrame;
use crate::call::control::{CallAction, CallControl, CallInput};
use crate::pipeline::{run_call, CallSpec, Engines, Pacing, PipelineControl};
use crate::store::Store;

pub use registry::{LiveCall, LiveCallInfo, LiveCalls};

/// A short id for a call: time and a few random hex digits.
pub fn new_call_id() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("c{}-{:05x}", now.as_secs(), voicegate_sip::random_u64() & 0xfffff)
}

/// Who is calling, as far as the leg knows before a word is said.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The shop's customer id (from an in-app call token).
    pub customer: Option<String>,
    /// An order the call is about: the dialog does not ask for it.
    pub order: Option<String>,
    /// The language the call starts in ("en", "zh"), when the leg tells.
    pub lang: Option<String>,
}

/// What the store keeps of a call and how it runs.
#[derive(Debug, Clone)]
pub struct CallInfo {
    pub id: String,
    /// The leg: `sip:<from>`, `webrtc:<customer>`.
    pub source: String,
    pub caller: String,
    pub callee: String,
    /// The SIP Call-ID, for SIP legs.
    pub sip_call_id: Option<String>,
    pub recording: Option<String>,
    pub who: Caller,
    /// The bot speaks first.
    pub greet: bool,
    /// Run the AI pipeline; off, the call is only recorded (capacity tests).
    pub pipeline: bool,
}

/// What happens on the leg besides audio.
#[derive(Debug, Clone, PartialEq)]
pub enum LegNote {
    Held,
    Resumed,
    /// The leg is over: `caller_hangup`, `rtp_timeout`, `ice_failed`, ...
    Ended { reason: String },
}

/// Ends the call from our side (a BYE, a WebRTC hangup message).
pub type Hangup = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// A leg as the call sees it.
pub struct LegIo {
    /// The caller's audio, 16 kHz 20 ms frames on the call's slots; closed when the leg ends.
    pub caller: mpsc::Receiver<AudioFrame>,
    /// The bot's frames, as they are due.
    pub bot: mpsc::Sender<BotFrame>,
    pub notes: mpsc::UnboundedReceiver<LegNote>,
    pub hangup: Hangup,
}

/// One finished call's media figures, whatever its leg.
#[derive(Debug, Clone, Copy, Default)]
pub struct MediaFigures {
    pub rx_packets: u64,
    pub rx_lost: u64,
    pub rx_dtmf: u64,
    pub tx_packets: u64,
    pub tx_late: u64,
    pub tx_max_late_ms: u64,
}

/// Media figures summed over the finished calls of one leg (for `bench calls`, /v1/sip and
/// /v1/live).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MediaTotals {
    pub calls: u64,
    pub rx_packets: u64,
    pub rx_lost: u64,
    pub rx_dtmf: u64,
    pub tx_packets: u64,
    pub tx_late: u64,
    pub tx_max_late_ms: u64,
}

impl MediaTotals {
    pub fn add(&mut self, f: MediaFigures) {
        self.calls += 1;
        self.rx_packets += f.rx_packets;
        self.rx_lost += f.rx_lost;
        self.rx_dtmf += f.rx_dtmf;
        self.tx_packets += f.tx_packets;
        self.tx_late += f.tx_late;
        self.tx_max_late_ms = self.tx_max_late_ms.max(f.tx_max_late_ms);
    }
}

/// How a call ended.
#[derive(Debug, Clone)]
pub struct Ended {
    pub reason: String,
    pub duration_ms: u64,
}

/// Writes a call's events to the store in order, numbering them.
struct EventLog {
    store: Arc<Store>,
    seq: u64,
}

impl EventLog {
    fn write(&mut self, ev: &Event) {
        if let Err(e) = self.store.add_event(self.seq, ev) {
            warn!(error = %e, call = %ev.call_id, "event not stored");
        }
        self.seq += 1;
    }
}

/// Runs one answered call to its end; `started` is when its leg was answered.
pub async fn run(engines: Arc<Engines>, live: LiveCall, info: CallInfo, io: LegIo, started: Instant) -> Ended {
    let store = engines.store.clone();
    let id = info.id.clone();
    if let Err(e) = store.start_call(&id, &info.source, &info.caller, &info.callee, info.sip_call_id.as_deref(), info.recording.as_deref()) {
        warn!(error = %e, "call not stored");
    }
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<Event>();

    // Events: to the store as they come, on a blocking thread (a write may wait for the disk,
    // which the threads pacing call audio must not), and to whoever watches the call. The
    // pipeline's own end is dropped: call control's is the call's.
    let writer = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || {
            let mut log = EventLog { store, seq: 0 };
            while let Some(ev) = ev_rx.blocking_recv() {
                if matches!(ev.kind, EventKind::CallEnded { .. }) && ev.call_id.is_empty() {
                    // Call control's end (sent without the id, so that it cannot be mistaken).
                    let ev = Event { call_id: live.id().to_owned(), ..ev };
                    log.write(&ev);
                    live.publish(&ev);
                    break;
                }
                if matches!(ev.kind, EventKind::CallEnded { .. }) {
                    continue;
                }
                log.write(&ev);
                live.publish(&ev);
            }
            // The call leaves the live list once its last event is stored.
            drop(live);
        })
    };

    let LegIo { caller, bot, mut notes, hangup } = io;
    let mut control = CallControl::new(0);
    let (pipe_tx, pipe_rx) = mpsc::unbounded_channel();
    let call = {
        let (engines, ev_tx, id, info) = (engines.clone(), ev_tx.clone(), id.clone(), info.clone());
        async move {
            if info.pipeline {
                let spec = CallSpec { call_id: id.clone(), source: info.source.clone(), pacing: Pacing::RealTime, respond: true, greet: info.greet, live: true, lang: info.who.lang.clone() };
                let mut dialog = engines.new_dialog(false);
                dialog.know_caller(info.who.order.as_deref(), info.who.lang.as_deref());
                run_call(engines.clone(), spec, dialog, caller, Some(bot), ev_tx.clone(), started, Some(pipe_rx)).await.map(|_| ())
            } else {
                // Media and recording only: the caller is heard and recorded, nobody answers.
                let _ = ev_tx.send(Event::new(&id, 0, EventKind::CallStarted { source: info.source.clone() }));
                let mut caller = caller;
                let mut pipe_rx = pipe_rx;
                loop {
                    tokio::select! {
                        f = caller.recv() => if f.is_none() { break },
                        c = pipe_rx.recv() => if matches!(c, Some(PipelineControl::Stop) | None) { break },
                    }
                }
                drop(bot);
                Ok(())
            }
        }
    };
    tokio::pin!(call);
    let now = || started.elapsed().as_millis() as u64;
    let input_of = |n: LegNote| match n {
        LegNote::Held => CallInput::Held(true),
        LegNote::Resumed => CallInput::Held(false),
        LegNote::Ended { reason } => CallInput::LegEnded { reason },
    };
    // Call control decides; this loop carries its actions out, until the call's end.
    let mut hangup = Some(hangup);
    let mut pipeline_done = false;
    let mut ended = None;
    while ended.is_none() {
        let inputs: Vec<CallInput> = tokio::select! {
            r = &mut call, if !pipeline_done => {
                pipeline_done = true;
                // The pipeline stops by itself when the caller's audio stops (the leg's end
                // note is in by then: a leg sends it before it closes the frames), or when the
                // bot is done with the call (its goodbye played).
                let mut queued: Vec<CallInput> = std::iter::from_fn(|| notes.try_recv().ok()).map(input_of).collect();
                match r {
                    Err(e) => {
                        warn!(error = %e, call = %id, "call pipeline failed");
                        queued.push(CallInput::PipelineFailed);
                    }
                    Ok(()) if !queued.iter().any(|i| matches!(i, CallInput::LegEnded { .. })) => queued.push(CallInput::BotDone),
                    Ok(()) => {}
                }
                queued
            }
            Some(n) = notes.recv() => vec![input_of(n)],
            else => vec![CallInput::LegEnded { reason: "closed".into() }],
        };
        for input in inputs {
            for action in control.handle(input, now()) {
                match action {
                    CallAction::StopPipeline => drop(pipe_tx.send(PipelineControl::Stop)),
                    // The leg's adapter closes its recording when its media stops.
                    CallAction::StopRecording => {}
                    CallAction::HangUpCaller => {
                        if let Some(h) = hangup.take() {
                            h().await;
                        }
                    }
                    CallAction::Hold(h) => {
                        let _ = pipe_tx.send(PipelineControl::Hold(h));
                        let _ = ev_tx.send(Event::new(&id, now(), EventKind::Hold { held: h }));
                    }
                    CallAction::End { reason, duration_ms } => ended = Some(Ended { reason, duration_ms }),
                }
            }
        }
    }
    let ended = ended.unwrap_or(Ended { reason: "error".into(), duration_ms: now() });
    // The pipeline winds down (its jobs are cancelled); what it still emits is not stored.
    if !pipeline_done {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), &mut call).await;
    }
    let _ = ev_tx.send(Event::new("", ended.duration_ms, EventKind::CallEnded { reason: ended.reason.clone(), duration_ms: ended.duration_ms }));
    drop(ev_tx);
    let _ = writer.await;
    if let Err(e) = store.end_call(&id, &ended.reason, ended.duration_ms) {
        warn!(error = %e, "call end not stored");
    }
    info!(call = %id, reason = %ended.reason, duration_ms = ended.duration_ms, "call ended");
    ended
}

/// Calls a previous gateway process left unfinished (it was killed mid-call): each is closed
/// with reason `gateway_restart`, its duration what its recording holds (the recording's
/// header repaired), and a `call_ended` event saying so. Run at start-up, before any call.
pub fn close_interrupted_calls(store: &Store) -> crate::error::Result<Vec<Ended>> {
    let mut closed = Vec::new();
    for call in store.unfinished_calls()? {
        let recorded = call.recording.as_deref().map(|r| crate::audio::wav_stream::repair(std::path::Path::new(r)));
        let duration_ms = match recorded {
            Some(Ok(ms)) => ms,
            Some(Err(e)) => {
                warn!(call = %call.id, error = %e, "the interrupted call's recording cannot be read");
                0
            }
            None => 0,
        };
        let reason = "gateway_restart".to_string();
        let ev = Event::new(&call.id, duration_ms, EventKind::CallEnded { reason: reason.clone(), duration_ms });
        store.add_event(store.next_event_seq(&call.id)?, &ev)?;
        store.end_call(&call.id, &reason, duration_ms)?;
        info!(call = %call.id, duration_ms, "closed a call the previous gateway process left in progress");
        closed.push(Ended { reason, duration_ms });
    }
    Ok(closed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_left_by_a_dead_process_are_closed_with_what_their_recording_holds() {
        let t = tempfile::tempdir().unwrap();
        let store = Store::open(&t.path().join("db.sqlite")).unwrap();
        let rec = t.path().join("c1.wav");
        // A recording written for 3.5 s by a process killed before its last header update.
        let mut w = crate::audio::wav_stream::StreamingWav::create(&rec, 2, 8000).unwrap();
        for _ in 0..175 {
            w.append(&[100i16; 320]).unwrap();
        }
        std::mem::forget(w);
        store.start_call("c1", "sip:a", "a", "b", None, Some(rec.to_str().unwrap())).unwrap();
        store.add_event(0, &Event::new("c1", 0, EventKind::CallStarted { source: "sip:a".into() })).unwrap();
        store.start_call("c2", "webrtc:x", "x", "app", None, None).unwrap();
        store.start_call("c3", "sip:b", "b", "b", None, None).unwrap();
        store.end_call("c3", "caller_hangup", 1000).unwrap();
        let closed = close_interrupted_calls(&store).unwrap();
        assert_eq!(closed.len(), 2);
        let c1 = store.call("c1").unwrap().unwrap();
        assert_eq!((c1.end_reason.as_deref(), c1.duration_ms), (Some("gateway_restart"), Some(3500)));
        let ev = store.events("c1").unwrap();
        assert_eq!(ev.last().unwrap().kind, EventKind::CallEnded { reason: "gateway_restart".into(), duration_ms: 3500 });
        assert_eq!(crate::audio::decode_file(&rec, Some(0)).unwrap().samples.len(), 3500 * 8);
        assert_eq!(store.call("c2").unwrap().unwrap().end_reason.as_deref(), Some("gateway_restart"));
        assert_eq!(store.call("c3").unwrap().unwrap().end_reason.as_deref(), Some("caller_hangup"));
        assert!(close_interrupted_calls(&store).unwrap().is_empty());
    }
}
