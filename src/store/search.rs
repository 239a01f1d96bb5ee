//! The QA console's index of calls: one row per ended call with what it is filtered and sorted
//! by (channel, language, intents, handoff reason, agent, peak anger, CSAT, QA score), and its
//! words in an FTS5 table. Chinese is indexed a character at a time (a space between Han
//! characters, SQLite's unicode61 tokenizer) and searched as a phrase, so 退款 finds 我要退款.
//! Every search term is quoted: what people type is never FTS or SQL syntax.

use rusqlite::{params_from_iter, OptionalExtension};
use serde::Serialize;

use super::{db_err, CallRow, Store};
use crate::error::Result;
use crate::events::{Event, EventKind};

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS call_index (
    call_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    channel TEXT NOT NULL,
    caller TEXT NOT NULL,
    lang TEXT NOT NULL,
    duration_ms INTEGER,
    end_reason TEXT,
    intents TEXT NOT NULL,
    handoff_reason TEXT,
    agent TEXT,
    peak_anger REAL NOT NULL,
    csat INTEGER,
    qa_score INTEGER,
    turns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS call_index_started ON call_index(started_at);
DROP INDEX IF EXISTS call_index_caller;
CREATE INDEX IF NOT EXISTS call_index_caller_started ON call_index(caller, started_at);
CREATE TABLE IF NOT EXISTS qa_results (
    call_id TEXT PRIMARY KEY,
    json TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS call_text USING fts5(call_id UNINDEXED, text, tokenize = 'unicode61');
";

/// A call as the QA console lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexedCall {
    pub id: String,
    pub started_at: String,
    pub channel: String,
    pub caller: String,
    /// The caller as an opaque key (a hash of the number), to find their other calls when the
    /// number itself is shown masked.
    pub caller_key: String,
    pub lang: String,
    pub duration_ms: Option<i64>,
    pub end_reason: Option<String>,
    pub intents: Vec<String>,
    pub handoff_reason: Option<String>,
    pub agent: Option<String>,
    pub peak_anger: f64,
    pub csat: Option<i64>,
    pub qa_score: Option<i64>,
    pub turns: i64,
    /// Where the search words are, when searched: text pieces, the hits marked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<Vec<Piece>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Piece {
    pub text: String,
    pub hit: bool,
}

/// What the list is filtered and sorted by; every field optional.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub q: Option<String>,
    /// Days, YYYY-MM-DD, inclusive.
    pub from: Option<String>,
    pub to: Option<String>,
    pub channel: Option<String>,
    pub lang: Option<String>,
    pub intent: Option<String>,
    pub reason: Option<String>,
    pub agent: Option<String>,
    pub caller_key: Option<String>,
    pub min_anger: Option<f64>,
    pub csat: Option<i64>,
    /// newest (default), anger (angriest first), qa (lowest score first).
    pub sort: Option<String>,
    pub page: usize,
    pub per_page: usize,
}

fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

