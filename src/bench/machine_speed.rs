//! How fast this machine runs the recogniser right now: the bench's fixture decoded alone on one
//! thread, as one caller turn is under load. The 2-core machine this project is lent is not
//! equally fast every day (`bench asr` once decoded the fixtures at half the speed of another
//! day), and the AI calls held in real time follow that speed, so `bench calls` reports it
//! beside its ladder.

use std::path::Path;
use std::time::Instant;

use crate::config::Config;
use crate::error::Result;
use crate::pipeline::engines::load_recogniser;
use crate::pipeline::whisper::{DecodeMode, DecodeOptions};

/// Decodes of the fixture; the figure is their median.
const DECODES: usize = 3;

/// Milliseconds one decode of `fixture` takes on one thread with `config`'s recogniser
/// (`models.asr`), the median of three after one to warm up.
pub fn recogniser_ms_alone(config: &Config, fixture: &Path) -> Result<u64> {
    let audio = crate::audio::load_for_pipeline(fixture, None)?;
    let model = load_recogniser(config, "en")?;
    let mut state = model.new_state()?;
    let opts = DecodeOptions::from_config(&config.asr, 1);
    model.transcribe(&mut state, &audio.samples, DecodeMode::Utterance, &opts, None)?;
    let mut took = Vec::with_capacity(DECODES);
    for _ in 0..DECODES {
        let started = Instant::now();
        model.transcribe(&mut state, &audio.samples, DecodeMode::Utterance, &opts, None)?;
        took.push(started.elapsed().as_millis() as u64);
    }
    took.sort_unstable();
    Ok(super::percentile(&took, 0.5))
}
