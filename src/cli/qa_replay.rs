//! `voicegate replay CALL_ID`: QA replay. The caller's side of a recorded call (and the keys
//! it pressed out of band) runs through today's pipeline, on a dry-run shop; the decisions
//! (heard, intent, reply, handoff, dtmf) are lined up with the recorded ones and the
//! differences shown.

use std::path::Path;
use std::time::Instant;

use tokio::sync::mpsc;

use crate::audio;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::events::{Event, EventKind};
use crate::pipeline::decisions::{compare, decisions, Decision, Line};
use crate::pipeline::{run_audio_call, CallSpec, Engines, Pacing};
use crate::store::{CallRow, Store};

use super::replay_cmd::ReplayArgs;

pub fn run(config: Config, store: &Store, call: CallRow, args: &ReplayArgs) -> Result<()> {
    let recorded = store.events(&call.id)?;
    let Some(recording) = call.recording.clone() else {
        return Err(Error::Input(crate::error::InputError::Unusable { what: call.id.clone(), reason: "this call has no recording".into() }));
    };
    // The caller's side: the left channel.
    let audio = audio::load_for_pipeline(Path::new(&recording), Some(0))?;
    let engines = Engines::load(config)?;
    // The bot spoke first if its first reply answered nobody.
    let greet = recorded.iter().find_map(|e| match &e.kind {
        EventKind::BotReply { in_reply_to_ms, .. } => Some(in_reply_to_ms.is_none()),
        EventKind::SpeechStarted { .. } => Some(false),
        _ => None,
    }) == Some(true);
    let keys: Vec<(u64, char)> = recorded
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Dtmf { digit, out_of_band: true } => digit.chars().next().map(|k| (e.t_ms, k)),
            _ => None,
        })
        .collect();
    // The language the call started in: as asked, else that of its first transcript, so a
    // Chinese call is heard by the recogniser that heard it live.
    let lang = args.lang.clone().or_else(|| {
        recorded.iter().find_map(|e| match &e.kind {
            EventKind::Transcript { is_final: true, lang, .. } if lang == "zh" || lang == "en" => Some(lang.clone()),
            _ => None,
        })
    });
    let spec = CallSpec { call_id: format!("qa-{}", call.id), source: format!("qa:{}", call.id), pacing: Pacing::Simulated, respond: true, greet, live: false, lang };
    let started = Instant::now();
    let mut new = super::runtime()?.block_on(async move {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let dialog = engines.new_dialog(true);
        run_audio_call(engines, spec, dialog, audio.samples, keys, tx).await?;
        let mut events = Vec::new();
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        Ok::<Vec<Event>, Error>(events)
    })?;
    new.sort_by_key(|e| e.t_ms);
    let lines = compare(&decisions(&recorded), &decisions(&new));
    let differ = lines.iter().filter(|l| l.differs()).count();
    if args.json {
        for l in &lines {
            println!("{}", serde_json::to_string(l).unwrap_or_default());
        }
    } else {
        println!("QA replay of call {} ({} from {}, {}) through today's pipeline:", call.id, call.started_at, call.caller, recording);
        for l in &lines {
            print_line(l);
        }
    }
    let summary = serde_json::json!({
        "qa": "replay",
        "call_id": call.id,
        "decisions_recorded": lines.iter().filter(|l| !matches!(l, Line::Now { .. })).count(),
        "decisions_now": lines.iter().filter(|l| !matches!(l, Line::Recorded { .. })).count(),
        "differences": differ,
        "wall_s": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    });
    if !args.json {
        println!("{differ} decision(s) differ out of {}", lines.len());
    }
    println!("{summary}");
    Ok(())
}

fn clock(ms: u64) -> String {
    format!("{:02}:{:02}.{:01}", ms / 60_000, (ms / 1000) % 60, (ms % 1000) / 100)
}

fn show(d: &Decision) -> String {
    format!("{:<7} {}", d.kind, d.value)
}

fn print_line(l: &Line) {
    match l {
        Line::Same { recorded } => println!("    [{}]   {}", clock(recorded.t_ms), show(recorded)),
        Line::Recorded { recorded } => println!("  - [{}]   {}   (recorded; not decided now)", clock(recorded.t_ms), show(recorded)),
        Line::Now { now } => println!("  + [{}]   {}   (new; not in the recording)", clock(now.t_ms), show(now)),
        Line::Changed { recorded, now } => {
            println!("  - [{}]   {}", clock(recorded.t_ms), show(recorded));
            println!("  + [{}]   {}", clock(now.t_ms), show(now));
        }
    }
}
