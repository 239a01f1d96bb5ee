//! Recorded calls over HTTP: the list, one call with its events, and the SIP figures
//! (counters, media totals, the process's CPU time and memory) that `bench calls` reads.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};

use crate::auth::{Principal, Role};
use serde::Deserialize;

use super::{ApiError, AppState};

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<usize>,
}

/// `v` as `who` may see it: personal data masked below the role `privacy.show_pii_to`.
pub fn shown_to(s: &AppState, who: &Principal, mut v: serde_json::Value) -> serde_json::Value {
    if !s.engines.config.privacy.shows_pii_to(who.role) {
        crate::pii::mask_json(&mut v);
    }
    v
}

/// The calls the signed-in person may see: every call for supervisors, an agent's own.
pub async fn list(State(s): State<AppState>, Extension(who): Extension<Principal>, Query(q): Query<ListQuery>) -> Result<Json<serde_json::Value>, ApiError> {
    let limit = q.limit.unwrap_or(100).min(10_000);
    let calls = if who.role >= Role::Supervisor { s.engines.store.calls(limit)? } else { s.engines.store.calls_of_agent(&who.name, limit)? };
    Ok(Json(shown_to(&s, &who, serde_json::json!({ "calls": calls }))))
}

pub async fn one(State(s): State<AppState>, Extension(who): Extension<Principal>, Path(id): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    let call = s.engines.store.call(&id)?.filter(|_| who.role >= Role::Supervisor || s.engines.store.agent_took(&who.name, &id).unwrap_or(false));
    // Another agent's call is as unknown as one that does not exist.
    let Some(call) = call else {
        return Err(ApiError(StatusCode::NOT_FOUND, format!("no call {id:?}")));
    };
    let events = s.engines.store.events(&id)?;
    let wrapups: Vec<serde_json::Value> = s.engines.store.wrapups(&id)?.into_iter().map(|(agent, disposition, notes, at)| serde_json::json!({ "agent": agent, "disposition": disposition, "notes": notes, "at": at })).collect();
    if let Err(e) = s.engines.store.audit(&who.name, "view_call", &id) {
        tracing::warn!(error = %e, "audit not written");
    }
    let summary = s.engines.store.indexed_call(&id)?;
    let qa = s.engines.store.qa_result(&id)?;
    Ok(Json(shown_to(&s, &who, serde_json::json!({ "call": call, "events": events, "wrapups": wrapups, "summary": summary, "qa": qa }))))
}

/// CPU seconds used by this process and its resident memory, from /proc.
pub fn process_usage() -> (f64, f64) {
    let ticks = 100.0;
    let cpu = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / ticks)
        })
        .unwrap_or(0.0);
    let rss_mb = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0);
    (cpu, rss_mb)
}

pub async fn sip_stats(State(s): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let Some(p) = &s.phone else {
        return Err(ApiError(StatusCode::NOT_FOUND, "SIP is off ([sip] enabled = false, or serve --no-sip)".into()));
    };
    let (server, phone) = (p.stats.lock().map(|g| g.clone()).unwrap_or_default(), &p.calls);
    let (cpu_s, rss_mb) = process_usage();
    let asr = s.engines.asr.queued();
    Ok(Json(serde_json::json!({
        "server": server,
        "live": p.live.read(),
        "media": phone.totals(),
        "pipeline": phone.pipeline,
        "asr_queue": asr,
        "process": { "cpu_s": cpu_s, "rss_mb": rss_mb, "warmed_up": s.engines.warmed_up() },
    })))
}

/// GET /v1/live: the calls up now (any leg), and the in-app side's figures.
pub async fn live(State(s): State<AppState>, Extension(who): Extension<Principal>) -> Json<serde_json::Value> {
    let (cpu_s, rss_mb) = process_usage();
    let inapp = s.inapp.as_ref().map(|c| serde_json::json!({ "calls": c.calls(), "sockets": c.sockets(), "media": c.totals() }));
    Json(shown_to(&s, &who, serde_json::json!({
        "count": s.live.count(),
        "calls": s.live.list(),
        "webrtc": inapp,
        "process": { "cpu_s": cpu_s, "rss_mb": rss_mb, "warmed_up": s.engines.warmed_up() },
    })))
}
