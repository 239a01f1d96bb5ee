//! A supervisor joins a live call with an agent from the wallboard, over WebRTC:
//! `POST /v1/calls/{id}/monitor` with `{mode, sdp}` (the page's offer, every candidate in it)
//! answers `{sdp}` and joins them listening (`listen`), speaking to the agent (`coach`) or to
//! both (`barge`); the same without `sdp` changes the mode; `DELETE` lets them go. The room
//! mixes them in and writes the events (`monitor_started`, `monitor_changed`, `monitor_ended`);
//! each request is in the audit log.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{ApiError, AppState};
use crate::agents::desktop_leg::{connected, desktop_leg, DesktopLine};
use crate::auth::Principal;
use crate::live::monitor::{MonitorMedia, MonitorMode};

/// How long the supervisor's media may take to connect.
const CONNECT_WITHIN: Duration = Duration::from_secs(15);
/// Longest offer accepted.
const MAX_OFFER_BYTES: usize = 64 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MonitorRequest {
    mode: String,
    sdp: Option<String>,
}

fn conflict(why: String) -> ApiError {
    ApiError(StatusCode::CONFLICT, why)
}

/// POST /v1/calls/{id}/monitor.
pub async fn start_or_change(State(s): State<AppState>, Extension(who): Extension<Principal>, Path(id): Path<String>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let r: MonitorRequest = super::json_body(&body, "{mode: \"listen\"|\"coach\"|\"barge\", sdp?}")?;
    let mode = MonitorMode::parse(&r.mode).ok_or_else(|| ApiError::bad_request(format!("mode must be \"listen\", \"coach\" or \"barge\", not {:?}", r.mode)))?;
    let room = s.live.room(&id).ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no live call {id}")))?;
    let Some(offer) = r.sdp else {
        room.set_monitor_mode(&who.name, mode).map_err(conflict)?;
        let _ = s.engines.store.audit(&who.name, "monitor_call", &format!("{id} {}", mode.as_str()));
        return Ok(Json(json!({ "call": id, "mode": mode.as_str(), "message": message(mode) })));
    };
    if offer.len() > MAX_OFFER_BYTES {
        return Err(ApiError::bad_request(format!("the offer is over {MAX_OFFER_BYTES} bytes")));
    }
    let inapp = s.inapp.clone().ok_or_else(|| ApiError(StatusCode::SERVICE_UNAVAILABLE, "WebRTC is off on this gateway ([webrtc] enabled = false): a supervisor joins calls over WebRTC".into()))?;
    // The slot is held before the offer is answered: a second supervisor is told at once. A
    // request given up on while it is answered (the page gone) lets the slot go.
    let (slot, gone) = room.reserve_monitor(&who.name, mode).map_err(conflict)?;
    let held = SlotHeld { room: room.clone(), slot, kept: false };
    let (session, _, mut io) = voicegate_webrtc::Session::answer(&inapp.endpoint, &offer).await.map_err(|e| ApiError::bad_request(format!("your browser's offer was refused: {e}")))?;
    let line = DesktopLine::new(session);
    let answer = line.session.complete_sdp(Duration::from_secs(2)).await;
    held.keep();
    let _ = s.engines.store.audit(&who.name, "monitor_call", &format!("{id} {}", mode.as_str()));
    let supervisor = who.name.clone();
    tokio::spawn(async move {
        if let Err(why) = tokio::select! {
            c = connected(&mut io, CONNECT_WITHIN) => c,
            _ = gone.cancelled() => Err("gone".into()),
        } {
            line.end("no_media").await;
            room.end_monitor(slot, &format!("no_media: {why}"));
            return;
        }
        let leg = desktop_leg(&supervisor, line, io);
        if !room.monitor_connected(slot, MonitorMedia { ear: leg.ear, voice: leg.voice }) {
            (leg.hangup)().await;
            return;
        }
        let page_gone = tokio::select! {
            // The page closed, or its network went.
            _ = leg.ended => true,
            // Stopped from the wallboard, the agent left, the call ended.
            _ = gone.cancelled() => false,
        };
        (leg.hangup)().await;
        if page_gone {
            room.end_monitor(slot, "left");
        }
    });
    Ok(Json(json!({ "call": id, "mode": mode.as_str(), "sdp": answer, "message": message(mode) })))
}

/// DELETE /v1/calls/{id}/monitor.
pub async fn stop(State(s): State<AppState>, Extension(who): Extension<Principal>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let room = s.live.room(&id).ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no live call {id}")))?;
    if !room.stop_monitor(&who.name) {
        return Err(ApiError(StatusCode::NOT_FOUND, format!("you are not on call {id}")));
    }
    Ok(Json(json!({ "call": id, "stopped": true })))
}

/// A reserved slot, let go when dropped unless kept.
struct SlotHeld {
    room: crate::live::room::Room,
    slot: u64,
    kept: bool,
}

impl SlotHeld {
    fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for SlotHeld {
    fn drop(&mut self) {
        if !self.kept {
            self.room.end_monitor(self.slot, "abandoned");
        }
    }
}

fn message(mode: MonitorMode) -> &'static str {
    match mode {
        MonitorMode::Listen => "Listening in: nobody hears you.",
        MonitorMode::Coach => "Coaching: the agent hears you, the caller does not.",
        MonitorMode::Barge => "Barged in: the caller and the agent hear you.",
    }
}
