//! A live call, whatever its leg (SIP/RTP from a trunk, WebRTC from the shop's app): its row in
//! the store, every event into the store as it happens and to the call's watchers, the per-call
//! pipeline, and the end. A leg adapter (`phone::call`, `inapp::call`) turns its transport into
//! 16 kHz caller frames and takes the bot's 16 kHz frames; nothing here knows which it is.
//!
//! The end is call control, not a side effect: when the leg ends (the caller hung up, the media
//! timed out) the caller's frames stop, and the pipeline stops at once (`CallSpec::live`):
//! no transcription, reply or synthesis runs for a caller who is gone.

pub mod agent_voice;
mod event_writer;
pub mod monitor;
pub mod memory;
pub mod redaction;
pub mod registry;
pub mod room;
pub mod voice_message;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::audio::AudioFrame;
use crate::events::{Event, EventKind};
use crate::pipeline::playout::BotFrame;
use crate::agents::desk::DeskNote;
use crate::call::control::{CallAction, CallControl, CallInput, Hearing, LeftQueue};
use crate::pipeline::{run_call, CallSpec, Engines, Pacing, PipelineControl};
use crate::store::Store;

pub use registry::{LiveCall, LiveCallInfo, LiveCalls};
use room::{HoldAudio, Room};

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
    /// With the pipeline off: the call waits for a live agent from the start.
    pub to_agents: bool,
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
    /// The leg's recording: finished at the call's end, before the end is stored (whoever
    /// sees the call ended finds its recording whole).
    pub recorder: SharedRecorder,
    /// The leg's media figures so far, read for the call's end event.
    pub media: MediaProbe,
}

/// Reads a leg's media figures.
pub type MediaProbe = Box<dyn Fn() -> MediaFigures + Send>;

/// A leg's recording, shared by its sides while the call lasts (None once finished or failed).
pub type SharedRecorder = Arc<std::sync::Mutex<Option<crate::phone::recorder::CallRecorder>>>;

/// One call's media figures, whatever its leg (in its `call_ended` event): packets
/// received (key presses and comfort noise included), lost by RFC 3550's count, key presses,
/// the caller's interarrival jitter; packets sent, sent late, the latest; SRTP or not.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MediaFigures {
    pub rx_packets: u64,
    pub rx_lost: u64,
    pub rx_dtmf: u64,
    #[serde(default)]
    pub jitter_ms: f64,
    pub tx_packets: u64,
    pub tx_late: u64,
    pub tx_max_late_ms: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub srtp: bool,
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
    /// How much the recording holds, once finished.
    pub recorded_ms: Option<u64>,
}

