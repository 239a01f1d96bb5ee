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

/// Half of the filter: a half-band filter's taps at an even distance from the centre are
/// zero (but the centre), so each output needs 16 taps of the 31, or 1.
const HALF: usize = TAPS / 2;

/// The even-indexed taps, `h[0], h[2], ..., h[30]`.
fn even_taps(h: &[f32; TAPS]) -> [f32; HALF + 1] {
    std::array::from_fn(|m| h[2 * m])
}

/// 8 kHz in, 16 kHz out: each input sample gives two outputs, one from the 16 even taps over
/// the last 16 inputs, one from the centre tap alone (polyphase form of filtering the input
/// stuffed with zeros).
pub struct Upsampler2x {
    even: [f32; HALF + 1],
    centre: f32,
    /// The last `HALF` inputs (times two: stuffing zeros halves the level), then the frame.
    buf: Vec<f32>,
}

impl Default for Upsampler2x {
    fn default() -> Self {
        let h = taps();
        Self { even: even_taps(&h), centre: h[HALF], buf: vec![0.0; HALF] }
    }
}

impl Upsampler2x {
    pub fn process(&mut self, input: &[f32]) -> Vec<f32> {
        self.buf.extend(input.iter().map(|x| x * 2.0));
        let mut out = Vec::with_capacity(input.len() * 2);
        for newest in HALF..self.buf.len() {
            let window = &self.buf[newest - HALF..=newest];
            out.push(window.iter().rev().zip(&self.even).map(|(a, b)| a * b).sum());
            out.push(self.centre * self.buf[newest - HALF / 2]);
        }
        self.buf.drain(..self.buf.len() - HALF);
        out
    }
}

/// 16 kHz in, 8 kHz out: every other input sample gives an output, from the 16 even taps and
/// the centre one.
pub struct Downsampler2x {
    even: [f32; HALF + 1],
    centre: f32,
    /// The last `TAPS - 1` inputs, then the frame.
    buf: Vec<f32>,
    odd: bool,
}

impl Default for Downsampler2x {
    fn default() -> Self {
        let h = taps();
        Self { even: even_taps(&h), centre: h[HALF], buf: vec![0.0; TAPS - 1], odd: false }
    }
}

impl Downsampler2x {
    pub fn process(&mut self, input: &[f32]) -> Vec<f32> {
        self.buf.extend_from_slice(input);
        let mut out = Vec::with_capacity(input.len() / 2 + 1);
        for newest in TAPS - 1..self.buf.len() {
            if !self.odd {
                let even: f32 = self.even.iter().enumerate().map(|(m, h)| h * self.buf[newest - 2 * m]).sum();
                out.push(even + self.centre * self.buf[newest - HALF]);
            }
            self.odd = !self.odd;
        }
        self.buf.drain(..self.buf.len() - (TAPS - 1));
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

    /// The filter as first written: every tap, the zero-stuffed input, a shift per sample.
    fn reference(input: &[f32], up: bool) -> Vec<f32> {
        let h = taps();
        let mut history = vec![0.0f32; TAPS];
        let mut out = Vec::new();
        let mut odd = false;
        let push = |v: f32, history: &mut Vec<f32>, out: &mut Vec<f32>, emit: bool| {
            history.rotate_left(1);
            history[TAPS - 1] = v;
            if emit {
                out.push(history.iter().zip(h.iter().rev()).map(|(a, b)| a * b).sum());
            }
        };
        for &x in input {
            if up {
                push(x * 2.0, &mut history, &mut out, true);
                push(0.0, &mut history, &mut out, true);
            } else {
                push(x, &mut history, &mut out, !odd);
                odd = !odd;
            }
        }
        out
    }

    #[test]
    fn the_polyphase_filters_give_what_the_full_filter_gives() {
        let x: Vec<f32> = (0..1000).map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.5).collect();
        let mut up = Upsampler2x::default();
        let y: Vec<f32> = x.chunks(160).flat_map(|c| up.process(c)).collect();
        let mut down = Downsampler2x::default();
        // Odd-length chunks: the phase carries over from one to the next.
        let z: Vec<f32> = x.chunks(33).flat_map(|c| down.process(c)).collect();
        for (fast, slow) in [(y, reference(&x, true)), (z, reference(&x, false))] {
            assert_eq!(fast.len(), slow.len());
            assert!(fast.iter().zip(&slow).all(|(a, b)| (a - b).abs() < 1e-5));
        }
    }
}
