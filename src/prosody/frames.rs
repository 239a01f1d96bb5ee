//! Prosodic features of the telephone-band signal every 10 ms: loudness, pitch with voicing,
//! spectral flux, the low band's share of the energy, and the fine spectral shape (mel-cepstral
//! coefficients 7-12), whose change from frame to frame is the anger model's most
//! language-independent cue.

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
/// Below this level a frame is silence whatever else it looks like (-70 dBFS): it gets no pitch
/// and no spectrum.
pub const FLOOR_DB: f32 = -70.0;
/// The telephone band, where every spectral feature is measured.
const BAND_HZ: (f32, f32) = (300.0, 3400.0);
/// Mel bands over the telephone band.
const MEL_BANDS: usize = 20;
/// The cepstral coefficients kept (7 to 12): the fine spectral shape, which tracks the
/// articulation's speed without the speaker's pitch or the line's gain and tilt.
pub const CEPS: std::ops::RangeInclusive<usize> = 7..=12;
pub const N_CEPS: usize = 6;

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
    /// Change of the normalised spectrum from the previous step.
    pub flux: f32,
    /// The share of the band's energy below 1 kHz, in dB: lower in tense, shouted voice.
    pub low_share_db: f32,
    /// Mel-frequency cepstral coefficients `CEPS` (orthonormal DCT-II of 20 log10 mel powers).
    pub cep: [f32; N_CEPS],
}

impl FrameFeatures {
    pub fn voiced(&self) -> bool {
        self.f0_hz > 0.0
    }

    /// Whether the frame was loud enough for its spectrum to be analysed.
    pub fn analysed(&self) -> bool {
        self.energy_db >= FLOOR_DB
    }
}

/// The mel filterbank and the DCT rows of the kept cepstral coefficients, computed once.
struct Cepstrum {
    /// Per mel band: its first FFT bin and the triangle's weights from there.
    bands: Vec<(usize, Vec<f32>)>,
    dct: [[f32; MEL_BANDS]; N_CEPS],
}

impl Cepstrum {
    /// Triangles of peak 1 (no area normalisation) on the HTK mel scale, their 22 edges evenly
    /// spaced in mel from 300 to 3400 Hz.
    fn new() -> Self {
        let mel = |f: f64| 2595.0 * (1.0 + f / 700.0).log10();
        let hz = |m: f64| 700.0 * (10f64.powf(m / 2595.0) - 1.0);
        let (lo, hi) = (mel(BAND_HZ.0 as f64), mel(BAND_HZ.1 as f64));
        let edges: Vec<f64> = (0..MEL_BANDS + 2).map(|i| hz(lo + (hi - lo) * i as f64 / (MEL_BANDS + 1) as f64)).collect();
        let bin_hz = RATE as f64 / FFT as f64;
        let bands = (0..MEL_BANDS)
            .map(|b| {
                let (l, c, r) = (edges[b], edges[b + 1], edges[b + 2]);
                let w: Vec<(usize, f32)> = (0..=FFT / 2)
                    .filter_map(|k| {
                        let f = k as f64 * bin_hz;
                        let v = ((f - l) / (c - l)).min((r - f) / (r - c));
                        (v > 0.0).then_some((k, v as f32))
                    })
                    .collect();
                let first = w.first().map(|(k, _)| *k).unwrap_or(0);
                (first, w.into_iter().map(|(_, v)| v).collect())
            })
            .collect();
        let mut dct = [[0f32; MEL_BANDS]; N_CEPS];
        for (row, j) in dct.iter_mut().zip(CEPS) {
            for (b, v) in row.iter_mut().enumerate() {
                let angle = std::f64::consts::PI * j as f64 * (2 * b + 1) as f64 / (2 * MEL_BANDS) as f64;
                *v = ((2.0 / MEL_BANDS as f64).sqrt() * angle.cos()) as f32;
            }
        }
        Self { bands, dct }
    }

    /// The kept coefficients of one power spectrum.
    fn of(&self, power: &[f32]) -> [f32; N_CEPS] {
        let mut logmel = [0f32; MEL_BANDS];
        for (l, (first, w)) in logmel.iter_mut().zip(&self.bands) {
            let e: f32 = power[*first..].iter().zip(w).map(|(p, t)| p * t).sum();
            *l = (e + 1e-10).log10();
        }
        let mut out = [0f32; N_CEPS];
        for (o, row) in out.iter_mut().zip(&self.dct) {
            *o = row.iter().zip(&logmel).map(|(a, b)| a * b).sum();
        }
        out
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
    cepstrum: Cepstrum,
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
            cepstrum: Cepstrum::new(),
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
        let (mut total, mut low) = (0.0f32, 0.0f32);
        for (k, m) in mags.iter().enumerate() {
            let hz = k as f32 * bin_hz;
            if !(BAND_HZ.0..=BAND_HZ.1).contains(&hz) {
                continue;
            }
            total += m;
            if hz < 1000.0 {
                low += m;
            }
        }
        f.low_share_db = 10.0 * (low / (total + 1e-12) + 1e-12).log10();
        f.cep = self.cepstrum.of(&mags);
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
