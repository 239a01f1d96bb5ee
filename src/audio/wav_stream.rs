//! A WAV file written as the audio comes (16-bit PCM), a second at a time: the samples are
//! kept in memory and written with the header brought up to date once a second has gathered
//! (two writes a second, not one per 20 ms: thousands of calls record at once). If the
//! process dies, the file reads back up to the last second written.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, InputError, Result};

pub struct StreamingWav {
    file: File,
    path: PathBuf,
    channels: u16,
    sample_rate: u32,
    /// Data bytes appended, written or not.
    data_bytes: u64,
    /// Appended, not yet written.
    pending: Vec<u8>,
}

fn header(channels: u16, sample_rate: u32, data_bytes: u32) -> [u8; 44] {
    let mut h = [0u8; 44];
    let block = channels * 2;
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(36u32.saturating_add(data_bytes)).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes());
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&sample_rate.to_le_bytes());
    h[28..32].copy_from_slice(&(sample_rate * block as u32).to_le_bytes());
    h[32..34].copy_from_slice(&block.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_bytes.to_le_bytes());
    h
}

impl StreamingWav {
    pub fn create(path: &Path, channels: u16, sample_rate: u32) -> Result<Self> {
        let err = |e: std::io::Error| Error::Input(InputError::Unreadable { path: path.to_owned(), reason: format!("cannot write: {e}") });
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut file = File::create(path).map_err(err)?;
        file.write_all(&header(channels, sample_rate, 0)).map_err(err)?;
        Ok(Self { file, path: path.to_owned(), channels, sample_rate, data_bytes: 0, pending: Vec::new() })
    }

    fn err(&self, e: std::io::Error) -> Error {
        Error::Input(InputError::Unreadable { path: self.path.clone(), reason: format!("cannot write: {e}") })
    }

    /// Appends interleaved samples; they reach the file, with the header, once a second of
    /// them has gathered.
    pub fn append(&mut self, interleaved: &[i16]) -> Result<()> {
        let second = self.sample_rate as usize * self.channels as usize * 2;
        if self.pending.capacity() == 0 {
            self.pending.reserve_exact(second + 4 * self.sample_rate as usize / 50 * self.channels as usize);
        }
        self.pending.extend(interleaved.iter().flat_map(|s| s.to_le_bytes()));
        self.data_bytes += interleaved.len() as u64 * 2;
        if self.pending.len() >= second {
            self.write_pending()?;
        }
        Ok(())
    }

    fn write_pending(&mut self) -> Result<()> {
        if let Err(e) = self.file.write_all(&self.pending) {
            return Err(self.err(e));
        }
        self.pending.clear();
        self.update_header()
    }

    fn update_header(&mut self) -> Result<()> {
        let n = self.data_bytes.min(u32::MAX as u64 - 36) as u32;
        self.file.write_all_at(&header(self.channels, self.sample_rate, n), 0).map_err(|e| self.err(e))
    }

    /// Seconds written so far.
    pub fn duration_ms(&self) -> u64 {
        self.data_bytes * 1000 / (self.sample_rate as u64 * self.channels as u64 * 2)
    }

    pub fn finish(mut self) -> Result<()> {
        self.write_pending()?;
        self.file.sync_data().map_err(|e| self.err(e))
    }
}

/// Brings the header of a recording left by a process that died up to what the file holds
/// (whole frames of its format); its length in milliseconds. A file that is not one of ours
/// (not 16-bit PCM with the 44-byte header) is left alone: an error.
pub fn repair(path: &Path) -> Result<u64> {
    let err = |e: std::io::Error| Error::Input(InputError::Unreadable { path: path.to_owned(), reason: e.to_string() });
    let file = std::fs::OpenOptions::new().read(true).write(true).open(path).map_err(err)?;
    let mut h = [0u8; 44];
    file.read_exact_at(&mut h, 0).map_err(err)?;
    let u16_at = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
    let channels = u16_at(22);
    let sample_rate = u32::from_le_bytes([h[24], h[25], h[26], h[27]]);
    if &h[0..4] != b"RIFF" || &h[8..12] != b"WAVE" || &h[36..40] != b"data" || u16_at(20) != 1 || u16_at(34) != 16 || channels == 0 || sample_rate == 0 {
        return Err(Error::Input(InputError::Corrupt { path: path.to_owned(), reason: "not a 16-bit PCM recording of ours".into() }));
    }
    let len = file.metadata().map_err(err)?.len();
    let block = channels as u64 * 2;
    let data = (len.saturating_sub(44) / block * block).min(u32::MAX as u64 - 36);
    if u32::from_le_bytes([h[40], h[41], h[42], h[43]]) as u64 != data {
        file.write_all_at(&header(channels, sample_rate, data as u32), 0).map_err(err)?;
        file.set_len(44 + data).map_err(err)?;
        file.sync_data().map_err(err)?;
    }
    Ok(data * 1000 / (sample_rate as u64 * block))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::decode::decode_file;

    #[test]
    fn reads_back_while_being_written_and_when_finished() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("rec.wav");
        let mut w = StreamingWav::create(&p, 2, 8000).unwrap();
        // 2.5 s of a left-only ramp.
        for i in 0..125 {
            let frame: Vec<i16> = (0..160).flat_map(|j| [((i * 160 + j) % 1000) as i16 * 10, 0]).collect();
            w.append(&frame).unwrap();
        }
        // Not finished (as if the process died): the first 2 s read back.
        let partial = decode_file(&p, Some(0)).unwrap();
        assert_eq!((partial.sample_rate, partial.channels, partial.samples.len()), (8000, 2, 16000));
        assert!(partial.samples.iter().any(|x| *x > 0.1));
        // Repaired after the death: every second written reads back (the last half second
        // was still in memory).
        assert_eq!(repair(&p).unwrap(), 2000);
        assert_eq!(decode_file(&p, Some(0)).unwrap().samples.len(), 16000);
        w.finish().unwrap();
        assert_eq!(decode_file(&p, Some(0)).unwrap().samples.len(), 20000);
        assert!(decode_file(&p, Some(1)).unwrap().samples.iter().all(|x| *x == 0.0));
    }
}
