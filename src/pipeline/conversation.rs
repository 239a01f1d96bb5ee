//! One call's conversation: caller frames in, bot frames and events out.
//!
//! ```text
//! caller frames ─> VAD ─> turn taker ─(ASR on the shared pool)─> NLU ─> dialog ─> TTS ─> playout ─> bot frames
//!                              └──────────── barge-in: caller speech over the bot stops the playout
//! ```
//!
//! The logic lives in state machines without IO (`TurnTaker`, `Playout`, the segmenter); this
//! actor feeds them and runs the slow work (transcription, synthesis) as jobs.
//!
//! Two pacings share every line of that logic:
//! - `RealTime`: frames arrive at wall-clock speed, jobs run concurrently, results count when
//!   they arrive, the playout is driven by a 20 ms tick.
//! - `Simulated` (replays, faster than real time): a job is computed at once, but its result is
//!   delivered on the call's timeline at its start plus the time it really took. The caller's
//!   audio and the bot's answers then meet exactly as they would have live.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::audio::dtmf::DtmfDetector;
use crate::audio::frame::AudioFrame;
use crate::call::{take_turn, CallerTurn, EscalationPolicy, Handoff, PolicyInput};
use crate::dialog::{reply_language, transfer_prompt, Dialog, Reply};
use crate::error::Result;
use crate::events::EventKind;
use crate::nlu::NluResult;
use crate::pipeline::asr_pool::AsrResult;
use crate::pipeline::engines::Engines;
use crate::pipeline::history::AudioHistory;
use crate::pipeline::playout::{BotFrame, Playout, PlayoutEvent};
use crate::pipeline::runner::{CallSpec, EventSink, Pacing, PipelineControl};
use crate::pipeline::turns::{AsrKind, AsrRequest, Heard, TurnConfig, TurnEvent, TurnTaker};
use crate::pipeline::utterance::SegmenterConfig;
use crate::pipeline::vad::{VoiceDetector, ONSET_MS};
use crate::pipeline::whisper::DecodeMode;
use crate::prosody::{AngerTracker, ProsodyScore};
use crate::tts::sentences;

/// What a call leaves behind.
#[derive(Debug, Default)]
pub struct CallRecord {
    pub duration_ms: u64,
    /// Caller turns answered or transcribed.
    pub turns: usize,
    /// Every bot frame, on the call's timeline.
    pub bot: Vec<BotFrame>,
    /// CPU time of the prosody analysis.
    pub prosody_cpu: Duration,
}

/// The result of a job, due at `at_ms` on the call's timeline.
struct Done {
    at_ms: u64,
    output: Output,
}

enum Output {
    Heard(AsrRequest, Result<AsrResult>),
    Sentence { reply: u64, last: bool, audio: Result<Arc<Vec<f32>>> },
}

/// The longest a call waits, after the caller's audio ends, for the bot to finish.
const DRAIN_LIMIT: Duration = Duration::from_secs(60);

pub struct Conversation {
    engines: Arc<Engines>,
    /// This call counts among the recogniser's callers while it lasts.
    _seat: crate::pipeline::asr_pool::CallerSeat,
    spec: CallSpec,
    /// The language the caller speaks now ("en", "zh"): it picks the recogniser.
    lang: String,
    /// The call told no language: its transcripts that end a turn go to the Chinese
    /// recogniser, which detects the language, until one has words.
    identify: bool,
    sink: EventSink,
    dialog: Box<dyn Dialog>,
    vad: VoiceDetector,
    turns: TurnTaker,
    history: AudioHistory,
    playout: Playout,
    record: CallRecord,
    bot_out: Option<mpsc::Sender<BotFrame>>,
    started: Instant,
    /// Caller time of the latest frame.
    now_ms: u64,
    /// Simulated: results waiting for their time. RealTime: running jobs.
    due: Vec<Done>,
    running: JoinSet<Done>,
    /// The transcription running now, and how to stop it.
    asr: Option<(AsrRequest, Arc<AtomicBool>)>,
    /// Simulated: when the call's transcription lane is free again.
    asr_free_ms: u64,
    next_reply: u64,
    /// Replies still to be delivered or played, and the caller turn each answers.
    replies: HashMap<u64, Option<u64>>,
    cancelled: HashSet<u64>,
    /// RealTime: how to stop a reply's synthesis.
    reply_stops: HashMap<u64, Arc<AtomicBool>>,
    prosody: AngerTracker,
    dtmf: DtmfDetector,
    policy: EscalationPolicy,
    /// The utterance in progress (its start), and when its next prosody score is due.
    speaking: Option<(u64, u64)>,
    /// The voice's verdict on each finished utterance, by its start, until its turn is read.
    heard_voice: HashMap<u64, Option<ProsodyScore>>,
    /// The caller spoke over the bot since its last answer.
    interrupted_bot: bool,
    /// Every transcription job's stop flag, so that a hang-up stops them all.
    asr_flags: Vec<Arc<AtomicBool>>,
    /// A live call ends once this reply (a goodbye) has played.
    end_after: Option<u64>,
    /// The bot is done with the call: it ends now.
    over: bool,
    /// The caller has the call on hold: the bot does not speak.
    held: bool,
}

