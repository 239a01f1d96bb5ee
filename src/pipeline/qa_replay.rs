//! QA replay of a recorded call: the caller's side of its recording (and the keys it pressed
//! out of band) through today's pipeline on a dry-run shop, as it was heard live (the
//! language it started in, the greeting if the bot spoke first). `decisions::compare` lines
//! the new decisions up with the recorded ones. Used by `voicegate replay CALL_ID` and the
//! QA console's replay button.

use std::path::Path;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::error::{Error, InputError, Result};
use crate::events::{Event, EventKind};
use crate::pipeline::decisions::{compare, decisions, Line};
use crate::pipeline::{run_audio_call, CallSpec, Engines, Pacing};
use crate::store::CallRow;

/// The events of `call` replayed now, in time order; `lang` forces the recogniser's language.
pub async fn replay_events(engines: Arc<Engines>, call: &CallRow, recorded: &[Event], lang: Option<String>) -> Result<Vec<Event>> {
    let Some(recording) = call.recording.clone() else {
        return Err(Error::Input(InputError::Unusable { what: call.id.clone(), reason: "this call has no recording".into() }));
    };
    // The caller's side: the left channel.
    let audio = tokio::task::spawn_blocking(move || crate::audio::load_for_pipeline(Path::new(&recording), Some(0))).await.map_err(Error::internal)??;
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
    let lang = lang.or_else(|| {
        recorded.iter().find_map(|e| match &e.kind {
            EventKind::Transcript { is_final: true, lang, .. } if lang == "zh" || lang == "en" => Some(lang.clone()),
            _ => None,
        })
    });
    let spec = CallSpec {
        call_id: format!("qa-{}", call.id),
        source: format!("qa:{}", call.id),
        pacing: Pacing::Simulated,
        respond: true,
        greet,
        live: false,
        lang,
        recorded_early_ends: Some(early_turn_ends(recorded)),
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let dialog = engines.new_dialog(true);
    run_audio_call(engines, spec, dialog, audio.samples, keys, tx).await?;
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    events.sort_by_key(|e| e.t_ms);
    Ok(events)
}

/// Where the recorded call's turns ended early (a complete sentence): their speech ends. The
/// replay ends its turns there too and nowhere else, so that a decode faster or slower than the
/// live call's does not split the caller's words into other turns.
pub fn early_turn_ends(recorded: &[Event]) -> Vec<u64> {
    recorded
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::SpeechEnded { end_ms, reason, .. } if reason == "complete" => Some(*end_ms),
            _ => None,
        })
        .collect()
}

/// The recorded call's decisions against today's.
pub async fn replay_call(engines: Arc<Engines>, call: &CallRow, recorded: &[Event], lang: Option<String>) -> Result<Vec<Line>> {
    let new = replay_events(engines, call, recorded, lang).await?;
    Ok(compare(&decisions(recorded), &decisions(&new)))
}
