//! `voicegate calls`: the recorded calls, newest first, and one call's events.

use clap::Args;

use crate::config::Config;
use crate::error::{Error, InputError, Result};

#[derive(Debug, Args)]
pub struct CallsArgs {
    /// Show this call's events instead of the list
    pub call_id: Option<String>,
    /// How many calls to list
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// One JSON object per line
    #[arg(long)]
    pub json: bool,
}

pub fn run(config: Config, args: CallsArgs) -> Result<()> {
    let store = crate::store::Store::open(&config.store.path)?;
    if let Some(id) = &args.call_id {
        let Some(call) = store.call(id)? else {
            return Err(unknown_call(id));
        };
        let events = store.events(id)?;
        if args.json {
            for e in &events {
                println!("{}", e.to_json());
            }
            return Ok(());
        }
        println!("call {} from {} over {} at {} ({})", call.id, call.caller, call.source.split(':').next().unwrap_or_default(), call.started_at, call.end_reason.as_deref().unwrap_or("in progress"));
        if let Some(r) = &call.recording {
            println!("recording {r}");
        }
        for e in &events {
            super::replay_cmd::print_event(e, false);
        }
        return Ok(());
    }
    let calls = store.calls(args.limit)?;
    if calls.is_empty() && !args.json {
        println!("no calls recorded in {}", store.path.display());
    }
    for c in calls {
        if args.json {
            println!("{}", serde_json::to_string(&c).unwrap_or_default());
            continue;
        }
        let dur = c.duration_ms.map(|d| format!("{:.1} s", d as f64 / 1000.0)).unwrap_or_else(|| "-".into());
        // The leg the call came over: sip, webrtc.
        let via = c.source.split(':').next().unwrap_or_default();
        println!("{:<22} {:<24} {:>8}  {:<14} {:>4} events  {:<6}  {}", c.id, c.started_at, dur, c.end_reason.as_deref().unwrap_or("in progress"), c.events, via, c.caller);
    }
    Ok(())
}

pub fn unknown_call(id: &str) -> Error {
    Error::Input(InputError::Unusable { what: id.into(), reason: "no such file, and no recorded call with this id (`voicegate calls` lists them)".into() })
}
