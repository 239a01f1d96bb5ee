//! Audio redaction (`privacy.redact_audio`): phone, card and ID numbers silenced in a stored
//! recording. Each channel (caller left; bot or agent right) is transcribed whole with token
//! times, the numbers in its words are located ([`super::spoken_numbers`]) and their samples
//! set to zero; the rest of the file is kept sample for sample. The new file replaces the old
//! one in one rename, so a reader sees either the old recording or the redacted one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::audio::{DecodedAudio, PipelineAudio};
use crate::error::{Error, InputError, Result};
use crate::pipeline::whisper::WhisperModel;

use super::spoken_numbers::{number_times, PAD_MS};

/// One silenced stretch of a recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    /// "caller" (left) or "other" (right: the bot or an agent).
    pub channel: String,
    /// What was said there: "phone", "card" or "id_number".
    pub kind: String,
    pub start_ms: u64,
    pub end_ms: u64,
}

/// The channels of a call's recording, by position.
const CHANNELS: [&str; 2] = ["caller", "other"];
/// A channel whose loudest sample is below this (about -50 dBFS) holds no speech to redact.
const SILENT_PEAK: i16 = 100;

/// Silences the numbers said in the recording at `path` (16-bit WAV, mono or stereo), in
/// place; what was silenced. `language` is the call's ("en", "zh" or "auto").
pub fn redact_file(path: &Path, model: &WhisperModel, language: &str, threads: usize) -> Result<Vec<Redaction>> {
    let (spec, mut channels) = read(path)?;
    let length_ms = channels.first().map_or(0, |c| c.len() as u64 * 1000 / spec.sample_rate.max(1) as u64);
    let mut state = model.new_state()?;
    let mut done = Vec::new();
    for (ch, samples) in channels.iter_mut().enumerate() {
        if samples.iter().all(|s| s.unsigned_abs() < SILENT_PEAK as u16) {
            continue;
        }
        let audio = to_pipeline_rate(samples, spec.sample_rate)?;
        let tokens = model.transcribe_timed(&mut state, &audio, language, threads)?;
        if tracing::enabled!(tracing::Level::DEBUG) {
            let timed: Vec<String> = tokens.iter().map(|t| format!("{}@{}-{}", t.text, t.t0_ms, t.t1_ms)).collect();
            tracing::debug!(channel = CHANNELS.get(ch).copied().unwrap_or("other"), tokens = %timed.join("|"), "heard for redaction");
        }
        let rate = spec.sample_rate as u64;
        for span in number_times(&tokens, PAD_MS, length_ms) {
            let len = samples.len();
            let at = |ms: u64| ((ms * rate / 1000) as usize).min(len);
            let (start, end) = (at(span.start_ms), at(span.end_ms));
            let (a, b) = out_to_quiet(samples, (rate / 50) as usize, start.min(end), end);
            samples[a..b].fill(0);
            let ms = |i: usize| i as u64 * 1000 / rate.max(1);
            done.push(Redaction { channel: CHANNELS.get(ch).copied().unwrap_or("other").into(), kind: span.kind.as_str().into(), start_ms: ms(a), end_ms: ms(b) });
        }
    }
    if !done.is_empty() {
        write_over(path, spec, &channels)?;
    }
    Ok(done)
}

/// A frame quieter than this (peak, about -40 dBFS) is a pause between words.
const QUIET_PEAK: u16 = 330;
/// How far the end moves out to reach a pause.
const MAX_EXTRA_FRAMES: usize = 10;

/// `a..b` with its end moved out, 20 ms `frame` by frame, until it sits in a pause (at most
/// 0.2 s more): Whisper's times end a number up to half a second early (its last token's end),
/// so where the padded end is still inside a word, the rest of the word goes too. The start
/// stays: Whisper places a number's first token early rather than late, and moving it out
/// took the words before with it.
fn out_to_quiet(samples: &[i16], frame: usize, a: usize, mut b: usize) -> (usize, usize) {
    let loud = |from: usize, to: usize| samples.get(from..to).is_some_and(|f| f.iter().any(|s| s.unsigned_abs() >= QUIET_PEAK));
    let frame = frame.max(1);
    for _ in 0..MAX_EXTRA_FRAMES {
        if b >= samples.len() || !loud(b, (b + frame).min(samples.len())) {
            break;
        }
        b = (b + frame).min(samples.len());
    }
    (a, b)
}

