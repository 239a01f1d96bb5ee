//! Decoding audio files (WAV, FLAC, MP3, OGG/Vorbis, at any sample rate) with symphonia into
//! one channel of f32 samples. Every failure is an [`InputError`] naming the file and the reason.

use std::path::{Path, PathBuf};

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::Error as SymErr;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

use crate::error::InputError;

/// One channel of decoded audio at the file's own sample rate.
#[derive(Debug, Clone)]
pub struct DecodedAudio {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
    /// Channels in the file (one of them was kept).
    pub channels: usize,
    /// The channel that was kept, counting from 0.
    pub channel: usize,
}

impl DecodedAudio {
    pub fn duration_ms(&self) -> u64 {
        self.samples.len() as u64 * 1000 / self.sample_rate.max(1) as u64
    }
}

/// Decodes `channel` (default 0) of the audio file at `path`.
pub fn decode_file(path: &Path, channel: Option<usize>) -> Result<DecodedAudio, InputError> {
    let meta = std::fs::metadata(path).map_err(|e| InputError::from_io(path, e))?;
    if meta.is_dir() {
        return Err(InputError::Unreadable {
            path: path.to_owned(),
            reason: "is a directory".into(),
        });
    }
    if meta.len() == 0 {
        return Err(InputError::Empty { path: path.to_owned() });
    }
    let file = std::fs::File::open(path).map_err(|e| InputError::from_io(path, e))?;
    let ext = path.extension().and_then(|e| e.to_str());
    decode_source(Box::new(file), ext, path, channel)
}

/// Decodes audio held in memory (an upload); `label` names it in errors.
pub fn decode_bytes(bytes: Vec<u8>, label: &str, channel: Option<usize>) -> Result<DecodedAudio, InputError> {
    let path = PathBuf::from(label);
    if bytes.is_empty() {
        return Err(InputError::Empty { path });
    }
    decode_source(Box::new(std::io::Cursor::new(bytes)), None, &path, channel)
}

fn decode_source(
    source: Box<dyn MediaSource>,
    ext: Option<&str>,
    path: &Path,
    channel: Option<usize>,
) -> Result<DecodedAudio, InputError> {
    let not_audio = |reason: String| InputError::NotAudio { path: path.to_owned(), reason };
    let corrupt = |reason: String| InputError::Corrupt { path: path.to_owned(), reason };

    let mut hint = Hint::new();
    if let Some(ext) = ext {
        hint.with_extension(ext);
    }
    let mss = MediaSourceStream::new(source, Default::default());
    let mut format = symphonia::default::get_probe()
        .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
        .map_err(|e| match e {
            SymErr::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                corrupt("ends inside its header".into())
            }
            other => not_audio(other.to_string()),
        })?;

    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| not_audio("no audio track".into()))?;
    let track_id = track.id;
    let expected_frames = track.num_frames;
    let Some(CodecParameters::Audio(params)) = track.codec_params.clone() else {
        return Err(not_audio("no audio codec parameters".into()));
    };
    let channels = params.channels.as_ref().map(|c| c.count()).unwrap_or(1).max(1);
    let channel = channel.unwrap_or(0);
    if channel >= channels {
        return Err(InputError::NoSuchChannel {
            path: path.to_owned(),
            channels,
            requested: channel,
        });
    }
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| not_audio(format!("unsupported codec: {e}")))?;

    let mut samples = Vec::new();
    let mut sample_rate = params.sample_rate;
    let mut planes: Vec<Vec<f32>> = Vec::new();
    let mut packets = 0usize;
    let mut bad_packets = 0usize;
    let mut ended_early = false;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(SymErr::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                ended_early = true;
                break;
            }
            Err(SymErr::ResetRequired) => break,
            Err(e) => return Err(corrupt(e.to_string())),
        };
        if packet.track_id != track_id {
            continue;
        }
        packets += 1;
        match decoder.decode(&packet) {
            Ok(buf) => {
                sample_rate = Some(buf.spec().rate());
                buf.copy_to_vecs_planar::<f32>(&mut planes);
                if let Some(p) = planes.get(channel) {
                    samples.extend_from_slice(p);
                }
            }
            // A damaged packet is skipped, as players do; too many mean a broken file.
            Err(SymErr::DecodeError(_)) => bad_packets += 1,
            Err(SymErr::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                ended_early = true;
                break;
            }
            Err(e) => return Err(corrupt(e.to_string())),
        }
    }

    let sample_rate = sample_rate.filter(|&r| r > 0).ok_or_else(|| not_audio("unknown sample rate".into()))?;
    if bad_packets * 10 > packets {
        return Err(corrupt(format!("{bad_packets} of {packets} packets undecodable")));
    }
    if let Some(expected) = expected_frames {
        // Containers that state their length (WAV, FLAC) reveal a file cut short.
        let got = samples.len() as u64;
        if got + (sample_rate as u64 / 100) < expected {
            return Err(corrupt(format!(
                "truncated: the header promises {:.2} s, the file holds {:.2} s",
                expected as f64 / sample_rate as f64,
                got as f64 / sample_rate as f64
            )));
        }
    } else if ended_early && samples.is_empty() {
        return Err(corrupt("ends before its first audio packet".into()));
    }
    if samples.is_empty() {
        return Err(InputError::NoSamples { path: path.to_owned() });
    }
    Ok(DecodedAudio {
        samples,
        sample_rate,
        channels,
        channel,
    })
}
