//! Sample-rate conversion with rubato's synchronous FFT resampler.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use crate::error::{Error, Result};

/// Resamples a whole mono clip from `from_hz` to `to_hz`, delay-compensated so that the output
/// lines up with the input.
pub fn resample(samples: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>> {
    if from_hz == to_hz || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let mut r = Fft::<f32>::new(from_hz as usize, to_hz as usize, 1024, 1, FixedSync::Both)
        .map_err(|e| Error::internal(format!("resampler {from_hz}->{to_hz} Hz: {e}")))?;
    let input = InterleavedSlice::new(samples, 1, samples.len())
        .map_err(|e| Error::internal(format!("resampler input: {e}")))?;
    let out = r
        .process_all(&input, samples.len(), None)
        .map_err(|e| Error::internal(format!("resampling {from_hz}->{to_hz} Hz: {e}")))?;
    Ok(out.take_data())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn sine(freq: f64, rate: u32, secs: f64) -> Vec<f32> {
        (0..(rate as f64 * secs) as usize)
            .map(|i| (0.5 * (2.0 * PI * freq * i as f64 / rate as f64).sin()) as f32)
            .collect()
    }

    /// Signal-to-noise-and-distortion of `got` as a tone of `freq` Hz: the tone is fitted by
    /// least squares (amplitude and phase, so a constant delay is no error) and everything
    /// else counts as noise. Edges excluded.
    fn snr_db(got: &[f32], freq: f64, rate: u32) -> f64 {
        let edge = rate as usize / 10;
        let w = 2.0 * PI * freq / rate as f64;
        let range = edge..got.len() - edge;
        let (mut ss, mut sc, mut cc, mut ys, mut yc) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for i in range.clone() {
            let (s, c, y) = ((w * i as f64).sin(), (w * i as f64).cos(), got[i] as f64);
            ss += s * s;
            sc += s * c;
            cc += c * c;
            ys += y * s;
            yc += y * c;
        }
        let det = ss * cc - sc * sc;
        let (a, b) = ((ys * cc - yc * sc) / det, (yc * ss - ys * sc) / det);
        let (mut sig, mut noise) = (0.0f64, 0.0f64);
        for i in range {
            let fit = a * (w * i as f64).sin() + b * (w * i as f64).cos();
            sig += fit * fit;
            noise += (got[i] as f64 - fit).powi(2);
        }
        10.0 * (sig / noise).log10()
    }

    /// Frequency estimated from zero crossings, edges excluded.
    fn zero_crossing_hz(x: &[f32], rate: u32) -> f64 {
        let s = &x[rate as usize / 10..x.len() - rate as usize / 10];
        let crossings = s.windows(2).filter(|w| (w[0] < 0.0) != (w[1] < 0.0)).count();
        crossings as f64 / 2.0 / (s.len() as f64 / rate as f64)
    }

    #[test]
    fn resampled_sine_keeps_frequency_with_60db_snr() {
        for (from, to, freq) in [(44_100, 16_000, 1000.0), (8_000, 16_000, 440.0), (48_000, 16_000, 3000.0), (22_050, 16_000, 250.0)] {
            let out = resample(&sine(freq, from, 2.0), from, to).unwrap();
            let expected_len = 2 * to as usize;
            assert!((out.len() as i64 - expected_len as i64).abs() <= 2, "{from}->{to}: {} samples", out.len());
            let snr = snr_db(&out, freq, to);
            assert!(snr >= 60.0, "{from}->{to} Hz, {freq} Hz tone: SNR {snr:.1} dB");
            let f = zero_crossing_hz(&out, to);
            assert!((f - freq).abs() < 1.0, "{from}->{to}: {f:.2} Hz, wanted {freq}");
        }
    }

    #[test]
    fn same_rate_is_a_copy() {
        let s = sine(100.0, 16_000, 0.1);
        assert_eq!(resample(&s, 16_000, 16_000).unwrap(), s);
    }
}