/// Text as indexed: a space on each side of every Han character.
pub fn spaced(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if is_han(c) {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// Indexed text back as written: the spaces around Han characters gone (snippet markers
/// are looked through).
fn unspaced(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let word = |c: &&char| **c != ' ' && **c != '\u{2}' && **c != '\u{3}';
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let before = chars[..i].iter().rev().find(word).copied();
            let after = chars[i + 1..].iter().find(word).copied();
            if before.is_some_and(is_han) || after.is_some_and(is_han) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// What people typed as an FTS5 query: every word a quoted phrase (its Chinese characters in
/// a row one phrase), all of them required. None when nothing searchable is left.
pub fn fts_query(q: &str) -> Option<String> {
    let mut phrases: Vec<String> = Vec::new();
    for word in q.split(|c: char| c.is_whitespace() || (c.is_ascii_punctuation() && c != '\'') || "，。！？、；：“”（）".contains(c)) {
        // (is Chinese, text) groups within the word.
        let mut groups: Vec<(bool, String)> = Vec::new();
        for t in spaced(word).split_whitespace() {
            let han = t.chars().all(is_han);
            match groups.last_mut() {
                Some((true, g)) if han => {
                    g.push(' ');
                    g.push_str(t);
                }
                _ => groups.push((han, t.to_string())),
            }
        }
        phrases.extend(groups.into_iter().map(|(_, t)| format!("\"{}\"", t.replace('"', "\"\""))));
    }
    (!phrases.is_empty()).then(|| phrases.join(" "))
}

/// The highest anger the caller's voice and words reached in `events` (0 when never scored).
pub fn peak_anger(events: &[Event]) -> f32 {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Emotion { anger: Some(a), is_final: true, .. } => Some(*a),
            _ => None,
        })
        .fold(0.0, f32::max)
}

/// The index row of an ended call, from its events.
pub fn summarize(call: &CallRow, events: &[Event]) -> (IndexedCall, String) {
    let mut intents: Vec<String> = Vec::new();
    let (mut lang, mut reason, mut agent, mut csat) = (String::new(), None, None, None);
    let mut turns = 0i64;
    let mut text = Vec::new();
    for e in events {
        match &e.kind {
            EventKind::Transcript { is_final: true, text: t, lang: l, speaker, .. } => {
                if speaker == "caller" {
                    turns += 1;
                    if lang.is_empty() {
                        lang = l.clone();
                    }
                }
                text.push(t.clone());
            }
            EventKind::BotReply { text: t, .. } => text.push(t.clone()),
            EventKind::Intent { intent, .. } if !intents.contains(intent) => intents.push(intent.clone()),
            EventKind::Handoff { reason: r, .. } => reason = Some(r.clone()),
            EventKind::AgentAnswered { agent: a } => agent = Some(a.clone()),
            EventKind::Survey { score } => csat = Some(*score as i64),
            _ => {}
        }
    }
    let channel = if call.source.starts_with("webrtc:") {
        "app"
    } else if call.source.starts_with("sip:") {
        "phone"
    } else if call.source.starts_with("chat:") {
        "chat"
    } else {
        "file"
    };
    let row = IndexedCall {
        id: call.id.clone(),
        started_at: call.started_at.clone(),
        channel: channel.into(),
        caller: crate::agents::card::display_caller(&call.caller),
        caller_key: caller_key(&crate::agents::card::display_caller(&call.caller)),
        lang,
        duration_ms: call.duration_ms,
        end_reason: call.end_reason.clone(),
        intents,
        handoff_reason: reason,
        agent,
        peak_anger: (peak_anger(events) as f64 * 1000.0).round() / 1000.0,
        csat,
        qa_score: None,
        turns,
        snippet: None,
    };
    (row, text.join("\n"))
}

/// The opaque key of a caller: the first 16 hex digits of SHA-256 of who they are.
pub fn caller_key(caller: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(caller.as_bytes());
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Snippet pieces with the personal data in them masked as one text (a number or address
/// split by a hit would not look like one piece by piece).
pub fn mask_pieces(pieces: &[Piece]) -> Vec<Piece> {
    let mut marked = String::new();
    for p in pieces {
        if p.hit {
            marked.push('\u{2}');
            marked.push_str(&p.text);
            marked.push('\u{3}');
        } else {
            marked.push_str(&p.text);
        }
    }
    let masked = crate::pii::mask(&marked.replace(['\u{2}', '\u{3}'], ""));
    if masked == marked.replace(['\u{2}', '\u{3}'], "") {
        return pieces.to_vec();
    }
    // Something was masked: the snippet as masked text, no hits marked inside it.
    vec![Piece { text: masked, hit: false }]
}

const COLUMNS: &str = "call_id, started_at, channel, caller, lang, duration_ms, end_reason, intents, handoff_reason, agent, peak_anger, csat, qa_score, turns";

fn row(r: &rusqlite::Row) -> rusqlite::Result<IndexedCall> {
    let intents: String = r.get(7)?;
    Ok(IndexedCall {
        id: r.get(0)?,
        started_at: r.get(1)?,
        channel: r.get(2)?,
        caller_key: caller_key(&r.get::<_, String>(3)?),
        caller: r.get(3)?,
        lang: r.get(4)?,
        duration_ms: r.get(5)?,
        end_reason: r.get(6)?,
        intents: intents.split_whitespace().map(str::to_string).collect(),
        handoff_reason: r.get(8)?,
        agent: r.get(9)?,
        peak_anger: r.get(10)?,
        csat: r.get(11)?,
        qa_score: r.get(12)?,
        turns: r.get(13)?,
        snippet: None,
    })
}

/// Text with the FTS5 snippet markers as pieces.
fn pieces(marked: &str) -> Vec<Piece> {
    let text = unspaced(marked);
    let mut out: Vec<Piece> = Vec::new();
    let mut hit = false;
    // The markers alternate: a start marker opens a hit, an end marker closes it. Hits with
    // nothing between them (a Chinese word, marked a character at a time) are one hit.
    for part in text.split(['\u{2}', '\u{3}']) {
        if !part.is_empty() {
            match out.last_mut() {
                Some(last) if last.hit == hit => last.text.push_str(part),
                _ => out.push(Piece { text: part.to_string(), hit }),
            }
        }
        hit = !hit;
    }
    out
}

impl Store {
    /// Indexes (or re-indexes) an ended call, scored on the QA form when one is given.
    pub fn index_call(&self, id: &str, form: Option<&crate::qa::QaConfig>) -> Result<bool> {
        let Some(call) = self.call(id)? else { return Ok(false) };
        let events = self.events(id)?;
        let (mut r, text) = summarize(&call, &events);
        let qa = form.map(|f| crate::qa::score(f, &events));
        r.qa_score = qa.as_ref().and_then(|q| q.score).map(i64::from);
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| db_err(&self.path, e))?;
        tx.execute(
            &format!("INSERT OR REPLACE INTO call_index ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
            rusqlite::params![r.id, r.started_at, r.channel, r.caller, r.lang, r.duration_ms, r.end_reason, r.intents.join(" "), r.handoff_reason, r.agent, r.peak_anger, r.csat, r.qa_score, r.turns],
        )
        .map_err(|e| db_err(&self.path, e))?;
        tx.execute("DELETE FROM call_text WHERE call_id = ?1", [id]).map_err(|e| db_err(&self.path, e))?;
        tx.execute("INSERT INTO call_text (call_id, text) VALUES (?1, ?2)", (id, spaced(&text))).map_err(|e| db_err(&self.path, e))?;
        if let Some(q) = &qa {
            tx.execute("INSERT OR REPLACE INTO qa_results (call_id, json) VALUES (?1, ?2)", (id, serde_json::to_string(q).unwrap_or_default())).map_err(|e| db_err(&self.path, e))?;
        }
        tx.commit().map_err(|e| db_err(&self.path, e))?;
        Ok(true)
    }

    /// A call's QA result, when it was scored.
    pub fn qa_result(&self, id: &str) -> Result<Option<crate::qa::QaResult>> {
        let json: Option<String> = self.conn().query_row("SELECT json FROM qa_results WHERE call_id = ?1", [id], |r| r.get(0)).optional().map_err(|e| db_err(&self.path, e))?;
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }

    /// Indexes the ended calls not indexed yet (calls from before the index existed); how many.
    pub fn index_missing(&self, form: Option<&crate::qa::QaConfig>) -> Result<usize> {
        let ids: Vec<String> = {
            let conn = self.conn();
            let mut stmt = conn.prepare("SELECT id FROM calls WHERE ended_at IS NOT NULL AND id NOT IN (SELECT call_id FROM call_index)").map_err(|e| db_err(&self.path, e))?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| db_err(&self.path, e))?;
            rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| db_err(&self.path, e))?
        };
        for id in &ids {
            self.index_call(id, form)?;
        }
        Ok(ids.len())
    }

    /// Drops a call from the index.
    pub fn unindex_call(&self, id: &str) -> Result<()> {
        let conn = self.conn();
        conn.execute("DELETE FROM call_index WHERE call_id = ?1", [id]).map_err(|e| db_err(&self.path, e))?;
        conn.execute("DELETE FROM call_text WHERE call_id = ?1", [id]).map_err(|e| db_err(&self.path, e))?;
        conn.execute("DELETE FROM qa_results WHERE call_id = ?1", [id]).map_err(|e| db_err(&self.path, e))?;
        Ok(())
    }

    /// The indexed row of one call.
    pub fn indexed_call(&self, id: &str) -> Result<Option<IndexedCall>> {
        self.conn().query_row(&format!("SELECT {COLUMNS} FROM call_index WHERE call_id = ?1"), [id], row).optional().map_err(|e| db_err(&self.path, e))
    }

    /// One page of the calls that pass `f`, and how many pass in all.
    pub fn search_calls(&self, f: &Filter) -> Result<(Vec<IndexedCall>, usize)> {
        let mut wheres: Vec<String> = Vec::new();
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let mut arg = |w: &str, v: rusqlite::types::Value, wheres: &mut Vec<String>| {
            args.push(v);
            wheres.push(w.replace('?', &format!("?{}", args.len())));
        };
        let fts = f.q.as_deref().and_then(fts_query);
        if f.q.as_deref().is_some_and(|q| !q.trim().is_empty()) && fts.is_none() {
            return Ok((Vec::new(), 0));
        }
        if let Some(q) = &fts {
            arg("call_id IN (SELECT call_id FROM call_text WHERE call_text MATCH ?)", q.clone().into(), &mut wheres);
        }
        if let Some(d) = &f.from {
            arg("started_at >= ?", format!("{d}T00:00:00").into(), &mut wheres);
        }
        if let Some(d) = &f.to {
            arg("started_at <= ?", format!("{d}T23:59:59.999Z").into(), &mut wheres);
        }
        for (col, v) in [("channel", &f.channel), ("lang", &f.lang), ("handoff_reason", &f.reason), ("agent", &f.agent)] {
            if let Some(v) = v {
                arg(&format!("{col} = ?"), v.clone().into(), &mut wheres);
            }
        }
        if let Some(k) = &f.caller_key {
            // The callers whose key it is (keys are not stored: a hash of each caller).
            let callers: Vec<String> = {
                let conn = self.conn();
                let mut stmt = conn.prepare("SELECT DISTINCT caller FROM call_index").map_err(|e| db_err(&self.path, e))?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(|e| db_err(&self.path, e))?;
                rows.filter_map(|r| r.ok()).filter(|c| caller_key(c) == *k).collect()
            };
            let Some(caller) = callers.into_iter().next() else { return Ok((Vec::new(), 0)) };
            arg("caller = ?", caller.into(), &mut wheres);
        }
        if let Some(i) = &f.intent {
            arg("(' ' || intents || ' ') LIKE ('% ' || ? || ' %')", i.clone().into(), &mut wheres);
        }
        if let Some(a) = f.min_anger {
            arg("peak_anger >= ?", a.into(), &mut wheres);
        }
        if let Some(c) = f.csat {
            arg("csat = ?", c.into(), &mut wheres);
        }
        let filter = if wheres.is_empty() { String::new() } else { format!("WHERE {}", wheres.join(" AND ")) };
        let order = match f.sort.as_deref() {
            Some("anger") => "peak_anger DESC, started_at DESC",
            Some("qa") => "qa_score IS NULL, qa_score ASC, started_at DESC",
            _ => "started_at DESC",
        };
        let per_page = f.per_page.clamp(1, 500);
        let offset = f.page.saturating_sub(1).saturating_mul(per_page);
        let conn = self.conn();
        let total: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM call_index {filter}"), params_from_iter(args.iter()), |r| r.get(0)).map_err(|e| db_err(&self.path, e))?;
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM call_index {filter} ORDER BY {order} LIMIT {per_page} OFFSET {offset}")).map_err(|e| db_err(&self.path, e))?;
        let mut calls = stmt.query_map(params_from_iter(args.iter()), row).map_err(|e| db_err(&self.path, e))?.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| db_err(&self.path, e))?;
        if let Some(q) = &fts {
            let mut snip = conn.prepare("SELECT snippet(call_text, 1, char(2), char(3), '…', 16) FROM call_text WHERE call_text MATCH ?1 AND call_id = ?2").map_err(|e| db_err(&self.path, e))?;
            for c in &mut calls {
                let s: Option<String> = snip.query_row((q, &c.id), |r| r.get(0)).optional().map_err(|e| db_err(&self.path, e))?;
                c.snippet = s.map(|s| pieces(&s));
            }
        }
        Ok((calls, total.max(0) as usize))
    }

    /// The values the list can be filtered by: intents, reasons, agents, languages.
    pub fn search_facets(&self) -> Result<serde_json::Value> {
        let conn = self.conn();
        let distinct = |col: &str| -> Result<Vec<String>> {
            let mut stmt = conn.prepare(&format!("SELECT DISTINCT {col} FROM call_index WHERE {col} IS NOT NULL AND {col} != '' ORDER BY {col} LIMIT 200")).map_err(|e| db_err(&self.path, e))?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(|e| db_err(&self.path, e))?;
            rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| db_err(&self.path, e))
        };
        let mut intents: Vec<String> = distinct("intents")?.iter().flat_map(|s| s.split_whitespace().map(str::to_string).collect::<Vec<_>>()).collect();
        intents.sort();
        intents.dedup();
        Ok(serde_json::json!({ "intents": intents, "reasons": distinct("handoff_reason")?, "agents": distinct("agent")?, "langs": distinct("lang")? }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(store: &Store, id: &str, source: &str, lines: &[(&str, &str, &str)], extra: Vec<EventKind>) {
        store.start_call(id, source, "<sip:+15550100@x>", "bot", None, None).unwrap();
        let mut seq = 0;
        for (speaker, text, lang) in lines {
            let kind = if *speaker == "bot" {
                EventKind::BotReply { reply_id: seq, text: text.to_string(), lang: lang.to_string(), in_reply_to_ms: None, kb: None, actions: Vec::new() }
            } else {
                EventKind::Transcript { is_final: true, text: text.to_string(), lang: lang.to_string(), start_ms: seq * 1000, end_ms: seq * 1000 + 500, queue_ms: 0, asr_ms: 0, speaker: speaker.to_string() }
            };
            store.add_event(seq, &Event::new(id, seq * 1000, kind)).unwrap();
            seq += 1;
        }
        for k in extra {
            store.add_event(seq, &Event::new(id, seq * 1000, k)).unwrap();
            seq += 1;
        }
        store.end_call(id, "caller_hangup", seq * 1000).unwrap();
    }

    #[test]
    fn calls_are_found_by_english_and_chinese_words_and_filtered() {
        let t = tempfile::tempdir().unwrap();
        let store = Store::open(&t.path().join("db.sqlite")).unwrap();
        call(&store, "c1", "sip:a", &[("caller", "I would like a refund for my order", "en"), ("bot", "Your refund is on its way.", "en")], vec![EventKind::Handoff { reason: "anger".into(), context: Default::default() }, EventKind::Survey { score: 2 }]);
        call(&store, "c2", "webrtc:cust", &[("caller", "我要退款，订单10001", "zh"), ("bot", "好的", "zh")], vec![]);
        call(&store, "c3", "sip:b", &[("caller", "where is my parcel", "en")], vec![]);
        assert_eq!(store.index_missing(None).unwrap(), 3);
        assert_eq!(store.index_missing(None).unwrap(), 0);
        let find = |q: &str| store.search_calls(&Filter { q: Some(q.into()), page: 1, per_page: 50, ..Default::default() }).unwrap();
        let (hits, total) = find("refund");
        assert_eq!((total, hits[0].id.as_str()), (1, "c1"));
        let marked: Vec<&str> = hits[0].snippet.as_ref().unwrap().iter().filter(|p| p.hit).map(|p| p.text.as_str()).collect();
        assert_eq!(marked, ["refund", "refund"]);
        let (hits, _) = find("退款");
        assert_eq!(hits.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c2"]);
        let text: String = hits[0].snippet.as_ref().unwrap().iter().map(|p| p.text.as_str()).collect();
        assert!(text.contains("我要退款，订单10001"), "{text}");
        let marked: Vec<&str> = hits[0].snippet.as_ref().unwrap().iter().filter(|p| p.hit).map(|p| p.text.as_str()).collect();
        assert_eq!(marked, ["退款"]);
        assert_eq!(find("款退").1, 0, "characters in order");
        // Syntax is never syntax: quotes, operators, SQL.
        for q in ["\"", "refund OR parcel", "NEAR(", "'; DROP TABLE calls; --", "*"] {
            let _ = find(q);
        }
        assert_eq!(find("refund OR parcel").1, 0, "OR is a word here");
        assert!(store.call("c1").unwrap().is_some());
        let f = |f: Filter| store.search_calls(&Filter { page: 1, per_page: 50, ..f }).unwrap().1;
        assert_eq!(f(Filter { channel: Some("app".into()), ..Default::default() }), 1);
        assert_eq!(f(Filter { reason: Some("anger".into()), ..Default::default() }), 1);
        assert_eq!(f(Filter { csat: Some(2), ..Default::default() }), 1);
        assert_eq!(f(Filter { lang: Some("zh".into()), ..Default::default() }), 1);
        assert_eq!(f(Filter { caller_key: Some(caller_key("+15550100")), ..Default::default() }), 3);
        assert_eq!(f(Filter { caller_key: Some(caller_key("+15550199")), ..Default::default() }), 0);
        let page2 = store.search_calls(&Filter { page: 2, per_page: 2, ..Default::default() }).unwrap();
        assert_eq!((page2.0.len(), page2.1), (1, 3));
        store.unindex_call("c1").unwrap();
        assert_eq!(find("refund").1, 0);
    }

    #[test]
    fn queries_are_quoted_phrases() {
        assert_eq!(fts_query("refund order").unwrap(), "\"refund\" \"order\"");
        assert_eq!(fts_query("我要 退款").unwrap(), "\"我 要\" \"退 款\"");
        assert_eq!(fts_query("say \"hi\"").unwrap(), "\"say\" \"hi\"");
        assert!(fts_query("  ").is_none());
        assert_eq!(unspaced(" 我 \u{2} 要 \u{3} refund  order"), "我\u{2}要\u{3}refund  order");
        assert_eq!(unspaced("like a \u{2}refund\u{3} for"), "like a \u{2}refund\u{3} for");
        assert_eq!(fts_query("订单10001").unwrap(), "\"订 单\" \"10001\"");
    }
}
