//! The anger model: multinomial logistic regression over prosodic statistics normalised
//! against the speaker's baseline (their own calm turns, shrunk towards a population prior
//! until there are enough of them). Stored as JSON in models/anger/anger.json.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::prosody::stats::{UtteranceStats, FEATURE_NAMES, GAIN_DEPENDENT, N_FEATURES};

/// The classes the model tells apart; the anger score is the probability of the first.
pub const CLASSES: [&str; 4] = ["angry", "neutral", "happy", "sad"];
pub const ANGRY: usize = 0;
pub const FILE: &str = "anger.json";
/// The statistics the model reads (indices into `FEATURE_NAMES`): the cues that anger shows in
/// both German (EmoDB) and Mandarin (CASIA) speech, relative to the speaker's calm voice —
/// raised pitch, shimmer, a brighter and more changeable spectrum. Pitch range, jitter, tempo
/// and pauses go opposite ways in the two languages (Mandarin's tones), and EmoDB's level is
/// normalised, so the model leaving them out transfers better across languages; they are still
/// computed, for the events and for people.
pub const USED: [usize; 7] = [0, 2, 3, 11, 12, 14, 16];
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
    /// Per class: one weight per feature.
    pub weights: Vec<Vec<f32>>,
    pub bias: Vec<f32>,
    /// The anger probability above which an utterance counts as angry.
    pub threshold: f32,
    /// What it was trained on, for people.
    pub trained_on: String,
    /// Speakers of the corpora kept out of training, for the tests to call with.
    #[serde(default)]
    pub held_out: Vec<String>,
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
        let m: Self = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let n = FEATURE_NAMES.len();
        if m.classes != CLASSES
            || m.features != FEATURE_NAMES
            || m.prior.len() != n
            || m.scale.len() != n
            || m.bias.len() != CLASSES.len()
            || m.weights.len() != CLASSES.len()
            || m.weights.iter().any(|w| w.len() != n)
        {
            return Err("not a voicegate anger model for these features and classes".into());
        }
        Ok(m)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// The model's input: each statistic relative to the speaker's baseline, on a common scale.
    /// Without a baseline the population prior stands in, and gain-dependent statistics say
    /// nothing.
    pub fn normalise(prior: &[f32], scale: &[f32], s: &UtteranceStats, b: &Baseline) -> [f32; N_FEATURES] {
        let mut z = [0f32; N_FEATURES];
        for i in 0..N_FEATURES {
            if !USED.contains(&i) || (b.n == 0 && GAIN_DEPENDENT.contains(&i)) {
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

    /// Class probabilities of an utterance.
    pub fn probs(&self, s: &UtteranceStats, b: &Baseline) -> [f32; 4] {
        let z = Self::normalise(&self.prior, &self.scale, s, b);
        probs_of(&self.weights, &self.bias, &z)
    }

    /// The anger score of an utterance: the model's probability moved so that its decision
    /// threshold lies at 0.5, which makes scores comparable with the words' and across models.
    pub fn anger(&self, s: &UtteranceStats, b: &Baseline) -> f32 {
        self.calibrated(self.probs(s, b)[ANGRY])
    }

    pub fn calibrated(&self, p: f32) -> f32 {
        let logit = |x: f32| {
            let x = x.clamp(1e-6, 1.0 - 1e-6);
            (x / (1.0 - x)).ln()
        };
        1.0 / (1.0 + (-(logit(p) - logit(self.threshold))).exp())
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
