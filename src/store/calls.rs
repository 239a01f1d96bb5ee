//! Calls and their events in the store: a row per call (who, when, the recording, how it
//! ended) and every event of its timeline, written as it happens.

use rusqlite::OptionalExtension;
use serde::Serialize;

use super::{db_err, Store};
use crate::error::Result;
use crate::events::Event;

#[derive(Debug, Clone, Serialize)]
pub struct CallRow {
    pub id: String,
    pub started_at: String,
    pub source: String,
    pub caller: String,
    pub callee: String,
    pub sip_call_id: Option<String>,
    pub recording: Option<String>,
    pub ended_at: Option<String>,
    pub end_reason: Option<String>,
    pub duration_ms: Option<i64>,
    pub events: i64,
}

/// The call (`c`) was answered by the agent `?1`.
const AGENT_TOOK: &str = "EXISTS (SELECT 1 FROM events e WHERE e.call_id = c.id AND e.type = 'agent_answered' AND json_extract(e.json, '$.agent') = ?1)";

const CALL_COLUMNS: &str = "c.id, c.started_at, c.source, c.caller, c.callee, c.sip_call_id, c.recording, c.ended_at, c.end_reason, c.duration_ms,
    (SELECT COUNT(*) FROM events e WHERE e.call_id = c.id)";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CallRow> {
    Ok(CallRow {
        id: r.get(0)?,
        started_at: r.get(1)?,
        source: r.get(2)?,
        caller: r.get(3)?,
        callee: r.get(4)?,
        sip_call_id: r.get(5)?,
        recording: r.get(6)?,
        ended_at: r.get(7)?,
        end_reason: r.get(8)?,
        duration_ms: r.get(9)?,
        events: r.get(10)?,
    })
}