impl Conversation {
    pub fn new(
        engines: Arc<Engines>,
        spec: CallSpec,
        dialog: Box<dyn Dialog>,
        sink: EventSink,
        bot_out: Option<mpsc::Sender<BotFrame>>,
        started: Instant,
    ) -> Result<Self> {
        let v = &engines.config.vad;
        let mut turns = TurnTaker::new(TurnConfig {
            segmenter: SegmenterConfig {
                hangover_ms: v.hangover_ms as u64,
                min_speech_ms: v.min_speech_ms as u64,
                max_utterance_ms: v.max_utterance_ms as u64,
                onset_ms: ONSET_MS,
                trailing_ms: v.min_silence_ms as u64,
            },
            // The shorter hangover only saves the caller waiting for an answer; a listen-only
            // call (QA, benchmarks) keeps whole utterances.
            complete_hangover_ms: if spec.respond { v.complete_hangover_ms } else { v.hangover_ms } as u64,
            partial_every_ms: v.partial_every_ms as u64,
        });
        if let Some(ends) = spec.recorded_early_ends.clone() {
            turns.follow_recorded(ends);
        }
        let history = AudioHistory::new(v.max_utterance_ms as u64 + 2 * v.pad_ms as u64 + 5000);
        Ok(Self {
            vad: engines.new_vad()?,
            _seat: engines.asr.seat(),
            engines: engines.clone(),
            lang: spec.lang.clone().filter(|l| l == "zh").unwrap_or_else(|| "en".into()),
            identify: spec.lang.is_none() && engines.asr_zh.is_some() && engines.config.asr.identify_language,
            spec,
            sink,
            dialog,
            turns,
            history,
            playout: Playout::new(),
            record: CallRecord::default(),
            bot_out,
            started,
            now_ms: 0,
            due: Vec::new(),
            running: JoinSet::new(),
            asr: None,
            asr_free_ms: 0,
            next_reply: 1,
            replies: HashMap::new(),
            cancelled: HashSet::new(),
            reply_stops: HashMap::new(),
            prosody: AngerTracker::new(engines.anger.clone(), engines.config.anger.baseline_turns),
            dtmf: DtmfDetector::new(crate::audio::SAMPLE_RATE),
            policy: EscalationPolicy::new(engines.config.escalation.clone()),
            speaking: None,
            heard_voice: HashMap::new(),
            interrupted_bot: false,
            asr_flags: Vec::new(),
            end_after: None,
            over: false,
            held: false,
        })
    }

    fn wall_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// The time of an event happening now: the wall clock on a live call, the caller's audio
    /// time in a simulated replay. (Turn-taking itself always runs on audio time.)
    fn event_ms(&self) -> u64 {
        match self.spec.pacing {
            Pacing::RealTime => self.wall_ms().max(self.now_ms),
            Pacing::Simulated => self.now_ms,
        }
    }

