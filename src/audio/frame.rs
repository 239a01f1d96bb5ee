//! The one audio format inside the pipeline: 16 kHz mono f32 frames of 20 ms, each stamped
//! with its call-relative start time.

/// The pipeline's sample rate.
pub const SAMPLE_RATE: u32 = 16_000;
/// Frame length in milliseconds.
pub const FRAME_MS: u64 = 20;
/// Samples per frame at [`SAMPLE_RATE`].
pub const FRAME_SAMPLES: usize = (SAMPLE_RATE as u64 * FRAME_MS / 1000) as usize;

/// 20 ms of 16 kHz mono audio.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioFrame {
    /// Call-relative time of the first sample, in milliseconds.
    pub t_ms: u64,
    pub samples: Vec<f32>,
    /// A key pressed out of band (RFC 4733 on an RTP leg) during this frame.
    pub dtmf: Option<char>,
}

impl AudioFrame {
    /// Call-relative time just after the last sample.
    pub fn end_ms(&self) -> u64 {
        self.t_ms + FRAME_MS
    }

    /// Root-mean-square level of the frame.
    pub fn rms(&self) -> f32 {
        rms(&self.samples)
    }
}

/// Root-mean-square level of a block of samples (0 for an empty block).
pub fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|x| x * x).sum::<f32>() / samples.len() as f32).sqrt()
}

/// Cuts 16 kHz mono samples into 20 ms frames; the last one is padded with silence.
pub fn frames(samples: &[f32]) -> impl Iterator<Item = AudioFrame> + '_ {
    samples.chunks(FRAME_SAMPLES).enumerate().map(|(i, chunk)| {
        let mut s = chunk.to_vec();
        s.resize(FRAME_SAMPLES, 0.0);
        AudioFrame {
            t_ms: i as u64 * FRAME_MS,
            samples: s,
            dtmf: None,
        }
    })
}

/// Milliseconds of audio in `n` samples at 16 kHz.
pub fn samples_to_ms(n: usize) -> u64 {
    n as u64 * 1000 / SAMPLE_RATE as u64
}

/// Samples at 16 kHz in `ms` milliseconds.
pub fn ms_to_samples(ms: u64) -> usize {
    (ms * SAMPLE_RATE as u64 / 1000) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_20ms_and_timestamped() {
        let samples = vec![0.5f32; FRAME_SAMPLES * 3 + 10];
        let f: Vec<_> = frames(&samples).collect();
        assert_eq!(f.len(), 4);
        assert_eq!(FRAME_SAMPLES, 320);
        assert!(f.iter().all(|x| x.samples.len() == FRAME_SAMPLES));
        assert_eq!(f.iter().map(|x| x.t_ms).collect::<Vec<_>>(), vec![0, 20, 40, 60]);
        // The padded tail keeps the 10 real samples and adds silence.
        assert_eq!(f[3].samples[9], 0.5);
        assert_eq!(f[3].samples[10], 0.0);
        assert_eq!(f[3].end_ms(), 80);
    }

    #[test]
    fn rms_of_a_full_scale_square_is_one() {
        let s: Vec<f32> = (0..100).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
        assert!((rms(&s) - 1.0).abs() < 1e-6);
        assert_eq!(rms(&[]), 0.0);
    }

    #[test]
    fn time_conversions_round_trip() {
        assert_eq!(ms_to_samples(1000), 16000);
        assert_eq!(samples_to_ms(ms_to_samples(1234)), 1234);
    }
}
