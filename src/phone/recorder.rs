//! A call's recording: caller left, bot right, 16-bit, on the call's 20 ms slots (8 kHz for a
//! phone call, as the line carries it; 16 kHz for an in-app call).
//! The caller's slots drive the clock; the bot's land beside them. Writing holds back 200 ms so
//! that both sides of a slot are in before it goes to disk.

use std::collections::BTreeMap;
use std::path::Path;

use crate::audio::wav_stream::StreamingWav;
use crate::error::Result;

/// Samples per 20 ms slot at 8 kHz.
pub const SLOT_SAMPLES: usize = 160;
const HOLD_BACK_SLOTS: u64 = 10;

pub struct CallRecorder {
    wav: StreamingWav,
    /// Samples per 20 ms slot.
    slot_samples: usize,
    /// Slots before this one are on disk.
    written: u64,
    pending: BTreeMap<u64, (Vec<i16>, Vec<i16>)>,
}

impl CallRecorder {
    /// An 8 kHz recording (a phone call).
    pub fn create(path: &Path) -> Result<Self> {
        Self::create_at(path, 8000)
    }

    /// A recording at `rate` Hz.
    pub fn create_at(path: &Path, rate: u32) -> Result<Self> {
        Ok(Self { wav: StreamingWav::create(path, 2, rate)?, slot_samples: rate as usize / 50, written: 0, pending: BTreeMap::new() })
    }

    fn slot(&mut self, slot: u64) -> Option<&mut (Vec<i16>, Vec<i16>)> {
        if slot < self.written {
            return None;
        }
        let n = self.slot_samples;
        Some(self.pending.entry(slot).or_insert_with(|| (vec![0; n], vec![0; n])))
    }

    /// The caller's audio of `slot`.
    pub fn caller(&mut self, slot: u64, samples: &[i16]) -> Result<()> {
        if let Some((left, _)) = self.slot(slot) {
            copy(left, samples);
        }
        self.write_before(slot.saturating_sub(HOLD_BACK_SLOTS))
    }

    /// The bot's audio of `slot` (dropped if that slot is already on disk).
    pub fn bot(&mut self, slot: u64, samples: &[i16]) {
        if let Some((_, right)) = self.slot(slot) {
            copy(right, samples);
        }
    }

    fn write_before(&mut self, end: u64) -> Result<()> {
        if end <= self.written {
            return Ok(());
        }
        let n = self.slot_samples;
        let mut out = Vec::with_capacity((end - self.written) as usize * n * 2);
        for slot in self.written..end {
            match self.pending.remove(&slot) {
                Some((l, r)) => out.extend(l.iter().zip(&r).flat_map(|(a, b)| [*a, *b])),
                None => out.extend(std::iter::repeat_n(0i16, n * 2)),
            }
        }
        self.written = end;
        self.wav.append(&out)
    }

    /// Writes what is left and closes the file; the recording's length in milliseconds.
    pub fn finish(self) -> Result<u64> {
        self.finish_until(0)
    }

    /// As `finish`, the recording running at least to `call_ms`, the call's end: a caller whose
    /// packets stopped before the hang-up (silence suppression, a stalled sender) is silent
    /// there, not cut off.
    pub fn finish_until(mut self, call_ms: u64) -> Result<u64> {
        let end = self.pending.keys().next_back().map(|s| s + 1).unwrap_or(self.written).max(call_ms / 20);
        self.write_before(end)?;
        let ms = self.wav.duration_ms();
        self.wav.finish()?;
        Ok(ms)
    }
}

fn copy(dst: &mut [i16], src: &[i16]) {
    let n = dst.len().min(src.len());
    dst[..n].copy_from_slice(&src[..n]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::decode::decode_file;

    #[test]
    fn caller_and_bot_land_on_their_slots() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("r.wav");
        let mut r = CallRecorder::create(&p).unwrap();
        for slot in 0..100u64 {
            let v = if slot < 50 { 8000 } else { 0 };
            r.caller(slot, &[v; SLOT_SAMPLES]).unwrap();
            if slot >= 60 {
                // The bot's frame for a slot comes a little after the caller's.
                r.bot(slot - 2, &[4000; SLOT_SAMPLES]);
            }
        }
        assert_eq!(r.finish().unwrap(), 2000);
        let left = decode_file(&p, Some(0)).unwrap().samples;
        let right = decode_file(&p, Some(1)).unwrap().samples;
        assert!(left[..50 * 160].iter().all(|x| (*x - 0.244).abs() < 0.01));
        assert!(left[50 * 160..].iter().all(|x| *x == 0.0));
        assert!(right[..58 * 160].iter().all(|x| *x == 0.0));
        assert!(right[58 * 160..98 * 160].iter().all(|x| (*x - 0.122).abs() < 0.01));
    }

    #[test]
    fn the_recording_runs_to_the_end_of_the_call() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = CallRecorder::create(&dir.path().join("c.wav")).unwrap();
        for slot in 0..50 {
            r.caller(slot, &[100; SLOT_SAMPLES]).unwrap();
        }
        // The caller's packets stopped at 1 s; the call ended at 1.5 s.
        assert_eq!(r.finish_until(1500).unwrap(), 1500);
    }
}
