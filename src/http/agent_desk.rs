//! The agent desktop's signalling: `GET /v1/agent/socket` (a WebSocket, signed in as an agent).
//! The page sets the agent's state, is offered calls with their context card, accepts with
//! its WebRTC offer (answered with every candidate: no trickle), declines, hangs up, sees the
//! call's events live with the knowledge base's answer to each of the caller's questions
//! (agent assist), and stores its wrap-up. The desk decides; this carries messages. The
//! page closing is the agent gone: offline, and a call they were on goes back to the queue.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use serde_json::json;
use tokio::sync::{broadcast, mpsc};
use tracing::{info, warn};

use super::{ApiError, AppState};
use crate::agents::desk::Desk;
use crate::agents::desktop::{DesktopNote, FromPage, ToPage, MAX_PAGE_MESSAGE_BYTES};
use crate::agents::desktop_leg::{connected, desktop_leg, DesktopLine};
use crate::agents::{AgentRecord, AgentState, AgentStore};
use crate::auth::Principal;
use crate::call::control::AGENT_LOST;
use crate::events::{Event, EventKind};

/// How long the desktop's media may take to connect after its accept.
const CONNECT_WITHIN: Duration = Duration::from_secs(15);
/// The page is pinged this often; three without any answer and it is gone.
const PING_EVERY: Duration = Duration::from_secs(20);
/// Longest wrap-up notes kept.
const MAX_NOTES_CHARS: usize = 4000;

/// GET /v1/agent/socket: the desktop of the agent signed in.
pub async fn socket(State(s): State<AppState>, Extension(who): Extension<Principal>, headers: HeaderMap, ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>) -> Result<Response, ApiError> {
    // A page of another site may not open a signed-in agent's socket with their cookie.
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        let origin_host = origin.split("://").nth(1).unwrap_or("");
        if host.is_empty() || origin_host != host {
            return Err(ApiError(StatusCode::FORBIDDEN, format!("the desktop's socket is opened by its own page, not by {origin:?}")));
        }
    }
    let agent = s.engines.store.agent(&who.name)?.ok_or_else(|| ApiError(StatusCode::FORBIDDEN, format!("{} is signed in but is not an agent (an admin adds them with `voicegate agents add {}`)", who.name, who.name)))?;
    let desk = s.live.desk().ok_or_else(|| ApiError(StatusCode::SERVICE_UNAVAILABLE, "the agents' desk is not running".into()))?;
    let Ok(ws) = ws else {
        return Err(ApiError(StatusCode::UPGRADE_REQUIRED, "this is a WebSocket endpoint (the agent desktop's signalling)".into()));
    };
    Ok(ws.max_message_size(MAX_PAGE_MESSAGE_BYTES).max_frame_size(MAX_PAGE_MESSAGE_BYTES).on_upgrade(move |socket| desktop(socket, s, desk, agent)))
}

/// What woke the desktop's loop.
enum Wake {
    Ping,
    Desk(Option<DesktopNote>),
    CallEvent(Result<Event, broadcast::error::RecvError>),
    Media(MediaNote),
    LineEnded,
    Page(Option<Result<Message, axum::Error>>),
}

/// How an accepted call's media turned out.
enum MediaNote {
    Joined { call: String },
    Failed { call: String, why: String },
}

/// The call the desktop is on.
struct OnCall {
    call: String,
    line: DesktopLine,
}

async fn send(socket: &mut WebSocket, v: String) -> bool {
    socket.send(Message::Text(v.into())).await.is_ok()
}

