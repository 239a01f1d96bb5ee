//! The per-call runner: the processors of one call, each a tokio task joined by channels.
//!
//! ```text
//! caller audio ─> frames ─> VAD + utterance segmenter ─> ASR (shared worker pool) ─> NLU ─> events
//! ```
//!
//! Only the leg differs between a live call and a replay; a file is fed as fast as the pipeline
//! takes it, or paced at wall-clock speed with `realtime`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::audio::frame::{frames, samples_to_ms, AudioFrame};
use crate::error::{Error, Result};
use crate::events::{Event, EventKind};
use crate::pipeline::engines::Engines;
use crate::pipeline::history::AudioHistory;
use crate::pipeline::utterance::{SegmenterConfig, UtteranceEvent, UtteranceSegmenter};
use crate::pipeline::whisper::DecodeMode;

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

/// One call to run.
#[derive(Debug, Clone)]
pub struct CallSpec {
    pub call_id: String,
    /// The leg, for the `call_started` event: `file:<path>`, `upload`, ...
    pub source: String,
    /// Pace frames at wall-clock speed instead of as fast as possible.
    pub realtime: bool,
}

/// A caller utterance cut out of the call audio.
struct Utterance {
    start_ms: u64,
    end_ms: u64,
    /// Media time when the utterance was complete.
    t_ms: u64,
    samples: Vec<f32>,
}

#[derive(Debug, Clone, Copy)]
pub struct CallOutcome {
    pub duration_ms: u64,
    pub utterances: usize,
}

/// Runs one call whose caller audio (16 kHz mono) is at hand, emitting its events to `events`.
pub async fn run_call(
    engines: Arc<Engines>,
    spec: CallSpec,
    audio: Vec<f32>,
    events: mpsc::UnboundedSender<Event>,
) -> Result<CallOutcome> {
    let sink = EventSink::new(&spec.call_id, events);
    sink.emit(0, EventKind::CallStarted { source: spec.source.clone() });
    let duration_ms = samples_to_ms(audio.len());

    let (frame_tx, frame_rx) = mpsc::channel::<AudioFrame>(64);
    let (utt_tx, utt_rx) = mpsc::channel::<Utterance>(16);

    let source = tokio::spawn(feed_frames(audio, spec.realtime, frame_tx));
    let vad = tokio::spawn(detect_utterances(engines.clone(), frame_rx, utt_tx, sink.clone()));
    let asr = tokio::spawn(transcribe_utterances(engines, utt_rx, sink.clone()));

    let join = |r: std::result::Result<Result<usize>, tokio::task::JoinError>| {
        r.map_err(|e| Error::internal(format!("pipeline task failed: {e}")))?
    };
    source.await.map_err(|e| Error::internal(format!("audio source failed: {e}")))?;
    let utterances = join(vad.await)?;
    join(asr.await)?;
    // A replay ends with its audio or its last answer, whichever comes later.
    sink.emit(
        duration_ms.max(sink.latest_ms()),
        EventKind::CallEnded {
            reason: "end_of_audio".into(),
            duration_ms,
        },
    );
    Ok(CallOutcome { duration_ms, utterances })
}

/// The file leg: 20 ms frames, as fast as the pipeline takes them or paced in real time.
async fn feed_frames(audio: Vec<f32>, realtime: bool, tx: mpsc::Sender<AudioFrame>) {
    let start = tokio::time::Instant::now();
    for frame in frames(&audio) {
        if realtime {
            tokio::time::sleep_until(start + Duration::from_millis(frame.t_ms)).await;
        }
        if tx.send(frame).await.is_err() {
            return;
        }
    }
}

