//! `voicegate replay CALL_ID`: QA replay. The caller's side of a recorded call (and the keys
//! it pressed out of band) runs through today's pipeline, on a dry-run shop; the decisions
//! (heard, intent, reply, handoff, dtmf) are lined up with the recorded ones and the
//! differences shown.

use std::time::Instant;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::pipeline::decisions::{Decision, Line};
use crate::pipeline::Engines;
use crate::store::{CallRow, Store};

use super::replay_cmd::ReplayArgs;

pub fn run(config: Config, store: &Store, call: CallRow, args: &ReplayArgs) -> Result<()> {
    let recorded = store.events(&call.id)?;
    let Some(recording) = call.recording.clone() else {
        return Err(Error::Input(crate::error::InputError::Unusable { what: call.id.clone(), reason: "this call has no recording".into() }));
    };
    let engines = Engines::load(config)?;
    let started = Instant::now();
    let lines = super::runtime()?.block_on(crate::pipeline::qa_replay::replay_call(engines, &call, &recorded, args.lang.clone()))?;
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
