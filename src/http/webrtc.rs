//! In-app calls over HTTP: the signalling WebSocket `/v1/webrtc`, WHIP (`POST /v1/whip`, RFC
//! 9725) for apps that prefer plain HTTP, and `POST /v1/webrtc/tokens` for the shop's backend.
//! A call token is checked before anything else: no, bad or expired, and the answer is 401
//! before any media resource exists.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tracing::{debug, info};

use super::{ApiError, AppState};
use crate::inapp::call::{self, StartError};
use crate::inapp::signal::{self, FromPage, ToPage, MAX_MESSAGE_BYTES};
use crate::inapp::token::{unix_now, CallClaims, TokenError};
use crate::inapp::InApp;

/// A signalling socket that has not sent its offer after this long is closed.
const OFFER_WITHIN: Duration = Duration::from_secs(30);
/// Bad messages tolerated on one socket before it is closed.
const MAX_BAD_MESSAGES: u32 = 20;

fn inapp(s: &AppState) -> Result<Arc<InApp>, ApiError> {
    s.inapp.clone().ok_or_else(|| ApiError(StatusCode::NOT_FOUND, "in-app calls are off ([webrtc] enabled = false)".into()))
}

fn unauthorized(e: TokenError) -> ApiError {
    ApiError(StatusCode::UNAUTHORIZED, e.to_string())
}

/// The bearer token of a request, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// GET /v1/webrtc?token=T: the signalling WebSocket of one call.
pub async fn socket(State(s): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, Query(q): Query<TokenQuery>, headers: HeaderMap, ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>) -> Result<Response, ApiError> {
    let ctx = inapp(&s)?;
    let token = q.token.as_deref().or_else(|| bearer(&headers)).unwrap_or("");
    let claims = ctx.tokens.verify(token, unix_now()).map_err(unauthorized)?;
    let Ok(ws) = ws else {
        return Err(ApiError(StatusCode::UPGRADE_REQUIRED, "this is a WebSocket endpoint (signalling for in-app calls)".into()));
    };
    let Some(slot) = ctx.socket_slot(peer.ip()) else {
        info!(source = %peer.ip(), "too many signalling sockets from one address");
        return Err(ApiError(StatusCode::TOO_MANY_REQUESTS, "too many open call connections from this address".into()));
    };
    Ok(ws
        .max_message_size(MAX_MESSAGE_BYTES * 2)
        .max_frame_size(MAX_MESSAGE_BYTES * 2)
        .on_upgrade(move |socket| async move {
            signalling(socket, ctx, claims).await;
            drop(slot);
        }))
}

async fn send(socket: &mut WebSocket, m: &ToPage) -> bool {
    socket.send(Message::Text(m.to_json().into())).await.is_ok()
}

/// One call's signalling, from the hello to the hangup.
async fn signalling(mut socket: WebSocket, ctx: Arc<InApp>, claims: CallClaims) {
    let call_id = crate::live::new_call_id();
    let ice_servers = ctx
        .engines
        .config
        .webrtc
        .ice_servers
        .iter()
        .map(|s| signal::IceServer { urls: s.urls.clone(), username: (!s.username.is_empty()).then(|| s.username.clone()), credential: (!s.credential.is_empty()).then(|| s.credential.clone()) })
        .collect();
    if !send(&mut socket, &ToPage::Hello { call_id: call_id.clone(), ice_servers, customer: claims.customer.clone() }).await {
        return;
    }
    let mut handle: Option<Arc<call::CallHandle>> = None;
    let (_none_tx, none_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut updates = none_rx;
    let mut bad = 0u32;
    let offer_deadline = tokio::time::sleep(OFFER_WITHIN);
    tokio::pin!(offer_deadline);
    loop {
        tokio::select! {
            _ = &mut offer_deadline, if handle.is_none() => {
                let _ = send(&mut socket, &ToPage::error(format!("no offer within {} s", OFFER_WITHIN.as_secs()))).await;
                break;
            }
            u = updates.recv() => match u {
                Some(m) => {
                    let over = matches!(m, ToPage::Hangup { .. });
                    if !send(&mut socket, &m).await || over {
                        break;
                    }
                }
                None if handle.is_some() => break,
                None => {}
            },
            msg = socket.recv() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Binary(_))) => {
                        bad += 1;
                        let _ = send(&mut socket, &ToPage::error("binary messages are not signalling; send JSON text")).await;
                        if bad > MAX_BAD_MESSAGES { break }
                        continue;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    // Gone, closed or broken: the caller is gone.
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                        debug!(call = %call_id, "signalling socket closed");
                        break;
                    }
                };
                match signal::parse(&text) {
                    Err(reason) => {
                        bad += 1;
                        let _ = send(&mut socket, &ToPage::error(reason)).await;
                        if bad > MAX_BAD_MESSAGES {
                            let _ = send(&mut socket, &ToPage::error("too many bad messages; closing")).await;
                            break;
                        }
                    }
                    Ok(FromPage::Offer { sdp }) if handle.is_none() => match call::start(ctx.clone(), claims.clone(), call_id.clone(), &sdp).await {
                        Ok((h, answer, u)) => {
                            handle = Some(h);
                            updates = u;
                            if !send(&mut socket, &ToPage::Answer { sdp: answer }).await {
                                break;
                            }
                        }
                        Err(e) => {
                            info!(call = %call_id, error = %e, "in-app call refused");
                            let _ = send(&mut socket, &ToPage::error(e.to_string())).await;
                            if matches!(e, StartError::Busy | StartError::Internal(_)) {
                                let _ = send(&mut socket, &ToPage::Hangup { reason: "refused".into() }).await;
                                break;
                            }
                        }
                    },
                    Ok(FromPage::Offer { .. }) => {
                        let _ = send(&mut socket, &ToPage::error("this call has its offer already (renegotiation is not supported)")).await;
                    }
                    Ok(FromPage::Candidate(c)) => match &handle {
                        Some(h) => {
                            if let Err(e) = h.add_candidate(c).await {
                                let _ = send(&mut socket, &ToPage::error(e)).await;
                            }
                        }
                        None => {
                            let _ = send(&mut socket, &ToPage::error("send the offer before candidates")).await;
                        }
                    },
                    Ok(FromPage::Hangup) => match &handle {
                        // The end comes back as the call's last events and a hangup message.
                        Some(h) => h.hang_up(),
                        None => break,
                    },
                }
            }
        }
    }
    if let Some(h) = handle {
        h.hang_up();
    }
    let _ = socket.send(Message::Close(None)).await;
}

