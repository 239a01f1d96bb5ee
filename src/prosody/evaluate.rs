//! Scoring the anger model on speakers as a call would: each speaker's calm utterances, in
//! order, build their baseline through `Baseline::admit` (as the tracker does), and every other
//! utterance is scored against it. Anger recall, calm utterances flagged, balanced accuracy.

use crate::prosody::corpus::{ANGRY, CALM, CLASSES};
use crate::prosody::extract::Item;
use crate::prosody::model::{AngerModel, Baseline};

/// How many calm turns make a speaker's baseline (`anger.baseline_turns`' default).
pub const BASELINE_TURNS: usize = 2;

/// (true class, anger score with the decision threshold at 0.5) of scored utterances.
#[derive(Debug, Clone, Default)]
pub struct Scored {
    /// Against the speaker's baseline, as a call scores them.
    pub warm: Vec<(usize, f32)>,
    /// Every utterance by the first-turn head, against the population's calm voice.
    pub cold: Vec<(usize, f32)>,
}

impl Scored {
    pub fn extend(&mut self, other: Scored) {
        self.warm.extend(other.warm);
        self.cold.extend(other.cold);
    }
}

/// How a speaker's baseline is built from their calm utterances, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baselines {
    /// Through `Baseline::admit`, as the tracker does in a call: those it admits are the
    /// baseline and are not scored, nor is one the first-turn head refuses (a call shows no
    /// score before there is a baseline); one refused against the baseline is a calm turn
    /// flagged.
    AsInACall,
    /// The first calm utterances, whatever the model makes of them (the research protocol:
    /// what the model does when its baseline is right).
    FirstCalm,
}

/// Scores `items` (one line, clean or phone), speaker by speaker, against baselines of `turns`
/// calm utterances built as `how` says.
pub fn score(model: &AngerModel, items: &[Item], turns: usize, how: Baselines) -> Scored {
    let mut out = Scored::default();
    let mut speakers: Vec<&str> = items.iter().map(|i| i.speaker).collect();
    speakers.dedup();
    for s in speakers {
        let mine: Vec<&Item> = items.iter().filter(|i| i.speaker == s).collect();
        let mut baseline = Baseline::default();
        let mut used = vec![false; mine.len()];
        for (k, it) in mine.iter().enumerate().filter(|(_, i)| i.class == CALM) {
            if baseline.len() >= turns {
                break;
            }
            used[k] = true;
            if how == Baselines::FirstCalm {
                baseline.add(it.stats);
                continue;
            }
            let warm = !baseline.is_empty();
            let anger = baseline.admit(model, turns, it.stats);
            if warm && anger >= 0.5 {
                out.warm.push((CALM, anger));
            }
        }
        for (it, used) in mine.iter().zip(&used) {
            out.cold.push((it.class, model.judge(it.stats, &Baseline::default())));
            if !used && !baseline.is_empty() {
                out.warm.push((it.class, model.judge(it.stats, &baseline)));
            }
        }
    }
    out
}

/// Anger against calm speech, and how often happy and sad speech pass for anger.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Metrics {
    /// Balanced accuracy of anger against calm.
    pub bacc: f64,
    pub anger_recall: f64,
    /// Calm utterances scored angry.
    pub neutral_fpr: f64,
    pub f1: f64,
    /// Happy and sad utterances scored angry (None: there were none).
    pub happy_flagged: Option<f64>,
    pub sad_flagged: Option<f64>,
    /// Angry and calm utterances scored.
    pub n: usize,
}

/// Scores are anger scores with the decision threshold at 0.5.
pub fn metrics(scored: &[(usize, f32)]) -> Metrics {
    metrics_at(scored, 0.5)
}

/// The operating points an operator can choose `escalation.anger_enter` from.
pub const CURVE: [f32; 7] = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];

