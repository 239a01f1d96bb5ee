//! The QA console's API: the calls filtered, searched and paged (`GET /v1/qa/calls`), a
//! call's recording for the player with byte ranges (`GET /v1/calls/{id}/recording`), and a
//! recorded call replayed through today's pipeline with the decisions that differ
//! (`POST /v1/calls/{id}/replay`), and the list as CSV (`GET /v1/qa/export`). Listening,
//! replaying and exporting are audited.

use std::io::SeekFrom;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::calls::shown_to;
use super::{ApiError, AppState};
use crate::auth::{Principal, Role};
use crate::store::search::Filter;

/// Most bytes of a recording in one answer; the player asks for the rest.
const MAX_RANGE_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
    channel: Option<String>,
    lang: Option<String>,
    intent: Option<String>,
    reason: Option<String>,
    agent: Option<String>,
    caller_key: Option<String>,
    min_anger: Option<f64>,
    csat: Option<i64>,
    sort: Option<String>,
    page: Option<usize>,
    per_page: Option<usize>,
}

/// A day filter (YYYY-MM-DD), None when empty.
pub(super) fn day(name: &str, v: Option<String>) -> Result<Option<String>, ApiError> {
    match v.filter(|d| !d.is_empty()) {
        Some(d) if crate::orders::date::Day::parse(&d).is_some() => Ok(Some(d)),
        Some(d) => Err(ApiError::bad_request(format!("{name} must be a day as YYYY-MM-DD, not {d:?}"))),
        None => Ok(None),
    }
}

/// A filter that takes one of `allowed`, None when empty.
pub(super) fn one_of(name: &str, v: Option<String>, allowed: &[&str]) -> Result<Option<String>, ApiError> {
    match v.filter(|x| !x.is_empty()) {
        Some(x) if allowed.contains(&x.as_str()) => Ok(Some(x)),
        Some(x) => Err(ApiError::bad_request(format!("{name} must be one of {}, not {x:?}", allowed.join(", ")))),
        None => Ok(None),
    }
}

/// A text filter: trimmed, None when empty; at most 200 characters.
fn text(name: &str, v: Option<String>) -> Result<Option<String>, ApiError> {
    match v.map(|x| x.trim().to_string()).filter(|x| !x.is_empty()) {
        Some(x) if x.chars().count() > 200 => Err(ApiError::bad_request(format!("{name} is at most 200 characters"))),
        x => Ok(x),
    }
}

/// The filter a query asks for, checked; whether `who` sees personal data.
fn filter(s: &AppState, who: &Principal, q: ListQuery) -> Result<(Filter, bool), ApiError> {
    let shows_pii = s.engines.config.privacy.shows_pii_to(who.role);
    // Searching for a number would tell who said it, masked or not.
    if let (false, Some(t)) = (shows_pii, q.q.as_deref()) {
        if crate::pii::mask(t) != t {
            return Err(ApiError(StatusCode::FORBIDDEN, format!("searching for personal data needs the role {} (privacy.show_pii_to)", s.engines.config.privacy.show_pii_to)));
        }
    }
    if q.min_anger.is_some_and(|a| !(0.0..=1.0).contains(&a)) {
        return Err(ApiError::bad_request("min_anger lies between 0 and 1"));
    }
    if q.csat.is_some_and(|c| !(1..=5).contains(&c)) {
        return Err(ApiError::bad_request("csat is a score from 1 to 5"));
    }
    let f = Filter {
        q: text("q", q.q)?,
        from: day("from", q.from)?,
        to: day("to", q.to)?,
        channel: one_of("channel", q.channel, &["phone", "app", "chat", "file"])?,
        lang: one_of("lang", q.lang, &["en", "zh"])?,
        intent: text("intent", q.intent)?,
        reason: text("reason", q.reason)?,
        agent: text("agent", q.agent)?,
        caller_key: text("caller_key", q.caller_key)?,
        min_anger: q.min_anger,
        csat: q.csat,
        sort: one_of("sort", q.sort, &["newest", "anger", "qa"])?,
        page: q.page.unwrap_or(1).clamp(1, 1_000_000),
        per_page: q.per_page.unwrap_or(50).clamp(1, 500),
    };
    Ok((f, shows_pii))
}

/// GET /v1/qa/calls: one page of the calls that pass the filters, newest first unless sorted
/// otherwise, with the values each filter can take.
pub async fn list(State(s): State<AppState>, Extension(who): Extension<Principal>, Query(q): Query<ListQuery>) -> Result<Json<serde_json::Value>, ApiError> {
    let (f, shows_pii) = filter(&s, &who, q)?;
    let store = s.engines.store.clone();
    let (page, per_page) = (f.page, f.per_page);
    let (calls, total, facets) = tokio::task::spawn_blocking(move || -> crate::error::Result<_> {
        let (mut calls, total) = store.search_calls(&f)?;
        if !shows_pii {
            for c in &mut calls {
                c.snippet = c.snippet.as_deref().map(crate::store::search::mask_pieces);
            }
        }
        Ok((calls, total, store.search_facets()?))
    })
    .await
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    Ok(Json(shown_to(&s, &who, serde_json::json!({ "total": total, "page": page, "per_page": per_page, "calls": calls, "facets": facets }))))
}

