//! Retention: calls older than `privacy.retention_days` are deleted (their recordings,
//! transcripts, events and wrap-ups), at start and once a day, each sweep logged and audited.

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use super::Store;
use crate::error::Result;

/// What one sweep deleted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub calls: usize,
    pub recordings: usize,
}

/// Deletes the ended calls started more than `days` ago, and their recordings.
pub fn sweep(store: &Store, days: u32) -> Result<Swept> {
    let mut swept = Swept::default();
    for (id, recording) in store.calls_older_than(days)? {
        if let Some(path) = recording {
            match std::fs::remove_file(&path) {
                Ok(()) => swept.recordings += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                // A recording that cannot be deleted keeps its call, to be tried again.
                Err(e) => {
                    warn!(call = %id, recording = %path, error = %e, "recording past retention not deleted");
                    continue;
                }
            }
        }
        store.delete_call(&id)?;
        swept.calls += 1;
    }
    if swept.calls > 0 {
        // The search index's segments drop the deleted words too.
        if let Err(e) = store.conn().execute("INSERT INTO call_text (call_text) VALUES ('optimize')", []) {
            warn!(error = %e, "search index not compacted after retention");
        }
        info!(calls = swept.calls, recordings = swept.recordings, days, "calls past retention deleted");
        store.audit("retention", "delete_calls", &format!("{} calls, {} recordings older than {days} days", swept.calls, swept.recordings))?;
    }
    Ok(swept)
}

/// Sweeps now and every 24 hours, on a blocking thread; nothing when `days` is 0.
pub fn start_daily(store: Arc<Store>, days: u32) {
    if days == 0 {
        return;
    }
    tokio::spawn(async move {
        loop {
            let s = store.clone();
            match tokio::task::spawn_blocking(move || sweep(&s, days)).await {
                Ok(Err(e)) => warn!(error = %e, "retention sweep failed"),
                Err(e) => warn!(error = %e, "retention sweep failed"),
                Ok(Ok(_)) => {}
            }
            tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_past_retention_go_with_their_recordings_and_the_sweep_is_audited() {
        let t = tempfile::tempdir().unwrap();
        let store = Store::open(&t.path().join("db.sqlite")).unwrap();
        let old_rec = t.path().join("old.wav");
        std::fs::write(&old_rec, b"RIFF").unwrap();
        for (id, rec) in [("old", Some(old_rec.to_str().unwrap())), ("new", None), ("live", None)] {
            store.start_call(id, "sip:a", "a", "b", None, rec).unwrap();
            store.add_event(0, &crate::events::Event::new(id, 0, crate::events::EventKind::CallStarted { source: "sip:a".into() })).unwrap();
        }
        store.end_call("old", "caller_hangup", 1000).unwrap();
        store.end_call("new", "caller_hangup", 1000).unwrap();
        store.set_wrapup("old", "ann", "resolved", "").unwrap();
        // "old" began 40 days ago; "live" too, but it has not ended.
        store.conn().execute("UPDATE calls SET started_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-40 days') WHERE id IN ('old', 'live')", []).unwrap();
        assert_eq!(sweep(&store, 30).unwrap(), Swept { calls: 1, recordings: 1 });
        assert!(store.call("old").unwrap().is_none() && store.events("old").unwrap().is_empty() && store.wrapups("old").unwrap().is_empty());
        assert!(!old_rec.exists());
        assert!(store.call("new").unwrap().is_some() && store.call("live").unwrap().is_some());
        assert!(store.audit_log(10).unwrap().iter().any(|a| a.action == "delete_calls"));
        assert_eq!(sweep(&store, 30).unwrap(), Swept::default());
    }
}
