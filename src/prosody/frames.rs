//! Prosodic features of the telephone-band signal every 10 ms: loudness, pitch with voicing,
//! spectral centroid, tilt (alpha ratio) and flux.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

use crate::prosody::pitch::Yin;

/// The analysis rate (the telephone band).
pub const RATE: usize = 8000;
/// 10 ms.
pub const HOP: usize = 80;
pub const HOP_MS: u64 = 10;
const FFT: usize = 256;
/// YIN integrates over 20 ms.
const YIN_WINDOW: usize = 160;
/// Below this level a frame is silence whatever else it looks like (-70 dBFS).
const FLOOR_DB: f32 = -70.0;

/// One 10 ms step of the caller's audio.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FrameFeatures {
    /// The end of the step, call-relative.
    pub t_ms: u64,
    /// Level in dBFS.
    pub energy_db: f32,
    /// 0 when unvoiced.
    pub f0_hz: f32,
    pub periodicity: f32,
    pub centroid_hz: f32,
    /// Energy above 1 kHz over energy below, in dB: higher in tense, shouted voice.
    pub alpha_db: f32,
    /// Change of the normalised spectrum from the previous step.
    pub flux: f32,
}

impl FrameFeatures {
    pub fn voiced(&self) -> bool {
        self.f0_hz > 0.0
    }
}

/// Streaming analyser: 8 kHz telephone-band samples in, a `FrameFeatures` per 10 ms out.
pub struct FrameAnalyzer {
    buf: Vec<f32>,
    /// Samples seen since the last step.
    pending: usize,
    /// Samples analysed in all, for the timestamps.
    total: u64,
    /// Where sample 0 lies on the call's timeline.
    origin_ms: u64,
    yin: Yin,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    scratch_in: Vec<f32>,
    spectrum: Vec<realfft::num_complex::Complex<f32>>,
    previous: Vec<f32>,
}

impl FrameAnalyzer {
    pub fn new(origin_ms: u64) -> Self {
        let yin = Yin::new(RATE as f32, YIN_WINDOW);
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(FFT);
        let window = (0..FFT).map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / FFT as f32).cos()).collect();
        let keep = yin.needed().max(FFT);
        Self {
            buf: vec![0.0; keep],
            pending: 0,
            total: 0,
            origin_ms,
            yin,
            spectrum: fft.make_output_vec(),
            scratch_in: fft.make_input_vec(),
            fft,
            window,
            previous: vec![0.0; FFT / 2 + 1],
        }
    }

    /// Feeds samples; appends the features of every completed 10 ms step to `out`.
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<FrameFeatures>) {
        // The newest samples are appended past the analysis buffer and shifted in once a step.
        for &x in samples {
            self.buf.push(x);
            self.pending += 1;
            self.total += 1;
            if self.pending == HOP {
                self.pending = 0;
                self.buf.drain(..HOP);
                out.push(self.analyse());
            }
        }
    }

    fn analyse(&mut self) -> FrameFeatures {
        let n = self.buf.len();
        let t_ms = self.origin_ms + self.total * 1000 / RATE as u64;
        let recent = &self.buf[n - FFT..];
        let power = recent.iter().map(|v| v * v).sum::<f32>() / FFT as f32;
        let energy_db = (10.0 * (power + 1e-12).log10()).max(-120.0);
        let mut f = FrameFeatures { t_ms, energy_db, ..Default::default() };
        if energy_db < FLOOR_DB {
            self.previous.iter_mut().for_each(|p| *p = 0.0);
            return f;
        }
        if let Some(p) = self.yin.estimate(&self.buf[n - self.yin.needed()..]) {
            f.f0_hz = p.f0_hz;
            f.periodicity = p.periodicity;
        }
        for ((d, s), w) in self.scratch_in.iter_mut().zip(recent).zip(&self.window) {
            *d = s * w;
        }
        if self.fft.process(&mut self.scratch_in, &mut self.spectrum).is_err() {
            return f;
        }
        let bin_hz = RATE as f32 / FFT as f32;
        let mags: Vec<f32> = self.spectrum.iter().map(|c| c.norm_sqr()).collect();
        let (mut total, mut weighted, mut low, mut high) = (0.0f32, 0.0f32, 1e-12f32, 1e-12f32);
        for (k, m) in mags.iter().enumerate() {
            let hz = k as f32 * bin_hz;
            if !(300.0..=3400.0).contains(&hz) {
                continue;
            }
            total += m;
            weighted += m * hz;
            if hz < 1000.0 {
                low += m;
            } else {
                high += m;
            }
        }
        f.centroid_hz = if total > 0.0 { weighted / total } else { 0.0 };
        f.alpha_db = 10.0 * (high / low).log10();
        // Flux between amplitude spectra scaled to unit length, so loudness alone is no change.
        let amp: Vec<f32> = mags.iter().map(|m| m.sqrt()).collect();
        let norm = amp.iter().map(|a| a * a).sum::<f32>().sqrt().max(1e-9);
        let mut flux = 0.0;
        for (p, a) in self.previous.iter_mut().zip(&amp) {
            let a = a / norm;
            flux += (a - *p) * (a - *p);
            *p = a;
        }
        f.flux = flux.sqrt();
        f
    }
}