/// The file's channels, each as its 16-bit samples.
fn read(path: &Path) -> Result<(hound::WavSpec, Vec<Vec<i16>>)> {
    let bad = |reason: String| Error::Input(InputError::Unreadable { path: path.to_owned(), reason });
    let mut r = hound::WavReader::open(path).map_err(|e| match e {
        // A file there but too short for a header is not a recording either.
        hound::Error::IoError(io) if matches!(io.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied) => Error::Input(InputError::from_io(path, io)),
        e => bad(format!("not a WAV recording ({e})")),
    })?;
    let spec = r.spec();
    if spec.bits_per_sample != 16 || spec.sample_format != hound::SampleFormat::Int || !(1..=2).contains(&spec.channels) {
        return Err(bad(format!("a recording is 16-bit PCM, mono or stereo; this is {} channels of {}-bit {:?}", spec.channels, spec.bits_per_sample, spec.sample_format)));
    }
    let n = spec.channels as usize;
    // The header's length is not trusted beyond what the file can hold.
    let file_samples = std::fs::metadata(path).map(|m| m.len() / 2).unwrap_or(0);
    let mut channels = vec![Vec::with_capacity((r.len() as u64).min(file_samples) as usize / n); n];
    for (i, s) in r.samples::<i16>().enumerate() {
        channels[i % n].push(s.map_err(|e| bad(format!("truncated or corrupt ({e})")))?);
    }
    Ok((spec, channels))
}

/// One channel as the recogniser takes it: 16 kHz floats, converted as a replay converts it.
fn to_pipeline_rate(samples: &[i16], rate: u32) -> Result<Vec<f32>> {
    let samples = samples.iter().map(|&s| s as f32 / 32768.0).collect();
    Ok(PipelineAudio::from_decoded(DecodedAudio { samples, sample_rate: rate, channels: 1, channel: 0 })?.samples)
}

/// Writes `channels` beside `path` and renames the new file over it.
fn write_over(path: &Path, spec: hound::WavSpec, channels: &[Vec<i16>]) -> Result<()> {
    let tmp: PathBuf = path.with_extension("redacting.wav");
    let io = |e: hound::Error| Error::Input(InputError::Unreadable { path: tmp.clone(), reason: format!("cannot write: {e}") });
    let mut w = hound::WavWriter::create(&tmp, spec).map_err(io)?;
    let n = channels.first().map_or(0, Vec::len);
    for i in 0..n {
        for c in channels {
            w.write_sample(c.get(i).copied().unwrap_or(0)).map_err(io)?;
        }
    }
    w.finalize().map_err(io)?;
    // On disk before it replaces the recording: a crash leaves one whole file or the other.
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(|e| Error::Input(InputError::from_io(&tmp, e)))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::Input(InputError::from_io(path, e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_end_inside_a_word_moves_out_to_the_pause_and_no_further() {
        // 10 quiet frames, 10 loud (a word), 10 quiet, 10 loud, 10 quiet; 160 samples a frame.
        let mut s = Vec::new();
        for i in 0..5 {
            s.extend(std::iter::repeat_n(if i % 2 == 1 { 5000i16 } else { 10 }, 1600));
        }
        // A span from the middle of the first word to the middle of the second: the end moves
        // to the pause after the second, the start stays.
        assert_eq!(out_to_quiet(&s, 160, 2400, 5600), (2400, 6400));
        // An end already in a pause stays.
        assert_eq!(out_to_quiet(&s, 160, 1000, 3500), (1000, 3500));
        // At most 0.2 s more: a word that never ends is cut there.
        let long = vec![5000i16; 16_000];
        assert_eq!(out_to_quiet(&long, 160, 8000, 8160), (8000, 8160 + 10 * 160));
    }
}