    /// Runs the call until the caller's audio ends and the bot has finished speaking.
    pub async fn run(mut self, mut frames: mpsc::Receiver<AudioFrame>, control: Option<mpsc::UnboundedReceiver<PipelineControl>>) -> Result<CallRecord> {
        // Without call control (a replay) nothing comes on it.
        let (_none, idle) = mpsc::unbounded_channel();
        let mut control = control.unwrap_or(idle);
        self.sink.emit(0, EventKind::CallStarted { source: self.spec.source.clone() });
        if self.spec.greet && self.spec.respond {
            let lang = self.spec.lang.clone().unwrap_or_else(|| "en".into());
            if let Some(r) = self.dialog.greeting(&lang) {
                self.reply(r, None, 0).await;
            }
        }
        let mut tick = tokio::time::interval(Duration::from_millis(crate::audio::FRAME_MS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let realtime = self.spec.pacing == Pacing::RealTime;
        loop {
            tokio::select! {
                biased;
                Some(done) = self.running.join_next(), if realtime => {
                    if let Ok(done) = done {
                        self.deliver(done).await;
                    }
                }
                // Live, each bot frame goes out up to one frame ahead of its time: the sender
                // then has it when its slot comes, instead of up to two ticks late.
                _ = tick.tick(), if realtime => self.play_until(self.wall_ms() + crate::audio::FRAME_MS),
                frame = frames.recv() => match frame {
                    Some(f) => self.on_frame(f).await,
                    None => break,
                },
                Some(c) = control.recv() => match c {
                    PipelineControl::Stop => break,
                    PipelineControl::Hold(h) => self.hold(h),
                    PipelineControl::Say(r) => {
                        if self.spec.respond {
                            let t = self.event_ms();
                            self.reply(r, None, t).await;
                        }
                    }
                },
            }
            if self.over {
                break;
            }
        }
        let duration_ms = if self.spec.live {
            // The caller hung up (or the bot did): the call is over now, whatever was under way.
            self.stop_everything();
            self.wall_ms().max(self.now_ms)
        } else {
            self.finish().await;
            self.now_ms.max(self.record.bot.last().map(|f| f.t_ms + crate::audio::FRAME_MS).unwrap_or(0))
        };
        self.record.duration_ms = duration_ms;
        self.record.prosody_cpu = self.prosody.cpu;
        let at = if self.spec.live { duration_ms } else { duration_ms.max(self.sink.latest_ms()) };
        self.sink.emit(at, EventKind::CallEnded { reason: "end_of_audio".into(), duration_ms, media: None });
        Ok(self.record)
    }

    /// The caller put the call on hold: what the bot was saying stops where it got to (its
    /// `played_ms` is what the caller heard), and it says nothing until the call is resumed.
    fn hold(&mut self, held: bool) {
        self.held = held;
        if held {
            self.barge_in();
        }
    }

    /// A live call is over: what the bot was saying stops where it got to, and every job for
    /// the call (transcriptions queued or running, synthesis) is stopped; their results, if
    /// any still come, go nowhere.
    fn stop_everything(&mut self) {
        if let Some((reply, played_ms, dropped_ms)) = self.playout.interrupt() {
            self.sink.emit(self.event_ms(), EventKind::TtsInterrupted { reply_id: reply, played_ms, dropped_ms });
        }
        for flag in self.asr_flags.drain(..) {
            flag.store(true, Ordering::Relaxed);
        }
        for (_, stop) in self.reply_stops.drain() {
            stop.store(true, Ordering::Relaxed);
        }
        self.replies.clear();
        self.running.abort_all();
        self.due.clear();
    }

    async fn on_frame(&mut self, frame: AudioFrame) {
        self.now_ms = frame.end_ms();
        if self.spec.pacing == Pacing::Simulated {
            self.deliver_due(self.now_ms).await;
            self.play_until(frame.t_ms);
        }
        self.history.push(&frame.samples);
        self.prosody.push(&frame.samples);
        // A key sent out of band wins; the tone detector still hears the frame.
        let in_band = self.dtmf.push(&frame.samples);
        if let Some(key) = frame.dtmf.or(in_band) {
            self.sink.emit(self.event_ms(), EventKind::Dtmf { digit: key.to_string(), out_of_band: frame.dtmf.is_some() });
            // Digits typed for the dialog (an order number) are not call control.
            if self.dialog.wants_digits() && !self.policy.handed_off() {
                if let Some(reply) = blocking(|| self.dialog.on_digit(key)) {
                    if self.spec.respond {
                        let t = self.event_ms();
                        self.reply(reply, None, t).await;
                    }
                }
            } else {
                let h = self.policy.handle(PolicyInput::Dtmf { digit: key }, self.now_ms);
                self.hand_off(h, None).await;
            }
        }
        self.voice_so_far().await;
        let step = self.vad.push(&frame.samples);
        let events = self.turns.on_frame(self.now_ms, &step);
        self.handle(events).await;
    }

    /// While the caller speaks: the voice's anger so far, every `anger.partial_every_ms`.
    async fn voice_so_far(&mut self) {
        let every = self.engines.config.anger.partial_every_ms as u64;
        let Some((start_ms, due_ms)) = self.speaking else { return };
        if every == 0 || self.now_ms < due_ms {
            return;
        }
        self.speaking = Some((start_ms, self.now_ms + every));
        if let Some(p) = self.prosody.partial(start_ms, self.now_ms) {
            self.emit_voice(&p, false, start_ms);
            let h = self.policy.handle(PolicyInput::ProsodyPartial { anger: p.anger, utterance_start_ms: start_ms }, self.now_ms);
            self.hand_off(h, None).await;
        }
    }

    fn emit_voice(&self, p: &ProsodyScore, is_final: bool, start_ms: u64) {
        self.sink.emit(
            self.event_ms(),
            EventKind::Emotion {
                source: "prosody".into(),
                label: p.label.into(),
                score: round3(p.confidence),
                sentiment: None,
                anger: Some(round3(p.anger)),
                is_final,
                utterance_start_ms: Some(start_ms),
            },
        );
    }

    /// An utterance is over: the voice's verdict on all of it.
    fn utterance_ended(&mut self, start_ms: u64, end_ms: u64) {
        self.speaking = None;
        let p = self.prosody.finish(start_ms, end_ms);
        if let Some(p) = &p {
            self.emit_voice(p, true, start_ms);
        }
        self.heard_voice.insert(start_ms, p);
    }

    /// At the end of an utterance: whether its voice alone makes it the angry turn that sends
    /// the call to a person (without waiting for its transcript).
    fn voice_decides(&mut self, start_ms: u64) -> Option<Handoff> {
        // Only on a count of angry turns that is up to date: an earlier turn still waiting for
        // its transcript may be a calm one that breaks the row.
        if self.policy.handed_off() || self.heard_voice.keys().any(|&k| k < start_ms) {
            return None;
        }
        let voice = self.heard_voice.get(&start_ms)?.as_ref()?;
        let anger_floor = fuse(self.engines.config.anger.prosody_weight, Some(voice), 0.0);
        self.policy.handle(PolicyInput::VoiceEnded { anger_floor }, self.now_ms)
    }

    /// The policy decided the call goes to a person: the agent's context goes out and the bot
    /// says so; from now on the bot only listens.
    async fn hand_off(&mut self, handoff: Option<Handoff>, in_reply_to_ms: Option<u64>) {
        let Some(h) = handoff else { return };
        let lang = h.context.lang.clone();
        self.sink.emit(self.event_ms(), EventKind::Handoff { reason: h.reason.as_str().into(), context: h.context });
        if self.spec.respond {
            let t = self.event_ms();
            self.reply(transfer_prompt(&lang), in_reply_to_ms, t).await;
        }
    }

    /// Simulated: delivers every result due by `t_ms`, in time order.
    async fn deliver_due(&mut self, t_ms: u64) {
        while let Some(i) = (0..self.due.len()).filter(|i| self.due[*i].at_ms <= t_ms).min_by_key(|i| self.due[*i].at_ms) {
            let done = self.due.swap_remove(i);
            self.play_until(done.at_ms);
            self.deliver(done).await;
        }
    }

    /// Plays the bot's frames due before `t_ms` and reports what started and finished.
    fn play_until(&mut self, t_ms: u64) {
        let (frames, events) = self.playout.advance(t_ms);
        let realtime = self.spec.pacing == Pacing::RealTime;
        for e in events {
            match e {
                PlayoutEvent::Started { reply, t_ms } => {
                    // Live, the frame leaves on this tick, which may be a little after its slot.
                    let t = if realtime { t_ms.max(self.wall_ms()) } else { t_ms };
                    self.sink.emit(t, EventKind::TtsStarted { reply_id: reply });
                }
                PlayoutEvent::Finished { reply, t_ms, played_ms } => {
                    self.replies.remove(&reply);
                    self.reply_stops.remove(&reply);
                    self.sink.emit(t_ms, EventKind::TtsFinished { reply_id: reply, played_ms });
                    if self.end_after == Some(reply) {
                        self.over = true;
                    }
                }
            }
        }
        for f in frames {
            if let Some(out) = &self.bot_out {
                // A slow consumer (a network leg) must not hold up the call: frames it cannot
                // take are dropped, as on the wire.
                let _ = out.try_send(f.clone());
            }
            self.record.bot.push(f);
        }
    }

    async fn handle(&mut self, events: Vec<TurnEvent>) {
        let mut queue: std::collections::VecDeque<TurnEvent> = events.into();
        while let Some(ev) = queue.pop_front() {
            match ev {
                TurnEvent::SpeechStarted { start_ms } => {
                    self.sink.emit(self.event_ms(), EventKind::SpeechStarted { start_ms });
                    self.speaking = Some((start_ms, start_ms + self.engines.config.anger.partial_every_ms as u64));
                    self.barge_in();
                }
                TurnEvent::Transcribe(req) => {
                    let more = self.transcribe(req).await;
                    queue.extend(more);
                }
                TurnEvent::Cancel(req) => {
                    if let Some((running, flag)) = &self.asr {
                        if *running == req {
                            flag.store(true, Ordering::Relaxed);
                            self.asr = None;
                        }
                    }
                    // Simulated: the partial was computed already; its result is forgotten.
                    self.due.retain(|d| !matches!(d.output, Output::Heard(r, _) if r == req));
                    self.asr_free_ms = self.asr_free_ms.min(self.now_ms);
                }
                TurnEvent::SpeechEnded { start_ms, end_ms, early } => {
                    let reason = if early { "complete" } else { "silence" };
                    self.sink.emit(self.event_ms(), EventKind::SpeechEnded { start_ms, end_ms, reason: reason.into() });
                    self.utterance_ended(start_ms, end_ms);
                    let h = self.voice_decides(start_ms);
                    self.hand_off(h, Some(start_ms)).await;
                }
                TurnEvent::TurnReady { start_ms, end_ms, heard } => {
                    self.record.turns += 1;
                    let t = heard.ready_ms.max(self.event_ms());
                    self.sink.emit(
                        t,
                        EventKind::Transcript {
                            is_final: true,
                            text: heard.text.clone(),
                            lang: heard.lang.clone(),
                            start_ms,
                            end_ms,
                            queue_ms: heard.queue_ms,
                            asr_ms: heard.asr_ms,
                            speaker: "caller".into(),
                        },
                    );
                    if let Some(nlu) = self.understand(&heard.text, &heard.lang, start_ms, t) {
                        self.answer(&heard.text, &heard.lang, nlu, start_ms, end_ms, t).await;
                    }
                }
            }
        }
    }

    /// A caller turn understood: its fused emotion, the dialog's answer, and the policy's
    /// verdict. A handoff replaces the answer with the transfer prompt (unless the answer is
    /// one already); after a handoff the bot no longer answers.
    async fn answer(&mut self, text: &str, asr_lang: &str, nlu: NluResult, start_ms: u64, end_ms: u64, t: u64) {
        if !self.heard_voice.contains_key(&start_ms) {
            self.utterance_ended(start_ms, end_ms);
        }
        let voice = self.heard_voice.remove(&start_ms).flatten();
        let anger = fuse(self.engines.config.anger.prosody_weight, voice.as_ref(), nlu.anger);
        let angry = anger >= self.engines.config.escalation.anger_enter;
        let (label, score) = if angry {
            ("angry".to_string(), anger)
        } else if nlu.emotion == "angry" {
            ("neutral".to_string(), 1.0 - anger)
        } else {
            (nlu.emotion.clone(), nlu.emotion_confidence)
        };
        self.sink.emit(
            t,
            EventKind::Emotion {
                source: "fused".into(),
                label: label.clone(),
                score: round3(score),
                sentiment: Some(nlu.sentiment),
                anger: Some(round3(anger)),
                is_final: true,
                utterance_start_ms: Some(start_ms),
            },
        );
        let heard = CallerTurn {
            text,
            lang: reply_language(text, asr_lang),
            nlu: &nlu,
            start_ms,
            end_ms,
            anger,
            interrupted_bot: std::mem::take(&mut self.interrupted_bot),
        };
        if self.policy.handed_off() {
            let facts = CallerTurn { lang: asr_lang, ..heard }.facts(None);
            self.policy.handle(PolicyInput::Turn(facts), t);
            return;
        }
        let (dialog, policy) = (&mut self.dialog, &mut self.policy);
        let o = blocking(|| take_turn(dialog.as_mut(), policy, &heard, t));
        match o.handoff {
            Some(h) if !(o.says_transfer && self.spec.respond) => self.hand_off(Some(h), Some(start_ms)).await,
            Some(h) => {
                self.sink.emit(t, EventKind::Handoff { reason: h.reason.as_str().into(), context: h.context });
                self.reply(o.reply, Some(start_ms), t).await;
            }
            None if self.spec.respond => self.reply(o.reply, Some(start_ms), t).await,
            None => {}
        }
    }

    /// The caller speaks over the bot (or over an answer about to start): the bot stops.
    fn barge_in(&mut self) {
        if !self.replies.is_empty() {
            self.interrupted_bot = true;
        }
        if let Some((reply, played_ms, dropped_ms)) = self.playout.interrupt() {
            self.sink.emit(self.event_ms(), EventKind::TtsInterrupted { reply_id: reply, played_ms, dropped_ms });
        }
        // Answers not yet audible are dropped too: the caller has more to say.
        for reply in self.replies.keys().copied().collect::<Vec<_>>() {
            self.cancelled.insert(reply);
            if let Some(stop) = self.reply_stops.remove(&reply) {
                stop.store(true, Ordering::Relaxed);
            }
        }
        self.replies.clear();
    }

    /// A caller heard speaking the other language is transcribed in it from the next utterance
    /// on. Only the Chinese recogniser tells languages apart (the English one hears English in
    /// anything); a short English word in Chinese speech ("OK") is no switch.
    fn follow_language(&mut self, text: &str, lang: &str) {
        if self.engines.asr_zh.is_none() || lang == self.lang {
            return;
        }
        let english = lang == "en" && text.split_whitespace().filter(|w| w.chars().any(|c| c.is_ascii_alphabetic())).count() >= 3 && !text.chars().any(crate::nlu::text::is_cjk);
        let chinese = lang == "zh" && text.chars().filter(|c| crate::nlu::text::is_cjk(*c)).count() >= 2;
        if english || chinese {
            tracing::debug!(call = self.sink.call_id(), from = %self.lang, to = lang, "the caller's language changed");
            self.lang = lang.to_string();
        }
    }

    /// Starts transcribing `req`; what the turn taker does next if it is shed at once.
    async fn transcribe(&mut self, req: AsrRequest) -> Vec<TurnEvent> {
        // Load shedding: a speculative transcript only ends a turn sooner; when every worker is
        // on a transcript that ends a turn it is not made, and the turn ends after the full
        // hangover instead.
        let realtime = self.spec.pacing == Pacing::RealTime;
        if req.kind == AsrKind::Speculative && realtime && self.engines.asr_for(&self.lang).idle_workers() == 0 {
            return self.turns.on_dropped(req);
        }
        let pad = self.engines.config.vad.pad_ms as u64;
        // The trailing padding may not be heard yet (a speculative transcript starts at the
        // first pause): silence stands in for it, so that the cut decodes as the final would,
        // and a live call hears what its replay hears.
        let samples = self.history.slice_padded(req.start_ms.saturating_sub(pad), req.end_ms + pad);
        let flag = Arc::new(AtomicBool::new(false));
        // The turn taker stops only partial transcripts; a hang-up stops any.
        let job_flag = if req.kind == AsrKind::Partial { flag.clone() } else { Arc::new(AtomicBool::new(false)) };
        let cancel = Some(job_flag.clone());
        self.asr_flags.retain(|f| Arc::strong_count(f) > 1);
        self.asr_flags.push(job_flag);
        // Load shedding: while the recogniser has a backlog, a partial transcript is dropped
        // (cheaply, when its turn comes): it would come too late to show.
        if req.kind == AsrKind::Partial && realtime && self.engines.asr_for(&self.lang).partials_backlogged() {
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let engines = self.engines.clone();
        let call_id = self.sink.call_id().to_string();
        let mode = if req.kind == AsrKind::Partial { DecodeMode::Preview } else { DecodeMode::Utterance };
        let lang = if self.identify && req.kind != AsrKind::Partial { "zh".to_string() } else { self.lang.clone() };
        let job = async move { engines.asr_for(&lang).transcribe_cancellable(&call_id, samples, mode, cancel, realtime).await };
        match self.spec.pacing {
            Pacing::Simulated => {
                let base = self.now_ms.max(self.asr_free_ms);
                let began = Instant::now();
                let result = job.await;
                let at_ms = base + began.elapsed().as_millis() as u64;
                self.asr_free_ms = at_ms;
                self.due.push(Done { at_ms, output: Output::Heard(req, result) });
            }
            Pacing::RealTime => {
                self.asr = Some((req, flag));
                let started = self.started;
                self.running.spawn(async move {
                    let result = job.await;
                    Done { at_ms: started.elapsed().as_millis() as u64, output: Output::Heard(req, result) }
                });
            }
        }
        Vec::new()
    }

    async fn deliver(&mut self, done: Done) {
        match done.output {
            Output::Heard(req, result) => {
                if self.spec.pacing == Pacing::RealTime {
                    match &self.asr {
                        Some((r, _)) if *r == req => self.asr = None,
                        // A cancelled partial.
                        _ if req.kind == AsrKind::Partial => return,
                        _ => {}
                    }
                }
                let (text, lang, queue_ms, asr_ms) = match result {
                    Ok(r) => (r.transcription.text, r.transcription.lang, r.queue_ms, r.transcription.infer_ms),
                    // Dropped by the recogniser under load: the call's next request may go.
                    Err(e) if e.to_string().contains(crate::pipeline::whisper::CANCELLED) => {
                        let events = self.turns.on_dropped(req);
                        self.handle(events).await;
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(call = self.sink.call_id(), "transcription failed: {e}");
                        (String::new(), "en".into(), 0, 0)
                    }
                };
                if req.kind != AsrKind::Partial {
                    self.follow_language(&text, &lang);
                    self.identify &= text.trim().is_empty();
                }
                let complete = req.kind == AsrKind::Speculative && self.is_complete(&text);
                let heard = Heard { text: text.clone(), lang: lang.clone(), complete, ready_ms: done.at_ms, queue_ms, asr_ms };
                let events = self.turns.on_heard(req, heard);
                // A speculative transcript that does not end the turn is shown as a partial one,
                // unless its turn is over.
                let ends_turn = events.iter().any(|e| matches!(e, TurnEvent::TurnReady { .. }));
                let current = self.turns.current_start() == Some(req.start_ms);
                if req.kind != AsrKind::Final && !ends_turn && current && !text.is_empty() {
                    self.sink.emit(
                        done.at_ms,
                        EventKind::Transcript {
                            is_final: false,
                            text: text.clone(),
                            lang: lang.clone(),
                            start_ms: req.start_ms,
                            end_ms: req.end_ms,
                            queue_ms,
                            asr_ms,
                            speaker: "caller".into(),
                        },
                    );
                }
                // An empty final transcript (a noise the VAD took for speech) ends nothing.
                let events = events
                    .into_iter()
                    .filter(|e| !matches!(e, TurnEvent::TurnReady { heard, .. } if heard.text.is_empty()))
                    .collect();
                self.handle(events).await;
            }
            Output::Sentence { reply, last, audio } => {
                if self.cancelled.contains(&reply) {
                    return;
                }
                match audio {
                    Ok(a) => self.playout.push(reply, done.at_ms, a.to_vec()),
                    Err(e) => tracing::warn!(call = self.sink.call_id(), "synthesis failed: {e}"),
                }
                if last {
                    self.playout.complete(reply);
                }
            }
        }
    }

    /// A speculative transcript is a complete turn when it is a question, or a request the NLU
    /// understands with confidence that does not end on a word that wants more (Whisper does
    /// not always write the full stop, so without one the NLU must be surer).
    fn is_complete(&self, text: &str) -> bool {
        let t = text.trim();
        if t.ends_with('?') || t.ends_with('？') {
            return true;
        }
        let stopped = t.ends_with('.') || t.ends_with('。') || t.ends_with('!') || t.ends_with('！');
        let last = t.trim_end_matches(['.', '。', '!', '！', ',', '，']).rsplit(' ').next().unwrap_or_default().to_lowercase();
        const OPEN: [&str; 16] =
            ["to", "the", "a", "an", "and", "but", "or", "my", "for", "of", "is", "um", "uh", "because", "like", "with"];
        if t.ends_with(',') || t.ends_with('，') || OPEN.contains(&last.as_str()) {
            return false;
        }
        let needed = if stopped { 0.7 } else { 0.85 };
        self.engines
            .nlu
            .analyze(t, None)
            .is_ok_and(|r| r.intent != "out_of_scope" && r.confidence >= needed)
    }

    /// The NLU on a final transcript: intent and text emotion events.
    fn understand(&self, text: &str, lang: &str, utterance_start_ms: u64, t: u64) -> Option<NluResult> {
        let hint = matches!(lang, "en" | "zh").then_some(lang);
        match self.engines.nlu.analyze(text, hint) {
            Ok(r) => {
                self.sink.emit(t, EventKind::intent_of(&r, utterance_start_ms));
                self.sink.emit(t, EventKind::text_emotion_of(&r, utterance_start_ms));
                Some(r)
            }
            Err(e) => {
                tracing::warn!(call = self.sink.call_id(), "NLU skipped an utterance: {e}");
                None
            }
        }
    }

    /// Says `reply`, sentence by sentence: each sentence plays as soon as it is synthesised.
    async fn reply(&mut self, reply: Reply, in_reply_to_ms: Option<u64>, ready_ms: u64) {
        if self.held {
            // Nobody listens on hold; the caller asks again when back.
            return;
        }
        let id = self.next_reply;
        self.next_reply += 1;
        self.replies.insert(id, in_reply_to_ms);
        let base = match self.spec.pacing {
            Pacing::Simulated => ready_ms,
            Pacing::RealTime => self.event_ms().max(ready_ms),
        };
        if reply.end_call && self.spec.live {
            self.end_after = Some(id);
        }
        self.sink.emit(
            base,
            EventKind::BotReply {
                reply_id: id,
                text: reply.text.clone(),
                lang: reply.lang.clone(),
                in_reply_to_ms,
                kb: reply.kb.clone(),
                actions: reply.actions.clone(),
            },
        );
        self.policy.handle(PolicyInput::BotSaid { text: reply.text.clone() }, base);
        let pieces = sentences::split(&reply.text);
        let n = pieces.len();
        if n == 0 {
            self.playout.complete(id);
            return;
        }
        let engines = self.engines.clone();
        let lang = reply.lang.clone();
        match self.spec.pacing {
            Pacing::Simulated => {
                let began = Instant::now();
                for (i, text) in pieces.iter().enumerate() {
                    let audio = engines.tts.sentence(text, &lang).await;
                    let at_ms = base + began.elapsed().as_millis() as u64;
                    self.due.push(Done { at_ms, output: Output::Sentence { reply: id, last: i + 1 == n, audio } });
                }
            }
            Pacing::RealTime => {
                // A producer synthesises the sentences in order; one job per sentence waits for
                // its sentence, so each plays as soon as it exists.
                let stop = Arc::new(AtomicBool::new(false));
                self.reply_stops.insert(id, stop.clone());
                let (senders, receivers): (Vec<_>, Vec<_>) = (0..n).map(|_| oneshot::channel()).unzip();
                tokio::spawn(async move {
                    for (text, tx) in pieces.iter().zip(senders) {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        if tx.send(engines.tts.sentence(text, &lang).await).is_err() {
                            return;
                        }
                    }
                });
                let started = self.started;
                for (i, rx) in receivers.into_iter().enumerate() {
                    self.running.spawn(async move {
                        let audio = rx.await.unwrap_or_else(|_| Err(crate::error::Error::internal("synthesis stopped")));
                        let at_ms = started.elapsed().as_millis() as u64;
                        Done { at_ms, output: Output::Sentence { reply: id, last: i + 1 == n, audio } }
                    });
                }
            }
        }
    }

    /// The caller's audio has ended: close the turn, let the answers come, let the bot finish.
    async fn finish(&mut self) {
        let flushed = self.vad.flush();
        let events = self.turns.finish(self.now_ms, &flushed);
        let events = events
            .into_iter()
            .map(|e| match e {
                TurnEvent::SpeechEnded { start_ms, end_ms, .. } => {
                    self.sink.emit(self.now_ms, EventKind::SpeechEnded { start_ms, end_ms, reason: "end_of_audio".into() });
                    self.utterance_ended(start_ms, end_ms);
                    None
                }
                other => Some(other),
            })
            .flatten()
            .collect();
        self.handle(events).await;
        match self.spec.pacing {
            Pacing::Simulated => {
                while let Some(next) = self.due.iter().map(|d| d.at_ms).min() {
                    self.now_ms = self.now_ms.max(next);
                    self.deliver_due(next).await;
                }
                self.play_until(u64::MAX / 2);
            }
            Pacing::RealTime => {
                let deadline = Instant::now() + DRAIN_LIMIT;
                let mut tick = tokio::time::interval(Duration::from_millis(crate::audio::FRAME_MS));
                while (!self.running.is_empty() || self.playout.busy() || self.turns.transcribing()) && Instant::now() < deadline {
                    tokio::select! {
                        Some(done) = self.running.join_next() => {
                            if let Ok(done) = done {
                                self.deliver(done).await;
                            }
                        }
                        _ = tick.tick() => self.play_until(self.wall_ms()),
                    }
                }
            }
        }
    }
}

fn round3(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

/// The turn's anger from the voice and the words. The tracker scores the voice only against
/// the caller's own calm turns (no voice before that: the words alone); a score made without a
/// baseline would count half.
pub fn fuse(prosody_weight: f32, voice: Option<&ProsodyScore>, words: f32) -> f32 {
    let Some(v) = voice else { return words };
    let wv = if v.against_baseline { prosody_weight } else { prosody_weight / 2.0 };
    let wt = 1.0 - prosody_weight;
    if wv + wt <= 0.0 {
        return words;
    }
    (wv * v.anger + wt * words) / (wv + wt)
}

/// Runs blocking dialog work (an order API call) without stalling the other calls' tasks.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}
