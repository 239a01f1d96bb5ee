//! `voicegate replay FILE`: a file through the pipeline as if it were a call.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;

use crate::audio::{self, PipelineAudio};
use crate::config::Config;
use crate::error::Result;
use crate::events::{Event, EventKind};
use crate::pipeline::{run_file_call, CallRecord, CallSpec, Engines};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Audio file (WAV, FLAC, MP3 or OGG/Vorbis, any sample rate), or the id of a recorded
    /// call: its caller side runs through today's pipeline and the decisions that differ from
    /// the recorded ones are shown (QA replay; the shop is not changed)
    pub file: PathBuf,
    /// Print the call's events as JSON lines instead of the timeline
    #[arg(long)]
    pub json: bool,
    /// Channel of a multi-channel file to use as the caller (counting from 0)
    #[arg(long, value_name = "N")]
    pub channel: Option<usize>,
    /// Pace the audio at wall-clock speed, as a live call would arrive
    #[arg(long)]
    pub realtime: bool,
    /// Call id for the events (default: replay-<file name>)
    #[arg(long)]
    pub call_id: Option<String>,
    /// Write the simulated call as a stereo WAV: the caller left, the bot right, on the call's
    /// real timeline
    #[arg(long, value_name = "WAV")]
    pub out: Option<PathBuf>,
    /// Only listen (transcripts and NLU); the bot does not answer
    #[arg(long)]
    pub listen_only: bool,
    /// The bot greets the caller first, as on a live call
    #[arg(long)]
    pub greet: bool,
    /// The language the caller starts in, as the app's locale or the number dialled tells a
    /// live call: "zh" is transcribed by the Chinese recogniser (models.asr_zh)
    #[arg(long, value_name = "LANG", value_parser = ["en", "zh"])]
    pub lang: Option<String>,
}

pub fn run(config: Config, args: ReplayArgs) -> Result<()> {
    if !args.file.exists() {
        let id = args.file.to_string_lossy().to_string();
        let store = crate::store::Store::open(&config.store.path)?;
        return match store.call(&id)? {
            Some(call) => super::qa_replay::run(config, &store, call, &args),
            None => Err(super::calls_cmd::unknown_call(&id)),
        };
    }
    // Bad input is reported before any model is loaded.
    let audio = audio::load_for_pipeline(&args.file, args.channel)?;
    let engines = Engines::load(config)?;
    let call_id = args.call_id.clone().unwrap_or_else(|| {
        format!(
            "replay-{}",
            args.file.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default()
        )
    });
    let mut spec = CallSpec::replay(call_id, format!("file:{}", args.file.display()), args.realtime);
    spec.respond = !args.listen_only;
    spec.greet = args.greet;
    spec.lang = args.lang.clone();
    if !args.json {
        print_header(&args, &audio);
    }
    let duration_ms = audio.duration_ms();
    let started = Instant::now();
    let caller = audio.samples.clone();
    let (events, record) = super::runtime()?.block_on(replay(engines, spec, audio.samples, &args))?;
    if let Some(out) = &args.out {
        write_call(out, &caller, &record)?;
    }
    if !args.json {
        print_footer(&events, duration_ms, started.elapsed().as_secs_f64());
        if let Some(out) = &args.out {
            println!("wrote {} (caller left, bot right)", out.display());
        }
    }
    Ok(())
}

/// The call as a stereo WAV: the caller's audio left, the bot's frames right, each at its time.
pub fn write_call(path: &std::path::Path, caller: &[f32], record: &CallRecord) -> Result<()> {
    let end = record.bot.last().map(|f| crate::audio::frame::ms_to_samples(f.t_ms) + f.samples.len()).unwrap_or(0);
    let n = caller.len().max(end);
    let mut left = caller.to_vec();
    left.resize(n, 0.0);
    let mut right = vec![0.0f32; n];
    for f in &record.bot {
        let at = crate::audio::frame::ms_to_samples(f.t_ms);
        right[at..at + f.samples.len()].copy_from_slice(&f.samples);
    }
    crate::audio::wav::write_wav(path, &[&left, &right], crate::audio::SAMPLE_RATE)
}

