//! `voicegate bench ...`: measurements, each ending with one JSON summary line on stdout.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::bench::{asr, dataset};
use crate::config::Config;
use crate::error::Result;
use crate::pipeline::Engines;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Word error rate and real-time factor of the replay pipeline over a folder of audio with
    /// transcripts, next to a direct whole-file decode with the same model
    Asr(AsrArgs),
    /// Intent accuracy, macro-F1, per-intent confusions, emotion accuracy and latency of the
    /// NLU over a TSV with the header `lang intent emotion text`
    Nlu(NluBenchArgs),
    /// Voice-to-voice latency per turn of the conversation fixtures, run in real time, broken
    /// down into end-of-turn detection, ASR, NLU + dialog and TTS first audio
    Latency(LatencyArgs),
    /// Anger against calm speech and four classes (angry, neutral, happy, sad) from prosody:
    /// leave-one-speaker-out over a corpus folder (EmoDB or CASIA layout), cross-corpus with
    /// --cross, or an existing model scored with --model
    Anger(AngerBenchArgs),
    /// Concurrent calls: starts its own gateways and calls them with the built-in SIP caller
    /// (and, with --webrtc, the built-in WebRTC caller), raising the number of calls until one
    /// falls behind real time (a bot frame over 40 ms late, ASR queue wait p95 over 500 ms);
    /// with the full pipeline, then media only
    Calls(CallsBenchArgs),
    /// Warm transfer to a SIP agent: starts its own gateway with one SIP agent (a phone in
    /// this process that answers at once), hands calls off (the caller presses 0), and
    /// measures handoff to offer, answer to bridged (with the whisper) and the mouth-to-ear
    /// delay the bridge adds, both ways
    Transfer(TransferBenchArgs),
}

#[derive(Debug, Args)]
pub struct TransferBenchArgs {
    /// Calls handed off, one after another
    #[arg(short = 'n', long, default_value_t = 3)]
    pub calls: usize,
    /// One JSON line per call (the summary line ends the output either way)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CallsBenchArgs {
    /// The most concurrent calls with the full pipeline to try (0: skip this ladder)
    #[arg(short = 'n', long, default_value_t = 32)]
    pub calls: usize,
    /// The most concurrent media-only calls (ASR off: media and recording) to try (0: skip)
    #[arg(long, default_value_t = 3000)]
    pub media_only: usize,
    /// The most concurrent bridged calls to try (0: none): a gateway with the AI off puts each
    /// call straight through to one of as many SIP agents (phones in this process that answer
    /// at once and send back what they hear); each step also checks every call was bridged
    /// and every agent heard its caller after the whisper
    #[arg(long, default_value_t = 0)]
    pub bridged: usize,
    /// Start each ladder at its first step of at least this many calls (the ladders' tops are
    /// always run): to repeat the steps near a limit without the ones below
    #[arg(long, default_value_t = 1)]
    pub from: usize,
    /// What each caller says
    #[arg(long, default_value = "audio-fixtures/en_order_status.wav")]
    pub play: PathBuf,
    /// Seconds each call stays on after speaking, to hear the answer
    #[arg(long, default_value_t = 6.0)]
    pub listen: f64,
    /// Times each caller speaks and listens in one call: all the step's calls are up together
    /// for all but the first of them
    #[arg(long, default_value_t = 3)]
    pub turns: usize,
    /// Runs of each step: its figures are the median run's, with their spread; the step is in
    /// real time only if every run is
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// One JSON line per step (the summary line ends the output either way)
    #[arg(long)]
    pub json: bool,
    /// Also in-app calls over WebRTC (Opus), on the same ladders, after the SIP ones
    #[arg(long)]
    pub webrtc: bool,
    /// The most concurrent media-only WebRTC calls to try (each is a DTLS-SRTP peer connection
    /// in the bench and one in the gateway)
    #[arg(long, default_value_t = 200)]
    pub webrtc_media_only: usize,
}

