//! The anger model: two small logistic regressions (anger against calm speech) over a few
//! utterance statistics. One reads an utterance's rise over the caller's own calm turns; the
//! other, for a first turn, its distance from the population's calm voice, and only decides
//! whether that turn may become the caller's baseline. Stored as JSON in models/anger/anger.json.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::prosody::stats::{index, UtteranceStats, FEATURE_NAMES, GAIN_DEPENDENT, N_FEATURES};

pub const FILE: &str = "anger.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AngerModel {
    /// The statistics, in the order of `calm_mean` and `calm_spread` (`stats::FEATURE_NAMES`).
    pub features: Vec<String>,
    /// The population's calm voice: over the training speakers, the mean of each one's calm
    /// utterances. A first turn is measured against it.
    pub calm_mean: Vec<f32>,
    /// How much one speaker's calm utterances vary around their own mean (pooled standard
    /// deviation): the unit every rise is counted in.
    pub calm_spread: Vec<f32>,
    /// Statistics whose fall says nothing about anger and only their rise counts: a quieter
    /// line or a handset held further away is no calm, and a peak-normalised corpus (EmoDB)
    /// even makes anger quieter, while a louder voice than the caller's own is evidence.
    pub rise_only: Vec<String>,
    /// Each rise is clipped to this many spreads either way, so one odd statistic cannot decide.
    pub clip: f32,
    /// Scores an utterance against the caller's calm turns.
    pub against_baseline: Head,
    /// Scores an utterance before the caller has calm turns: whether it may join the baseline.
    pub first_turn: Head,
    /// What it was trained on, for people.
    pub trained_on: String,
    /// Speakers of the corpora kept out of training, for the tests to call with.
    #[serde(default)]
    pub held_out: Vec<String>,
}

/// One logistic regression over the rises of the statistics it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    pub features: Vec<String>,
    pub weights: Vec<f32>,
    pub bias: f32,
    /// The regression's value (log-odds) at which an utterance counts as angry, set on the
    /// training speakers so that it flags few of their calm utterances.
    pub threshold: f32,
    /// How steeply the score rises through the threshold (Platt scaling on anger against calm
    /// speech): the score is `sigmoid(slope * (value - threshold))`, so 0.5 is the threshold
    /// whatever the corpus and a clearly angry turn scores near 1.
    pub slope: f32,
}

impl Head {
    /// The regression's value of the rises `z` (in the order of `features`).
    pub fn value(&self, z: &[f32]) -> f32 {
        self.bias + self.weights.iter().zip(z).map(|(w, x)| w * x).sum::<f32>()
    }

    /// The anger score, 0 to 1, with the head's threshold at 0.5.
    pub fn score(&self, z: &[f32]) -> f32 {
        sigmoid(self.slope * (self.value(z) - self.threshold))
    }

    fn check(&self, name: &str, first_turn: bool) -> std::result::Result<(), String> {
        let finite = self.weights.iter().chain([&self.bias, &self.threshold, &self.slope]).all(|v| v.is_finite());
        if self.features.is_empty() || self.weights.len() != self.features.len() || !finite || self.slope <= 0.0 {
            return Err(format!("{name}: its weights, threshold or slope are missing or not numbers"));
        }
        for f in &self.features {
            if index(f).is_none() {
                return Err(format!("{name}: no statistic {f}"));
            }
            if first_turn && GAIN_DEPENDENT.contains(&f.as_str()) {
                return Err(format!("{name}: {f} depends on the line's gain and means nothing without the caller's own turns"));
            }
        }
        Ok(())
    }
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// A turn joins the caller's baseline unless the first-turn head scores it at least this angry.
pub const ADMIT_BELOW: f32 = 0.9;

/// A speaker's calm turns so far: the reference their anger is measured against.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Baseline {
    turns: Vec<[f32; N_FEATURES]>,
}

impl Baseline {
    pub fn add(&mut self, s: &UtteranceStats) {
        self.turns.push(s.values);
    }