impl Store {
    pub fn start_call(&self, id: &str, source: &str, caller: &str, callee: &str, sip_call_id: Option<&str>, recording: Option<&str>) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO calls (id, started_at, source, caller, callee, sip_call_id, recording) VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ','now'), ?2, ?3, ?4, ?5, ?6)",
                (id, source, caller, callee, sip_call_id, recording),
            )
            .map_err(|e| db_err(&self.path, e))?;
        Ok(())
    }

    /// Appends an event to its call's timeline (`seq` keeps the order events were emitted in).
    pub fn add_event(&self, seq: u64, event: &Event) -> Result<()> {
        self.add_events(&[(seq, event)])
    }

    /// Appends events (each with its call's `seq`) in one transaction: many calls' events
    /// at the cost of one commit.
    pub fn add_events(&self, events: &[(u64, &Event)]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| db_err(&self.path, e))?;
        {
            let mut insert = tx
                .prepare_cached("INSERT OR REPLACE INTO events (call_id, seq, t_ms, type, json) VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(|e| db_err(&self.path, e))?;
            for (seq, event) in events {
                insert
                    .execute((&event.call_id, *seq as i64, event.t_ms as i64, event.kind.name(), event.to_json()))
                    .map_err(|e| db_err(&self.path, e))?;
            }
        }
        tx.commit().map_err(|e| db_err(&self.path, e))
    }

    pub fn end_call(&self, id: &str, reason: &str, duration_ms: u64) -> Result<()> {
        self.conn()
            .execute(
                "UPDATE calls SET ended_at = strftime('%Y-%m-%dT%H:%M:%fZ','now'), end_reason = ?2, duration_ms = ?3 WHERE id = ?1",
                (id, reason, duration_ms as i64),
            )
            .map_err(|e| db_err(&self.path, e))?;
        Ok(())
    }

    /// Calls without an end: up now, or left by a process that died.
    pub fn unfinished_calls(&self) -> Result<Vec<CallRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {CALL_COLUMNS} FROM calls c WHERE c.ended_at IS NULL ORDER BY c.started_at")).map_err(|e| db_err(&self.path, e))?;
        let rows = stmt.query_map([], row).map_err(|e| db_err(&self.path, e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| db_err(&self.path, e))
    }

    /// The sequence number the call's next event takes.
    pub fn next_event_seq(&self, call_id: &str) -> Result<u64> {
        let n: Option<i64> = self.conn().query_row("SELECT MAX(seq) FROM events WHERE call_id = ?1", [call_id], |r| r.get(0)).map_err(|e| db_err(&self.path, e))?;
        Ok(n.map(|n| n as u64 + 1).unwrap_or(0))
    }

    /// Calls, newest first.
    pub fn calls(&self, limit: usize) -> Result<Vec<CallRow>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!("SELECT {CALL_COLUMNS} FROM calls c ORDER BY c.started_at DESC, c.rowid DESC LIMIT ?1"))
            .map_err(|e| db_err(&self.path, e))?;
        let rows = stmt.query_map([limit as i64], row).map_err(|e| db_err(&self.path, e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| db_err(&self.path, e))
    }

    /// The calls an agent took, newest first.
    pub fn calls_of_agent(&self, agent: &str, limit: usize) -> Result<Vec<CallRow>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!("SELECT {CALL_COLUMNS} FROM calls c WHERE {AGENT_TOOK} ORDER BY c.started_at DESC, c.rowid DESC LIMIT ?2"))
            .map_err(|e| db_err(&self.path, e))?;
        let rows = stmt.query_map((agent, limit as i64), row).map_err(|e| db_err(&self.path, e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| db_err(&self.path, e))
    }

    /// Whether the agent took the call.
    pub fn agent_took(&self, agent: &str, id: &str) -> Result<bool> {
        self.conn().query_row(&format!("SELECT EXISTS (SELECT 1 FROM calls c WHERE c.id = ?2 AND {AGENT_TOOK})"), (agent, id), |r| r.get(0)).map_err(|e| db_err(&self.path, e))
    }

    /// Ended calls started more than `days` days ago: (id, recording).
    pub fn calls_older_than(&self, days: u32) -> Result<Vec<(String, Option<String>)>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT id, recording FROM calls WHERE ended_at IS NOT NULL AND started_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1) ORDER BY started_at")
            .map_err(|e| db_err(&self.path, e))?;
        let rows = stmt.query_map([format!("-{days} days")], |r| Ok((r.get(0)?, r.get(1)?))).map_err(|e| db_err(&self.path, e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| db_err(&self.path, e))
    }

    /// Deletes a call with its events and wrap-ups (not its recording file: the caller's).
    pub fn delete_call(&self, id: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| db_err(&self.path, e))?;
        for sql in ["DELETE FROM events WHERE call_id = ?1", "DELETE FROM wrapups WHERE call_id = ?1", "DELETE FROM call_index WHERE call_id = ?1", "DELETE FROM call_text WHERE call_id = ?1", "DELETE FROM qa_results WHERE call_id = ?1", "DELETE FROM callbacks WHERE call_id = ?1", "DELETE FROM calls WHERE id = ?1"] {
            tx.execute(sql, [id]).map_err(|e| db_err(&self.path, e))?;
        }
        tx.commit().map_err(|e| db_err(&self.path, e))
    }

    pub fn call(&self, id: &str) -> Result<Option<CallRow>> {
        self.conn()
            .query_row(&format!("SELECT {CALL_COLUMNS} FROM calls c WHERE c.id = ?1"), [id], row)
            .optional()
            .map_err(|e| db_err(&self.path, e))
    }

    /// A call's events in the order they were emitted.
    pub fn events(&self, call_id: &str) -> Result<Vec<Event>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT json FROM events WHERE call_id = ?1 ORDER BY seq").map_err(|e| db_err(&self.path, e))?;
        let rows = stmt.query_map([call_id], |r| r.get::<_, String>(0)).map_err(|e| db_err(&self.path, e))?;
        let mut out = Vec::new();
        for json in rows {
            let json = json.map_err(|e| db_err(&self.path, e))?;
            // An event of a type this version does not know is skipped, not an error.
            if let Ok(ev) = serde_json::from_str::<Event>(&json) {
                out.push(ev);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventKind;

    #[test]
    fn calls_and_their_events_round_trip() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(&t.path().join("db.sqlite")).unwrap();
        s.start_call("c1", "sip", "<sip:alice@x>", "<sip:bot@y>", Some("abc@x"), Some("var/recordings/c1.wav")).unwrap();
        s.add_event(0, &Event::new("c1", 0, EventKind::CallStarted { source: "sip:alice".into() })).unwrap();
        s.add_event(1, &Event::new("c1", 900, EventKind::Dtmf { digit: "5".into(), out_of_band: true })).unwrap();
        assert_eq!(s.call("c1").unwrap().unwrap().events, 2);
        assert!(s.call("c1").unwrap().unwrap().ended_at.is_none());
        s.end_call("c1", "caller_hangup", 1200).unwrap();
        let c = s.calls(10).unwrap();
        assert_eq!((c.len(), c[0].end_reason.as_deref(), c[0].duration_ms), (1, Some("caller_hangup"), Some(1200)));
        let ev = s.events("c1").unwrap();
        assert_eq!(ev[1].kind, EventKind::Dtmf { digit: "5".into(), out_of_band: true });
        assert!(s.call("nope").unwrap().is_none());
        assert!(s.events("nope").unwrap().is_empty());
    }

    #[test]
    fn events_of_several_calls_are_stored_in_one_batch() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(&t.path().join("db.sqlite")).unwrap();
        s.start_call("a", "sip", "x", "y", None, None).unwrap();
        s.start_call("b", "sip", "x", "y", None, None).unwrap();
        let (a0, b0, a1) = (
            Event::new("a", 0, EventKind::CallStarted { source: "sip:a".into() }),
            Event::new("b", 0, EventKind::CallStarted { source: "sip:b".into() }),
            Event::new("a", 700, EventKind::Dtmf { digit: "1".into(), out_of_band: false }),
        );
        s.add_events(&[(0, &a0), (0, &b0), (1, &a1)]).unwrap();
        let a = s.events("a").unwrap();
        assert_eq!(a.iter().map(|e| e.t_ms).collect::<Vec<_>>(), vec![0, 700]);
        assert_eq!(a[1].kind, EventKind::Dtmf { digit: "1".into(), out_of_band: false });
        assert_eq!(s.events("b").unwrap().len(), 1);
    }
}
