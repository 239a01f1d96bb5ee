//! The caller's recent audio, kept so that an utterance can be cut out with some padding once
//! the VAD has found its ends.

use std::collections::VecDeque;

use crate::audio::frame::ms_to_samples;

pub struct AudioHistory {
    buf: VecDeque<f32>,
    /// Call-relative index of `buf[0]`.
    first: usize,
    capacity: usize,
}

impl AudioHistory {
    /// Keeps at most `capacity_ms` of audio.
    pub fn new(capacity_ms: u64) -> Self {
        let capacity = ms_to_samples(capacity_ms);
        Self {
            buf: VecDeque::with_capacity(capacity),
            first: 0,
            capacity,
        }
    }

    pub fn push(&mut self, samples: &[f32]) {
        self.buf.extend(samples);
        let excess = self.buf.len().saturating_sub(self.capacity);
        if excess > 0 {
            self.buf.drain(..excess);
            self.first += excess;
        }
    }

    /// The audio between two call-relative times, clipped to what is kept.
    pub fn slice(&self, start_ms: u64, end_ms: u64) -> Vec<f32> {
        let end_total = self.first + self.buf.len();
        let a = ms_to_samples(start_ms).clamp(self.first, end_total) - self.first;
        let b = ms_to_samples(end_ms).clamp(self.first, end_total) - self.first;
        if b <= a {
            return Vec::new();
        }
        self.buf.range(a..b).copied().collect()
    }
}

impl AudioHistory {
    /// As `slice`, with silence where the range reaches past what has been heard: an utterance
    /// cut out early (a speculative transcript, at the first pause) has the length it will have
    /// once its trailing padding is in, so that it decodes as the final cut would.
    pub fn slice_padded(&self, start_ms: u64, end_ms: u64) -> Vec<f32> {
        let mut v = self.slice(start_ms, end_ms);
        let heard_to =
            (self.first + self.buf.len()) as u64 * 1000 / crate::audio::SAMPLE_RATE as u64;
        if end_ms > heard_to {
            let from = start_ms.max(self.first as u64 * 1000 / crate::audio::SAMPLE_RATE as u64);
            v.resize(ms_to_samples(end_ms.saturating_sub(from)), 0.0);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_by_time_and_forgets_old_audio() {
        let mut h = AudioHistory::new(1000); // 16000 samples
        let ramp: Vec<f32> = (0..32_000).map(|i| i as f32).collect();
        for chunk in ramp.chunks(320) {
            h.push(chunk);
        }
        // Only the last second is kept.
        assert_eq!(h.slice(0, 500), Vec::<f32>::new());
        let s = h.slice(1500, 1510);
        assert_eq!(s.len(), 160);
        assert_eq!(s[0], 24_000.0);
        // Clipped at the end of what was pushed...
        assert_eq!(h.slice(1990, 5000).len(), 160);
        // ...or padded with silence to the length asked for.
        let p = h.slice_padded(1990, 2200);
        assert_eq!(p.len(), ms_to_samples(210));
        assert_eq!(p[159], 31_999.0);
        assert!(p[160..].iter().all(|x| *x == 0.0));
    }
}
