//! Running a call: its event sink, what kind of call it is, and the file leg that feeds a
//! replay. The conversation itself is in `conversation.rs`; only the leg differs between a live
//! call and a replay.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::audio::frame::{frames, AudioFrame};
use crate::dialog::Dialog;
use crate::error::{Error, Result};
use crate::events::{Event, EventKind};
use crate::pipeline::conversation::{CallRecord, Conversation};
use crate::pipeline::engines::Engines;
use crate::pipeline::playout::BotFrame;

/// Stamps a call's events with its id and sends them on.
#[derive(Clone)]
pub struct EventSink {
    call_id: Arc<str>,
    tx: mpsc::UnboundedSender<Event>,
    latest_ms: Arc<AtomicU64>,
}

impl EventSink {
    pub fn new(call_id: &str, tx: mpsc::UnboundedSender<Event>) -> Self {
        Self {
            call_id: call_id.into(),
            tx,
            latest_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn emit(&self, t_ms: u64, kind: EventKind) {
        self.latest_ms.fetch_max(t_ms, Ordering::Relaxed);
        // Nobody listening any more (the consumer quit) is not an error for the call.
        let _ = self.tx.send(Event::new(&self.call_id, t_ms, kind));
    }

    /// The time of the latest event so far.
    pub fn latest_ms(&self) -> u64 {
        self.latest_ms.load(Ordering::Relaxed)
    }

    pub fn call_id(&self) -> &str {
        &self.call_id
    }
}

/// How the caller's audio arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// At wall-clock speed, as on a live call.
    RealTime,
    /// As fast as the pipeline takes it, with every stage's real duration kept on the call's
    /// timeline (a faithful replay, faster than real time).
    Simulated,
}

/// One call to run.
#[derive(Debug, Clone)]
pub struct CallSpec {
    pub call_id: String,
    /// The leg, for the `call_started` event: `file:<path>`, `upload`, `sip:<uri>`, ...
    pub source: String,
    pub pacing: Pacing,
    /// Answer the caller (dialog and speech). Off, the call is only transcribed and understood.
    pub respond: bool,
    /// The bot speaks first.
    pub greet: bool,
    /// A live leg: when the caller's audio stops, the caller is gone and the call ends at once
    /// (nothing more is transcribed, answered or said). Otherwise (a file) the end of the audio
    /// lets the last turn be answered.
    pub live: bool,
    /// The language the call starts in, when the leg tells (the greeting's language).
    pub lang: Option<String>,
    /// A QA replay: the speech ends of the recorded call's turns that ended early (a complete
    /// sentence); the replay ends its turns early there and nowhere else.
    pub recorded_early_ends: Option<Vec<u64>>,
}

impl CallSpec {
    /// A replay of a file: simulated unless `realtime`, answering, not greeting (a recording
    /// starts where the caller does).
    pub fn replay(call_id: String, source: String, realtime: bool) -> Self {
        let pacing = if realtime { Pacing::RealTime } else { Pacing::Simulated };
        Self { call_id, source, pacing, respond: true, greet: false, live: false, lang: None, recorded_early_ends: None }
    }
}

/// What call control tells a running pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum PipelineControl {
    /// The call is over: stop now (a live call's jobs are cancelled).
    Stop,
    /// The caller put the call on hold (true), or took it off hold: the bot stops talking
    /// while it is held.
    Hold(bool),
    /// Call control speaks to the caller through the bot (the queue's announcements, a
    /// callback's confirmation), also after the handoff, when the bot answers no more.
    Say(crate::dialog::Reply),
}

/// Runs one call on caller frames from `frames`; bot frames go to `bot_out` as they play;
/// `control` is call control's say over it.
#[allow(clippy::too_many_arguments)]
pub async fn run_call(
    engines: Arc<Engines>,
    spec: CallSpec,
    dialog: Box<dyn Dialog>,
    frames: mpsc::Receiver<AudioFrame>,
    bot_out: Option<mpsc::Sender<BotFrame>>,
    events: mpsc::UnboundedSender<Event>,
    started: Instant,
    control: Option<mpsc::UnboundedReceiver<PipelineControl>>,
) -> Result<CallRecord> {
    let sink = EventSink::new(&spec.call_id, events);
    // Making a voice detector when no spare is ready takes over 100 ms: off the threads that
    // pace the other calls' audio.
    let conversation = crate::pipeline::conversation::blocking(|| Conversation::new(engines, spec, dialog, sink, bot_out, started))?;
    conversation.run(frames, control).await
}

/// Runs a call whose caller audio (16 kHz mono) is at hand: the file leg of a replay.
pub async fn run_file_call(
    engines: Arc<Engines>,
    spec: CallSpec,
    audio: Vec<f32>,
    events: mpsc::UnboundedSender<Event>,
) -> Result<CallRecord> {
    let dialog = engines.new_dialog(!spec.respond);
    run_audio_call(engines, spec, dialog, audio, Vec::new(), events).await
}

/// As `run_file_call`, with the dialog given and keys pressed out of band (RFC 4733) at their
/// times: the leg of a QA replay of a recorded phone call.
pub async fn run_audio_call(
    engines: Arc<Engines>,
    spec: CallSpec,
    dialog: Box<dyn Dialog>,
    audio: Vec<f32>,
    keys: Vec<(u64, char)>,
    events: mpsc::UnboundedSender<Event>,
) -> Result<CallRecord> {
    let (tx, rx) = mpsc::channel::<AudioFrame>(8);
    let started = Instant::now();
    let realtime = spec.pacing == Pacing::RealTime;
    let feeder = tokio::spawn(async move {
        let mut keys = keys.into_iter().peekable();
        for mut frame in frames(&audio) {
            if keys.peek().is_some_and(|(t, _)| *t < frame.end_ms()) {
                frame.dtmf = keys.next().map(|(_, k)| k);
            }
            if realtime {
                tokio::time::sleep_until((started + Duration::from_millis(frame.t_ms)).into()).await;
            }
            if tx.send(frame).await.is_err() {
                return;
            }
        }
    });
    let record = run_call(engines.clone(), spec, dialog, rx, None, events, started, None).await;
    feeder.await.map_err(|e| Error::internal(format!("audio source failed: {e}")))?;
    record
}
