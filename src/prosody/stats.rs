//! Per-utterance prosodic statistics from the 10 ms features: means, ranges, percentiles and
//! slopes of pitch, loudness and spectrum, jitter- and shimmer-like perturbation, a speaking-
//! rate proxy and pauses.

use crate::prosody::frames::{FrameFeatures, HOP_MS};

/// The statistics, in the order of `UtteranceStats::values`.
pub const FEATURE_NAMES: [&str; 21] = [
    "f0_mean_st",
    "f0_std_st",
    "f0_p10_st",
    "f0_p90_st",
    "f0_range_st",
    "f0_slope_st_s",
    "jitter_st",
    "loudness_mean_db",
    "loudness_std_db",
    "loudness_range_db",
    "loudness_slope_db_s",
    "shimmer_db",
    "centroid_mean_hz",
    "centroid_std_hz",
    "alpha_mean_db",
    "alpha_std_db",
    "flux_mean",
    "voiced_fraction",
    "syllable_rate_hz",
    "pause_fraction",
    "periodicity_mean",
];
pub const N_FEATURES: usize = FEATURE_NAMES.len();
/// Features that depend on the line's gain, meaningful only against the same caller's baseline.
pub const GAIN_DEPENDENT: [usize; 1] = [7];

/// Frames quieter than the utterance's loud frames by this much are pauses, not speech.
const ACTIVE_RANGE_DB: f32 = 30.0;
/// A gap in speech at least this long counts as a pause.
const PAUSE_MIN_FRAMES: usize = 15;
/// Fewer voiced frames than this (200 ms) give no statistics.
pub const MIN_VOICED_FRAMES: usize = 20;

#[derive(Debug, Clone, PartialEq)]
pub struct UtteranceStats {
    pub values: [f32; N_FEATURES],
    /// Voiced speech analysed, in ms.
    pub voiced_ms: u64,
}

fn percentile(sorted: &[f32], p: f32) -> f32 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f32 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn mean(v: &[f32]) -> f32 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f32>() / v.len() as f32
    }
}

fn std(v: &[f32]) -> f32 {
    let m = mean(v);
    (v.iter().map(|x| (x - m) * (x - m)).sum::<f32>() / v.len().max(1) as f32).sqrt()
}

/// Least-squares slope of `y` over `t` (seconds).
fn slope(t: &[f32], y: &[f32]) -> f32 {
    let (mt, my) = (mean(t), mean(y));
    let num: f32 = t.iter().zip(y).map(|(a, b)| (a - mt) * (b - my)).sum();
    let den: f32 = t.iter().map(|a| (a - mt) * (a - mt)).sum();
    if den > 1e-9 {
        num / den
    } else {
        0.0
    }
}

fn sorted(mut v: Vec<f32>) -> Vec<f32> {
    v.sort_by(f32::total_cmp);
    v
}

fn semitones(hz: f32) -> f32 {
    12.0 * (hz / 100.0).log2()
}