/// Runs one answered call to its end; `started` is when its leg was answered.
pub async fn run(engines: Arc<Engines>, live: LiveCall, info: CallInfo, io: LegIo, started: Instant) -> Ended {
    let store = engines.store.clone();
    let id = info.id.clone();
    // Disk work (SQLite, the recording's file) off the threads that pace every call's audio.
    let stored = {
        let (store, id, i) = (store.clone(), id.clone(), info.clone());
        tokio::task::spawn_blocking(move || store.start_call(&id, &i.source, &i.caller, &i.callee, i.sip_call_id.as_deref(), i.recording.as_deref())).await
    };
    if let Ok(Err(e)) = stored {
        warn!(error = %e, "call not stored");
    }
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<Event>();
    let desk = live.desk();
    // The room between the pipeline and the leg: who hears whom once agents come in. It writes
    // its own events (a supervisor joining), and supervisors find it by the call's id.
    let room = Room::new();
    room.write_events(ev_tx.clone(), &id, started);
    live.set_room(room.clone());

    // Events: to the store as they come, by the one thread that writes every call's events (a
    // write may wait for the disk, which the threads pacing call audio must not), then to
    // whoever watches the call. The pipeline's own end is dropped: call control's is the call's.
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            let (mut seq, mut metrics) = (0u64, crate::metrics::CallMetrics::default());
            while let Some(ev) = ev_rx.recv().await {
                let ended = matches!(ev.kind, EventKind::CallEnded { .. });
                // Call control's end is sent without the id, so that it cannot be mistaken.
                if ended && !ev.call_id.is_empty() {
                    continue;
                }
                let ev = if ended { Event { call_id: live.id().to_owned(), ..ev } } else { ev };
                metrics.observe(&ev);
                event_writer::store(&store, seq, &ev).await;
                seq += 1;
                live.publish(&ev);
                if ended {
                    break;
                }
            }
            // The call leaves the live list once its last event is stored.
            drop(live);
        })
    };

    let LegIo { caller, bot, mut notes, hangup, recorder, media } = io;
    // The survey is the bot's to ask: none without it.
    let mut control = CallControl::new(0).with_survey(engines.config.agents.survey && info.pipeline);
    let (pipe_tx, pipe_rx) = mpsc::unbounded_channel();
    let hold = desk.as_ref().map(|d| d.hold_audio()).unwrap_or_else(HoldAudio::chime);
    let (bot_tx, bot_rx) = mpsc::channel::<BotFrame>(64);
    let caller_ear = room.caller_ear(bot_rx, bot, started, hold);
    let caller = room.tee_caller(caller);
    // The pipeline's events pass through here on their way to the store: call control sees
    // the handoff and the caller's keys.
    let (pipe_ev_tx, mut pipe_ev_rx) = mpsc::unbounded_channel::<Event>();
    let call = {
        let (engines, ev_tx, id, info) = (engines.clone(), pipe_ev_tx, id.clone(), info.clone());
        async move {
            if info.pipeline {
                let spec = CallSpec { call_id: id.clone(), source: info.source.clone(), pacing: Pacing::RealTime, respond: true, greet: info.greet, live: true, lang: info.who.lang.clone(), recorded_early_ends: None };
                let mut dialog = engines.new_dialog(false);
                dialog.know_caller(info.who.order.as_deref(), info.who.lang.as_deref());
                run_call(engines.clone(), spec, dialog, caller, Some(bot_tx), ev_tx.clone(), started, Some(pipe_rx)).await.map(|_| ())
            } else {
                // Media and recording only: the caller is heard and recorded, nobody answers...
                let _ = ev_tx.send(Event::new(&id, 0, EventKind::CallStarted { source: info.source.clone() }));
                // ...but an agent, where calls go straight to them.
                if info.to_agents {
                    let context = crate::call::HandoffContext { lang: info.who.lang.clone().unwrap_or_else(|| "en".into()), ..Default::default() };
                    let _ = ev_tx.send(Event::new(&id, 0, EventKind::Handoff { reason: "direct".into(), context }));
                }
                let mut caller = caller;
                let mut pipe_rx = pipe_rx;
                loop {
                    tokio::select! {
                        f = caller.recv() => if f.is_none() { break },
                        c = pipe_rx.recv() => if matches!(c, Some(PipelineControl::Stop) | None) { break },
                    }
                }
                drop(bot_tx);
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
    let mut transfer = Transfer { desk, call_id: id.clone(), ..Transfer::default() };
    let (desk_tx, mut desk_rx) = mpsc::unbounded_channel::<DeskNote>();
    let (own_tx, mut own_rx) = mpsc::unbounded_channel::<CallInput>();
    // Call control decides; this loop carries its actions out, until the call's end.
    let mut hangup = Some(hangup);
    let mut pipeline_done = false;
    let mut ended = None;
    while ended.is_none() {
        let inputs: Vec<CallInput> = tokio::select! {
            r = &mut call, if !pipeline_done => {
                pipeline_done = true;
                while let Ok(ev) = pipe_ev_rx.try_recv() {
                    let _ = ev_tx.send(ev);
                }
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
            Some(ev) = pipe_ev_rx.recv() => {
                // The voice message prompt has played: the caller speaks from now on.
                // A caller who talks over the prompt interrupts it: they are recorded from then.
                if transfer.message_wanted && matches!(ev.kind, EventKind::TtsFinished { .. } | EventKind::TtsInterrupted { .. }) {
                    transfer.message_wanted = false;
                    let own = own_tx.clone();
                    transfer.message = Some(voice_message::MessageTaker::start(&room, engines.config.agents.voice_message_max_s * 1000, move || drop(own.send(CallInput::MessageFull))));
                }
                let input = transfer.on_event(&ev, &engines.config.agents.skills);
                let _ = ev_tx.send(ev);
                input.into_iter().collect()
            }
            Some(n) = notes.recv() => vec![input_of(n)],
            Some(note) = desk_rx.recv() => transfer.on_desk(note, &id, now(), &room, &ev_tx, &own_tx, &pipe_tx),
            Some(input) = own_rx.recv() => {
                if let CallInput::AgentLeft { reason } = &input {
                    if let Some(agent) = control.agent() {
                        let _ = ev_tx.send(Event::new(&id, now(), EventKind::AgentLeft { agent: agent.to_string(), reason: reason.clone() }));
                    }
                    // Gone without a BYE (their media stopped): they get one, without holding
                    // up the call (a BYE to a peer that is gone may wait for its timeout).
                    if let Some(h) = transfer.agent_hangup.take() {
                        if reason != "agent_hangup" {
                            tokio::spawn(h());
                        }
                    }
                }
                vec![input]
            }
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
                    CallAction::End { reason, duration_ms } => ended = Some(Ended { reason, duration_ms, recorded_ms: None }),
                    CallAction::Enqueue { reason, lang, skill } => {
                        // Outside the agents' hours the first handoff books a callback instead
                        // (once: a later handoff in the same call is not told again).
                        let hours = engines.config.agents.opening_hours();
                        if transfer.queued_at == 0 && !hours.open_at(crate::inapp::token::unix_now()) {
                            transfer.queued_at = now().max(1);
                            let _ = ev_tx.send(Event::new(&id, now(), EventKind::AfterHours { hours: hours.to_string() }));
                            let _ = pipe_tx.send(PipelineControl::Say(crate::agents::prompts::closed(&lang, &hours)));
                            let _ = own_tx.send(CallInput::QueueGaveUp);
                            continue;
                        }
                        transfer.queued_at = now();
                        let req = crate::agents::acd::CallRequest { call: id.clone(), lang: lang.clone(), skill, reason };
                        match transfer.desk.as_ref().map(|d| d.enqueue(req, desk_tx.clone())) {
                            Some(Ok((position, wait_estimate_ms))) => drop(ev_tx.send(Event::new(&id, now(), EventKind::Queued { position, wait_estimate_ms }))),
                            Some(Err(e)) => warn!(call = %id, error = %e, "not queued"),
                            // Nobody to hand the call to: a callback.
                            None => drop(own_tx.send(CallInput::QueueGaveUp)),
                        }
                    }
                    CallAction::LeaveQueue(why) => {
                        let waited_ms = transfer.desk.as_ref().and_then(|d| d.caller_gone(&id)).unwrap_or_else(|| now().saturating_sub(transfer.queued_at));
                        if why == LeftQueue::Abandoned {
                            let _ = ev_tx.send(Event::new(&id, now(), EventKind::Abandoned { waited_ms }));
                        }
                    }
                    CallAction::Callback => {
                        transfer.book_callback(&store, &info.caller, None, &ev_tx, now());
                        let _ = pipe_tx.send(PipelineControl::Say(crate::agents::prompts::callback_booked(&transfer.lang())));
                    }
                    // Recording starts once the prompt has played (the next tts_finished).
                    CallAction::RecordMessage => {
                        transfer.message_wanted = true;
                        let _ = pipe_tx.send(PipelineControl::Say(crate::agents::prompts::leave_message(&transfer.lang())));
                    }
                    CallAction::MessageTaken { caller_gone } => {
                        transfer.message_wanted = false;
                        let samples = match transfer.message.take() {
                            Some(m) => m.finish(&room).await,
                            None => Vec::new(),
                        };
                        let dir = info.recording.as_deref().and_then(|r| std::path::Path::new(r).parent()).unwrap_or(&engines.config.sip.recordings).to_path_buf();
                        let saved = match samples.is_empty() {
                            true => None,
                            false => match voice_message::save(&dir, &id, &samples) {
                                Ok(path) => {
                                    let path = path.display().to_string();
                                    let duration_ms = samples.len() as u64 * 1000 / crate::audio::SAMPLE_RATE as u64;
                                    let _ = ev_tx.send(Event::new(&id, now(), EventKind::VoiceMessage { path: path.clone(), duration_ms }));
                                    Some(path)
                                }
                                Err(e) => {
                                    warn!(call = %id, error = %e, "voice message not saved");
                                    None
                                }
                            },
                        };
                        transfer.book_callback(&store, &info.caller, saved.as_deref(), &ev_tx, now());
                        if !caller_gone {
                            let _ = pipe_tx.send(PipelineControl::Say(crate::agents::prompts::message_taken(&transfer.lang())));
                        }
                    }
                    CallAction::Hear(h) => {
                        if h == Hearing::bridged() {
                            if let Some(agent) = control.agent() {
                                let _ = ev_tx.send(Event::new(&id, now(), EventKind::Bridged { agent: agent.to_string(), waited_ms: transfer.waited_ms }));
                            }
                            // The agent's words are transcribed from now on (where the call
                            // has the AI at all: without it, nothing is transcribed).
                            if info.pipeline {
                                let (tap, voice) = mpsc::channel(64);
                                room.tap_agent(tap);
                                transfer.transcribers.push(agent_voice::transcribe(engines.clone(), &id, &transfer.lang(), now(), voice, ev_tx.clone()));
                            }
                        }
                        room.hear(h);
                    }
                    CallAction::PlayWhisper { agent } => {
                        let (reason, ctx) = transfer.handoff.clone().unwrap_or_default();
                        let text = crate::agents::prompts::whisper(&reason, &ctx, transfer.waited_ms);
                        let (engines, room, ev_tx, own_tx, id) = (engines.clone(), room.clone(), ev_tx.clone(), own_tx.clone(), id.clone());
                        let lang = transfer.lang();
                        tokio::spawn(async move {
                            let played_ms = match engines.tts.say(&text, &lang).await {
                                Ok(audio) => room.whisper(&audio).await,
                                Err(e) => {
                                    warn!(call = %id, error = %e, "whisper not synthesised");
                                    0
                                }
                            };
                            let _ = ev_tx.send(Event::new(&id, started.elapsed().as_millis() as u64, EventKind::WhisperPlayed { agent, text, played_ms }));
                            let _ = own_tx.send(CallInput::WhisperDone);
                        });
                    }
                    CallAction::HangUpAgent => {
                        if let Some(h) = transfer.agent_hangup.take() {
                            if let Some(agent) = control.agent().map(str::to_string).or_else(|| transfer.agent.clone()) {
                                let _ = ev_tx.send(Event::new(&id, now(), EventKind::AgentLeft { agent, reason: "hung_up".into() }));
                            }
                            tokio::spawn(h());
                        }
                    }
                    CallAction::AskSurvey => {
                        let _ = pipe_tx.send(PipelineControl::Say(crate::agents::prompts::survey(&transfer.lang())));
                        let (own, wait) = (own_tx.clone(), std::time::Duration::from_secs(engines.config.agents.survey_timeout_s));
                        tokio::spawn(async move {
                            // From the question's start: its own length plus the time to answer.
                            tokio::time::sleep(wait + std::time::Duration::from_secs(6)).await;
                            let _ = own.send(CallInput::SurveyTimedOut);
                        });
                    }
                    CallAction::SurveyAnswered(score) => {
                        let _ = ev_tx.send(Event::new(&id, now(), EventKind::Survey { score }));
                        let _ = pipe_tx.send(PipelineControl::Say(crate::agents::prompts::survey_done(&transfer.lang(), true)));
                    }
                    CallAction::SurveyGoodbye => drop(pipe_tx.send(PipelineControl::Say(crate::agents::prompts::survey_done(&transfer.lang(), false)))),
                    CallAction::AgentDone { agent } => {
                        room.leave_agent();
                        transfer.agent_hangup = None;
                        if let Some(d) = &transfer.desk {
                            d.call_done(&agent);
                        }
                        if engines.config.agents.wrap_up_s > 0 {
                            let _ = ev_tx.send(Event::new(&id, now(), EventKind::WrapUp { agent }));
                        }
                    }
                }
            }
        }
    }
    let mut ended = ended.unwrap_or(Ended { reason: "error".into(), duration_ms: now(), recorded_ms: None });
    // The pipeline winds down (its jobs are cancelled).
    if !pipeline_done {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), &mut call).await;
    }
    while let Ok(ev) = pipe_ev_rx.try_recv() {
        let _ = ev_tx.send(ev);
    }
    caller_ear.abort();
    room.end_monitoring("call_ended");
    room.leave_agent();
    // An agent whose answer crossed the call's end is let go: hung up, and free again.
    drop(desk_tx);
    // Closed, so an answer racing the end fails to send and the desk hangs that agent up.
    desk_rx.close();
    let mut late = Vec::new();
    while let Ok(note) = desk_rx.try_recv() {
        if let DeskNote::Connected { leg } = note {
            late.push((leg.agent, leg.hangup));
        }
    }
    if let (Some(h), Some(agent)) = (transfer.agent_hangup.take(), transfer.agent.clone()) {
        late.push((agent, h));
    }
    for (agent, h) in late {
        warn!(call = %id, agent = %agent, "an agent was still on the call at its end: hung up");
        tokio::spawn(h());
        if let Some(d) = &transfer.desk {
            d.call_done(&agent);
        }
    }
    for t in transfer.transcribers.drain(..) {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), t).await;
    }
    let _ = ev_tx.send(Event::new("", ended.duration_ms, EventKind::CallEnded { reason: ended.reason.clone(), duration_ms: ended.duration_ms, media: Some(media()) }));
    drop(ev_tx);
    let _ = writer.await;
    let rec = recorder.lock().unwrap_or_else(|p| p.into_inner()).take();
    let closed = {
        let (store, id, reason, duration_ms) = (store.clone(), id.clone(), ended.reason.clone(), ended.duration_ms);
        tokio::task::spawn_blocking(move || (rec.map(|r| r.finish_until(duration_ms)), store.end_call(&id, &reason, duration_ms))).await
    };
    let (finished, stored) = closed.unwrap_or_else(|e| (None, Err(crate::error::Error::internal(e))));
    ended.recorded_ms = match finished {
        Some(Ok(ms)) => Some(ms),
        Some(Err(e)) => {
            warn!(call = %id, error = %e, "recording not finished");
            None
        }
        None => None,
    };
    if let Err(e) = stored {
        warn!(error = %e, "call end not stored");
    }
    // The QA console finds it from now on.
    let indexed = {
        let (store, id, engines) = (store.clone(), id.clone(), engines.clone());
        tokio::task::spawn_blocking(move || store.index_call(&id, Some(&engines.config.qa))).await
    };
    if let Ok(Err(e)) = indexed {
        warn!(call = %id, error = %e, "call not indexed for search");
    }
    if let (true, Some(_), Some(path)) = (engines.config.privacy.redact_audio, ended.recorded_ms, info.recording.as_ref()) {
        redaction::after_call(engines.clone(), store.clone(), id.clone(), path.into());
    }
    info!(call = %id, reason = %ended.reason, duration_ms = ended.duration_ms, "call ended");
    ended
}

