//! A call's recording redacted after the call (`privacy.redact_audio`): one call at a time, on
//! a thread of its own at the recognisers' lowered priority so live calls keep the CPU; the
//! result is an `audio_redacted` event of the call and a line of the audit log.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tracing::{info, warn};

use crate::error::{Error, Result};
use crate::events::{Event, EventKind};
use crate::pii::redact_audio::{redact_file, Redaction};
use crate::pipeline::whisper::WhisperModel;
use crate::pipeline::Engines;
use crate::store::Store;

static ONE_AT_A_TIME: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Redacts the ended call `call_id`'s recording in the background.
pub fn after_call(engines: Arc<Engines>, store: Arc<Store>, call_id: String, recording: PathBuf) {
    tokio::spawn(async move {
        let Ok(_turn) = ONE_AT_A_TIME.acquire().await else { return };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let nice = engines.config.asr.nice;
        let spawned = std::thread::Builder::new().name("redact".into()).spawn(move || {
            crate::pipeline::asr_pool::lower_thread_priority(nice);
            let model_for = |lang: &str| Ok(engines.asr_for(lang).model.clone());
            let _ = tx.send(redact_call(model_for, &store, &call_id, &recording, "gateway"));
        });
        match spawned {
            Ok(_) => match rx.await {
                Ok(Err(e)) => warn!(error = %e, "recording not redacted"),
                Err(_) => warn!("recording redaction stopped"),
                Ok(Ok(_)) => {}
            },
            Err(e) => warn!(error = %e, "no thread to redact a recording"),
        }
    });
}

/// Redacts `call_id`'s recording at `recording` with the recogniser `model_for` gives for the
/// call's language, records the spans as its event and audits it as done by `who`.
pub fn redact_call(model_for: impl FnOnce(&str) -> Result<Arc<WhisperModel>>, store: &Store, call_id: &str, recording: &Path, who: &str) -> Result<Vec<Redaction>> {
    let lang = call_language(store, call_id)?;
    let model = model_for(&lang)?;
    let spans = redact_file(recording, &model, &lang, 1).map_err(|e| match e {
        Error::Input(e) => Error::internal(format!("call {call_id}: {e}")),
        e => e,
    })?;
    let seq = store.next_event_seq(call_id)?;
    let t_ms = store.call(call_id)?.and_then(|c| c.duration_ms).unwrap_or(0).max(0) as u64;
    store.add_event(seq, &Event::new(call_id, t_ms, EventKind::AudioRedacted { spans: spans.clone() }))?;
    let said: Vec<String> = spans.iter().map(|s| format!("{} {} {}-{} ms", s.channel, s.kind, s.start_ms, s.end_ms)).collect();
    store.audit(who, "redact_recording", &format!("{call_id}: {} spans silenced{}{}", spans.len(), if said.is_empty() { "" } else { ": " }, said.join(", ")))?;
    info!(call = %call_id, spans = spans.len(), "recording redacted");
    Ok(spans)
}

/// "zh" when the caller was heard in Chinese, else "en".
fn call_language(store: &Store, call_id: &str) -> Result<String> {
    let chinese = store.events(call_id)?.iter().any(|e| matches!(&e.kind, EventKind::Transcript { lang, is_final: true, .. } if lang == "zh"));
    Ok(if chinese { "zh" } else { "en" }.into())
}
