//! `voicegate redact CALL_ID|FILE`: phone, card and ID numbers silenced in a recording, as
//! `privacy.redact_audio` does after every call.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use indicatif::ProgressBar;

use crate::config::Config;
use crate::error::{Error, InputError, Result};
use crate::pii::redact_audio::{redact_file, Redaction};
use crate::pipeline::engines::load_recogniser;

#[derive(Debug, Args)]
#[command(after_help = "A recorded call's recording is changed in place, the spans kept as its `audio_redacted` event and in the audit log. A WAV file is changed in place unless --out names a copy.")]
pub struct RedactArgs {
    /// A recorded call's id (`voicegate calls` lists them), or a 16-bit WAV file
    pub target: String,
    /// Write the redacted file here and leave the original as it is (files only)
    #[arg(long, value_name = "WAV")]
    pub out: Option<PathBuf>,
    /// The language spoken in the file (a call's is read from its transcripts)
    #[arg(long, value_name = "LANG", value_parser = ["en", "zh"], default_value = "en")]
    pub lang: String,
    /// One JSON line per silenced span
    #[arg(long)]
    pub json: bool,
}

pub fn run(config: Config, args: RedactArgs) -> Result<()> {
    let file = Path::new(&args.target);
    let progress = |what: &str| {
        let p = if args.json { ProgressBar::hidden() } else { ProgressBar::new_spinner() };
        p.enable_steady_tick(std::time::Duration::from_millis(120));
        p.set_message(format!("transcribing {what} to find the numbers said in it"));
        p
    };
    let spans = if file.is_file() {
        let same = |out: &Path| std::fs::canonicalize(out).ok().is_some_and(|o| std::fs::canonicalize(file).ok().as_deref() == Some(o.as_path()));
        let target = match &args.out {
            Some(out) if same(out) => file.to_owned(),
            Some(out) => {
                std::fs::copy(file, out).map_err(|e| Error::Input(InputError::from_io(out, e)))?;
                out.clone()
            }
            None => file.to_owned(),
        };
        let model = load_recogniser(&config, &args.lang)?;
        let p = progress(&file.display().to_string());
        let spans = redact_file(&target, &model, &args.lang, threads());
        p.finish_and_clear();
        spans?
    } else {
        if args.out.is_some() {
            return Err(Error::Input(InputError::Invalid("--out is for files; a call's recording is redacted in place".into())));
        }
        let store = crate::store::Store::open(&config.store.path)?;
        let Some(call) = store.call(&args.target)? else {
            return Err(super::calls_cmd::unknown_call(&args.target));
        };
        let Some(recording) = call.recording.filter(|r| Path::new(r).is_file()) else {
            return Err(Error::Input(InputError::Unusable { what: args.target.clone(), reason: "the call has no recording on disk (deleted, or never recorded)".into() }));
        };
        let p = progress(&format!("call {}", call.id));
        let spans = crate::live::redaction::redact_call(|lang| load_recogniser(&config, lang).map(Arc::new), &store, &call.id, Path::new(&recording), "cli");
        p.finish_and_clear();
        spans?
    };
    print(&spans, args.json);
    Ok(())
}

fn print(spans: &[Redaction], json: bool) {
    if json {
        for s in spans {
            println!("{}", serde_json::to_string(s).unwrap_or_default());
        }
        return;
    }
    if spans.is_empty() {
        println!("no phone, card or ID number heard: nothing silenced");
    }
    for s in spans {
        println!("silenced {:<6} {:<9} {:>8.2} s - {:>8.2} s", s.channel, s.kind, s.start_ms as f64 / 1000.0, s.end_ms as f64 / 1000.0);
    }
}

fn threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}