/// A call's side of the transfer to an agent: the handoff it was given, the agent's leg.
#[derive(Default)]
struct Transfer {
    call_id: String,
    desk: Option<std::sync::Arc<crate::agents::desk::Desk>>,
    /// The handoff's reason and context.
    handoff: Option<(String, crate::call::HandoffContext)>,
    queued_at: u64,
    waited_ms: u64,
    agent: Option<String>,
    agent_hangup: Option<Hangup>,
    /// The agents' transcribers: their last words are awaited before the call's end.
    transcribers: Vec<tokio::task::JoinHandle<()>>,
    /// A voice message asked for, its prompt still playing; then being recorded.
    message_wanted: bool,
    message: Option<voice_message::MessageTaker>,
}

impl Transfer {
    fn lang(&self) -> String {
        self.handoff.as_ref().map(|(_, c)| c.lang.clone()).filter(|l| !l.is_empty()).unwrap_or_else(|| "en".into())
    }

    /// What the pipeline's event means to call control: the handoff, a key.
    fn on_event(&mut self, ev: &Event, skills: &std::collections::BTreeMap<String, String>) -> Option<CallInput> {
        match &ev.kind {
            EventKind::Handoff { reason, context } => {
                self.handoff = Some((reason.clone(), context.clone()));
                let skill = context.intents.iter().rev().find_map(|i| skills.get(&i.intent)).cloned();
                Some(CallInput::HandedOff { reason: reason.clone(), lang: self.lang(), skill })
            }
            EventKind::Dtmf { digit, .. } => digit.chars().next().map(CallInput::Key),
            _ => None,
        }
    }

