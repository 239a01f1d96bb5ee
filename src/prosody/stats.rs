//! Per-utterance statistics from the 10 ms features: the few that tell anger from calm speech
//! alike in German, Mandarin and English once measured against the same speaker's calm turns
//! (pitch level, how fast the fine spectral shape changes, spectral flux, loudness), and one
//! that helps before there are any (the low band's share).

use crate::prosody::frames::{FrameFeatures, HOP_MS, N_CEPS};

/// The statistics, in the order of `UtteranceStats::values`. The anger model names the ones
/// each head reads.
pub const FEATURE_NAMES: [&str; N_FEATURES] = ["f0_mean_st", "dm_7_13", "flux_v", "loud_power_db", "b1_v"];
pub const N_FEATURES: usize = 5;
/// Statistics that move with the line's gain: meaningful only against the same caller's turns,
/// never against the population's.
pub const GAIN_DEPENDENT: [&str; 1] = ["loud_power_db"];

/// Frames quieter than the utterance's loud frames by this much are pauses, not speech.
const ACTIVE_RANGE_DB: f32 = 30.0;
/// Voiced frames further than this from the utterance's median pitch are octave errors.
const OCTAVE_ERROR_ST: f32 = 9.0;
/// Fewer voiced frames than this (200 ms) give no statistics.
pub const MIN_VOICED_FRAMES: usize = 20;
/// Fewer pairs of neighbouring speech frames than this give no cepstral change.
const MIN_PAIRS: usize = 3;

#[derive(Debug, Clone, PartialEq)]
pub struct UtteranceStats {
    /// `f0_mean_st`: mean pitch of the voiced frames, in semitones over 100 Hz.
    /// `dm_7_13`: mean absolute change of cepstral coefficients 7-12 between neighbouring
    /// speech frames. `flux_v`: mean spectral flux of the voiced frames. `loud_power_db`: the
    /// speech frames' mean power, in dB. `b1_v`: mean share of 300-1000 Hz in the voiced frames,
    /// in dB.
    pub values: [f32; N_FEATURES],
    /// Voiced speech analysed, in ms.
    pub voiced_ms: u64,
}

/// Where a statistic lies in `values`.
pub fn index(name: &str) -> Option<usize> {
    FEATURE_NAMES.iter().position(|n| *n == name)
}

fn percentile(sorted: &[f32], p: f32) -> f32 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f32 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn mean(v: impl Iterator<Item = f32>) -> f32 {
    let (sum, n) = v.fold((0f64, 0usize), |(s, n), x| (s + x as f64, n + 1));
    if n == 0 {
        0.0
    } else {
        (sum / n as f64) as f32
    }
}

fn semitones(hz: f32) -> f32 {
    12.0 * (hz / 100.0).log2()
}

impl UtteranceStats {
    /// The statistics of one utterance's frames, or None when it has too little voiced speech.
    pub fn from_frames(frames: &[FrameFeatures]) -> Option<Self> {
        let mut loud: Vec<f32> = frames.iter().map(|f| f.energy_db).collect();
        loud.sort_by(f32::total_cmp);
        let gate = percentile(&loud, 0.95) - ACTIVE_RANGE_DB;
        let speech = |f: &FrameFeatures| f.energy_db > gate;
        let first = frames.iter().position(speech)?;
        let last = frames.iter().rposition(speech)?;
        let span = &frames[first..=last];

        // Pitch in semitones, without octave jumps: frames far from the median are dropped.
        let voiced: Vec<&FrameFeatures> = span.iter().filter(|f| f.voiced() && speech(f)).collect();
        let mut st: Vec<f32> = voiced.iter().map(|f| semitones(f.f0_hz)).collect();
        st.sort_by(f32::total_cmp);
        let median = percentile(&st, 0.5);
        let voiced: Vec<&FrameFeatures> =
            voiced.into_iter().filter(|f| (semitones(f.f0_hz) - median).abs() < OCTAVE_ERROR_ST).collect();
        if voiced.len() < MIN_VOICED_FRAMES {
            return None;
        }

        // The fine spectral shape's change between neighbouring speech frames.
        let (mut change, mut pairs) = (0f64, 0usize);
        for w in span.windows(2) {
            if w.iter().all(|f| speech(f) && f.analysed()) {
                change += w[1].cep.iter().zip(&w[0].cep).map(|(a, b)| (a - b).abs() as f64).sum::<f64>();
                pairs += 1;
            }
        }
        let dm = if pairs < MIN_PAIRS { 0.0 } else { (change / (pairs * N_CEPS) as f64) as f32 };

        let power = mean(span.iter().filter(|f| speech(f)).map(|f| 10f32.powf(f.energy_db / 10.0)));
        let values = [
            mean(voiced.iter().map(|f| semitones(f.f0_hz))),
            dm,
            mean(voiced.iter().map(|f| f.flux)),
            10.0 * power.max(1e-12).log10(),
            mean(voiced.iter().map(|f| f.low_share_db)),
        ];
        Some(Self { values, voiced_ms: voiced.len() as u64 * HOP_MS })
    }

