//! Training the anger model: the population's calm voice and its within-speaker spread, then
//! per head a binary logistic regression (anger against calm) on the rises of its statistics,
//! a threshold that flags few of the training speakers' calm utterances, and a Platt slope.

use std::collections::BTreeMap;

use crate::nlu::linear::Rng;
use crate::prosody::corpus::{ANGRY, CALM};
use crate::prosody::extract::Item;
use crate::prosody::logistic;
use crate::prosody::model::{sigmoid, AngerModel, Baseline, Head};
use crate::prosody::stats::{UtteranceStats, FEATURE_NAMES, N_FEATURES};

/// What the head against the caller's baseline reads: the rise in pitch, in how fast the fine
/// spectral shape changes, in spectral flux, and in loudness (rise only).
pub const AGAINST_BASELINE: [&str; 4] = ["f0_mean_st", "dm_7_13", "flux_v", "loud_power_db"];
/// What the first-turn head reads against the population's calm voice: no pitch level (people
/// differ by an octave) and no loudness (the line's gain), but the low band's share.
pub const FIRST_TURN: [&str; 3] = ["dm_7_13", "flux_v", "b1_v"];
/// Only a rise counts: a quieter line is no calm, and peak-normalised EmoDB makes anger quieter.
pub const RISE_ONLY: [&str; 1] = ["loud_power_db"];
/// Every example against a baseline is seen a second time with its loudness rise at 0, so a
/// louder voice adds evidence but is never required (a caller may hold the handset further off).
const DROPOUT: &str = "loud_power_db";
/// Rises are clipped to this many calm spreads.
const CLIP: f32 = 6.0;
/// The share of the training speakers' calm utterances (averaged over corpora) a head may flag.
pub const MAX_CALM_FLAGGED: f64 = 0.04;
/// The first-turn head only decides whether a turn may join the baseline; a calm turn it flags
/// is lost to the baseline, so it flags fewer.
pub const MAX_CALM_FLAGGED_FIRST_TURN: f64 = 0.02;
/// Baselines drawn for training examples: 1 to 3 of the speaker's other calm utterances, three
/// draws per utterance.
const TRAIN_BASELINE_TURNS: [usize; 3] = [1, 2, 3];
const DRAWS: usize = 3;
const SEED: u64 = 11;

/// Trains on `items` (clean and telephone copies together, all their speakers).
pub fn train(items: &[Item], trained_on: &str) -> AngerModel {
    let (calm_mean, calm_spread) = calm_voice(items);
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let blank = |features: &[&str]| Head { features: names(features), weights: vec![0.0; features.len()], bias: 0.0, threshold: 0.0, slope: 1.0 };
    let mut model = AngerModel {
        features: names(&FEATURE_NAMES),
        calm_mean: calm_mean.iter().map(|v| round6(*v)).collect(),
        calm_spread: calm_spread.iter().map(|v| round6(*v)).collect(),
        rise_only: names(&RISE_ONLY),
        clip: CLIP,
        against_baseline: blank(&AGAINST_BASELINE),
        first_turn: blank(&FIRST_TURN),
        trained_on: trained_on.to_string(),
        held_out: Vec::new(),
    };
    model.against_baseline = fit_head(&against_baseline_examples(&model, items), &model.against_baseline, MAX_CALM_FLAGGED);
    model.first_turn = fit_head(&first_turn_examples(&model, items), &model.first_turn, MAX_CALM_FLAGGED_FIRST_TURN);
    model
}

