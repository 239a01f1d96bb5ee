//! The agents over HTTP: who they are and their states with the calls waiting (supervisors),
//! an agent's state set by the agent or a supervisor, and the callback tickets.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;

use super::{json_body, ApiError, AppState};
use crate::agents::{AgentState, AgentStore};
use crate::auth::{Principal, Role};

/// GET /v1/agents: every agent with their state and since when, and the calls waiting.
pub async fn list(State(s): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let agents = s.engines.store.agents()?;
    let queue: Vec<serde_json::Value> = s
        .live
        .desk()
        .map(|d| d.waiting())
        .unwrap_or_default()
        .into_iter()
        .map(|r| serde_json::json!({ "call": r.call, "lang": r.lang, "skill": r.skill, "reason": r.reason }))
        .collect();
    Ok(Json(serde_json::json!({ "agents": agents, "queue": queue })))
}

#[derive(Debug, Deserialize)]
struct StateBody {
    state: String,
}

/// POST /v1/agents/{id}/state with `{"state": "available"|"away"|"offline"}`: by the agent
/// themself (signed in with their agent id as user name) or a supervisor.
pub async fn set_state(State(s): State<AppState>, Extension(who): Extension<Principal>, Path(id): Path<String>, body: Bytes) -> Result<Json<serde_json::Value>, ApiError> {
    if who.role < Role::Supervisor && who.name != id {
        return Err(ApiError(StatusCode::FORBIDDEN, format!("{} may set only their own state", who.name)));
    }
    let b: StateBody = json_body(&body, "{\"state\": \"available\"|\"away\"|\"offline\"}")?;
    let state: AgentState = b.state.parse().map_err(ApiError::bad_request)?;
    if !state.settable() {
        return Err(ApiError::bad_request(format!("an agent's state can be set to offline, available or away; {state} is the gateway's to set")));
    }
    if s.engines.store.agent(&id)?.is_none() {
        return Err(ApiError(StatusCode::NOT_FOUND, format!("no agent {id:?}")));
    }
    match s.live.desk() {
        Some(desk) => {
            // The desk may not know an agent added a moment ago yet.
            desk.sync_agents();
            desk.set_state(&id, state).map_err(|e| ApiError(StatusCode::CONFLICT, e))?;
        }
        None => {
            s.engines.store.set_agent_state(&id, state)?;
        }
    }
    let _ = s.engines.store.audit(&who.name, "agent_state", &format!("{id} {state}"));
    let record = s.engines.store.agent(&id)?;
    Ok(Json(serde_json::json!({ "agent": record })))
}

/// GET /v1/callbacks: the open callback tickets, oldest first, with their context.
pub async fn callbacks(State(s): State<AppState>, Extension(who): Extension<Principal>) -> Result<Json<serde_json::Value>, ApiError> {
    let tickets: Vec<serde_json::Value> = s
        .engines
        .store
        .callbacks()?
        .into_iter()
        .map(|(id, call, number, lang, context, created)| {
            let context: serde_json::Value = serde_json::from_str(&context).unwrap_or(serde_json::Value::Null);
            serde_json::json!({ "ticket": id, "call": call, "number": number, "lang": lang, "context": context, "created_at": created })
        })
        .collect();
    Ok(Json(super::calls::shown_to(&s, &who, serde_json::json!({ "callbacks": tickets }))))
}