#[derive(Debug, Args)]
pub struct AngerBenchArgs {
    /// Corpus folders: EmoDB (files such as 03a01Wa.flac) or CASIA (<speaker>/<emotion>/*.flac),
    /// e.g. ../shared/datasets/emotion/emodb; several are pooled, speakers left out one by one
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Also train on all of DIR and test on this other corpus
    #[arg(long, value_name = "DIR")]
    pub cross: Option<PathBuf>,
    /// Score the model in this folder (anger.json) on DIR instead of training
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// One JSON line per fold (the summary line ends the output either way)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LatencyArgs {
    /// Folder of fixtures with a manifest.toml; the ones marked `conversation = true` are run
    #[arg(default_value = "audio-fixtures")]
    pub dir: PathBuf,
    /// One JSON line per turn (the summary line ends the output either way)
    #[arg(long)]
    pub json: bool,
    /// Replay faster than real time instead (each stage's measured time kept on the timeline)
    #[arg(long)]
    pub simulated: bool,
    /// Also angry callers built from this emotional-speech corpus (EmoDB, or the CASIA/RAVDESS
    /// layout), the anger model's held-out speakers: two calm turns, then four angry ones,
    /// with every escalation but anger off; reports how soon after the angry turn ended each
    /// call was handed off (e.g. ../shared/datasets/emotion/emodb)
    #[arg(long, value_name = "DIR")]
    pub angry: Option<PathBuf>,
    /// Also Mandarin callers: the real recordings of this folder (e.g.
    /// ../shared/datasets/asr/zh) spoken one after another into a call in Chinese, 2.5 s apart,
    /// with the escalations off as for --angry; their turns are reported under `langs.zh`
    #[arg(long, value_name = "DIR")]
    pub zh: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct NluBenchArgs {
    /// Test file, e.g. tests/data/nlu_test.tsv
    pub file: PathBuf,
    /// Per-intent figures and misses as JSON lines (the summary line ends the output either way)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AsrArgs {
    /// Folder of audio: LibriSpeech layout (*.trans.txt), a transcripts.tsv (file<TAB>text), or
    /// voicegate's audio-fixtures (manifest.toml)
    pub dir: PathBuf,
    /// Transcripts file instead of the folder's own: TSV (file<TAB>text) or an Asterisk prompt
    /// list (name: text, may be .gz); names are relative to DIR
    #[arg(long, value_name = "FILE")]
    pub transcripts: Option<PathBuf>,
    /// One JSON line per file (the summary line ends the output either way)
    #[arg(long)]
    pub json: bool,
    /// Skip the direct whole-file decode (halves the time; no wer_direct)
    #[arg(long)]
    pub no_direct: bool,
    /// Only the first N files
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Speak each file into a real phone call to a gateway of the bench's own (G.711, real
    /// time) and replay the call's recording as QA replay does: WER and order numbers right,
    /// live against replay
    #[arg(long)]
    pub live: bool,
    /// With --live: seconds each call stays on after the file, for its last transcript
    #[arg(long, default_value_t = 5.0)]
    pub listen: f64,
    /// The files' language: `en` or `zh` for all of them, or `auto` to have the pipeline
    /// identify it from each file's first utterance (`asr.identify_language`) and report what it
    /// chose. Without it: the layout's language, else Chinese for references in Chinese
    /// characters, else English. Chinese is scored per character (CER), English per word (WER)
    #[arg(long, value_name = "LANG", value_parser = ["en", "zh", "auto"])]
    pub lang: Option<String>,
}

pub fn run(config: Config, cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Asr(a) => bench_asr(config, a),
        BenchCommand::Nlu(a) => bench_nlu(config, a),
        BenchCommand::Latency(a) => bench_latency(config, a),
        BenchCommand::Transfer(a) => crate::bench::transfer::run(crate::bench::transfer::TransferBench { config, calls: a.calls, json: a.json }),
        BenchCommand::Calls(a) => crate::bench::calls::run(crate::bench::calls::CallsBench { config, max_pipeline: a.calls, max_media: a.media_only, max_bridged: a.bridged, from: a.from, fixture: a.play, listen_s: a.listen, turns: a.turns.max(1), repeat: a.repeat.max(1), json: a.json, webrtc: a.webrtc.then_some(a.webrtc_media_only.max(1)) }),
        BenchCommand::Anger(a) => crate::bench::anger::run(&a.dirs.iter().map(|d| d.as_path()).collect::<Vec<_>>(), a.cross.as_deref(), a.model.as_deref(), a.json),
    }
}