/// POST /v1/whip: an SDP offer in, the complete SDP answer out (201, Location of the session).
pub async fn whip_offer(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let ctx = inapp(&s)?;
    let claims = ctx.tokens.verify(bearer(&headers).unwrap_or(""), unix_now()).map_err(unauthorized)?;
    let ctype = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ctype.starts_with("application/sdp") {
        return Err(ApiError(StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("the offer must be application/sdp, not {ctype:?}")));
    }
    if body.len() > signal::MAX_SDP_BYTES {
        return Err(ApiError(StatusCode::PAYLOAD_TOO_LARGE, format!("SDP of {} bytes is over the limit of {}", body.len(), signal::MAX_SDP_BYTES)));
    }
    let offer = std::str::from_utf8(&body).map_err(|_| ApiError::bad_request("the offer is not UTF-8 text"))?;
    let call_id = crate::live::new_call_id();
    let (handle, _answer, _updates) = call::start(ctx.clone(), claims, call_id.clone(), offer).await.map_err(|e| match e {
        StartError::Busy => ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        StartError::BadOffer(r) => ApiError(StatusCode::BAD_REQUEST, r),
        StartError::Internal(r) => ApiError(StatusCode::INTERNAL_SERVER_ERROR, r),
    })?;
    // WHIP does not trickle here: the answer carries every candidate.
    let answer = handle.complete_sdp(Duration::from_secs(3)).await;
    ctx.whip.lock().unwrap_or_else(|p| p.into_inner()).insert(call_id.clone(), handle.clone());
    let ended = handle.ended();
    let c2 = ctx.clone();
    let id2 = call_id.clone();
    tokio::spawn(async move {
        ended.cancelled().await;
        c2.whip.lock().unwrap_or_else(|p| p.into_inner()).remove(&id2);
    });
    Ok((
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/sdp".to_string()), (header::LOCATION, format!("/v1/whip/{call_id}"))],
        answer,
    )
        .into_response())
}

/// DELETE /v1/whip/{id}: the caller hangs up.
pub async fn whip_delete(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let ctx = inapp(&s)?;
    let handle = ctx.whip.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    match handle {
        Some(h) => {
            h.hang_up();
            Ok(StatusCode::OK.into_response())
        }
        None => Err(ApiError(StatusCode::NOT_FOUND, format!("no WHIP session {id}"))),
    }
}

/// PATCH /v1/whip/{id}: trickle ICE over WHIP is not supported (the answer has every candidate).
pub async fn whip_patch() -> Response {
    (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "DELETE")], Json(serde_json::json!({"error": "trickle ICE over WHIP is not supported: the answer carries every candidate"}))).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    customer: String,
    order: Option<String>,
    locale: Option<String>,
    ttl_s: Option<u64>,
}

/// POST /v1/webrtc/tokens (Authorization: Bearer <api key>): a call token for a customer.
pub async fn mint_token(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let ctx = inapp(&s)?;
    let keys = &ctx.engines.config.webrtc.api_keys;
    let key = bearer(&headers).unwrap_or("");
    if key.is_empty() || !keys.iter().any(|k| voicegate_sip::guard::constant_time_eq(k.as_bytes(), key.as_bytes())) {
        return Err(ApiError(StatusCode::UNAUTHORIZED, "an API key from webrtc.api_keys is required (Authorization: Bearer KEY)".into()));
    }
    let r: TokenRequest = super::json_body(&body, "{customer, order?, locale?, ttl_s?}")?;
    if r.customer.trim().is_empty() || r.customer.len() > 128 {
        return Err(ApiError::bad_request("customer must be 1 to 128 characters"));
    }
    let ttl = r.ttl_s.unwrap_or(ctx.engines.config.webrtc.token_ttl_s).clamp(10, 86_400);
    let claims = CallClaims { customer: r.customer, order: r.order, locale: r.locale, exp: unix_now() + ttl };
    let token = ctx.tokens.mint(&claims);
    Ok(Json(serde_json::json!({ "token": token, "expires_at": claims.exp, "customer": claims.customer })).into_response())
}

