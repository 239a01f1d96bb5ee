//! `voicegate bench latency`: voice-to-voice latency per caller turn, from the end of the
//! caller's speech in the audio to the first bot frame out, broken down into end-of-turn
//! detection, ASR, NLU + dialog, and TTS up to the first audio.
//!
//! The end of speech is read from the caller's audio itself (the last 10 ms above a level),
//! not from the VAD, so that the VAD's own delay is measured too.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::audio::{self, SAMPLE_RATE};
use crate::bench::percentile;
use crate::error::{InputError, Result};
use crate::events::{Event, EventKind};
use crate::pipeline::{run_file_call, CallSpec, Engines, Pacing};

/// Level above which a 10 ms window counts as speech, for the end of a turn.
const SPEECH_RMS: f32 = 0.01;

#[derive(Debug, Clone, Serialize)]
pub struct TurnLatency {
    pub file: String,
    pub turn_start_ms: u64,
    /// Where the caller's speech ended, in the audio.
    pub speech_end_ms: u64,
    /// How the turn's end was detected: `complete` or `silence`.
    pub eot: String,
    /// From the end of speech to the end of the turn being declared. With a complete sentence
    /// this includes waiting for its (speculative) transcript: the stages overlap.
    pub eot_ms: u64,
    /// Inference time of the transcript the answer was built on.
    pub asr_ms: u64,
    /// Of which after the end of the turn: zero when the speculative transcript was ready.
    pub asr_wait_ms: u64,
    pub nlu_dialog_ms: u64,
    pub tts_first_ms: u64,
    /// When this turn sent the call to a person: from the end of the turn to the decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handoff_ms: Option<u64>,
    /// Why it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handoff_reason: Option<String>,
    /// Voice to voice.
    pub total_ms: u64,
    /// The language the turn was transcribed in.
    pub lang: String,
}

/// One language's turns: voice to voice and the stages' medians.
#[derive(Debug, Clone, Serialize)]
pub struct LangFigures {
    pub turns: usize,
    pub p50_ms: u64,
    pub p95_ms: u64,
    pub eot_p50_ms: u64,
    pub asr_p50_ms: u64,
    pub asr_wait_p50_ms: u64,
    pub nlu_dialog_p50_ms: u64,
    pub tts_first_p50_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub bench: &'static str,
    /// The conversation fixtures' turns (not the Mandarin callers').
    #[serde(flatten)]
    pub all: LangFigures,
    /// Turns that sent the call to a person, and the longest time from the end of such a turn
    /// to the decision.
    pub handoffs: usize,
    pub handoff_max_ms: u64,
    pub pacing: &'static str,
    /// The same figures per language the turns were transcribed in (`zh`: with `--zh`).
    pub langs: std::collections::BTreeMap<String, LangFigures>,
    /// Angry callers (`--angry`): how soon after an angry turn ended the call was handed off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anger: Option<AngerHandoffs>,
}

/// The angry calls of `bench latency --angry`.
#[derive(Debug, Clone, Serialize)]
pub struct AngerHandoffs {
    pub calls: usize,
    /// Calls handed off for anger.
    pub handed_off: usize,
    /// From the end of the turn that decided it to the handoff, per call handed off.
    pub handoff_ms: Vec<u64>,
    pub handoff_max_ms: u64,
}

impl AngerHandoffs {
    /// From each angry call's turns: its first handoff for anger.
    pub fn of(calls: &[Vec<TurnLatency>]) -> Self {
        let handoff_ms: Vec<u64> = calls.iter().filter_map(|turns| turns.iter().find(|t| t.handoff_reason.as_deref() == Some("anger")).and_then(|t| t.handoff_ms)).collect();
        Self { calls: calls.len(), handed_off: handoff_ms.len(), handoff_max_ms: handoff_ms.iter().copied().max().unwrap_or(0), handoff_ms }
    }
}

/// Angry callers built from an emotional-speech corpus (EmoDB, or CASIA/RAVDESS layout): for
/// each of `speakers` (the anger model's held-out ones), two calm utterances and then four
/// angry ones, 2.5 s of silence after each, written to `out` as 16 kHz WAVs.
pub fn angry_calls(dir: &Path, speakers: &[String], out: &Path) -> Result<Vec<PathBuf>> {
    use crate::prosody::corpus::{self, ANGRY, CALM};
    let clips = corpus::load(dir)?;
    let all = corpus::speakers(&clips);
    let held_out = speakers.iter().any(|s| all.contains(s));
    if !held_out {
        tracing::warn!("none of the anger model's held-out speakers ({}) is in {}: its first two speakers are used, whom the model may have been trained on", speakers.join(", "), dir.display());
    }
    let chosen: Vec<&String> = if held_out { all.iter().filter(|s| speakers.contains(s)).collect() } else { all.iter().take(2).collect() };
    let mut calls = Vec::new();
    for speaker in chosen {
        let of = |class: usize, n: usize| clips.iter().filter(|c| &c.speaker == speaker && c.class == class).take(n).map(|c| c.path.clone()).collect::<Vec<_>>();
        let (calm, angry) = (of(CALM, 2), of(ANGRY, 4));
        if calm.len() < 2 || angry.len() < 4 {
            continue;
        }
        let path = out.join(format!("angry-{speaker}.wav"));
        write_call(calm.iter().chain(&angry), &path)?;
        calls.push(path);
    }
    if calls.is_empty() {
        return Err(InputError::Invalid(format!("{}: no speaker with two calm and four angry utterances", dir.display())).into());
    }
    Ok(calls)
}