/// VAD and turn segmentation; returns the number of utterances found.
async fn detect_utterances(
    engines: Arc<Engines>,
    mut frames: mpsc::Receiver<AudioFrame>,
    utterances: mpsc::Sender<Utterance>,
    sink: EventSink,
) -> Result<usize> {
    let cfg = &engines.config.vad;
    let mut vad = engines.new_vad()?;
    let mut segmenter = UtteranceSegmenter::new(SegmenterConfig {
        hangover_ms: cfg.hangover_ms as u64,
        min_speech_ms: cfg.min_speech_ms as u64,
        max_utterance_ms: cfg.max_utterance_ms as u64,
        onset_ms: crate::pipeline::vad::ONSET_MS,
        trailing_ms: cfg.min_silence_ms as u64,
    });
    let pad = cfg.pad_ms as u64;
    let mut history = AudioHistory::new(cfg.max_utterance_ms as u64 + 2 * pad + cfg.hangover_ms as u64 + 2000);
    let mut count = 0;
    let mut now = 0;

    let handle = |events: Vec<UtteranceEvent>, now: u64, history: &AudioHistory| {
        let mut done = Vec::new();
        for ev in events {
            match ev {
                UtteranceEvent::Started { start_ms } => sink.emit(now, EventKind::SpeechStarted { start_ms }),
                UtteranceEvent::Ended { start_ms, end_ms } => {
                    sink.emit(now, EventKind::SpeechEnded { start_ms, end_ms });
                    done.push(Utterance {
                        start_ms,
                        end_ms,
                        t_ms: now,
                        samples: history.slice(start_ms.saturating_sub(pad), end_ms + pad),
                    });
                }
            }
        }
        done
    };

    while let Some(frame) = frames.recv().await {
        history.push(&frame.samples);
        now = frame.end_ms();
        let step = vad.push(&frame.samples);
        for span in &step.finished {
            tracing::debug!(call = sink.call_id(), now, start_ms = span.start_ms, end_ms = span.end_ms, "vad span");
        }
        for u in handle(segmenter.step(now, &step), now, &history) {
            count += 1;
            if utterances.send(u).await.is_err() {
                return Ok(count);
            }
        }
    }
    let flushed = vad.flush();
    for u in handle(segmenter.finish(now, &flushed), now, &history) {
        count += 1;
        let _ = utterances.send(u).await;
    }
    Ok(count)
}

/// Whisper on the shared pool, one utterance at a time, in order.
async fn transcribe_utterances(
    engines: Arc<Engines>,
    mut utterances: mpsc::Receiver<Utterance>,
    sink: EventSink,
) -> Result<usize> {
    let mut n = 0;
    while let Some(u) = utterances.recv().await {
        let began = Instant::now();
        let r = engines.asr.transcribe(sink.call_id(), u.samples, DecodeMode::Utterance).await?;
        let waited = began.elapsed().as_millis() as u64;
        if r.transcription.text.is_empty() {
            continue;
        }
        n += 1;
        let t = u.t_ms + waited;
        let (text, lang) = (r.transcription.text, r.transcription.lang);
        sink.emit(
            t,
            EventKind::Transcript {
                is_final: true,
                text: text.clone(),
                lang: lang.clone(),
                start_ms: u.start_ms,
                end_ms: u.end_ms,
                queue_ms: r.queue_ms,
                asr_ms: r.transcription.infer_ms,
            },
        );
        understand(&engines, &text, &lang, u.start_ms, t, &sink);
    }
    Ok(n)
}

/// The NLU on a final transcript: an `intent` and a text `emotion` event.
fn understand(engines: &Engines, text: &str, lang: &str, utterance_start_ms: u64, t: u64, sink: &EventSink) {
    let lang = matches!(lang, "en" | "zh").then_some(lang);
    match engines.nlu.analyze(text, lang) {
        Ok(r) => {
            sink.emit(
                t,
                EventKind::Intent {
                    intent: r.intent,
                    confidence: r.confidence,
                    top: r.top,
                    entities: r.entities,
                    utterance_start_ms,
                },
            );
            sink.emit(
                t,
                EventKind::Emotion {
                    source: "text".into(),
                    label: r.emotion,
                    score: r.emotion_confidence,
                    sentiment: Some(r.sentiment),
                },
            );
        }
        // A transcript the NLU refuses (far too long) is still in the record as a transcript.
        Err(e) => tracing::warn!(call = sink.call_id(), "NLU skipped an utterance: {e}"),
    }
}