/// The calm utterances of each speaker and line (clean or phone), in order.
fn calm_groups<'a>(items: &[Item<'a>]) -> BTreeMap<(&'a str, bool), Vec<&'a UtteranceStats>> {
    let mut g: BTreeMap<(&str, bool), Vec<&UtteranceStats>> = BTreeMap::new();
    for it in items.iter().filter(|i| i.class == CALM) {
        g.entry((it.speaker, it.phone)).or_default().push(it.stats);
    }
    g
}

/// The population's calm voice (the mean over speakers and lines of each one's calm mean), and
/// the spread of calm utterances around their own speaker's mean (pooled standard deviation).
pub fn calm_voice(items: &[Item]) -> ([f32; N_FEATURES], [f32; N_FEATURES]) {
    let groups = calm_groups(items);
    let (mut mean, mut var) = ([0f64; N_FEATURES], [0f64; N_FEATURES]);
    let mut n = 0usize;
    for calm in groups.values() {
        for k in 0..N_FEATURES {
            let m = calm.iter().map(|s| s.values[k] as f64).sum::<f64>() / calm.len() as f64;
            mean[k] += m / groups.len() as f64;
            var[k] += calm.iter().map(|s| (s.values[k] as f64 - m).powi(2)).sum::<f64>();
        }
        n += calm.len();
    }
    let spread = var.map(|v| ((v / n.max(1) as f64).sqrt() as f32).max(1e-6));
    (mean.map(|m| m as f32), spread)
}

/// Rises of one head's statistics with their label and corpus.
#[derive(Debug, Default)]
pub struct Examples<'a> {
    pub xs: Vec<Vec<f32>>,
    pub angry: Vec<bool>,
    pub corpus: Vec<&'a str>,
}

impl<'a> Examples<'a> {
    fn push(&mut self, x: Vec<f32>, it: &Item<'a>) {
        self.xs.push(x);
        self.angry.push(it.class == ANGRY);
        self.corpus.push(it.corpus);
    }
}

/// Each angry and calm utterance against baselines of 1 to 3 other calm utterances of the same
/// speaker on the same line (median reference, as in a call), each also without its loudness rise.
fn against_baseline_examples<'a>(model: &AngerModel, items: &[Item<'a>]) -> Examples<'a> {
    let head = &model.against_baseline;
    let dropout = head.features.iter().position(|f| f == DROPOUT);
    let groups = calm_groups(items);
    let mut rng = Rng::new(SEED);
    let mut out = Examples::default();
    for it in items.iter().filter(|i| i.class == ANGRY || i.class == CALM) {
        let pool: Vec<&UtteranceStats> = groups
            .get(&(it.speaker, it.phone))
            .map(|g| g.iter().copied().filter(|s| !std::ptr::eq(*s, it.stats)).collect())
            .unwrap_or_default();
        for _ in 0..DRAWS {
            let k = TRAIN_BASELINE_TURNS[rng.below(TRAIN_BASELINE_TURNS.len())];
            if pool.len() < k {
                continue;
            }
            let mut order: Vec<usize> = (0..pool.len()).collect();
            rng.shuffle(&mut order);
            let b = Baseline::from_stats(order[..k].iter().map(|i| pool[*i]));
            let x = model.rises(head, it.stats, &b);
            if let Some(d) = dropout {
                let mut quiet = x.clone();
                quiet[d] = 0.0;
                out.push(x, it);
                out.push(quiet, it);
            } else {
                out.push(x, it);
            }
        }
    }
    out
}

/// Each angry and calm utterance once, against the population's calm voice.
fn first_turn_examples<'a>(model: &AngerModel, items: &[Item<'a>]) -> Examples<'a> {
    let mut out = Examples::default();
    for it in items.iter().filter(|i| i.class == ANGRY || i.class == CALM) {
        out.push(model.rises(&model.first_turn, it.stats, &Baseline::default()), it);
    }
    out
}

/// The regression, with every (corpus, anger or calm) cell weighing the same so that neither a
/// bigger corpus nor a commoner class decides alone; the threshold; the slope.
pub fn fit_head(ex: &Examples, template: &Head, max_calm_flagged: f64) -> Head {
    let mut count: BTreeMap<(&str, bool), usize> = BTreeMap::new();
    for (c, a) in ex.corpus.iter().zip(&ex.angry) {
        *count.entry((c, *a)).or_default() += 1;
    }
    let cells = count.len().max(1) as f64;
    let weights: Vec<f64> =
        ex.corpus.iter().zip(&ex.angry).map(|(c, a)| ex.xs.len() as f64 / (cells * count[&(*c, *a)] as f64)).collect();
    let fit = logistic::fit(&ex.xs, &ex.angry, &weights, template.features.len());
    let values: Vec<f64> = ex.xs.iter().map(|x| fit.value(x)).collect();
    let threshold = threshold(&values, &ex.angry, &ex.corpus, max_calm_flagged);
    let margins: Vec<f64> = values.iter().map(|v| v - threshold).collect();
    Head {
        features: template.features.clone(),
        weights: fit.weights.iter().map(|w| round6(*w as f32)).collect(),
        bias: round6(fit.bias as f32),
        threshold: round6(threshold as f32),
        slope: platt_slope(&margins, &ex.angry),
    }
}

