//! WAV writing (16-bit PCM) with hound.

use std::path::Path;

use crate::error::{Error, Result};

use super::to_i16;

/// Writes interleaved channels; every channel must have the same length.
pub fn write_wav(path: &Path, channels: &[&[f32]], sample_rate: u32) -> Result<()> {
    let n = channels.first().map(|c| c.len()).unwrap_or(0);
    if channels.is_empty() || channels.iter().any(|c| c.len() != n) {
        return Err(Error::internal("write_wav: channels must be non-empty and of equal length"));
    }
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let io = |e: hound::Error| Error::Input(crate::error::InputError::Unreadable {
        path: path.to_owned(),
        reason: format!("cannot write: {e}"),
    });
    let mut w = hound::WavWriter::create(path, spec).map_err(io)?;
    for i in 0..n {
        for c in channels {
            w.write_sample(to_i16(c[i])).map_err(io)?;
        }
    }
    w.finalize().map_err(io)
}

/// Writes one channel.
pub fn write_mono(path: &Path, samples: &[f32], sample_rate: u32) -> Result<()> {
    write_wav(path, &[samples], sample_rate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::decode::decode_file;

    #[test]
    fn written_stereo_decodes_back_per_channel() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("s.wav");
        let left: Vec<f32> = (0..1600).map(|i| ((i as f32) * 0.01).sin() * 0.5).collect();
        let right = vec![0.25f32; 1600];
        write_wav(&p, &[&left, &right], 8000).unwrap();
        let l = decode_file(&p, Some(0)).unwrap();
        let r = decode_file(&p, Some(1)).unwrap();
        assert_eq!((l.sample_rate, l.channels, l.samples.len()), (8000, 2, 1600));
        for (a, b) in left.iter().zip(&l.samples) {
            assert!((a - b).abs() < 1.0 / 16384.0);
        }
        assert!(r.samples.iter().all(|&x| (x - 0.25).abs() < 1e-4));
    }

    #[test]
    fn unequal_channels_are_refused() {
        let t = tempfile::tempdir().unwrap();
        assert!(write_wav(&t.path().join("x.wav"), &[&[0.0; 3], &[0.0; 2]], 8000).is_err());
    }
}