    /// A callback ticket with the handoff's context (and the voice message left, if any).
    fn book_callback(&self, store: &Store, caller: &str, voice_message: Option<&str>, ev_tx: &mpsc::UnboundedSender<Event>, now: u64) {
        let id = self.call_id.as_str();
        let mut context = self.handoff.as_ref().and_then(|(_, c)| serde_json::to_value(c).ok()).unwrap_or(serde_json::Value::Null);
        if let (Some(path), serde_json::Value::Object(map)) = (voice_message, &mut context) {
            map.insert("voice_message".into(), serde_json::Value::String(path.to_string()));
        }
        let context = if context.is_null() { String::new() } else { context.to_string() };
        match store.add_callback(id, caller, &self.lang(), &context) {
            Ok(ticket) => drop(ev_tx.send(Event::new(id, now, EventKind::CallbackRequested { ticket, number: caller.to_string() }))),
            Err(e) => warn!(call = %id, error = %e, "callback ticket not stored"),
        }
    }

    /// What the desk says happened to the call in the queue: events, and inputs to control.
    #[allow(clippy::too_many_arguments)]
    fn on_desk(&mut self, note: DeskNote, id: &str, now: u64, room: &Room, ev_tx: &mpsc::UnboundedSender<Event>, own_tx: &mpsc::UnboundedSender<CallInput>, pipe_tx: &mpsc::UnboundedSender<PipelineControl>) -> Vec<CallInput> {
        let event = |k: EventKind| drop(ev_tx.send(Event::new(id, now, k)));
        match note {
            DeskNote::Offered { agent } => event(EventKind::AgentOffered { agent }),
            DeskNote::Declined { agent, why } => event(EventKind::AgentDeclined { agent, why }),
            DeskNote::NoAnswer { agent } => event(EventKind::AgentNoAnswer { agent }),
            DeskNote::Announce { position, wait_estimate_ms } => drop(pipe_tx.send(PipelineControl::Say(crate::agents::prompts::position(&self.lang(), position, wait_estimate_ms)))),
            DeskNote::GaveUp => return vec![CallInput::QueueGaveUp],
            DeskNote::Connected { leg } => {
                let crate::agents::leg::AgentLeg { agent, voice, ear, ended, hangup } = leg;
                self.waited_ms = now.saturating_sub(self.queued_at);
                event(EventKind::AgentAnswered { agent: agent.clone() });
                room.join_agent(ear, voice);
                self.agent = Some(agent.clone());
                self.agent_hangup = Some(hangup);
                let own = own_tx.clone();
                tokio::spawn(async move {
                    let reason = ended.await.unwrap_or_else(|_| "lost".into());
                    let _ = own.send(CallInput::AgentLeft { reason });
                });
                return vec![CallInput::AgentConnected { agent }];
            }
        }
        Vec::new()
    }
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
        let ev = Event::new(&call.id, duration_ms, EventKind::CallEnded { reason: reason.clone(), duration_ms, media: None });
        store.add_event(store.next_event_seq(&call.id)?, &ev)?;
        store.end_call(&call.id, &reason, duration_ms)?;
        info!(call = %call.id, duration_ms, "closed a call the previous gateway process left in progress");
        closed.push(Ended { reason, duration_ms, recorded_ms: Some(duration_ms) });
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
        // A recording written for 3.5 s by a process killed before its last second went to disk
        // (written a second at a time: 3 s are in the file).
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
        assert_eq!((c1.end_reason.as_deref(), c1.duration_ms), (Some("gateway_restart"), Some(3000)));
        let ev = store.events("c1").unwrap();
        assert_eq!(ev.last().unwrap().kind, EventKind::CallEnded { reason: "gateway_restart".into(), duration_ms: 3000, media: None });
        assert_eq!(crate::audio::decode_file(&rec, Some(0)).unwrap().samples.len(), 3000 * 8);
        assert_eq!(store.call("c2").unwrap().unwrap().end_reason.as_deref(), Some("gateway_restart"));
        assert_eq!(store.call("c3").unwrap().unwrap().end_reason.as_deref(), Some("caller_hangup"));
        assert!(close_interrupted_calls(&store).unwrap().is_empty());
    }
}