#[derive(Deserialize)]
struct Manifest {
    fixture: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    file: String,
    #[serde(default)]
    conversation: bool,
    escalation: Option<String>,
}

/// The conversation fixtures listed in `dir/manifest.toml`, and those that end in a handoff.
pub fn conversations(dir: &Path) -> Result<Vec<PathBuf>> {
    let path = dir.join("manifest.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| InputError::from_io(&path, e))?;
    let m: Manifest = toml::from_str(&text).map_err(|e| InputError::Invalid(format!("{}: {e}", path.display())))?;
    let files: Vec<PathBuf> = m.fixture.into_iter().filter(|f| f.conversation || f.escalation.is_some()).map(|f| dir.join(f.file)).collect();
    if files.is_empty() {
        return Err(InputError::Invalid(format!("{}: no fixture is marked `conversation = true`", path.display())).into());
    }
    Ok(files)
}

/// Where speech really ended before `vad_end_ms` (plus a little): the end of the last loud
/// 10 ms window.
fn speech_end(samples: &[f32], start_ms: u64, vad_end_ms: u64) -> u64 {
    let win = SAMPLE_RATE as usize / 100;
    let from = audio::frame::ms_to_samples(start_ms) / win;
    let to = (audio::frame::ms_to_samples(vad_end_ms + 300) / win).min(samples.len() / win);
    (from..to)
        .rev()
        .find(|w| audio::frame::rms(&samples[w * win..(w + 1) * win]) > SPEECH_RMS)
        .map(|w| (w as u64 + 1) * 10)
        .unwrap_or(vad_end_ms)
}

/// The latency of each answered turn of a call, from its events.
pub fn turn_latencies(file: &str, samples: &[f32], events: &[Event]) -> Vec<TurnLatency> {
    let mut out = Vec::new();
    for ended in events {
        let EventKind::SpeechEnded { start_ms, end_ms, reason } = &ended.kind else { continue };
        let find = |f: &dyn Fn(&EventKind) -> bool| events.iter().find(|e| f(&e.kind));
        let Some(transcript) = find(&|k| matches!(k, EventKind::Transcript { is_final: true, start_ms: s, .. } if s == start_ms)) else {
            continue;
        };
        let Some(reply) = find(&|k| matches!(k, EventKind::BotReply { in_reply_to_ms: Some(s), .. } if s == start_ms)) else {
            continue;
        };
        let EventKind::BotReply { reply_id, .. } = reply.kind else { continue };
        let Some(audio) = find(&|k| matches!(k, EventKind::TtsStarted { reply_id: r } if *r == reply_id)) else {
            continue;
        };
        let (asr_ms, lang) = match &transcript.kind {
            EventKind::Transcript { asr_ms, lang, .. } => (*asr_ms, lang.clone()),
            _ => (0, String::new()),
        };
        let truth = speech_end(samples, *start_ms, *end_ms);
        // A handoff decided on this turn: at its end on the voice alone, or with its
        // transcript, before the answer.
        let handoff = events
            .iter()
            .find(|e| matches!(e.kind, EventKind::Handoff { .. }) && e.t_ms >= ended.t_ms && e.t_ms <= reply.t_ms.max(transcript.t_ms));
        out.push(TurnLatency {
            file: file.to_string(),
            turn_start_ms: *start_ms,
            speech_end_ms: truth,
            eot: reason.clone(),
            eot_ms: ended.t_ms.saturating_sub(truth),
            asr_ms,
            lang,
            asr_wait_ms: transcript.t_ms.saturating_sub(ended.t_ms),
            nlu_dialog_ms: reply.t_ms.saturating_sub(transcript.t_ms),
            tts_first_ms: audio.t_ms.saturating_sub(reply.t_ms),
            handoff_ms: handoff.map(|h| h.t_ms.saturating_sub(ended.t_ms)),
            handoff_reason: handoff.and_then(|h| match &h.kind {
                EventKind::Handoff { reason, .. } => Some(reason.clone()),
                _ => None,
            }),
            total_ms: audio.t_ms.saturating_sub(truth),
        });
    }
    out
}

/// Mandarin callers from a folder of real recordings (`--zh`, e.g. AISHELL-1 and WenetSpeech
/// utterances): one call of all of them, each followed by 2.5 s of silence for the answer,
/// written to `out` as a 16 kHz WAV. Their words are not a shop's, so the turns are answered
/// as the dialog answers what it does not understand: what is measured is the time to it.
pub fn mandarin_call(dir: &Path, out: &Path) -> Result<PathBuf> {
    let items = crate::bench::dataset::load(dir, None)?;
    let path = out.join("mandarin-callers.wav");
    write_call(items.iter().map(|i| &i.audio), &path)?;
    Ok(path)
}

/// One caller's call from `clips` in turn, each followed by 2.5 s of silence for the answer,
/// written to `path` as a 16 kHz WAV.
fn write_call<'a>(clips: impl Iterator<Item = &'a PathBuf>, path: &Path) -> Result<()> {
    let mut call = Vec::new();
    for clip in clips {
        call.extend(audio::load_for_pipeline(clip, None)?.samples);
        call.extend(std::iter::repeat_n(0.0f32, SAMPLE_RATE as usize * 5 / 2));
    }
    audio::wav::write_mono(path, &call, SAMPLE_RATE)
}