    pub fn get(&self, name: &str) -> Option<f32> {
        index(name).map(|i| self.values[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(i: usize, energy_db: f32, f0_hz: f32, cep0: f32) -> FrameFeatures {
        FrameFeatures {
            t_ms: i as u64 * 10,
            energy_db,
            f0_hz,
            periodicity: 0.9,
            flux: 0.2,
            low_share_db: -1.0,
            cep: [cep0; N_CEPS],
        }
    }

    #[test]
    fn too_little_voiced_speech_gives_nothing() {
        let frames: Vec<_> = (0..15).map(|i| frame(i, -20.0, 150.0, 0.0)).collect();
        assert_eq!(UtteranceStats::from_frames(&frames), None);
        assert_eq!(UtteranceStats::from_frames(&[]), None);
    }

    #[test]
    fn pitch_loudness_and_cepstral_change_of_a_steady_voice() {
        // Silence, 50 voiced frames at 200 Hz whose cepstrum alternates by 0.1, silence.
        let mut frames: Vec<_> = (0..10).map(|i| frame(i, -90.0, 0.0, 0.0)).collect();
        frames.extend((10..60).map(|i| frame(i, -20.0, 200.0, if i % 2 == 0 { 0.1 } else { 0.0 })));
        frames.extend((60..70).map(|i| frame(i, -90.0, 0.0, 0.0)));
        let s = UtteranceStats::from_frames(&frames).expect("voiced");
        assert!((s.get("f0_mean_st").unwrap() - 12.0).abs() < 1e-4, "{s:?}");
        assert!((s.get("dm_7_13").unwrap() - 0.1).abs() < 1e-5, "{s:?}");
        assert!((s.get("loud_power_db").unwrap() + 20.0).abs() < 1e-3, "{s:?}");
        assert!((s.get("flux_v").unwrap() - 0.2).abs() < 1e-6 && (s.get("b1_v").unwrap() + 1.0).abs() < 1e-6);
        assert_eq!(s.voiced_ms, 500);
    }

    #[test]
    fn octave_errors_and_quiet_frames_are_left_out() {
        let mut frames: Vec<_> = (0..40).map(|i| frame(i, -20.0, 200.0, 0.0)).collect();
        // Two halving errors, and a murmur 40 dB down whose pitch must not count.
        frames[5].f0_hz = 100.0;
        frames[6].f0_hz = 100.0;
        frames.extend((40..60).map(|i| frame(i, -60.0, 100.0, 0.0)));
        frames.extend((60..70).map(|i| frame(i, -20.0, 200.0, 0.0)));
        let s = UtteranceStats::from_frames(&frames).expect("voiced");
        assert!((s.get("f0_mean_st").unwrap() - 12.0).abs() < 1e-4, "{s:?}");
    }
}