impl UtteranceStats {
    /// The statistics of one utterance's frames, or None when it has too little voiced speech.
    pub fn from_frames(frames: &[FrameFeatures]) -> Option<Self> {
        let loud = sorted(frames.iter().map(|f| f.energy_db).collect());
        let gate = percentile(&loud, 0.95) - ACTIVE_RANGE_DB;
        let active_idx: Vec<usize> = (0..frames.len()).filter(|i| frames[*i].energy_db > gate).collect();
        let (first, last) = (*active_idx.first()?, *active_idx.last()?);
        let span = &frames[first..=last];
        let active: Vec<&FrameFeatures> = span.iter().filter(|f| f.energy_db > gate).collect();

        // Pitch in semitones, without octave jumps: frames far from the median are dropped.
        let voiced: Vec<(usize, &FrameFeatures)> =
            span.iter().enumerate().filter(|(_, f)| f.voiced() && f.energy_db > gate).collect();
        let median = percentile(&sorted(voiced.iter().map(|(_, f)| semitones(f.f0_hz)).collect()), 0.5);
        let voiced: Vec<(usize, &FrameFeatures)> =
            voiced.into_iter().filter(|(_, f)| (semitones(f.f0_hz) - median).abs() < 9.0).collect();
        if voiced.len() < MIN_VOICED_FRAMES {
            return None;
        }
        let st: Vec<f32> = voiced.iter().map(|(_, f)| semitones(f.f0_hz)).collect();
        let t: Vec<f32> = voiced.iter().map(|(i, _)| *i as f32 * HOP_MS as f32 / 1000.0).collect();
        let st_sorted = sorted(st.clone());
        let (mut jitter, mut shimmer, mut pairs) = (0.0, 0.0, 0);
        for w in voiced.windows(2) {
            if w[1].0 == w[0].0 + 1 {
                jitter += (semitones(w[1].1.f0_hz) - semitones(w[0].1.f0_hz)).abs();
                shimmer += (w[1].1.energy_db - w[0].1.energy_db).abs();
                pairs += 1;
            }
        }
        let pairs = pairs.max(1) as f32;

        let db: Vec<f32> = active.iter().map(|f| f.energy_db).collect();
        let db_t: Vec<f32> =
            span.iter().enumerate().filter(|(_, f)| f.energy_db > gate).map(|(i, _)| i as f32 * HOP_MS as f32 / 1000.0).collect();
        let db_sorted = sorted(db.clone());
        let centroid: Vec<f32> = active.iter().map(|f| f.centroid_hz).collect();
        let alpha: Vec<f32> = active.iter().map(|f| f.alpha_db).collect();
        let flux: Vec<f32> = active.iter().map(|f| f.flux).collect();
        let periodicity: Vec<f32> = voiced.iter().map(|(_, f)| f.periodicity).collect();

        // Pauses: runs of quiet frames inside the speech.
        let mut paused = 0;
        let mut run = 0;
        for f in span {
            if f.energy_db > gate {
                if run >= PAUSE_MIN_FRAMES {
                    paused += run;
                }
                run = 0;
            } else {
                run += 1;
            }
        }
        let span_s = span.len() as f32 * HOP_MS as f32 / 1000.0;

        let values = [
            mean(&st),
            std(&st),
            percentile(&st_sorted, 0.1),
            percentile(&st_sorted, 0.9),
            percentile(&st_sorted, 0.9) - percentile(&st_sorted, 0.1),
            slope(&t, &st),
            jitter / pairs,
            mean(&db),
            std(&db),
            percentile(&db_sorted, 0.9) - percentile(&db_sorted, 0.1),
            slope(&db_t, &db),
            shimmer / pairs,
            mean(&centroid),
            std(&centroid),
            mean(&alpha),
            std(&alpha),
            mean(&flux),
            voiced.len() as f32 / active.len().max(1) as f32,
            syllable_nuclei(span, gate) as f32 / span_s.max(0.1),
            paused as f32 / span.len() as f32,
            mean(&periodicity),
        ];
        Some(Self { values, voiced_ms: voiced.len() as u64 * HOP_MS })
    }
}

/// Syllable nuclei: peaks of the smoothed loudness of voiced frames, at least 3 dB above the
/// dips on both sides (de Jong & Wempe's idea, simplified).
fn syllable_nuclei(span: &[FrameFeatures], gate: f32) -> usize {
    let env: Vec<f32> = (0..span.len())
        .map(|i| {
            let lo = i.saturating_sub(2);
            let hi = (i + 3).min(span.len());
            mean(&span[lo..hi].iter().map(|f| f.energy_db.max(gate)).collect::<Vec<_>>())
        })
        .collect();
    let mut peaks = 0;
    let mut last_peak: Option<usize> = None;
    for i in 1..env.len().saturating_sub(1) {
        if !(env[i] >= env[i - 1] && env[i] > env[i + 1] && span[i].voiced()) {
            continue;
        }
        let left = env[i.saturating_sub(15)..i].iter().cloned().fold(f32::INFINITY, f32::min);
        let right = env[i + 1..(i + 16).min(env.len())].iter().cloned().fold(f32::INFINITY, f32::min);
        let min_gap = last_peak.is_none_or(|p| i - p >= 8);
        if env[i] - left >= 3.0 && env[i] - right >= 3.0 && min_gap {
            peaks += 1;
            last_peak = Some(i);
        }
    }
    peaks
}