async fn next_event(w: &mut Option<broadcast::Receiver<Event>>) -> Result<Event, broadcast::error::RecvError> {
    match w {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

async fn line_ended(on: &Option<OnCall>) {
    match on {
        Some(c) => c.line.session.ended().cancelled().await,
        None => std::future::pending().await,
    }
}

/// One desktop, from its hello to its close.
async fn desktop(mut socket: WebSocket, s: AppState, desk: Arc<Desk>, agent: AgentRecord) {
    let id = agent.agent.id.clone();
    desk.sync_agents();
    let (n, mut notes) = desk.desktops.open(&id);
    let cfg = &s.engines.config;
    let hello = json!({
        "type": "hello",
        "agent": agent.agent,
        "state": agent.state,
        "since": agent.since,
        "ice_servers": cfg.webrtc.ice_servers,
        "dispositions": cfg.agents.dispositions,
        "ring_timeout_s": cfg.agents.ring_timeout_s,
        "webrtc": s.inapp.is_some(),
    });
    info!(agent = %id, "agent desktop opened");
    if !send(&mut socket, hello.to_string()).await {
        close(&desk, &id, n, None).await;
        return;
    }
    let (media_tx, mut media_rx) = mpsc::unbounded_channel::<MediaNote>();
    let mut on_call: Option<OnCall> = None;
    let mut watch: Option<broadcast::Receiver<Event>> = None;
    // The calls this desktop took, for their wrap-up.
    let mut taken: Vec<String> = Vec::new();
    // The caller's last words on the call, for agent assist.
    let mut last_said: Option<(String, String)> = None;
    // After the agent's part of a call ends, its events still come this long (their last
    // words), then no more: the call may go on with someone else.
    let mut watch_until: Option<std::time::Instant> = None;
    // A page that answers nothing (a laptop asleep, a network gone) is closed: the agent gone.
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut heard_at = std::time::Instant::now();
    loop {
        let wake = tokio::select! {
            _ = ping.tick() => Wake::Ping,
            n = notes.recv() => Wake::Desk(n),
            e = next_event(&mut watch) => Wake::CallEvent(e),
            Some(m) = media_rx.recv() => Wake::Media(m),
            _ = line_ended(&on_call) => Wake::LineEnded,
            m = socket.recv() => Wake::Page(m),
        };
        if matches!(wake, Wake::Page(Some(Ok(_)))) {
            heard_at = std::time::Instant::now();
        }
        if watch_until.is_some_and(|t| std::time::Instant::now() > t) {
            watch = None;
            watch_until = None;
        }
        let out: Vec<String> = match wake {
            Wake::Ping if heard_at.elapsed() > PING_EVERY * 3 => {
                info!(agent = %id, "the desktop stopped answering");
                break;
            }
            Wake::Ping => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
                Vec::new()
            }
            Wake::Desk(None) | Wake::Page(None) | Wake::Page(Some(Err(_))) | Wake::Page(Some(Ok(Message::Close(_)))) => break,
            Wake::Desk(Some(DesktopNote::Replaced)) => {
                let _ = send(&mut socket, ToPage::Error { message: "the desktop was opened in another window; this one is closed".into() }.to_json()).await;
                // The newer desktop is the agent now: nothing of theirs is touched on close.
                if let Some(c) = on_call.take() {
                    c.line.end(AGENT_LOST).await;
                }
                return;
            }
            Wake::Desk(Some(DesktopNote::Offer { call, waited_ms })) => {
                let card = crate::agents::card::build(s.engines.store.clone(), s.engines.shop.orders.clone(), call.clone(), waited_ms).await;
                vec![json!({ "type": "offer", "call": call, "card": card }).to_string()]
            }
            Wake::Desk(Some(DesktopNote::Withdrawn { call, why })) => vec![ToPage::Withdrawn { call, why }.to_json()],
            Wake::Desk(Some(DesktopNote::State { state })) => {
                let since = s.engines.store.agent(&id).ok().flatten().map(|r| r.since).unwrap_or_default();
                vec![ToPage::State { state, since }.to_json()]
            }
            Wake::CallEvent(Ok(ev)) => {
                let call = ev.call_id.clone();
                let mut out = vec![json!({ "type": "event", "call": call, "event": ev }).to_string()];
                // Agent assist: the knowledge base's answer to what the caller just asked.
                match &ev.kind {
                    EventKind::Transcript { is_final: true, text, lang, speaker, .. } if speaker == "caller" => last_said = Some((text.clone(), lang.clone())),
                    EventKind::Intent { intent, .. } => {
                        if let Some((text, lang)) = last_said.take() {
                            if let Some(a) = s.engines.shop.kb.answer(&text, intent, &lang) {
                                out.push(json!({ "type": "suggestion", "call": call, "items": [{ "title": a.id.replace(['_', '-'], " "), "answer": a.text, "question": text, "score": a.score }] }).to_string());
                            }
                        }
                    }
                    _ => {}
                }
                out
            }
            Wake::CallEvent(Err(broadcast::error::RecvError::Lagged(_))) => Vec::new(),
            Wake::CallEvent(Err(broadcast::error::RecvError::Closed)) => {
                watch = None;
                Vec::new()
            }
            Wake::Media(MediaNote::Joined { call }) => {
                watch = s.live.watch(&call);
                taken.push(call.clone());
                vec![ToPage::Connected { call }.to_json()]
            }
            Wake::Media(MediaNote::Failed { call, why }) => {
                if on_call.as_ref().is_some_and(|c| c.call == call) {
                    on_call = None;
                }
                vec![ToPage::Error { message: format!("the call could not be connected: {why}") }.to_json()]
            }
            Wake::LineEnded => match on_call.take() {
                Some(c) => {
                    let reason = c.line.reason("hung_up");
                    info!(agent = %id, call = %c.call, %reason, "the desktop's call ended");
                    watch_until = Some(std::time::Instant::now() + Duration::from_secs(10));
                    // The call's last events (the agent's final words) still come for a while.
                    vec![ToPage::Ended { call: c.call, reason }.to_json()]
                }
                None => Vec::new(),
            },
            Wake::Page(Some(Ok(Message::Text(t)))) => on_page(t.as_str(), &s, &desk, &id, &mut on_call, &taken, &media_tx, &mut socket).await,
            Wake::Page(Some(Ok(Message::Binary(_)))) => vec![ToPage::Error { message: "binary messages are not signalling; send JSON text".into() }.to_json()],
            Wake::Page(Some(Ok(_))) => Vec::new(),
        };
        for m in out {
            if !send(&mut socket, m).await {
                close(&desk, &id, n, on_call.take()).await;
                return;
            }
        }
    }
    close(&desk, &id, n, on_call.take()).await;
}

/// The desktop is gone: a call it was on loses its agent (and goes back to the queue), and the
/// agent is offline unless a newer desktop of theirs is open.
async fn close(desk: &Arc<Desk>, id: &str, n: u64, on_call: Option<OnCall>) {
    if let Some(c) = on_call {
        c.line.end(AGENT_LOST).await;
    }
    if desk.desktops.close(id, n) {
        desk.agent_lost(id);
    }
    info!(agent = %id, "agent desktop closed");
}

fn error(message: impl Into<String>) -> Vec<String> {
    vec![ToPage::Error { message: message.into() }.to_json()]
}

/// One message from the page: what to answer it.
#[allow(clippy::too_many_arguments)]
async fn on_page(text: &str, s: &AppState, desk: &Arc<Desk>, id: &str, on_call: &mut Option<OnCall>, taken: &[String], media_tx: &mpsc::UnboundedSender<MediaNote>, socket: &mut WebSocket) -> Vec<String> {
    let msg: FromPage = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => return error(format!("not a desktop message ({e}); types: state, accept, decline, hangup, hold, mute, wrapup")),
    };
    match msg {
        FromPage::State { state } => {
            let state: AgentState = match state.parse() {
                Ok(st) => st,
                Err(e) => return error(e),
            };
            if !state.settable() {
                return error(format!("an agent sets themself offline, available or away; {state} is the gateway's to set"));
            }
            desk.sync_agents();
            match desk.set_state(id, state) {
                Ok(()) => {
                    let _ = s.engines.store.audit(id, "agent_state", &format!("{id} {state}"));
                    Vec::new()
                }
                Err(e) => error(e),
            }
        }
        FromPage::Accept { call, sdp } => {
            if desk.offered_to(&call).as_deref() != Some(id) {
                return error(format!("call {call} is not ringing for you (it was taken, withdrawn or never offered)"));
            }
            if on_call.is_some() {
                return error("you are on a call already");
            }
            // The offer keeps ringing while the media connects.
            if let Err(e) = desk.connecting(&call, id, CONNECT_WITHIN + Duration::from_secs(3)) {
                return error(e);
            }
            let Some(inapp) = s.inapp.clone() else {
                return error("WebRTC is off on this gateway ([webrtc] enabled = false): take calls on a SIP phone");
            };
            let (session, _, mut io) = match voicegate_webrtc::Session::answer(&inapp.endpoint, &sdp).await {
                Ok(x) => x,
                Err(e) => return error(format!("your browser's offer was refused: {e}")),
            };
            let line = DesktopLine::new(session);
            let answer = line.session.complete_sdp(Duration::from_secs(2)).await;
            // The answer goes out before the media can connect.
            if !send(socket, ToPage::Answer { call: call.clone(), sdp: answer }.to_json()).await {
                line.end(AGENT_LOST).await;
                return Vec::new();
            }
            *on_call = Some(OnCall { call: call.clone(), line: line.clone() });
            let (desk, agent, media_tx) = (desk.clone(), id.to_string(), media_tx.clone());
            tokio::spawn(async move {
                match connected(&mut io, CONNECT_WITHIN).await {
                    Ok(()) => {
                        let leg = desktop_leg(&agent, line.clone(), io);
                        if desk.answered(call.clone(), agent, leg).await {
                            let _ = media_tx.send(MediaNote::Joined { call });
                        } else {
                            let _ = media_tx.send(MediaNote::Failed { call, why: "the caller is no longer waiting".into() });
                        }
                    }
                    Err(why) => {
                        warn!(call, agent, %why, "the desktop's media did not connect");
                        line.end(AGENT_LOST).await;
                        let _ = media_tx.send(MediaNote::Failed { call, why });
                    }
                }
            });
            Vec::new()
        }
        FromPage::Decline { call } => {
            if desk.offered_to(&call).as_deref() != Some(id) {
                return error(format!("call {call} is not ringing for you"));
            }
            desk.declined(&call, id, "declined");
            Vec::new()
        }
        FromPage::Hangup { call } => match on_call {
            Some(c) if c.call == call => {
                c.line.end("agent_hangup").await;
                Vec::new()
            }
            _ => error(format!("you are not on call {call}")),
        },
        // Mute and hold are the page's (its microphone); nothing to do here.
        FromPage::Hold { .. } | FromPage::Mute { .. } => Vec::new(),
        FromPage::Wrapup { call, disposition, notes } => {
            if !taken.contains(&call) {
                return error(format!("you did not take call {call}"));
            }
            if !s.engines.config.agents.dispositions.contains(&disposition) {
                return error(format!("unknown disposition {disposition:?}: one of {}", s.engines.config.agents.dispositions.join(", ")));
            }
            if notes.chars().count() > MAX_NOTES_CHARS {
                return error(format!("notes are kept up to {MAX_NOTES_CHARS} characters"));
            }
            let store = s.engines.store.clone();
            let (agent, c) = (id.to_string(), call.clone());
            let stored = tokio::task::spawn_blocking(move || -> crate::error::Result<()> {
                store.set_wrapup(&c, &agent, &disposition, &notes)?;
                store.audit(&agent, "wrap_up", &c)
            })
            .await;
            match stored {
                Ok(Ok(())) => vec![ToPage::WrapupSaved { call }.to_json()],
                Ok(Err(e)) => error(format!("the wrap-up was not stored: {e}")),
                Err(e) => error(format!("the wrap-up was not stored: {e}")),
            }
        }
    }
}