    pub fn from_stats<'a>(stats: impl IntoIterator<Item = &'a UtteranceStats>) -> Self {
        let mut b = Self::default();
        stats.into_iter().for_each(|s| b.add(s));
        b
    }

    pub fn len(&self) -> usize {
        self.turns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }

    /// Scores a caller's finished utterance against this baseline and lets it join while the
    /// baseline has fewer than `turns` utterances, unless the first-turn head is sure it is
    /// angry against the population's calm voice (`ADMIT_BELOW`). Not judged against the turns
    /// before it: one atypical calm turn admitted first (a quiet, flat opening) would make every
    /// later calm turn sound angry and refuse it, leaving the caller measured against that one
    /// turn for the whole call (half of CASIA's calm turns were flagged so). Nor at the head's
    /// own threshold: a high voice's calm turns pass for anger against the population (a fifth
    /// of CASIA's), and refusing them leaves only the flattest ones as the reference. Returns
    /// the score against the baseline as it was. A call's tracker and the benchmark build
    /// baselines alike with this.
    pub fn admit(&mut self, model: &AngerModel, turns: usize, s: &UtteranceStats) -> f32 {
        let anger = model.judge(s, self);
        if self.len() < turns {
            // Without a baseline the score is the population's already.
            let against_population = if self.is_empty() { anger } else { model.judge(s, &Baseline::default()) };
            if against_population < ADMIT_BELOW {
                self.add(s);
            }
        }
        anger
    }

    /// The median of the turns' values of statistic `i` (with an even count, the mean of the
    /// middle two): with three turns, one atypical calm turn (a quiet, flat opening) does not
    /// move the reference.
    pub fn reference(&self, i: usize) -> f32 {
        let mut v: Vec<f32> = self.turns.iter().map(|t| t[i]).collect();
        v.sort_by(f32::total_cmp);
        match v.len() {
            0 => 0.0,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
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
        let positive = m.calm_spread.iter().all(|s| s.is_finite() && *s > 0.0) && m.clip.is_finite() && m.clip > 0.0;
        if m.features != FEATURE_NAMES || m.calm_mean.len() != n || m.calm_spread.len() != n || !positive {
            return Err(format!("not a voicegate anger model for these statistics{retrain}"));
        }
        if let Some(f) = m.rise_only.iter().find(|f| index(f).is_none()) {
            return Err(format!("rise_only: no statistic {f}{retrain}"));
        }
        m.against_baseline.check("against_baseline", false).map_err(|e| format!("{e}{retrain}"))?;
        m.first_turn.check("first_turn", true).map_err(|e| format!("{e}{retrain}"))?;
        Ok(m)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// The head that scores an utterance with this baseline.
    pub fn head(&self, b: &Baseline) -> &Head {
        if b.is_empty() {
            &self.first_turn
        } else {
            &self.against_baseline
        }
    }

    /// The head's input: each statistic it reads, relative to the caller's baseline (the
    /// population's calm voice without one), in calm spreads, clipped; rise-only ones from 0 up.
    pub fn rises(&self, head: &Head, s: &UtteranceStats, b: &Baseline) -> Vec<f32> {
        head.features
            .iter()
            .map(|name| {
                let Some(i) = index(name) else { return 0.0 };
                let reference = if b.is_empty() { self.calm_mean[i] } else { b.reference(i) };
                let z = ((s.values[i] - reference) / self.calm_spread[i].max(1e-9)).clamp(-self.clip, self.clip);
                if self.rise_only.iter().any(|r| r == name) {
                    z.max(0.0)
                } else {
                    z
                }
            })
            .collect()
    }

    /// The anger score of an utterance, 0 to 1, with the decision threshold at 0.5.
    pub fn judge(&self, s: &UtteranceStats, b: &Baseline) -> f32 {
        let head = self.head(b);
        head.score(&self.rises(head, s, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(values: [f32; N_FEATURES]) -> UtteranceStats {
        UtteranceStats { values, voiced_ms: 1000 }
    }

    fn model() -> AngerModel {
        let head = |features: &[&str], weights: Vec<f32>| Head {
            features: features.iter().map(|s| s.to_string()).collect(),
            weights,
            bias: 0.0,
            threshold: 1.0,
            slope: 2.0,
        };
        AngerModel {
            features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            calm_mean: vec![10.0, 0.2, 0.3, -30.0, -1.0],
            calm_spread: vec![2.0, 0.01, 0.03, 3.0, 0.3],
            rise_only: vec!["loud_power_db".into()],
            clip: 6.0,
            against_baseline: head(&["f0_mean_st", "loud_power_db"], vec![1.0, 1.0]),
            first_turn: head(&["dm_7_13", "b1_v"], vec![1.0, -1.0]),
            trained_on: "test".into(),
            held_out: vec![],
        }
    }

    #[test]
    fn the_baseline_is_the_median_of_the_calm_turns() {
        let b = Baseline::from_stats(&[stats([10.0; 5]), stats([14.0; 5]), stats([30.0; 5])]);
        assert_eq!(b.reference(0), 14.0);
        let b = Baseline::from_stats(&[stats([10.0; 5]), stats([14.0; 5])]);
        assert_eq!(b.reference(0), 12.0);
    }

    #[test]
    fn rises_are_counted_in_calm_spreads_clipped_and_a_quieter_voice_is_no_evidence() {
        let m = model();
        let b = Baseline::from_stats(&[stats([10.0, 0.2, 0.3, -30.0, -1.0])]);
        let z = m.rises(&m.against_baseline, &stats([14.0, 0.2, 0.3, -36.0, -1.0]), &b);
        assert_eq!(z, vec![2.0, 0.0]);
        let z = m.rises(&m.against_baseline, &stats([40.0, 0.2, 0.3, -27.0, -1.0]), &b);
        assert_eq!(z, vec![6.0, 1.0]);
        // 0.5 is the threshold: value 1.0 scores 0.5, more scores higher.
        assert!((m.judge(&stats([12.0, 0.2, 0.3, -30.0, -1.0]), &b) - 0.5).abs() < 1e-6);
        assert!(m.judge(&stats([16.0, 0.2, 0.3, -30.0, -1.0]), &b) > 0.98);
    }

    #[test]
    fn a_first_turn_is_read_against_the_population_with_its_own_head() {
        let m = model();
        let z = m.rises(&m.first_turn, &stats([99.0, 0.23, 0.3, 0.0, -1.6]), &Baseline::default());
        assert!((z[0] - 3.0).abs() < 1e-4 && (z[1] + 2.0).abs() < 1e-4, "{z:?}");
    }

    #[test]
    fn a_model_that_does_not_fit_is_refused_with_how_to_rebuild_it() {
        let good = model().to_json();
        assert_eq!(AngerModel::from_json(&good), Ok(model()));
        for (from, to) in [
            ("\"b1_v\"\n  ],\n  \"calm_mean\"", "\"b1\"\n  ],\n  \"calm_mean\""),
            ("\"slope\": 2.0", "\"slope\": -2.0"),
            ("\"dm_7_13\",\n      \"b1_v\"", "\"loud_power_db\",\n      \"b1_v\""),
        ] {
            assert!(good.contains(from), "{from}");
            let err = AngerModel::from_json(&good.replacen(from, to, 1)).expect_err(from);
            assert!(err.contains("voicegate train anger"), "{err}");
        }
        let old = r#"{"classes": ["angry", "neutral", "happy", "sad"], "features": []}"#;
        assert!(AngerModel::from_json(old).expect_err("old format").contains("voicegate train anger"));
    }
}
