//! The gateway's HTTP API (axum): health with the loaded pipeline, and a replay endpoint that
//! runs uploaded audio through the same pipeline as a call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::audio::{decode::decode_bytes, PipelineAudio};
use crate::error::Error;
use crate::pipeline::{run_file_call, CallSpec, Engines};

mod agent_desk;
mod agents;
pub mod auth;
mod calls;
mod chat;
mod monitor;
mod nlu;
mod pages;
mod qa;
mod supervisor;
pub mod tls;
mod webrtc;

/// Largest upload accepted by /v1/replay.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub engines: Arc<Engines>,
    /// The calls up now, whatever their leg.
    pub live: Arc<crate::live::LiveCalls>,
    started: std::time::Instant,
    next_call: Arc<AtomicU64>,
    chats: chat::Sessions,
    /// In-app calls (WebRTC), when `[webrtc]` is on.
    pub inapp: Option<Arc<crate::inapp::InApp>>,
    /// The SIP server and the phone calls' figures, when SIP is on.
    phone: Option<PhoneState>,
    /// The threshold alerts active now.
    pub alerts: crate::alerts::Active,
}

impl AppState {
    pub fn new(engines: Arc<Engines>, live: Arc<crate::live::LiveCalls>) -> Self {
        Self {
            engines,
            live,
            started: std::time::Instant::now(),
            next_call: Arc::new(AtomicU64::new(1)),
            chats: Default::default(),
            inapp: None,
            phone: None,
            alerts: Default::default(),
        }
    }

    pub fn with_inapp(mut self, inapp: Option<Arc<crate::inapp::InApp>>) -> Self {
        self.inapp = inapp;
        self
    }

    pub fn with_phone(mut self, phone: Option<PhoneState>) -> Self {
        self.phone = phone;
        self
    }
}

/// What the pages and the API read of the SIP side: the server's counters and live objects,
/// and the phone calls' figures.
#[derive(Clone)]
pub struct PhoneState {
    pub stats: Arc<std::sync::Mutex<voicegate_sip::server::ServerStats>>,
    pub live: voicegate_sip::server::LiveCounter,
    pub calls: Arc<crate::phone::PhoneContext>,
}

/// Largest body accepted by /v1/nlu; longer texts are refused by the NLU with a reason.
pub const MAX_NLU_BODY_BYTES: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    use axum::middleware::from_fn_with_state;
    // Anyone signed in (agents, the shop's backend with a token): chat, NLU, their calls.
    let signed_in = Router::new()
        .route("/v1/me", get(auth::me))
        .route("/v1/nlu", post(nlu::analyze).layer(DefaultBodyLimit::max(MAX_NLU_BODY_BYTES)))
        .route("/v1/chat", post(chat::chat).layer(DefaultBodyLimit::max(MAX_NLU_BODY_BYTES)))
        .route("/v1/calls", get(calls::list))
        .route("/v1/calls/{id}", get(calls::one))
        .route("/v1/calls/{id}/recording", get(qa::recording))
        .route("/v1/agents/{id}/state", post(agents::set_state))
        .route("/v1/agent/socket", get(agent_desk::socket))
        .route_layer(from_fn_with_state(state.clone(), auth::signed_in));
    // Supervisors and QA staff: every call, replays, live figures.
    let supervisor = Router::new()
        .route("/v1/replay", post(replay).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)))
        .route("/v1/sip", get(calls::sip_stats))
        .route("/v1/live", get(calls::live))
        .route("/v1/agents", get(agents::list))
        .route("/v1/callbacks", get(agents::callbacks))
        .route("/v1/qa/calls", get(qa::list))
        .route("/v1/qa/export", get(qa::export))
        .route("/v1/wallboard", get(supervisor::wallboard))
        .route("/v1/analytics", get(supervisor::analytics))
        .route("/v1/alerts", get(supervisor::alerts))
        .route("/metrics", get(supervisor::metrics))
        .route("/v1/calls/{id}/replay", post(qa::replay))
        .route("/v1/calls/{id}/monitor", post(monitor::start_or_change).delete(monitor::stop).layer(DefaultBodyLimit::max(64 * 1024)))
        .route_layer(from_fn_with_state(state.clone(), auth::supervisor));
    let admin = Router::new().route("/v1/audit", get(auth::audit)).route_layer(from_fn_with_state(state.clone(), auth::admin));
    // Open: health, the caller page and its signalling (call tokens), the sign-in page.
    Router::new()
        .route("/health", get(health))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/v1/webrtc", get(webrtc::socket))
        .route("/v1/webrtc/tokens", post(webrtc::mint_token))
        .route("/v1/whip", post(webrtc::whip_offer).layer(DefaultBodyLimit::max(64 * 1024)))
        .route("/v1/whip/{id}", delete(webrtc::whip_delete).patch(webrtc::whip_patch))
        .route("/call", get(pages::call_page))
        .route("/agent", get(pages::agent_page))
        .route("/qa", get(pages::qa_page))
        .route("/supervisor", get(pages::supervisor_page))
        .route("/dashboard", get(pages::dashboard_page))
        .route("/assets/{name}", get(pages::asset))
        .merge(signed_in)
        .merge(supervisor)
        .merge(admin)
        .route_layer(axum::middleware::from_fn(supervisor::count_requests))
        .with_state(state)
}

/// An error answer: a status and a one-line reason as JSON.
pub struct ApiError(pub StatusCode, pub String);

impl ApiError {
    pub fn bad_request(reason: impl Into<String>) -> Self {
        ApiError(StatusCode::BAD_REQUEST, reason.into())
    }
}

/// A JSON request body of the shape `T`; `shape` describes it in the error.
pub fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes, shape: &str) -> Result<T, ApiError> {
    let text = std::str::from_utf8(body).map_err(|e| ApiError::bad_request(format!("body is not UTF-8: {e}")))?;
    serde_json::from_str(text).map_err(|e| ApiError::bad_request(format!("body is not a JSON object {shape}: {e}")))
}

/// The optional `lang` of a request: "en" or "zh".
pub fn check_lang(lang: Option<&str>) -> Result<(), ApiError> {
    match lang {
        Some(l) if !matches!(l, "en" | "zh") => Err(ApiError::bad_request(format!("lang must be \"en\" or \"zh\", not {l:?}"))),
        _ => Ok(()),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = match e {
            Error::Input(_) => StatusCode::BAD_REQUEST,
            Error::Config(_) | Error::Model(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

async fn health(State(s): State<AppState>) -> impl IntoResponse {
    Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": s.started.elapsed().as_secs(),
        "live_calls": s.live.count(),
        "pipeline": s.engines.describe(),
    }))
}

#[derive(Debug, Deserialize)]
struct ReplayQuery {
    channel: Option<usize>,
}

/// POST audio bytes; answers the call's events as JSON lines.
async fn replay(State(s): State<AppState>, Query(q): Query<ReplayQuery>, body: Bytes) -> Result<Response, ApiError> {
    let n = s.next_call.fetch_add(1, Ordering::Relaxed);
    let call_id = format!("upload-{n}");
    let decoded = tokio::task::spawn_blocking(move || decode_bytes(body.to_vec(), "upload", q.channel))
        .await
        .map_err(|e| Error::internal(e))?
        .map_err(Error::from)?;
    let audio = PipelineAudio::from_decoded(decoded)?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let spec = CallSpec::replay(call_id, "upload".into(), false);
    run_file_call(s.engines.clone(), spec, audio.samples, tx).await?;
    let mut events = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        events.push(ev);
    }
    events.sort_by_key(|e| e.t_ms);
    let body: String = events.iter().map(|e| e.to_json() + "\n").collect();
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}
