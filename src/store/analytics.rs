//! The figures supervisors read, from the calls' index and events: containment (calls the bot
//! kept: no handoff), handoffs by reason, abandonment, first-contact resolution (no call from
//! the same caller about one of the same intents within 7 days after), CSAT (the keypad
//! survey), handle and wait times, per day, channel and agent, and the questions rising.

use serde::Serialize;

use super::{db_err, Store};
use crate::error::Result;

/// A period's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub calls: i64,
    pub contained: i64,
    pub containment: Option<f64>,
    pub handoffs: i64,
    pub abandoned: i64,
    /// Abandoned over handed off.
    pub abandonment: Option<f64>,
    pub fcr: Option<f64>,
    pub csat_avg: Option<f64>,
    /// Surveys rated 4 or 5, over surveys.
    pub csat_satisfied: Option<f64>,
    pub surveys: i64,
    /// Calls with an agent: how long they lasted.
    pub avg_handle_ms: Option<f64>,
    /// Handed-off calls put through: how long they waited.
    pub avg_wait_ms: Option<f64>,
    pub callbacks: i64,
}

fn ratio(a: i64, b: i64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// `started_at` within the days `from`..=`to` (YYYY-MM-DD), and of `channel` when given.
fn period(from: &str, to: &str, channel: Option<&str>) -> (String, Vec<String>) {
    let mut w = "i.started_at >= ?1 AND i.started_at <= ?2".to_string();
    let mut args = vec![format!("{from}T00:00:00"), format!("{to}T23:59:59.999Z")];
    if let Some(c) = channel {
        w.push_str(" AND i.channel = ?3");
        args.push(c.to_string());
    }
    (w, args)
}

impl Store {
    /// The totals of the calls started in `from`..=`to`.
    pub fn totals(&self, from: &str, to: &str, channel: Option<&str>) -> Result<Totals> {
        let (w, args) = period(from, to, channel);
        let conn = self.conn();
        let p = rusqlite::params_from_iter(args.iter());
        let mut t = conn
            .query_row(
                &format!(
                    "SELECT COUNT(*), COALESCE(SUM(i.handoff_reason IS NULL), 0), COALESCE(SUM(i.handoff_reason IS NOT NULL), 0), AVG(i.csat), COALESCE(SUM(i.csat >= 4), 0), COUNT(i.csat),
                            (SELECT AVG(j.duration_ms) FROM call_index j WHERE j.agent IS NOT NULL AND j.call_id IN (SELECT i.call_id FROM call_index i WHERE {w}))
                     FROM call_index i WHERE {w}"
                ),
                p,
                |r| {
                    let (calls, contained, handoffs): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
                    let (satisfied, surveys): (i64, i64) = (r.get(4)?, r.get(5)?);
                    Ok(Totals { calls, contained, containment: ratio(contained, calls), handoffs, csat_avg: r.get(3)?, csat_satisfied: ratio(satisfied, surveys), surveys, avg_handle_ms: r.get(6)?, ..Totals::default() })
                },
            )
            .map_err(|e| db_err(&self.path, e))?;
        let events = |ty: &str, what: &str| -> Result<Option<f64>> {
            let sql = format!("SELECT {what} FROM events e WHERE e.type = '{ty}' AND e.call_id IN (SELECT i.call_id FROM call_index i WHERE {w})");
            conn.query_row(&sql, rusqlite::params_from_iter(args.iter()), |r| r.get(0)).map_err(|e| db_err(&self.path, e))
        };
        t.abandoned = events("abandoned", "CAST(COUNT(*) AS REAL)")?.unwrap_or(0.0) as i64;
        t.callbacks = events("callback_requested", "CAST(COUNT(*) AS REAL)")?.unwrap_or(0.0) as i64;
        t.avg_wait_ms = events("bridged", "AVG(json_extract(e.json, '$.waited_ms'))")?;
        t.abandonment = ratio(t.abandoned, t.handoffs);
        drop(conn);
        t.fcr = self.first_contact_resolution(from, to, channel)?;
        Ok(t)
    }

    /// Of the calls in the period from a known caller, the share with no call from the same
    /// caller about one of the same intents (or any call, when it had none) within 7 days. Of
    /// two calls started in the same millisecond, the one indexed later is the later one.
    fn first_contact_resolution(&self, from: &str, to: &str, channel: Option<&str>) -> Result<Option<f64>> {
        let (w, args) = period(from, to, channel);
        let conn = self.conn();
        // EXISTS stops at the first later call that counts, and the (caller, started_at) index
        // bounds the scan to the caller's next 7 days: a caller with thousands of calls (a
        // trunk's one number, "anonymous") no longer makes this quadratic.
        let mut stmt = conn
            .prepare(&format!(
                "SELECT EXISTS (SELECT 1 FROM call_index j WHERE j.caller = i.caller
                           AND j.started_at >= i.started_at AND j.started_at <= strftime('%Y-%m-%dT%H:%M:%fZ', i.started_at, '+7 days')
                           AND j.call_id != i.call_id AND (j.started_at > i.started_at OR j.rowid > i.rowid)
                           AND (i.intents = '' OR EXISTS (SELECT 1 FROM json_each('[\"' || REPLACE(i.intents, ' ', '\",\"') || '\"]') x WHERE (' ' || j.intents || ' ') LIKE '% ' || x.value || ' %')))
                 FROM call_index i WHERE {w} AND i.caller != ''"
            ))
            .map_err(|e| db_err(&self.path, e))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| r.get::<_, bool>(0)).map_err(|e| db_err(&self.path, e))?;
        let repeated: Vec<bool> = rows.collect::<std::result::Result<_, _>>().map_err(|e| db_err(&self.path, e))?;
        Ok(ratio(repeated.iter().filter(|r| !**r).count() as i64, repeated.len() as i64))
    }

    /// The day's surveys rated 4 or 5 over its surveys, and how many there were: what the
    /// alerts check every few seconds, without the rest of the totals.
    pub fn satisfaction(&self, day: &str) -> Result<(Option<f64>, i64)> {
        let (w, args) = period(day, day, None);
        let (satisfied, surveys): (i64, i64) = self
            .conn()
            .query_row(&format!("SELECT COALESCE(SUM(i.csat >= 4), 0), COUNT(i.csat) FROM call_index i WHERE {w}"), rusqlite::params_from_iter(args.iter()), |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| db_err(&self.path, e))?;
        Ok((ratio(satisfied, surveys), surveys))
    }

    /// The share of the day's calls whose caller got angry (peak anger 0.5 or more).
    pub fn anger_rate(&self, day: &str) -> Result<Option<f64>> {
        let (w, args) = period(day, day, None);
        let (angry, all): (i64, i64) = self
            .conn()
            .query_row(&format!("SELECT COALESCE(SUM(i.peak_anger >= 0.5), 0), COUNT(*) FROM call_index i WHERE {w}"), rusqlite::params_from_iter(args.iter()), |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| db_err(&self.path, e))?;
        Ok(ratio(angry, all))
    }

    /// Rows of `SELECT key, ...` grouped over the period, as JSON objects named by `cols`.
    fn grouped(&self, from: &str, to: &str, channel: Option<&str>, select: &str, group: &str, cols: &[&str]) -> Result<Vec<serde_json::Value>> {
        let (w, args) = period(from, to, channel);
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {select} FROM call_index i WHERE {w} {group}")).map_err(|e| db_err(&self.path, e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                let mut m = serde_json::Map::new();
                for (k, c) in cols.iter().enumerate() {
                    let v: rusqlite::types::Value = r.get(k)?;
                    let j = match v {
                        rusqlite::types::Value::Null => serde_json::Value::Null,
                        rusqlite::types::Value::Integer(n) => n.into(),
                        rusqlite::types::Value::Real(x) => ((x * 100.0).round() / 100.0).into(),
                        rusqlite::types::Value::Text(t) => t.into(),
                        rusqlite::types::Value::Blob(_) => serde_json::Value::Null,
                    };
                    m.insert(c.to_string(), j);
                }
                Ok(serde_json::Value::Object(m))
            })
            .map_err(|e| db_err(&self.path, e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| db_err(&self.path, e))
    }

    /// The period's figures for the dashboard: totals, handoffs by reason, per channel, per
    /// agent, per day, the intents rising this week against last, the knowledge gaps.
    pub fn analytics(&self, from: &str, to: &str, channel: Option<&str>) -> Result<serde_json::Value> {
        let totals = self.totals(from, to, channel)?;
        let reasons = self.grouped(from, to, channel, "i.handoff_reason, COUNT(*)", "AND i.handoff_reason IS NOT NULL GROUP BY i.handoff_reason ORDER BY COUNT(*) DESC", &["reason", "count"])?;
        let by_channel = self.grouped(from, to, channel, "i.channel, COUNT(*), SUM(i.handoff_reason IS NULL), SUM(i.handoff_reason IS NOT NULL), AVG(i.csat)", "GROUP BY i.channel ORDER BY COUNT(*) DESC", &["channel", "calls", "contained", "handoffs", "csat_avg"])?;
        let by_agent = self.grouped(from, to, channel, "i.agent, COUNT(*), AVG(i.duration_ms), AVG(i.csat)", "AND i.agent IS NOT NULL GROUP BY i.agent ORDER BY COUNT(*) DESC", &["agent", "calls", "avg_handle_ms", "csat_avg"])?;
        let daily = self.grouped(
            from,
            to,
            channel,
            "substr(i.started_at, 1, 10), COUNT(*), SUM(i.handoff_reason IS NULL), SUM(i.handoff_reason IS NOT NULL), (SELECT COUNT(*) FROM events e WHERE e.type = 'abandoned' AND e.call_id IN (SELECT j.call_id FROM call_index j WHERE substr(j.started_at, 1, 10) = substr(i.started_at, 1, 10))), AVG(i.csat)",
            "GROUP BY substr(i.started_at, 1, 10) ORDER BY 1",
            &["day", "calls", "contained", "handoffs", "abandoned", "csat_avg"],
        )?;
        let hot = self.hot_intents(to)?;
        let gaps: Vec<serde_json::Value> = self.gaps()?.into_iter().take(10).map(|(q, lang, asked, last)| serde_json::json!({ "question": q, "lang": lang, "asked": asked, "last_asked": last })).collect();
        // For training: the period's ten lowest-scoring calls and ten angriest.
        const ROW: &str = "i.call_id, i.started_at, i.caller, i.channel, i.qa_score, i.peak_anger";
        const COLS: [&str; 6] = ["call", "started_at", "caller", "channel", "qa_score", "peak_anger"];
        let lowest = self.grouped(from, to, channel, ROW, "AND i.qa_score IS NOT NULL ORDER BY i.qa_score ASC, i.started_at DESC LIMIT 10", &COLS)?;
        let angriest = self.grouped(from, to, channel, ROW, "AND i.peak_anger > 0 ORDER BY i.peak_anger DESC, i.started_at DESC LIMIT 10", &COLS)?;
        Ok(serde_json::json!({ "from": from, "to": to, "totals": totals, "handoffs_by_reason": reasons, "by_channel": by_channel, "by_agent": by_agent, "daily": daily, "hot_intents": hot, "knowledge_gaps": gaps, "training": { "lowest_qa": lowest, "angriest": angriest } }))
    }

    /// The intents asked most in the 7 days to `to`, with the 7 days before for comparison.
    fn hot_intents(&self, to: &str) -> Result<Vec<serde_json::Value>> {
        let end = format!("{to}T23:59:59.999Z");
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT i.intents, i.started_at >= strftime('%Y-%m-%dT%H:%M:%fZ', ?1, '-7 days') FROM call_index i
                 WHERE i.started_at <= ?1 AND i.started_at >= strftime('%Y-%m-%dT%H:%M:%fZ', ?1, '-14 days') AND i.intents != ''",
            )
            .map_err(|e| db_err(&self.path, e))?;
        let rows = stmt.query_map([&end], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?))).map_err(|e| db_err(&self.path, e))?;
        let mut counts: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
        for r in rows {
            let (intents, this_week) = r.map_err(|e| db_err(&self.path, e))?;
            for i in intents.split_whitespace() {
                let c = counts.entry(i.to_string()).or_default();
                if this_week {
                    c.0 += 1;
                } else {
                    c.1 += 1;
                }
            }
        }
        let mut hot: Vec<(String, i64, i64)> = counts.into_iter().map(|(k, (a, b))| (k, a, b)).filter(|(_, a, _)| *a > 0).collect();
        hot.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(hot.into_iter().take(10).map(|(intent, this_week, last_week)| serde_json::json!({ "intent": intent, "count": this_week, "this_week": this_week, "last_week": last_week, "rising": this_week > last_week })).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Event, EventKind};

    fn call(store: &Store, id: &str, caller: &str, kinds: Vec<EventKind>, duration: u64) {
        store.start_call(id, "sip:x", caller, "bot", None, None).unwrap();
        for (seq, k) in kinds.into_iter().enumerate() {
            store.add_event(seq as u64, &Event::new(id, seq as u64 * 1000, k)).unwrap();
        }
        store.end_call(id, "caller_hangup", duration).unwrap();
        store.index_call(id, None).unwrap();
    }

    fn intent(name: &str) -> EventKind {
        EventKind::Intent { intent: name.into(), confidence: 0.9, top: Vec::new(), entities: Vec::new(), utterance_start_ms: 0 }
    }

    #[test]
    fn the_dashboard_counts_what_the_calls_did() {
        let t = tempfile::tempdir().unwrap();
        let store = Store::open(&t.path().join("db.sqlite")).unwrap();
        let handoff = |r: &str| EventKind::Handoff { reason: r.into(), context: Default::default() };
        // Contained; the same caller calls again about the same thing; an angry handoff put
        // through after 30 s and rated 5; a handoff abandoned.
        call(&store, "a", "<sip:100@x>", vec![intent("track_order")], 20_000);
        call(&store, "b", "<sip:100@x>", vec![intent("track_order")], 30_000);
        call(&store, "c", "<sip:200@x>", vec![intent("return_refund"), handoff("anger"), EventKind::AgentAnswered { agent: "ann".into() }, EventKind::Bridged { agent: "ann".into(), waited_ms: 30_000 }, EventKind::Survey { score: 5 }], 90_000);
        call(&store, "d", "<sip:300@x>", vec![handoff("caller_request"), EventKind::Abandoned { waited_ms: 12_000 }], 40_000);
        let today = crate::orders::date::Day::today().iso();
        let t = store.totals(&today, &today, None).unwrap();
        assert_eq!((t.calls, t.contained, t.handoffs, t.abandoned, t.surveys), (4, 2, 2, 1, 1));
        assert_eq!(t.containment, Some(0.5));
        assert_eq!(t.abandonment, Some(0.5));
        assert_eq!((t.csat_avg, t.csat_satisfied), (Some(5.0), Some(1.0)));
        assert_eq!((t.avg_handle_ms, t.avg_wait_ms), (Some(90_000.0), Some(30_000.0)));
        // "a" was followed by "b" about the same order: not resolved at first contact.
        assert_eq!(t.fcr, Some(0.75));
        // What the alerts read every few seconds: the same as the totals' survey figures.
        assert_eq!(store.satisfaction(&today).unwrap(), (Some(1.0), 1));
        let a = store.analytics(&today, &today, None).unwrap();
        assert_eq!(a["handoffs_by_reason"].as_array().unwrap().len(), 2);
        assert_eq!(a["by_agent"][0]["agent"], "ann");
        assert_eq!(a["daily"][0]["calls"], 4);
        assert_eq!(a["daily"][0]["abandoned"], 1);
        assert_eq!(a["hot_intents"][0]["intent"], "track_order");
        assert_eq!(a["hot_intents"][0]["this_week"], 2);
        assert_eq!(store.totals("2000-01-01", "2000-01-02", None).unwrap().calls, 0);
    }
}