/// Of 197 candidates (the values' quantiles from 1% to 99%), the threshold with the best
/// balanced accuracy (each corpus weighing the same) that flags at most `max_calm_flagged` of
/// the calm examples, averaged over corpora. Values at or above it count as angry.
pub fn threshold(values: &[f64], angry: &[bool], corpus: &[&str], max_calm_flagged: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let corpora: Vec<&str> = {
        let mut c = corpus.to_vec();
        c.sort();
        c.dedup();
        c
    };
    let rate = |t: f64, c: &str, positive: bool| {
        let (hit, n) = values.iter().zip(angry).zip(corpus).filter(|((_, a), k)| **a == positive && **k == c).fold(
            (0usize, 0usize),
            |(h, n), ((v, _), _)| (h + usize::from(*v >= t), n + 1),
        );
        if n == 0 {
            None
        } else {
            Some(hit as f64 / n as f64)
        }
    };
    let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (mut best, mut chosen) = (-1.0, sorted.last().copied().unwrap_or(0.0));
    for step in 0..197 {
        let t = quantile(&sorted, 0.01 + 0.98 * step as f64 / 196.0);
        let fpr = mean(corpora.iter().filter_map(|c| rate(t, c, false)).collect());
        let tpr = mean(corpora.iter().filter_map(|c| rate(t, c, true)).collect());
        let bacc = (tpr + 1.0 - fpr) / 2.0;
        if fpr <= max_calm_flagged && bacc > best {
            best = bacc;
            chosen = t;
        }
    }
    chosen
}

/// Linear interpolation between the sorted values, as numpy's default.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else { return 0.0 };
    let pos = q * last as f64;
    let (lo, frac) = (pos.floor() as usize, pos - pos.floor());
    sorted[lo] + (sorted[(lo + 1).min(last)] - sorted[lo]) * frac
}

/// The slope (0.05 to 10) with the best likelihood of anger against calm, each weighing half,
/// for scores `sigmoid(slope * margin)`.
pub fn platt_slope(margins: &[f64], angry: &[bool]) -> f32 {
    let n_angry = angry.iter().filter(|a| **a).count().max(1) as f64;
    let n_calm = angry.iter().filter(|a| !**a).count().max(1) as f64;
    let likelihood = |slope: f32| -> f64 {
        margins
            .iter()
            .zip(angry)
            .map(|(m, a)| {
                let q = (sigmoid(slope * *m as f32) as f64).clamp(1e-6, 1.0 - 1e-6);
                if *a {
                    q.ln() / n_angry
                } else {
                    (1.0 - q).ln() / n_calm
                }
            })
            .sum()
    };
    (1..=200).map(|k| k as f32 * 0.05).max_by(|a, b| likelihood(*a).total_cmp(&likelihood(*b))).unwrap_or(1.0)
}

