//! Fundamental frequency by YIN (de Cheveigné & Kawahara 2002): the cumulative mean normalised
//! difference function, an absolute threshold, and parabolic interpolation of the chosen lag.

/// The pitch of one analysis window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pitch {
    pub f0_hz: f32,
    /// 1 minus YIN's aperiodicity at the chosen lag: near 1 for a clean periodic sound.
    pub periodicity: f32,
}

/// The lowest and highest F0 searched for (speech, including shouting).
pub const F0_MIN_HZ: f32 = 60.0;
pub const F0_MAX_HZ: f32 = 500.0;
const THRESHOLD: f32 = 0.15;
/// Above this aperiodicity the window is not voiced at all.
const VOICED_MAX: f32 = 0.35;

/// Scratch space for YIN over windows of one size.
#[derive(Debug, Clone)]
pub struct Yin {
    rate: f32,
    window: usize,
    min_lag: usize,
    max_lag: usize,
    d: Vec<f32>,
}

impl Yin {
    /// YIN at `rate` Hz integrating over `window` samples; `estimate` then needs
    /// `window + max_lag()` samples.
    pub fn new(rate: f32, window: usize) -> Self {
        let min_lag = (rate / F0_MAX_HZ).floor() as usize;
        let max_lag = (rate / F0_MIN_HZ).ceil() as usize;
        Self { rate, window, min_lag, max_lag, d: vec![0.0; max_lag + 2] }
    }

    pub fn needed(&self) -> usize {
        self.window + self.max_lag + 1
    }

    /// The pitch of `x` (at least `needed()` samples), or None when it is not voiced.
    pub fn estimate(&mut self, x: &[f32]) -> Option<Pitch> {
        if x.len() < self.needed() {
            return None;
        }
        let w = self.window;
        let d = &mut self.d;
        d[0] = 1.0;
        let mut running = 0.0f32;
        for tau in 1..=self.max_lag + 1 {
            let mut s = 0.0f32;
            for j in 0..w {
                let v = x[j] - x[j + tau];
                s += v * v;
            }
            running += s;
            d[tau] = if running > 0.0 { s * tau as f32 / running } else { 1.0 };
        }
        // The first dip under the threshold, followed to its bottom; else the global minimum.
        let mut best = None;
        let mut tau = self.min_lag.max(2);
        while tau <= self.max_lag {
            if d[tau] < THRESHOLD {
                while tau < self.max_lag && d[tau + 1] < d[tau] {
                    tau += 1;
                }
                best = Some(tau);
                break;
            }
            tau += 1;
        }
        let tau = match best {
            Some(t) => t,
            None => (self.min_lag.max(2)..=self.max_lag).min_by(|a, b| d[*a].total_cmp(&d[*b]))?,
        };
        if d[tau] > VOICED_MAX {
            return None;
        }
        let (a, b, c) = (d[tau - 1], d[tau], d[tau + 1]);
        let denom = a - 2.0 * b + c;
        let shift = if denom.abs() > 1e-9 { (0.5 * (a - c) / denom).clamp(-0.5, 0.5) } else { 0.0 };
        Some(Pitch { f0_hz: self.rate / (tau as f32 + shift), periodicity: (1.0 - b).clamp(0.0, 1.0) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::PI;

    /// A voice-like tone: a fundamental and decaying harmonics.
    fn buzz(f0: f32, rate: f32, n: usize, with_fundamental: bool) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let t = i as f32 / rate;
                (1..12)
                    .filter(|k| with_fundamental || *k > 1)
                    .map(|k| (2.0 * PI * f0 * k as f32 * t).sin() / k as f32)
                    .sum::<f32>()
            })
            .collect()
    }

    #[test]
    fn finds_the_pitch_of_harmonic_tones_within_one_percent() {
        let mut yin = Yin::new(8000.0, 160);
        for f0 in [70.0, 110.0, 180.0, 240.0, 330.0, 450.0] {
            let p = yin.estimate(&buzz(f0, 8000.0, 400, true)).expect("voiced");
            assert!((p.f0_hz - f0).abs() / f0 < 0.01, "{f0}: {p:?}");
            assert!(p.periodicity > 0.9);
        }
    }

    #[test]
    fn finds_the_missing_fundamental_of_telephone_speech() {
        // A phone line removes everything below 300 Hz; the harmonics still give the pitch.
        let mut yin = Yin::new(8000.0, 160);
        let p = yin.estimate(&buzz(120.0, 8000.0, 400, false)).expect("voiced");
        assert!((p.f0_hz - 120.0).abs() < 2.0, "{p:?}");
    }

    #[test]
    fn noise_and_silence_are_unvoiced() {
        let mut yin = Yin::new(8000.0, 160);
        let mut seed = 1u32;
        let noise: Vec<f32> = (0..400)
            .map(|_| {
                seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                (seed >> 8) as f32 / (1 << 24) as f32 - 0.5
            })
            .collect();
        assert_eq!(yin.estimate(&noise), None);
        assert_eq!(yin.estimate(&[0.0; 400]), None);
    }
}
