//! The anger model: two multinomial logistic regressions over prosodic statistics, one for
//! utterances measured against the speaker's baseline (their own calm turns, shrunk towards a
//! population prior), one for a first turn, before there is a baseline. Stored as JSON in
//! models/anger/anger.json.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::prosody::stats::{UtteranceStats, FEATURE_NAMES, GAIN_DEPENDENT, N_FEATURES};

/// The classes the model tells apart; the anger score is the probability of the first.
pub const CLASSES: [&str; 4] = ["angry", "neutral", "happy", "sad"];
pub const ANGRY: usize = 0;
pub const NEUTRAL: usize = 1;
pub const FILE: &str = "anger.json";
/// The statistics the model reads against the caller's own calm turns (indices into
/// `FEATURE_NAMES`): the rise in pitch (mean and percentiles) and shimmer, the cues that anger
/// shows alike in German (EmoDB) and Mandarin (CASIA). Spectral brightness and flux rise far
/// more in EmoDB's anger than in CASIA's; pitch range, jitter, tempo and pauses go opposite
/// ways in the two languages (Mandarin's tones); EmoDB's level is normalised. Left out, the
/// model transfers across languages; they are still computed, for the events and for people.
pub const USED: [usize; 4] = [0, 2, 3, 11];
/// The statistics of a caller's first turn, read against the population's calm voice: there
/// pitch level says little on its own (people differ by an octave), so brightness, spectral
/// tilt and flux, which differ less between people, join in.
pub const USED_FIRST_TURN: [usize; 7] = [0, 2, 3, 11, 12, 14, 16];
/// How many utterances' worth of weight the population prior has in a baseline.
const PRIOR_WEIGHT: f32 = 1.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AngerModel {
    pub classes: Vec<String>,
    pub features: Vec<String>,
    /// Mean statistics of calm (neutral) speech over the training speakers.
    pub prior: Vec<f32>,
    /// The spread of each statistic, to put them on one scale.
    pub scale: Vec<f32>,
    /// Scores an utterance against the caller's calm turns (`USED`).
    pub against_baseline: Head,
    /// Scores an utterance before the caller has calm turns (`USED_FIRST_TURN`).
    pub first_turn: Head,
    /// What it was trained on, for people.
    pub trained_on: String,
    /// Speakers of the corpora kept out of training, for the tests to call with.
    #[serde(default)]
    pub held_out: Vec<String>,
}

/// One logistic regression over the normalised statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    /// Per class: one weight per feature.
    pub weights: Vec<Vec<f32>>,
    pub bias: Vec<f32>,
    /// The anger probability above which an utterance counts as angry.
    pub threshold: f32,
    /// How steeply the anger score rises through the threshold (Platt scaling, fitted on anger
    /// against calm speech): the four classes share the probability, so an angry voice that
    /// might also be happy gets a modest one, while the score says how sure anger-versus-calm is.
    pub slope: f32,
}

impl Head {
    fn fits(&self, n: usize) -> bool {
        self.bias.len() == CLASSES.len()
            && self.weights.len() == CLASSES.len()
            && self.weights.iter().all(|w| w.len() == n)
            && self.threshold > 0.0
            && self.threshold < 1.0
            && self.slope.is_finite()
            && self.slope > 0.0
    }

    pub fn probs(&self, z: &[f32]) -> [f32; 4] {
        probs_of(&self.weights, &self.bias, z)
    }

    /// How far the anger probability lies past the threshold, in log-odds.
    pub fn margin(&self, p: f32) -> f32 {
        logit(p) - logit(self.threshold)
    }

    /// The anger score: the probability of anger against calm speech, with the head's decision
    /// threshold at 0.5, which makes scores comparable with the words' and between the heads.
    pub fn calibrated(&self, p: f32) -> f32 {
        sigmoid(self.slope * self.margin(p))
    }
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn logit(x: f32) -> f32 {
    let x = x.clamp(1e-6, 1.0 - 1e-6);
    (x / (1.0 - x)).ln()
}

/// A speaker's calm turns so far: the reference their anger is measured against.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Baseline {
    sum: Vec<f32>,
    pub n: usize,
}

