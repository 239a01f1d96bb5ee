//! What supervisors watch: the wallboard (`GET /v1/wallboard`: the calls waiting for an agent,
//! the agents, their states and calls, who monitors which call, today's figures, the alerts), the dashboard's figures for a
//! period (`GET /v1/analytics`), the alerts (`GET /v1/alerts`), and `/metrics` for Prometheus.

use axum::extract::{Query, State};
use axum::{Extension, Json};
use serde::Deserialize;

use super::calls::shown_to;
use super::{ApiError, AppState};
use crate::agents::AgentStore;
use crate::auth::Principal;
use crate::orders::date::Day;

fn today() -> String {
    Day::today().iso()
}

/// GET /v1/wallboard.
pub async fn wallboard(State(s): State<AppState>, Extension(who): Extension<Principal>) -> Result<Json<serde_json::Value>, ApiError> {
    let desk = s.live.desk();
    let waiting = desk.as_ref().map(|d| d.waiting_now()).unwrap_or_default();
    let store = s.engines.store.clone();
    // The store's reads on a blocking thread: one per waiting call, and today's figures.
    let (queue, agents, t) = tokio::task::spawn_blocking(move || -> crate::error::Result<_> {
        let queue: Vec<serde_json::Value> = waiting
            .into_iter()
            .map(|(r, waited_ms, ringing)| {
                let caller = store.call(&r.call).ok().flatten().map(|c| crate::agents::card::display_caller(&c.caller)).unwrap_or_default();
                serde_json::json!({ "call": r.call, "waited_ms": waited_ms, "reason": r.reason, "lang": r.lang, "skill": r.skill, "caller": caller, "peak_anger": crate::store::search::peak_anger(&store.events(&r.call).unwrap_or_default()), "offered_to": ringing })
            })
            .collect();
        let agents: Vec<serde_json::Value> = store
            .agents()?
            .into_iter()
            .map(|a| {
                let desktop = desk.as_ref().is_some_and(|d| d.desktops.is_open(&a.agent.id));
                let call = desk.as_ref().and_then(|d| d.call_of(&a.agent.id));
                serde_json::json!({ "id": a.agent.id, "name": a.agent.name, "state": a.state, "since": a.since, "languages": a.agent.languages, "skills": a.agent.skills, "sip": a.agent.sip.is_some(), "desktop": desktop, "call": call })
            })
            .collect();
        let day = today();
        Ok((queue, agents, store.totals(&day, &day, None)?))
    })
    .await
    .map_err(|e| ApiError(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    let alerts = s.alerts.lock().unwrap_or_else(|p| p.into_inner()).active();
    Ok(Json(shown_to(&s, &who, serde_json::json!({
        "now": crate::alerts::now_rfc3339(),
        "queue": queue,
        "agents": agents,
        "today": { "calls": t.calls, "live": s.live.count(), "handoffs": t.handoffs, "abandoned": t.abandoned, "callbacks": t.callbacks, "avg_wait_ms": t.avg_wait_ms, "avg_handle_ms": t.avg_handle_ms, "csat_avg": t.csat_avg, "surveys": t.surveys },
        "alerts": alerts,
        "monitors": s.live.monitors().into_iter().map(|(call, supervisor, mode)| serde_json::json!({ "call": call, "supervisor": supervisor, "mode": mode })).collect::<Vec<_>>(),
    }))))
}

#[derive(Debug, Deserialize)]
pub struct Period {
    from: Option<String>,
    to: Option<String>,
    channel: Option<String>,
}

/// GET /v1/analytics?from=YYYY-MM-DD&to=YYYY-MM-DD[&channel=phone|app]: the last 7 days by default.
pub async fn analytics(State(s): State<AppState>, Extension(who): Extension<Principal>, Query(p): Query<Period>) -> Result<Json<serde_json::Value>, ApiError> {
    let to = super::qa::day("to", p.to)?.unwrap_or_else(today);
    let from = super::qa::day("from", p.from)?.unwrap_or_else(|| Day::parse(&to).map(|d| d.plus(-6).iso()).unwrap_or_else(today));
    if from > to {
        return Err(ApiError::bad_request(format!("from ({from}) is after to ({to})")));
    }
    let channel = super::qa::one_of("channel", p.channel, &["phone", "app", "chat", "file"])?;
    let store = s.engines.store.clone();
    let mut v = tokio::task::spawn_blocking(move || store.analytics(&from, &to, channel.as_deref()))
        .await
        .map_err(|e| ApiError(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    v["alerts"] = serde_json::to_value(s.alerts.lock().unwrap_or_else(|p| p.into_inner()).active()).unwrap_or_default();
    Ok(Json(shown_to(&s, &who, v)))
}

/// GET /v1/alerts: the alerts active now.
pub async fn alerts(State(s): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "alerts": s.alerts.lock().unwrap_or_else(|p| p.into_inner()).active() }))
}

/// GET /metrics: Prometheus' text format, the gauges read now.
pub async fn metrics(State(s): State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let Some(m) = crate::metrics::metrics() {
        m.active_calls.reset();
        for c in s.live.list() {
            let channel = if c.source.starts_with("webrtc:") { "app" } else if c.source.starts_with("sip:") { "phone" } else { "other" };
            m.active_calls.with_label_values(&[channel]).inc();
        }
        for ch in ["phone", "app"] {
            m.active_calls.with_label_values(&[ch]).add(0);
        }
        m.agents.reset();
        for a in s.engines.store.agents().unwrap_or_default() {
            m.agents.with_label_values(&[a.state.as_str()]).inc();
        }
        m.queue_length.set(s.live.desk().map(|d| d.waiting().len()).unwrap_or(0) as i64);
        m.asr_backlog.set(s.engines.asr.queued() as i64);
        if let Some(p) = &s.phone {
            let t = p.calls.totals();
            m.rtp_packets.with_label_values(&["received"]).set(t.media.rx_packets as i64);
            m.rtp_packets.with_label_values(&["lost"]).set(t.media.rx_lost as i64);
        }
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], crate::metrics::render()).into_response()
}

/// Counts each request by its route (the pattern, not the path) and status.
pub async fn count_requests(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let route = req.extensions().get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let r = next.run(req).await;
    if let Some(m) = crate::metrics::metrics() {
        m.http_requests.with_label_values(&[route.as_str(), r.status().as_str()]).inc();
    }
    r
}
