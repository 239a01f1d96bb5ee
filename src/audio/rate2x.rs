//! Streaming 2:1 rate conversion between the phone line (8 kHz) and the pipeline (16 kHz), one
//! 20 ms frame at a time, with a windowed-sinc half-band filter: cheap enough for hundreds of
//! calls, and without the block delay of a general resampler.

/// Half-band low-pass taps (odd length, centre at `TAPS / 2`), cut-off at a quarter of the
/// high rate, Blackman window.
const TAPS: usize = 31;

fn taps() -> [f32; TAPS] {
    let mut h = [0f32; TAPS];
    let m = (TAPS - 1) as f64;
    for (i, t) in h.iter_mut().enumerate() {
        let n = i as f64 - m / 2.0;
        let sinc = if n == 0.0 { 0.5 } else { (std::f64::consts::PI * n / 2.0).sin() / (std::f64::consts::PI * n) };
        let w = 0.42 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / m).cos() + 0.08 * (4.0 * std::f64::consts::PI * i as f64 / m).cos();
        *t = (sinc * w) as f32;
    }
    let sum: f32 = h.iter().sum();
    h.iter_mut().for_each(|t| *t /= sum);
    h
}

/// 8 kHz in, 16 kHz out.
pub struct Upsampler2x {
    h: [f32; TAPS],
    /// The last input samples, zero-stuffed to the high rate.
    history: Vec<f32>,
}

impl Default for Upsampler2x {
    fn default() -> Self {
        Self { h: taps(), history: vec![0.0; TAPS] }
    }
}

impl Upsampler2x {
    pub fn process(&mut self, input: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(input.len() * 2);
        for &x in input {
            for v in [x * 2.0, 0.0] {
                self.history.rotate_left(1);
                self.history[TAPS - 1] = v;
                out.push(self.history.iter().zip(self.h.iter().rev()).map(|(a, b)| a * b).sum());
            }
        }
        out
    }
}

/// 16 kHz in, 8 kHz out.
pub struct Downsampler2x {
    h: [f32; TAPS],
    history: Vec<f32>,
    odd: bool,
}

impl Default for Downsampler2x {
    fn default() -> Self {
        Self { h: taps(), history: vec![0.0; TAPS], odd: false }
    }
}

impl Downsampler2x {
    pub fn process(&mut self, input: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(input.len() / 2 + 1);
        for &x in input {
            self.history.rotate_left(1);
            self.history[TAPS - 1] = x;
            if !self.odd {
                out.push(self.history.iter().zip(self.h.iter().rev()).map(|(a, b)| a * b).sum());
            }
            self.odd = !self.odd;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, rate: f32, n: usize) -> Vec<f32> {
        (0..n).map(|i| 0.5 * (2.0 * std::f32::consts::PI * freq * i as f32 / rate).sin()).collect()
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
    }

    #[test]
    fn speech_band_passes_and_images_are_removed() {
        // 1 kHz at 8 kHz, in 20 ms frames: the same tone at 16 kHz, same level.
        let x = tone(1000.0, 8000.0, 1600);
        let mut up = Upsampler2x::default();
        let y: Vec<f32> = x.chunks(160).flat_map(|c| up.process(c)).collect();
        assert_eq!(y.len(), 3200);
        assert!((rms(&y[200..]) - rms(&x[100..])).abs() < 0.02, "{} vs {}", rms(&y[200..]), rms(&x[100..]));
        // The image at 7 kHz is gone: down again and compare with the original.
        let mut down = Downsampler2x::default();
        let z: Vec<f32> = y.chunks(320).flat_map(|c| down.process(c)).collect();
        assert_eq!(z.len(), 1600);
        assert!((rms(&z[200..]) - rms(&x[200..])).abs() < 0.02);
        // 6 kHz at 16 kHz is above the phone band: removed on the way down.
        let hi = tone(6000.0, 16000.0, 3200);
        let mut down = Downsampler2x::default();
        assert!(rms(&down.process(&hi)[100..]) < 0.01);
    }
}