/// Runs the call; events stream out as they happen in real time, and in timeline order when
/// the file runs faster than real time.
async fn replay(
    engines: std::sync::Arc<Engines>,
    spec: CallSpec,
    samples: Vec<f32>,
    args: &ReplayArgs,
) -> Result<(Vec<Event>, CallRecord)> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let total_ms = crate::audio::frame::samples_to_ms(samples.len());
    let call = tokio::spawn(run_file_call(engines, spec, samples, tx));
    let bar = progress_bar(total_ms, args.realtime);
    let mut events = Vec::new();
    while let Some(ev) = rx.recv().await {
        bar.set_position(ev.t_ms.min(total_ms));
        if args.realtime {
            print_event(&ev, args.json);
        }
        events.push(ev);
    }
    bar.finish_and_clear();
    let record = call.await.map_err(|e| crate::error::Error::internal(format!("call task: {e}")))??;
    if !args.realtime {
        events.sort_by_key(|e| e.t_ms);
        for ev in &events {
            print_event(ev, args.json);
        }
    }
    Ok((events, record))
}

fn progress_bar(total_ms: u64, realtime: bool) -> ProgressBar {
    // Only long work gets a bar; it draws on stderr and hides itself when that is not a terminal.
    if realtime || total_ms < 30_000 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total_ms);
    bar.set_style(
        ProgressStyle::with_template("replaying [{bar:30}] {percent}% ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

fn clock(ms: u64) -> String {
    format!("{:02}:{:02}.{:02}", ms / 60_000, (ms / 1000) % 60, (ms % 1000) / 10)
}

fn print_header(args: &ReplayArgs, audio: &PipelineAudio) {
    let channels = if audio.source_channels > 1 {
        format!("channel {} of {}", audio.channel, audio.source_channels)
    } else {
        "mono".to_string()
    };
    println!(
        "replay {}: {:.1} s, {} Hz {} -> 16 kHz{}",
        args.file.display(),
        audio.duration_ms() as f64 / 1000.0,
        audio.source_rate,
        channels,
        if args.realtime { ", real time" } else { "" }
    );
}

pub fn print_event(ev: &Event, json: bool) {
    if json {
        println!("{}", ev.to_json());
        return;
    }
    match &ev.kind {
        EventKind::Transcript { is_final: true, text, start_ms, end_ms, asr_ms, .. } => {
            println!("  [{} -> {}]  {text}   (asr {asr_ms} ms)", clock(*start_ms), clock(*end_ms));
        }
        EventKind::Transcript { is_final: false, text, end_ms, .. } => {
            println!("  [{}]  ... {text}", clock(*end_ms));
        }
        EventKind::Intent { intent, confidence, entities, .. } => {
            let ents: Vec<String> = entities
                .iter()
                .map(|e| {
                    let kind = serde_json::to_value(&e.kind).ok().and_then(|v| v.as_str().map(str::to_string));
                    format!("{} {}", kind.unwrap_or_default(), e.value)
                })
                .collect();
            let ents = if ents.is_empty() { String::new() } else { format!("; {}", ents.join(", ")) };
            println!("      intent  {intent} ({confidence:.2}){ents}");
        }
        EventKind::Emotion { is_final: false, .. } => {}
        EventKind::Emotion { source, label, score, sentiment, anger, .. } => {
            let s = sentiment.map(|s| format!(", sentiment {s:+.2}")).unwrap_or_default();
            let a = anger.map(|a| format!(", anger {a:.2}")).unwrap_or_default();
            println!("      emotion {label} ({score:.2}, {source}{a}){s}");
        }
        EventKind::Dtmf { digit, .. } => println!("  [{}]  caller pressed {digit}", clock(ev.t_ms)),
        EventKind::Handoff { reason, context } => {
            println!("  [{}]  HANDOFF to a person ({reason}): {}", clock(ev.t_ms), context.summary)
        }
        EventKind::BotReply { text, .. } => println!("  [{}]  bot: {text}", clock(ev.t_ms)),
        EventKind::TtsStarted { .. } => println!("  [{}]  bot starts speaking", clock(ev.t_ms)),
        EventKind::TtsInterrupted { played_ms, dropped_ms, .. } => println!(
            "  [{}]  bot interrupted by the caller after {played_ms} ms ({dropped_ms} ms not said)",
            clock(ev.t_ms)
        ),
        _ => {}
    }
}

fn print_footer(events: &[Event], duration_ms: u64, wall_s: f64) {
    let utterances = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Transcript { is_final: true, .. }))
        .count();
    let speeds = if wall_s > 0.0 {
        format!(" ({:.1}x real time)", duration_ms as f64 / 1000.0 / wall_s)
    } else {
        String::new()
    };
    if utterances == 0 {
        println!("  (no speech)");
    }
    println!(
        "{utterances} utterance(s); {:.1} s of audio in {:.1} s{speeds}",
        duration_ms as f64 / 1000.0,
        wall_s
    );
}