/// As `metrics`, with utterances scoring `threshold` or more counted as angry.
pub fn metrics_at(scored: &[(usize, f32)], threshold: f32) -> Metrics {
    let flagged = |class: usize| -> Option<f64> {
        let of: Vec<bool> = scored.iter().filter(|(y, _)| *y == class).map(|(_, p)| *p >= threshold).collect();
        (!of.is_empty()).then(|| of.iter().filter(|f| **f).count() as f64 / of.len() as f64)
    };
    let count = |class: usize| scored.iter().filter(|(y, _)| *y == class).count();
    let tpr = flagged(ANGRY).unwrap_or(0.0);
    let fpr = flagged(CALM).unwrap_or(0.0);
    let tp = tpr * count(ANGRY) as f64;
    let fp = fpr * count(CALM) as f64;
    let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
    let class = |name: &str| CLASSES.iter().position(|c| *c == name).unwrap_or(usize::MAX);
    Metrics {
        bacc: (tpr + 1.0 - fpr) / 2.0,
        anger_recall: tpr,
        neutral_fpr: fpr,
        f1: if precision + tpr > 0.0 { 2.0 * precision * tpr / (precision + tpr) } else { 0.0 },
        happy_flagged: flagged(class("happy")),
        sad_flagged: flagged(class("sad")),
        n: count(ANGRY) + count(CALM),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prosody::model::Head;
    use crate::prosody::stats::{UtteranceStats, FEATURE_NAMES, N_FEATURES};

    fn stats(f0: f32) -> UtteranceStats {
        UtteranceStats { values: [f0, 0.2, 0.3, -30.0, -1.0], voiced_ms: 1000 }
    }

    /// Pitch only: angry from 4 st over the baseline; a first turn over 20 st is refused.
    fn model() -> AngerModel {
        let head = |f: &str, threshold: f32| Head { features: vec![f.into()], weights: vec![1.0], bias: 0.0, threshold, slope: 4.0 };
        AngerModel {
            features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            calm_mean: vec![0.0; N_FEATURES],
            calm_spread: vec![1.0; N_FEATURES],
            rise_only: vec![],
            clip: 100.0,
            against_baseline: head("f0_mean_st", 4.0),
            first_turn: head("f0_mean_st", 20.0),
            trained_on: "test".into(),
            held_out: vec![],
        }
    }

    #[test]
    fn a_higher_operating_point_flags_fewer_of_both() {
        let scored = [(ANGRY, 0.95), (ANGRY, 0.55), (ANGRY, 0.3), (CALM, 0.45), (CALM, 0.1), (CALM, 0.05), (CALM, 0.65), (CALM, 0.0)];
        let at = |t| {
            let m = metrics_at(&scored, t);
            (m.anger_recall, m.neutral_fpr)
        };
        assert_eq!(at(0.2), (1.0, 0.4));
        assert_eq!(at(0.5), (2.0 / 3.0, 0.2));
        assert_eq!(at(0.7), (1.0 / 3.0, 0.0));
        assert_eq!(metrics(&scored), metrics_at(&scored, 0.5));
    }

    #[test]
    fn the_baseline_is_built_as_in_a_call_and_not_scored() {
        let s: Vec<UtteranceStats> = [30.0, 10.0, 17.0, 12.0, 11.0, 20.0, 9.0].map(stats).into();
        // calm 30 (refused by the first-turn head, unscored), calm 10 (baseline), calm 17
        // (flagged against 10, a calm turn flagged, but calm against the population: it joins,
        // median 13.5), then calm 12, 11 and 9 and angry 20 scored against 13.5.
        let classes = [CALM, CALM, CALM, CALM, CALM, ANGRY, CALM];
        let items: Vec<Item> =
            s.iter().zip(classes).map(|(st, class)| Item { speaker: "a", corpus: "c", class, phone: false, stats: st }).collect();
        let scored = score(&model(), &items, 2, Baselines::AsInACall);
        let warm: Vec<(usize, bool)> = scored.warm.iter().map(|(c, p)| (*c, *p >= 0.5)).collect();
        assert_eq!(warm, [(CALM, true), (CALM, false), (CALM, false), (ANGRY, true), (CALM, false)]);
        assert_eq!(scored.cold.len(), 7);
        let m = metrics(&scored.warm);
        assert_eq!((m.anger_recall, m.neutral_fpr, m.bacc, m.n), (1.0, 0.25, 0.875, 5));
        assert!((m.f1 - 2.0 * 0.5 * 1.0 / 1.5).abs() < 1e-12 && m.happy_flagged.is_none());

        // The first two calm utterances (30 and 10, median 20) whatever the model says: the
        // angry 20 is missed and every calm one passes.
        let first = score(&model(), &items, 2, Baselines::FirstCalm);
        let warm: Vec<(usize, bool)> = first.warm.iter().map(|(c, p)| (*c, *p >= 0.5)).collect();
        assert_eq!(warm, [(CALM, false), (CALM, false), (CALM, false), (ANGRY, false), (CALM, false)]);
    }
}
