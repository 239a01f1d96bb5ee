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
        // Clipped at the end of what was pushed.
        assert_eq!(h.slice(1990, 5000).len(), 160);
    }
}
