//! Audio core: pure functions and small structs. Conversion to the pipeline's format (16 kHz
//! mono f32, 20 ms frames) happens only here, at the edges.

pub mod decode;
pub mod dtmf;
pub mod frame;
pub mod g711;
pub mod opus;
pub mod rate2x;
pub mod resample;
pub mod wav;
pub mod wav_stream;

use std::path::Path;

pub use decode::{decode_file, DecodedAudio};
pub use frame::{frames, AudioFrame, FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE};

use crate::error::Result;

/// A sample in [-1, 1] as 16-bit PCM, rounded and clamped.
pub fn to_i16(x: f32) -> i16 {
    (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

/// A file's chosen channel, decoded and resampled to the pipeline's 16 kHz.
#[derive(Debug, Clone)]
pub struct PipelineAudio {
    pub samples: Vec<f32>,
    /// What the file was before conversion.
    pub source_rate: u32,
    pub source_channels: usize,
    pub channel: usize,
}

impl PipelineAudio {
    pub fn duration_ms(&self) -> u64 {
        frame::samples_to_ms(self.samples.len())
    }

    pub fn from_decoded(d: DecodedAudio) -> Result<Self> {
        // 8 kHz (a phone call's recording) goes up by the phone leg's own filter, so that a
        // replay hears exactly what the live call heard; other rates by the resampler.
        let samples = if d.sample_rate == SAMPLE_RATE / 2 {
            rate2x::Upsampler2x::default().process(&d.samples)
        } else {
            resample::resample(&d.samples, d.sample_rate, SAMPLE_RATE)?
        };
        Ok(Self {
            samples,
            source_rate: d.sample_rate,
            source_channels: d.channels,
            channel: d.channel,
        })
    }
}

/// Decodes `path` and converts the chosen channel to 16 kHz mono.
pub fn load_for_pipeline(path: &Path, channel: Option<usize>) -> Result<PipelineAudio> {
    PipelineAudio::from_decoded(decode_file(path, channel)?)
}