fn bench_asr_live(
    config: &Config,
    engines: &std::sync::Arc<Engines>,
    items: &[crate::bench::dataset::Item],
    args: &AsrArgs,
) -> Result<()> {
    let bar = ProgressBar::new(items.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("bench asr --live [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let listen = std::time::Duration::from_secs_f64(args.listen.max(0.5));
    let results = super::runtime()?.block_on(crate::bench::asr_live::run(
        config,
        engines,
        items,
        listen,
        |f| {
            bar.set_message(f.rsplit('/').next().unwrap_or(f).to_string());
            bar.inc(1);
        },
    ))?;
    bar.finish_and_clear();
    for r in &results {
        if args.json {
            println!("{}", serde_json::to_string(r).unwrap_or_default());
            continue;
        }
        let same = if r.live == r.replay {
            "same"
        } else {
            "DIFFERENT"
        };
        println!(
            "{}: {same}\n  ref:    {}\n  live:   {}\n  replay: {}",
            r.file, r.reference, r.live, r.replay
        );
    }
    println!("{}", crate::bench::asr_live::summary(&results));
    Ok(())
}

fn bench_latency(config: Config, args: LatencyArgs) -> Result<()> {
    use crate::bench::latency;
    let files = latency::conversations(&args.dir)?;
    let angry_dir = tempfile::tempdir().map_err(crate::error::Error::internal)?;
    let angry_calls = match &args.angry {
        Some(dir) => {
            let held_out = crate::prosody::AngerModel::load(&config.anger.dir)?.held_out;
            latency::angry_calls(dir, &held_out, angry_dir.path())?
        }
        None => Vec::new(),
    };
    // Built before the fixtures run, so that a wrong folder is said at once.
    let mandarin_call = args.zh.as_deref().map(|dir| latency::mandarin_call(dir, angry_dir.path())).transpose()?;
    // Angry and Mandarin callers meet an escalation policy that listens for anger alone (the
    // corpora's words are German, acted or read, not a shop's conversation: not understanding
    // them must not end the call).
    let anger_only = {
        let mut c = config.clone();
        let e = &mut c.escalation;
        (e.caller_request, e.refund_dispute, e.not_understood_turns, e.unresolved_turns) = (false, false, 0, 0);
        e.high_risk_intents.clear();
        c
    };
    let engines = Engines::load(config)?;
    let pacing = if args.simulated { crate::pipeline::Pacing::Simulated } else { crate::pipeline::Pacing::RealTime };
    let turns = super::runtime()?.block_on(async {
        let mut all = Vec::new();
        for f in &files {
            eprintln!("bench latency: {} ...", f.display());
            for t in latency::bench_file(&engines, f, pacing, None).await? {
                if args.json {
                    println!("{}", serde_json::to_string(&t).unwrap_or_default());
                } else {
                    println!(
                        "{:>6} ms  eot {:>4} ({:<8}) asr {:>4} (wait {:>3})  nlu+dialog {:>3}  tts {:>4}   {} @ {:.2} s{}",
                        t.total_ms,
                        t.eot_ms,
                        t.eot,
                        t.asr_ms,
                        t.asr_wait_ms,
                        t.nlu_dialog_ms,
                        t.tts_first_ms,
                        t.file,
                        t.speech_end_ms as f64 / 1000.0,
                        t.handoff_ms.map(|h| format!("  (handoff {h} ms after the end of the turn)")).unwrap_or_default()
                    );
                }
                all.push(t);
            }
        }
        Ok::<_, crate::error::Error>(all)
    })?;
    if mandarin_call.is_none() && angry_calls.is_empty() {
        println!("{}", serde_json::to_string(&latency::summarize(&turns, &[], pacing)).unwrap_or_default());
        return Ok(());
    }
    drop(engines);
    let engines = Engines::load(anger_only)?;
    let (mandarin, anger) = super::runtime()?.block_on(async {
        let mut mandarin = Vec::new();
        if let Some(f) = &mandarin_call {
            // Measured as on a gateway that has been up a moment: the Chinese recogniser warmed up.
            engines.warm_up().await;
            eprintln!("bench latency: {} (Mandarin) ...", f.display());
            for t in latency::bench_file(&engines, f, pacing, Some("zh")).await? {
                if args.json {
                    println!("{}", serde_json::to_string(&t).unwrap_or_default());
                } else {
                    println!("{:>6} ms  eot {:>4} ({:<8}) asr {:>4} (wait {:>3})  tts {:>4}   Mandarin [{}] @ {:.2} s", t.total_ms, t.eot_ms, t.eot, t.asr_ms, t.asr_wait_ms, t.tts_first_ms, t.lang, t.speech_end_ms as f64 / 1000.0);
                }
                mandarin.push(t);
            }
        }
        let mut calls = Vec::new();
        for f in &angry_calls {
            eprintln!("bench latency: {} (angry) ...", f.display());
            let turns = latency::bench_file(&engines, f, pacing, None).await?;
            let h = turns.iter().find(|t| t.handoff_reason.as_deref() == Some("anger"));
            match h.and_then(|t| t.handoff_ms.map(|ms| (t, ms))) {
                Some((t, ms)) => println!("  angry caller {}: handed off for anger {ms} ms after the end of the turn at {:.2} s", f.display(), t.speech_end_ms as f64 / 1000.0),
                None => println!("  angry caller {}: not handed off for anger", f.display()),
            }
            calls.push(turns);
        }
        Ok::<_, crate::error::Error>((mandarin, calls))
    })?;
    let mut summary = latency::summarize(&turns, &mandarin, pacing);
    if !angry_calls.is_empty() {
        summary.anger = Some(latency::AngerHandoffs::of(&anger));
    }
    println!("{}", serde_json::to_string(&summary).unwrap_or_default());
    Ok(())
}

fn bench_nlu(config: Config, args: NluBenchArgs) -> Result<()> {
    let rows = crate::bench::nlu::load_tsv(&args.file)?;
    let nlu = crate::nlu::Nlu::load(&config.nlu.dir)?;
    let report = crate::bench::nlu::evaluate(&nlu, &rows)?;
    if args.json {
        for s in &report.per_intent {
            println!("{}", serde_json::to_string(s).unwrap_or_default());
        }
        for m in &report.misses {
            println!("{}", serde_json::to_string(m).unwrap_or_default());
        }
    } else {
        println!("{:<24} {:>7} {:>9} {:>7} {:>6}  confused with", "intent", "support", "precision", "recall", "F1");
        for s in &report.per_intent {
            let confused: Vec<String> = s.confused_with.iter().map(|(p, n)| format!("{p} ({n})")).collect();
            println!(
                "{:<24} {:>7} {:>9.3} {:>7.3} {:>6.3}  {}",
                s.intent, s.support, s.precision, s.recall, s.f1, confused.join(", ")
            );
        }
        if !report.misses.is_empty() {
            println!("\nmisses:");
        }
        for m in &report.misses {
            println!("  [{}] {:<40} expected {}, got {} ({:.2})", m.lang, m.text, m.expected, m.got, m.confidence);
        }
    }
    println!("{}", serde_json::to_string(&report.summary).unwrap_or_default());
    Ok(())
}

fn bench_asr(mut config: Config, args: AsrArgs) -> Result<()> {
    let mut items = dataset::load(&args.dir, args.transcripts.as_deref())?;
    if let Some(n) = args.limit {
        items.truncate(n);
    }
    let identify = args.lang.as_deref() == Some("auto");
    if let Some(l) = args.lang.as_deref().filter(|l| *l != "auto") {
        for i in &mut items {
            i.lang = Some(l.to_string());
        }
    }
    config.asr.identify_language |= identify;
    let engines = Engines::load(config.clone())?;
    if identify && engines.asr_zh.is_none() {
        return Err(crate::error::Error::Config("--lang auto needs the Chinese recogniser (models.asr_zh), which did not load".into()));
    }
    // Each language is scored only where a recogniser speaks it: English, and Chinese when the
    // main model is multilingual or the Chinese one loaded.
    let speaks = |l: &str| l == "en" || engines.asr.model.multilingual || (l == "zh" && engines.asr_zh.is_some());
    items.retain(|i| speaks(&asr::expected_lang(i)));
    if args.live {
        return bench_asr_live(&config, &engines, &items, &args);
    }
    let direct = !args.no_direct;
    let bar = ProgressBar::new(items.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("bench asr [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let results = super::runtime()?.block_on(async {
        let mut results = Vec::new();
        for item in &items {
            bar.set_message(item.audio.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default());
            let r = match asr::bench_file(&engines, item, direct, identify).await {
                Ok(r) => r,
                Err(e) if e.exit_code() == 2 => {
                    // One unreadable file does not end the run; it is reported and skipped.
                    bar.suspend(|| eprintln!("voicegate: skipping {}: {e}", item.audio.display()));
                    bar.inc(1);
                    continue;
                }
                Err(e) => return Err(e),
            };
            bar.suspend(|| {
                if args.json {
                    println!("{}", serde_json::to_string(&r).unwrap_or_default());
                } else {
                    let (unit, rate, direct) = match r.cer {
                        Some(c) => ("CER", c, r.cer_direct),
                        None => ("WER", r.wer.unwrap_or(0.0), r.wer_direct),
                    };
                    let d = direct.map(|w| format!(" direct {:5.1}%", w * 100.0)).unwrap_or_default();
                    println!("{unit} {:5.1}%{d}  [{}] {}  | {}", rate * 100.0, r.lang_heard, r.file, r.hyp);
                }
            });
            bar.inc(1);
            results.push(r);
        }
        Ok::<_, crate::error::Error>(results)
    })?;
    bar.finish_and_clear();
    let summary = asr::summarize(&results, direct);
    println!("{}", serde_json::to_string(&summary).unwrap_or_default());
    Ok(())
}