/// Most calls in one export.
const MAX_EXPORT: usize = 10_000;

/// A CSV field, quoted when it must be; a leading =, +, - or @ is defused so a spreadsheet
/// does not run it as a formula.
fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) { format!("'{v}") } else { v.to_string() };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// GET /v1/qa/export: the calls that pass the filters (as /v1/qa/calls, up to 10,000) as CSV,
/// personal data masked as on the page; audited.
pub async fn export(State(s): State<AppState>, Extension(who): Extension<Principal>, Query(q): Query<ListQuery>) -> Result<Response, ApiError> {
    let (f, _) = filter(&s, &who, q)?;
    let store = s.engines.store.clone();
    let what = format!("{f:?}");
    let (calls, total) = tokio::task::spawn_blocking(move || {
        let mut all = Vec::new();
        // search_calls pages by at most 500.
        let mut page = 1;
        let total = loop {
            let (calls, total) = store.search_calls(&Filter { page, per_page: 500, ..f.clone() })?;
            let n = calls.len();
            all.extend(calls);
            if n < 500 || all.len() >= MAX_EXPORT {
                break total;
            }
            page += 1;
        };
        Ok::<_, crate::error::Error>((all, total))
    })
    .await
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    let v = shown_to(&s, &who, serde_json::to_value(&calls).unwrap_or_default());
    let mut out = String::from("id,started_at,channel,caller,lang,duration_s,end_reason,intents,handoff_reason,agent,peak_anger,csat,qa_score\n");
    for c in v.as_array().into_iter().flatten() {
        let t = |k: &str| match &c[k] {
            serde_json::Value::String(x) => x.clone(),
            serde_json::Value::Null => String::new(),
            serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(" "),
            other => other.to_string(),
        };
        let duration = c["duration_ms"].as_f64().map(|ms| format!("{:.1}", ms / 1000.0)).unwrap_or_default();
        let row = [t("id"), t("started_at"), t("channel"), t("caller"), t("lang"), duration, t("end_reason"), t("intents"), t("handoff_reason"), t("agent"), t("peak_anger"), t("csat"), t("qa_score")];
        out.push_str(&row.iter().map(|x| csv_field(x)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    let _ = s.engines.store.audit(&who.name, "export_calls", &format!("{} of {total} calls; {what}", calls.len()));
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"voicegate-calls.csv\""), (header::CACHE_CONTROL, "private, no-store")],
        out,
    )
        .into_response())
}

/// The call `id` if `who` may see it (supervisors any, an agent theirs); 404 otherwise.
fn visible_call(s: &AppState, who: &Principal, id: &str) -> Result<crate::store::CallRow, ApiError> {
    let call = s.engines.store.call(id)?.filter(|_| who.role >= Role::Supervisor || s.engines.store.agent_took(&who.name, id).unwrap_or(false));
    call.ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no call {id:?}")))
}

/// `bytes=START-END`, `bytes=START-` or `bytes=-LAST` of a file of `len` bytes, as an
/// inclusive range; None when absent; Err when it cannot be served.
fn byte_range(headers: &HeaderMap, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(v) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else { return Ok(None) };
    let spec = v.trim().strip_prefix("bytes=").ok_or(())?;
    // One range only (the first of several).
    let (a, b) = spec.split(',').next().unwrap_or("").trim().split_once('-').ok_or(())?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", last) => {
            let n: u64 = last.parse().map_err(|_| ())?;
            (len.saturating_sub(n), len.saturating_sub(1))
        }
        (first, "") => (first.parse().map_err(|_| ())?, len.saturating_sub(1)),
        (first, last) => (first.parse().map_err(|_| ())?, last.parse::<u64>().map_err(|_| ())?.min(len.saturating_sub(1))),
    };
    if len == 0 || start >= len || start > end {
        return Err(());
    }
    Ok(Some((start, end)))
}