impl Baseline {
    pub fn add(&mut self, s: &UtteranceStats) {
        if self.sum.is_empty() {
            self.sum = vec![0.0; N_FEATURES];
        }
        for (a, v) in self.sum.iter_mut().zip(s.values) {
            *a += v;
        }
        self.n += 1;
    }

    pub fn from_stats<'a>(stats: impl IntoIterator<Item = &'a UtteranceStats>) -> Self {
        let mut b = Self::default();
        stats.into_iter().for_each(|s| b.add(s));
        b
    }
}

/// Embedded copy, when models/anger/anger.json existed at build time.
#[cfg(embedded_anger)]
const EMBEDDED: Option<&str> = Some(include_str!("../../models/anger/anger.json"));
#[cfg(not(embedded_anger))]
const EMBEDDED: Option<&str> = None;

impl AngerModel {
    /// The model in `dir`, or else the copy built into the binary.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(FILE);
        let bad = |reason: String| ModelError::Load { path: path.clone(), reason };
        let text = if path.is_file() {
            std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?
        } else if let Some(t) = EMBEDDED {
            t.to_string()
        } else {
            return Err(bad("no anger model here or built in; run `voicegate train anger`".into()).into());
        };
        Self::from_json(&text).map_err(|r| bad(r).into())
    }

    pub fn from_json(text: &str) -> std::result::Result<Self, String> {
        let retrain = "; rebuild it with `voicegate train anger`";
        let m: Self = serde_json::from_str(text).map_err(|e| format!("{e}{retrain}"))?;
        let n = FEATURE_NAMES.len();
        if m.classes != CLASSES
            || m.features != FEATURE_NAMES
            || m.prior.len() != n
            || m.scale.len() != n
            || !m.against_baseline.fits(n)
            || !m.first_turn.fits(n)
        {
            return Err(format!("not a voicegate anger model for these features and classes{retrain}"));
        }
        Ok(m)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// The model's input: the statistics in `used`, each relative to the speaker's baseline,
    /// on a common scale. Without a baseline the population prior stands in, and gain-dependent
    /// statistics say nothing.
    pub fn normalise(prior: &[f32], scale: &[f32], used: &[usize], s: &UtteranceStats, b: &Baseline) -> [f32; N_FEATURES] {
        let mut z = [0f32; N_FEATURES];
        for &i in used {
            if i >= N_FEATURES || (b.n == 0 && GAIN_DEPENDENT.contains(&i)) {
                continue;
            }
            let reference = if b.n == 0 {
                prior[i]
            } else {
                (b.sum[i] + PRIOR_WEIGHT * prior[i]) / (b.n as f32 + PRIOR_WEIGHT)
            };
            z[i] = ((s.values[i] - reference) / scale[i].max(1e-6)).clamp(-6.0, 6.0);
        }
        z
    }

    /// The head that scores an utterance with this baseline, and the statistics it reads.
    pub fn head(&self, b: &Baseline) -> (&Head, &'static [usize]) {
        if b.n == 0 {
            (&self.first_turn, &USED_FIRST_TURN)
        } else {
            (&self.against_baseline, &USED)
        }
    }

    /// Class probabilities of an utterance, and its anger score: the anger probability moved
    /// so that the decision threshold lies at 0.5.
    pub fn judge(&self, s: &UtteranceStats, b: &Baseline) -> ([f32; 4], f32) {
        let (head, used) = self.head(b);
        let p = head.probs(&Self::normalise(&self.prior, &self.scale, used, s, b));
        (p, head.calibrated(p[ANGRY]))
    }
}

pub fn probs_of(weights: &[Vec<f32>], bias: &[f32], z: &[f32]) -> [f32; 4] {
    let mut out = [0f32; 4];
    for (k, o) in out.iter_mut().enumerate() {
        *o = bias[k] + weights[k].iter().zip(z).map(|(w, x)| w * x).sum::<f32>();
    }
    let m = out.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for o in out.iter_mut() {
        *o = (*o - m).exp();
        sum += *o;
    }
    out.iter_mut().for_each(|o| *o /= sum);
    out
}
