//! One call's prosody, streamed: the caller's 16 kHz frames in, anger scores of the utterance
//! in progress and of each finished one out, against the caller's own calm turns. Until the
//! caller has a calm turn the voice is not scored for anyone: the first-turn head only decides
//! whether a turn may become their baseline.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::prosody::band::TelephoneBand;
use crate::prosody::frames::{FrameAnalyzer, FrameFeatures};
use crate::prosody::model::{AngerModel, Baseline};
use crate::prosody::stats::UtteranceStats;

/// 30 s of 10 ms steps: longer than any utterance the segmenter lets through.
const KEEP_FRAMES: usize = 3000;

/// The prosody of (part of) an utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct ProsodyScore {
    /// How angry the voice sounds, 0 to 1, with the model's decision threshold at 0.5.
    pub anger: f32,
    /// `angry` from 0.5 up, else `neutral`, and how sure: the score or its complement.
    pub label: &'static str,
    pub confidence: f32,
    pub voiced_ms: u64,
    /// Whether the caller's own calm turns were the reference. Always true: before there is
    /// one the tracker gives no score.
    pub against_baseline: bool,
}

pub struct AngerTracker {
    model: Arc<AngerModel>,
    band: TelephoneBand,
    analyzer: FrameAnalyzer,
    narrow: Vec<f32>,
    frames: VecDeque<FrameFeatures>,
    baseline: Baseline,
    baseline_turns: usize,
    /// Time spent analysing, for the cost per call.
    pub cpu: Duration,
}

impl AngerTracker {
    /// `baseline_turns`: how many of the caller's calm utterances make their baseline.
    pub fn new(model: Arc<AngerModel>, baseline_turns: usize) -> Self {
        Self {
            model,
            band: TelephoneBand::new(),
            analyzer: FrameAnalyzer::new(0),
            narrow: Vec::with_capacity(160),
            frames: VecDeque::with_capacity(KEEP_FRAMES),
            baseline: Baseline::default(),
            baseline_turns,
            cpu: Duration::ZERO,
        }
    }

    /// The caller's next 16 kHz samples (contiguous from the start of the call).
    pub fn push(&mut self, samples: &[f32]) {
        let t = Instant::now();
        self.narrow.clear();
        self.band.push(samples, &mut self.narrow);
        let mut out = Vec::with_capacity(4);
        self.analyzer.push(&self.narrow, &mut out);
        for f in out {
            if self.frames.len() == KEEP_FRAMES {
                self.frames.pop_front();
            }
            self.frames.push_back(f);
        }
        self.cpu += t.elapsed();
    }

    fn stats(&self, start_ms: u64, end_ms: u64) -> Option<UtteranceStats> {
        let span: Vec<FrameFeatures> = self.frames.iter().filter(|f| f.t_ms > start_ms && f.t_ms <= end_ms).copied().collect();
        UtteranceStats::from_frames(&span)
    }

    fn score(&self, s: &UtteranceStats, anger: f32) -> ProsodyScore {
        let angry = anger >= 0.5;
        ProsodyScore {
            anger,
            label: if angry { "angry" } else { "neutral" },
            confidence: if angry { anger } else { 1.0 - anger },
            voiced_ms: s.voiced_ms,
            against_baseline: true,
        }
    }

    /// The utterance so far (`start_ms` to `now_ms`), or None with too little voiced speech or
    /// no calm turn of the caller's yet.
    pub fn partial(&mut self, start_ms: u64, now_ms: u64) -> Option<ProsodyScore> {
        if self.baseline.is_empty() {
            return None;
        }
        let t = Instant::now();
        let r = self.stats(start_ms, now_ms).map(|s| self.score(&s, self.model.judge(&s, &self.baseline)));
        self.cpu += t.elapsed();
        r
    }

    /// A finished utterance. One that sounds calm against the population's calm voice joins the
    /// caller's baseline while it has fewer than `baseline_turns` utterances (`Baseline::admit`).
    /// Its score, or None with too little voiced speech or when it was scored without a baseline.
    pub fn finish(&mut self, start_ms: u64, end_ms: u64) -> Option<ProsodyScore> {
        let t = Instant::now();
        let s = self.stats(start_ms, end_ms)?;
        let warm = !self.baseline.is_empty();
        let anger = self.baseline.admit(&self.model, self.baseline_turns, &s);
        self.cpu += t.elapsed();
        warm.then(|| self.score(&s, anger))
    }
}