/// GET /v1/calls/{id}/recording: the stereo recording (caller left, bot and agent right).
pub async fn recording(State(s): State<AppState>, Extension(who): Extension<Principal>, Path(id): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    let call = visible_call(&s, &who, &id)?;
    let gone = || ApiError(StatusCode::NOT_FOUND, format!("the recording of call {id} is gone: it was deleted (retention, or by hand) or never made"));
    let path = call.recording.ok_or_else(gone)?;
    let mut file = tokio::fs::File::open(&path).await.map_err(|_| gone())?;
    let len = file.metadata().await.map_err(|_| gone())?.len();
    let range = match byte_range(&headers, len) {
        Ok(r) => r,
        // A range past the end cannot be served; one that is not a byte range is ignored.
        Err(()) if headers.get(header::RANGE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim().starts_with("bytes=")) && len > 0 => {
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, [(header::CONTENT_RANGE, format!("bytes */{len}"))]).into_response());
        }
        Err(()) => None,
    };
    let (start, end, status) = match range {
        Some((a, b)) => (a, b.min(a + MAX_RANGE_BYTES - 1), StatusCode::PARTIAL_CONTENT),
        // Not asked for a range: the whole file.
        None => (0, len.saturating_sub(1), StatusCode::OK),
    };
    if start == 0 {
        let _ = s.engines.store.audit(&who.name, "listen_call", &id);
    }
    let n = if len == 0 { 0 } else { end - start + 1 };
    let mut buf = vec![0u8; n as usize];
    file.seek(SeekFrom::Start(start)).await.map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("the recording could not be read: {e}")))?;
    file.read_exact(&mut buf).await.map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("the recording could not be read: {e}")))?;
    let mut r = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "audio/wav")
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CACHE_CONTROL, "private, no-store")
        .header(header::CONTENT_LENGTH, n);
    if status == StatusCode::PARTIAL_CONTENT {
        r = r.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"));
    }
    r.body(Body::from(buf)).map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// One replay at a time: it runs the recogniser as fast as it can, beside live calls.
static REPLAYS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// POST /v1/calls/{id}/replay: the call through today's pipeline; its decisions against the
/// recorded ones.
pub async fn replay(State(s): State<AppState>, Extension(who): Extension<Principal>, Path(id): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    let call = visible_call(&s, &who, &id)?;
    if call.ended_at.is_none() {
        return Err(ApiError(StatusCode::CONFLICT, format!("call {id} is still going on: replay it once it has ended")));
    }
    if call.recording.as_deref().is_none_or(|p| !std::path::Path::new(p).exists()) {
        return Err(ApiError(StatusCode::NOT_FOUND, format!("the recording of call {id} is gone: nothing to replay")));
    }
    let _turn = REPLAYS.try_acquire().map_err(|_| ApiError(StatusCode::TOO_MANY_REQUESTS, "another replay is running; try again when it is done".into()))?;
    let _ = s.engines.store.audit(&who.name, "replay_call", &id);
    let recorded = s.engines.store.events(&id)?;
    let started = std::time::Instant::now();
    let lines = crate::pipeline::qa_replay::replay_call(s.engines.clone(), &call, &recorded, None).await?;
    use crate::pipeline::decisions::Line;
    let rows: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| {
            let (t, kind, recorded, replayed) = match l {
                Line::Same { recorded } => (recorded.t_ms, recorded.kind, Some(&recorded.value), Some(&recorded.value)),
                Line::Recorded { recorded } => (recorded.t_ms, recorded.kind, Some(&recorded.value), None),
                Line::Now { now } => (now.t_ms, now.kind, None, Some(&now.value)),
                Line::Changed { recorded, now } => (recorded.t_ms, recorded.kind, Some(&recorded.value), Some(&now.value)),
            };
            serde_json::json!({ "t_ms": t, "kind": kind, "recorded": recorded, "replayed": replayed, "same": !l.differs() })
        })
        .collect();
    let differences = lines.iter().filter(|l| l.differs()).count();
    Ok(Json(shown_to(&s, &who, serde_json::json!({ "call": id, "took_ms": started.elapsed().as_millis() as u64, "differences": differences, "lines": rows }))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(v: &str, len: u64) -> Result<Option<(u64, u64)>, ()> {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, v.parse().unwrap());
        byte_range(&h, len)
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }

    #[test]
    fn byte_ranges_are_read_as_the_player_sends_them() {
        assert_eq!(byte_range(&HeaderMap::new(), 100), Ok(None));
        assert_eq!(range("bytes=0-", 100), Ok(Some((0, 99))));
        assert_eq!(range("bytes=10-19", 100), Ok(Some((10, 19))));
        assert_eq!(range("bytes=90-200", 100), Ok(Some((90, 99))));
        assert_eq!(range("bytes=-10", 100), Ok(Some((90, 99))));
        assert_eq!(range("bytes=100-", 100), Err(()));
        assert_eq!(range("bytes=20-10", 100), Err(()));
        assert_eq!(range("lines=1-2", 100), Err(()), "not a byte range (the handler ignores it)");
        assert_eq!(range("bytes=a-b", 100), Err(()));
    }
}