fn round6(x: f32) -> f32 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prosody::stats::index;

    fn stats(values: [f32; N_FEATURES]) -> UtteranceStats {
        UtteranceStats { values, voiced_ms: 1000 }
    }

    fn known(features: &[&str]) -> bool {
        features.iter().all(|f| index(f).is_some())
    }

    #[test]
    fn the_heads_read_statistics_that_exist() {
        assert!(known(&AGAINST_BASELINE) && known(&FIRST_TURN) && known(&RISE_ONLY) && known(&[DROPOUT]));
    }

    #[test]
    fn the_calm_voice_is_the_mean_speaker_and_the_spread_is_within_speakers() {
        // Speaker a's calm pitch 10 and 12, speaker b's 20 and 24; an angry turn does not count.
        let s = [stats([10.0; 5]), stats([12.0; 5]), stats([20.0; 5]), stats([24.0; 5]), stats([99.0; 5])];
        let it = |speaker, class, i: usize| Item { speaker, corpus: "c", class, phone: false, stats: &s[i] };
        let items = [it("a", CALM, 0), it("a", CALM, 1), it("b", CALM, 2), it("b", CALM, 3), it("b", ANGRY, 4)];
        let (mean, spread) = calm_voice(&items);
        assert_eq!(mean[0], 16.5);
        // Deviations 1, 1, 2, 2: sqrt(10 / 4).
        assert!((spread[0] - 2.5f32.sqrt()).abs() < 1e-6, "{spread:?}");
    }

    #[test]
    fn the_threshold_flags_no_more_calm_than_allowed_in_any_corpus_on_average() {
        // Corpus x: calm 0..100, anger 50..150; corpus y the same shifted by 10.
        let mut values = Vec::new();
        let mut angry = Vec::new();
        let mut corpus = Vec::new();
        for (c, shift) in [("x", 0.0), ("y", 10.0)] {
            for i in 0..100 {
                values.extend([i as f64 + shift, i as f64 + 50.0 + shift]);
                angry.extend([false, true]);
                corpus.extend([c, c]);
            }
        }
        let t = threshold(&values, &angry, &corpus, 0.04);
        let flagged = |c: &str| {
            values.iter().zip(&angry).zip(&corpus).filter(|((v, a), k)| !**a && **k == c && **v >= t).count() as f64 / 100.0
        };
        assert!((flagged("x") + flagged("y")) / 2.0 <= 0.04, "t {t}");
        // The best such threshold sits just above calm's top 4%: 96 in x, 106 in y.
        assert!((97.0..=103.0).contains(&t), "t {t}");
    }

    #[test]
    fn the_slope_is_steep_for_separated_classes_and_shallow_for_overlapping_ones() {
        let angry: Vec<bool> = (0..40).map(|i| i % 2 == 0).collect();
        let apart: Vec<f64> = angry.iter().map(|a| if *a { 3.0 } else { -3.0 }).collect();
        let mixed: Vec<f64> = angry.iter().enumerate().map(|(i, a)| if *a == (i % 4 == 0) { 1.0 } else { -1.0 }).collect();
        assert_eq!(platt_slope(&apart, &angry), 10.0);
        assert!(platt_slope(&mixed, &angry) <= 0.1, "{}", platt_slope(&mixed, &angry));
    }

    #[test]
    fn a_model_trained_on_rising_pitch_flags_the_rise_and_reloads() {
        // Four speakers; calm pitch wobbles around each one's own level, anger is 8 st higher
        // and louder. Clean and phone copies alike.
        let mut s = Vec::new();
        let mut meta = Vec::new();
        for (k, speaker) in ["a", "b", "c", "d"].iter().enumerate() {
            let level = 5.0 * k as f32;
            for j in 0..12 {
                let wobble = (j % 3) as f32 - 1.0;
                let angry = j >= 8;
                let rise = if angry { 8.0 } else { 0.0 };
                let flux = 0.3 + 0.01 * wobble + if angry { 0.05 } else { 0.0 };
                s.push(stats([level + wobble + rise, 0.2 + 0.005 * wobble, flux, -30.0 + rise, -1.0 - 0.1 * wobble]));
                meta.push((*speaker, if angry { ANGRY } else { CALM }));
            }
        }
        let mut items = Vec::new();
        for phone in [false, true] {
            items.extend(s.iter().zip(&meta).map(|(st, (speaker, class))| Item { speaker, corpus: "c", class: *class, phone, stats: st }));
        }
        let m = train(&items, "test");
        assert!(m.against_baseline.weights[0] > 0.0, "{:?}", m.against_baseline);
        let b = Baseline::from_stats(&s[..2]);
        assert!(m.judge(&s[9], &b) > 0.9, "{}", m.judge(&s[9], &b));
        assert!(m.judge(&s[2], &b) < 0.5, "{}", m.judge(&s[2], &b));
        assert_eq!(AngerModel::from_json(&m.to_json()), Ok(m));
    }
}