/// Runs one conversation fixture and measures its turns; `lang`: the language the call is
/// told it is in (English when none).
pub async fn bench_file(engines: &Arc<Engines>, path: &Path, pacing: Pacing, lang: Option<&str>) -> Result<Vec<TurnLatency>> {
    let p = path.to_owned();
    let audio = tokio::task::spawn_blocking(move || audio::load_for_pipeline(&p, None))
        .await
        .map_err(crate::error::Error::internal)??;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut spec = CallSpec::replay(format!("latency-{}", path.display()), format!("file:{}", path.display()), false);
    spec.pacing = pacing;
    spec.lang = lang.map(str::to_string);
    run_file_call(engines.clone(), spec, audio.samples.clone(), tx).await?;
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    Ok(turn_latencies(&path.display().to_string(), &audio.samples, &events))
}

/// The figures of some turns.
fn figures(turns: &[&TurnLatency]) -> LangFigures {
    let p = |f: &dyn Fn(&TurnLatency) -> u64, q: f64| {
        let mut v: Vec<u64> = turns.iter().map(|t| f(t)).collect();
        v.sort_unstable();
        percentile(&v, q)
    };
    LangFigures {
        turns: turns.len(),
        p50_ms: p(&|t| t.total_ms, 0.5),
        p95_ms: p(&|t| t.total_ms, 0.95),
        eot_p50_ms: p(&|t| t.eot_ms, 0.5),
        asr_p50_ms: p(&|t| t.asr_ms, 0.5),
        asr_wait_p50_ms: p(&|t| t.asr_wait_ms, 0.5),
        nlu_dialog_p50_ms: p(&|t| t.nlu_dialog_ms, 0.5),
        tts_first_p50_ms: p(&|t| t.tts_first_ms, 0.5),
    }
}

/// The summary line; `more`: further turns (the Mandarin callers) counted per language only.
pub fn summarize(turns: &[TurnLatency], more: &[TurnLatency], pacing: Pacing) -> Summary {
    let mut by_lang: std::collections::BTreeMap<String, Vec<&TurnLatency>> = std::collections::BTreeMap::new();
    for t in turns.iter().chain(more) {
        by_lang.entry(t.lang.clone()).or_default().push(t);
    }
    let langs = by_lang.iter().map(|(l, ts)| (l.clone(), figures(ts))).collect();
    Summary {
        bench: "latency",
        all: figures(&turns.iter().collect::<Vec<_>>()),
        handoffs: turns.iter().filter(|t| t.handoff_ms.is_some()).count(),
        handoff_max_ms: turns.iter().filter_map(|t| t.handoff_ms).max().unwrap_or(0),
        pacing: match pacing {
            Pacing::RealTime => "realtime",
            Pacing::Simulated => "simulated",
        },
        langs,
        anger: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speech_ends_where_the_audio_goes_quiet() {
        let mut s = vec![0.3f32; 16_000];
        s.extend(vec![0.0f32; 16_000]);
        assert_eq!(speech_end(&s, 0, 1100), 1000);
        // Quiet all along: the VAD's end stands.
        assert_eq!(speech_end(&[0.0; 32_000], 0, 800), 800);
    }

    #[test]
    fn latencies_are_read_from_the_events() {
        let ev = |t, kind| Event::new("c", t, kind);
        let events = vec![
            ev(1600, EventKind::SpeechEnded { start_ms: 100, end_ms: 1000, reason: "complete".into() }),
            ev(1650, EventKind::Transcript { is_final: true, text: "hi".into(), lang: "en".into(), start_ms: 100, end_ms: 1000, queue_ms: 0, asr_ms: 230, speaker: "caller".into() }),
            ev(1660, EventKind::BotReply { reply_id: 7, text: "hello".into(), lang: "en".into(), in_reply_to_ms: Some(100), kb: None, actions: vec![] }),
            ev(1700, EventKind::TtsStarted { reply_id: 7 }),
        ];
        let mut s = vec![0.3f32; 16_000];
        s.extend(vec![0.0f32; 16_000]);
        let t = turn_latencies("f", &s, &events);
        assert_eq!(t.len(), 1);
        let t = &t[0];
        assert_eq!((t.speech_end_ms, t.eot_ms, t.asr_ms, t.asr_wait_ms, t.nlu_dialog_ms, t.tts_first_ms, t.total_ms), (1000, 600, 230, 50, 10, 40, 700));
    }
}
