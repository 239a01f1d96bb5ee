//! The telephone band: every caller's audio is analysed as a phone line would carry it (8 kHz,
//! 300-3400 Hz), so that prosodic features mean the same for a 16 kHz app call, an 8 kHz SIP
//! call and the training corpora.

use std::f32::consts::PI;

/// Taps of the anti-aliasing low-pass before the 2:1 decimation.
const TAPS: usize = 63;
const LOW_PASS_HZ: f32 = 3400.0;
const HIGH_PASS_HZ: f32 = 300.0;

/// Streaming 16 kHz → 8 kHz band-pass (windowed-sinc low-pass, decimation, then a 2nd-order
/// Butterworth high-pass).
#[derive(Debug, Clone)]
pub struct TelephoneBand {
    fir: Vec<f32>,
    history: Vec<f32>,
    /// Input samples seen, to know which ones survive the decimation.
    n: u64,
    hp: Biquad,
}

impl Default for TelephoneBand {
    fn default() -> Self {
        Self::new()
    }
}

impl TelephoneBand {
    pub fn new() -> Self {
        let fc = LOW_PASS_HZ / 16000.0;
        let m = (TAPS - 1) as f32;
        let mut fir: Vec<f32> = (0..TAPS)
            .map(|i| {
                let x = i as f32 - m / 2.0;
                let sinc = if x == 0.0 { 2.0 * fc } else { (2.0 * PI * fc * x).sin() / (PI * x) };
                let blackman = 0.42 - 0.5 * (2.0 * PI * i as f32 / m).cos() + 0.08 * (4.0 * PI * i as f32 / m).cos();
                sinc * blackman
            })
            .collect();
        let sum: f32 = fir.iter().sum();
        fir.iter_mut().for_each(|c| *c /= sum);
        Self { fir, history: vec![0.0; TAPS], n: 0, hp: Biquad::high_pass(HIGH_PASS_HZ, 8000.0) }
    }

    /// Filters 16 kHz samples and appends the 8 kHz result to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        for &x in input {
            self.history.rotate_left(1);
            self.history[TAPS - 1] = x;
            self.n += 1;
            if self.n % 2 == 0 {
                let y: f32 = self.history.iter().zip(&self.fir).map(|(a, b)| a * b).sum();
                out.push(self.hp.run(y));
            }
        }
    }

    /// A whole 16 kHz clip at once.
    pub fn filter(input: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(input.len() / 2 + 1);
        Self::new().push(input, &mut out);
        out
    }
}

/// A direct-form-I biquad.
#[derive(Debug, Clone)]
struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
    x: [f32; 2],
    y: [f32; 2],
}

impl Biquad {
    /// RBJ cookbook high-pass, Q = 1/sqrt(2) (Butterworth).
    fn high_pass(f: f32, rate: f32) -> Self {
        let w = 2.0 * PI * f / rate;
        let alpha = w.sin() / (2.0 * std::f32::consts::FRAC_1_SQRT_2);
        let cos = w.cos();
        let a0 = 1.0 + alpha;
        Self {
            b: [(1.0 + cos) / 2.0 / a0, -(1.0 + cos) / a0, (1.0 + cos) / 2.0 / a0],
            a: [-2.0 * cos / a0, (1.0 - alpha) / a0],
            x: [0.0; 2],
            y: [0.0; 2],
        }
    }

    fn run(&mut self, x: f32) -> f32 {
        let y = self.b[0] * x + self.b[1] * self.x[0] + self.b[2] * self.x[1] - self.a[0] * self.y[0] - self.a[1] * self.y[1];
        self.x = [x, self.x[0]];
        self.y = [y, self.y[0]];
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone_gain(freq: f32) -> f32 {
        let x: Vec<f32> = (0..16000).map(|i| (2.0 * PI * freq * i as f32 / 16000.0).sin()).collect();
        let y = TelephoneBand::filter(&x);
        let tail = &y[2000..];
        (tail.iter().map(|v| v * v).sum::<f32>() / tail.len() as f32 * 2.0).sqrt()
    }

    #[test]
    fn passes_the_voice_band_and_stops_the_rest() {
        assert!((tone_gain(1000.0) - 1.0).abs() < 0.05, "{}", tone_gain(1000.0));
        assert!(tone_gain(2500.0) > 0.9);
        assert!(tone_gain(100.0) < 0.15, "{}", tone_gain(100.0));
        assert!(tone_gain(5000.0) < 0.01, "{}", tone_gain(5000.0));
    }
}
