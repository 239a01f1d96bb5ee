//! POST /v1/chat: the text channel of the same system. The same NLU, the same dialog (with
//! its per-session state, order actions and knowledge base) and the same escalation policy as
//! a call; only the words arrive typed. Each session is kept in the store as a call on the
//! `chat` channel (its messages as the caller's transcripts and the bot's replies, with the
//! intents, emotions, handoff and rating a call has), so the QA console, the dashboard and
//! first-contact resolution see chats beside calls; it ends when the client says so or after
//! 30 idle minutes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{check_lang, json_body, ApiError, AppState};
use crate::call::{take_turn, CallerTurn, EscalationPolicy, PolicyInput, TurnOutcome};
use crate::dialog::{reply_language, Dialog};
use crate::events::{Event, EventKind};
use crate::pipeline::conversation::blocking;

/// Sessions idle this long are ended.
const IDLE: Duration = Duration::from_secs(30 * 60);
const MAX_SESSIONS: usize = 10_000;

pub struct ChatSession {
    dialog: Box<dyn Dialog>,
    policy: EscalationPolicy,
    started: Instant,
    touched: Instant,
    /// The session's call in the store.
    call_id: String,
    /// The sequence number of the session's next event.
    seq: u64,
}

impl ChatSession {
    fn ms(&self, now: Instant) -> u64 {
        now.duration_since(self.started).as_millis() as u64
    }

    /// `kind` at `t` as the session's next event.
    fn event(&mut self, t: u64, kind: EventKind) -> (u64, Event) {
        self.seq += 1;
        (self.seq - 1, Event::new(&self.call_id, t, kind))
    }
}

/// The open chat sessions, and the one writer that stores their records in the order the
/// requests changed them (a session's end is indexed after its last message is written).
#[derive(Default)]
pub struct Chats {
    sessions: Mutex<HashMap<String, ChatSession>>,
    writer: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<WriteJob>>,
    /// Started with the first chat: ends the sessions idle for [`IDLE`] once a minute.
    sweeper: std::sync::OnceLock<()>,
}

pub type Sessions = Arc<Chats>;

type WriteJob = (Arc<crate::pipeline::Engines>, Writes, tokio::sync::oneshot::Sender<()>);

impl Chats {
    /// Ends idle sessions once a minute, also when no chat request comes to do it.
    fn sweep_idle(self: &Arc<Self>, engines: Arc<crate::pipeline::Engines>) {
        let chats = Arc::downgrade(self);
        self.sweeper.get_or_init(|| {
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    let Some(chats) = chats.upgrade() else { return };
                    let mut writes = Writes::default();
                    let stored = {
                        let mut sessions = chats.sessions.lock().unwrap_or_else(|p| p.into_inner());
                        end_idle(&mut sessions, Instant::now(), &mut writes);
                        (!writes.ended.is_empty()).then(|| chats.queue(engines.clone(), writes))
                    };
                    if let Some(stored) = stored {
                        let _ = stored.await;
                    }
                }
            });
        });
    }

    /// Queues `writes` behind those queued before; the receiver hears when they are stored.
    fn queue(&self, engines: Arc<crate::pipeline::Engines>, writes: Writes) -> tokio::sync::oneshot::Receiver<()> {
        let (done, stored) = tokio::sync::oneshot::channel();
        let writer = self.writer.get_or_init(|| {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<WriteJob>();
            tokio::spawn(async move {
                while let Some((engines, writes, done)) = rx.recv().await {
                    store(engines, writes).await;
                    let _ = done.send(());
                }
            });
            tx
        });
        let _ = writer.send((engines, writes, done));
        stored
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatRequest {
    session_id: String,
    /// The customer's message.
    text: Option<String>,
    lang: Option<String>,
    /// The shop's customer id (as in-app call tokens carry it): one history per customer.
    customer: Option<String>,
    /// The customer's rating of the chat, 1 (poor) to 5.
    rating: Option<u8>,
    /// The customer closed the chat.
    #[serde(default)]
    end: bool,
}

/// What to write to the store once the sessions are let go.
#[derive(Default)]
struct Writes {
    /// A new session's call: (id, source, customer).
    start: Option<(String, String, String)>,
    events: Vec<(u64, Event)>,
    /// Calls to end: (id, reason, duration).
    ended: Vec<(String, String, u64)>,
}

/// `{session_id, text?, lang?, customer?, rating?, end?}` in (a message, a rating, the end, or
/// more than one); `{call_id, reply, lang, intent, confidence, entities, emotion, anger, kb,
/// actions, progress, handoff, handed_off}` out for a message, `{call_id, rated, ended}` for
/// the rest. Bad requests get a 400 with the reason, a rating or an end of no open session 404.
pub async fn chat(State(s): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let req: ChatRequest = json_body(&body, "{\"session_id\": ..., \"text\": ..., \"lang\"?: ..., \"customer\"?: ..., \"rating\"?: 1-5, \"end\"?: true}")?;
    if req.session_id.trim().is_empty() || req.session_id.len() > 128 {
        return Err(ApiError::bad_request("session_id must be 1 to 128 characters"));
    }
    if req.text.as_deref().is_some_and(|t| t.trim().is_empty()) || (req.text.is_none() && req.rating.is_none() && !req.end) {
        return Err(ApiError::bad_request("text is empty (send a message, a rating or \"end\": true)"));
    }
    if req.rating.is_some_and(|r| !(1..=5).contains(&r)) {
        return Err(ApiError::bad_request("rating must be 1 to 5"));
    }
    if req.customer.as_deref().is_some_and(|c| c.trim().is_empty() || c.len() > 128) {
        return Err(ApiError::bad_request("customer must be 1 to 128 characters"));
    }
    check_lang(req.lang.as_deref())?;
    let engines = s.engines.clone();
    let nlu = match &req.text {
        Some(text) => Some(engines.nlu.analyze(text, req.lang.as_deref()).map_err(|e| ApiError::bad_request(e.to_string()))?),
        None => None,
    };

    s.chats.sweep_idle(engines.clone());
    let mut writes = Writes::default();
    let (answer, stored) = {
        let mut sessions = s.chats.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        end_idle(&mut sessions, now, &mut writes);
        if !sessions.contains_key(&req.session_id) {
            let refused = if req.text.is_none() {
                Some(ApiError(StatusCode::NOT_FOUND, format!("no open chat session {:?}", req.session_id)))
            } else if sessions.len() >= MAX_SESSIONS {
                Some(ApiError(StatusCode::SERVICE_UNAVAILABLE, "too many open chat sessions".into()))
            } else {
                None
            };
            if let Some(e) = refused {
                // The idle sessions ended above are still stored.
                drop(s.chats.queue(engines.clone(), writes));
                return Err(e);
            }
            let call_id = crate::live::new_call_id();
            let source = format!("chat:{}", req.session_id);
            writes.start = Some((call_id.clone(), source.clone(), req.customer.clone().unwrap_or_default()));
            let mut session = ChatSession { dialog: engines.new_dialog(false), policy: EscalationPolicy::new(engines.config.escalation.clone()), started: now, touched: now, call_id, seq: 0 };
            writes.events.push(session.event(0, EventKind::CallStarted { source }));
            sessions.insert(req.session_id.clone(), session);
        }
        let Some(session) = sessions.get_mut(&req.session_id) else {
            return Err(ApiError(StatusCode::INTERNAL_SERVER_ERROR, "chat session lost".into()));
        };
        session.touched = now;
        let t = session.ms(now);
        let answer = match (&req.text, &nlu) {
            (Some(text), Some(nlu)) => turn(session, &req.session_id, text, nlu, req.lang.as_deref(), t, &mut writes.events),
            _ => json!({ "session_id": req.session_id, "call_id": session.call_id }),
        };
        if let Some(score) = req.rating {
            writes.events.push(session.event(t, EventKind::Survey { score }));
        }
        if req.end {
            let reason = "chat_ended".to_string();
            writes.events.push(session.event(t, EventKind::CallEnded { reason: reason.clone(), duration_ms: t, media: None }));
            writes.ended.push((session.call_id.clone(), reason, t));
            sessions.remove(&req.session_id);
        }
        // Queued while the sessions are held: stored in the order the requests were taken.
        (answer, s.chats.queue(engines.clone(), writes))
    };
    let _ = stored.await;
    let mut answer = answer;
    if req.text.is_none() {
        answer["rated"] = json!(req.rating.is_some());
        answer["ended"] = json!(req.end);
    }
    Ok(Json(answer))
}

/// One message through the NLU, the dialog and the escalation policy; its events; the answer.
fn turn(session: &mut ChatSession, session_id: &str, text: &str, nlu: &crate::nlu::NluResult, lang: Option<&str>, t: u64, events: &mut Vec<(u64, Event)>) -> Value {
    let lang = lang.map(str::to_string).unwrap_or_else(|| reply_language(text, &nlu.lang).to_string());
    let said = |session: &mut ChatSession, events: &mut Vec<(u64, Event)>| {
        events.push(session.event(t, EventKind::Transcript { is_final: true, text: text.to_string(), lang: lang.clone(), start_ms: t, end_ms: t, queue_ms: 0, asr_ms: 0, speaker: "caller".into() }));
        events.push(session.event(t, EventKind::intent_of(nlu, t)));
        events.push(session.event(t, EventKind::text_emotion_of(nlu, t)));
    };
    let reply_event = |session: &mut ChatSession, reply_text: &str, kb: Option<String>, actions: Vec<crate::dialog::Action>| {
        let id = session.seq;
        session.event(t, EventKind::BotReply { reply_id: id, text: reply_text.to_string(), lang: lang.clone(), in_reply_to_ms: Some(t), kb, actions })
    };
    said(session, events);
    if session.policy.handed_off() {
        let reply = crate::dialog::transfer_prompt(&lang).text;
        events.push(reply_event(session, &reply, None, Vec::new()));
        return json!({
            "session_id": session_id, "call_id": session.call_id, "reply": reply, "lang": lang,
            "intent": nlu.intent, "confidence": nlu.confidence, "entities": nlu.entities, "emotion": nlu.emotion,
            "anger": nlu.anger, "kb": null, "actions": [], "progress": "chat", "handoff": null, "handed_off": true,
        });
    }
    let heard = CallerTurn { text, lang: &lang, nlu, start_ms: t, end_ms: t, anger: nlu.anger, interrupted_bot: false };
    let (dialog, policy) = (&mut session.dialog, &mut session.policy);
    let TurnOutcome { reply, handoff, says_transfer } = blocking(|| take_turn(dialog.as_mut(), policy, &heard, t));
    let reply_text = match &handoff {
        Some(_) if !says_transfer => crate::dialog::transfer_prompt(&lang).text,
        _ => reply.text.clone(),
    };
    session.policy.handle(PolicyInput::BotSaid { text: reply_text.clone() }, t);
    events.push(reply_event(session, &reply_text, reply.kb.clone(), reply.actions.clone()));
    if let Some(h) = &handoff {
        events.push(session.event(t, EventKind::Handoff { reason: h.reason.as_str().into(), context: h.context.clone() }));
    }
    let handoff = handoff.map(|h| json!({ "reason": h.reason.as_str(), "context": h.context }));
    json!({
        "session_id": session_id, "call_id": session.call_id, "reply": reply_text, "lang": lang, "intent": nlu.intent, "confidence": nlu.confidence,
        "entities": nlu.entities, "emotion": nlu.emotion, "anger": nlu.anger, "kb": reply.kb, "actions": reply.actions,
        "progress": reply.progress, "handoff": handoff, "handed_off": session.policy.handed_off(),
    })
}

/// Ends the sessions idle for [`IDLE`].
fn end_idle(sessions: &mut HashMap<String, ChatSession>, now: Instant, writes: &mut Writes) {
    let idle: Vec<String> = sessions.iter().filter(|(_, v)| now.duration_since(v.touched) >= IDLE).map(|(k, _)| k.clone()).collect();
    for key in idle {
        if let Some(mut s) = sessions.remove(&key) {
            let t = s.ms(s.touched);
            writes.events.push(s.event(t, EventKind::CallEnded { reason: "idle".into(), duration_ms: t, media: None }));
            writes.ended.push((s.call_id.clone(), "idle".into(), t));
        }
    }
}

/// Writes a request's events, and starts, ends and indexes its calls, off the async threads.
async fn store(engines: Arc<crate::pipeline::Engines>, w: Writes) {
    let done = tokio::task::spawn_blocking(move || -> crate::error::Result<()> {
        let store = &engines.store;
        if let Some((id, source, customer)) = &w.start {
            store.start_call(id, source, customer, "chat", None, None)?;
        }
        let events: Vec<(u64, &Event)> = w.events.iter().map(|(seq, e)| (*seq, e)).collect();
        store.add_events(&events)?;
        for (id, reason, ms) in &w.ended {
            store.end_call(id, reason, *ms)?;
            store.index_call(id, Some(&engines.config.qa))?;
        }
        Ok(())
    })
    .await;
    match done {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "chat session not stored"),
        Err(e) => tracing::warn!(error = %e, "chat session not stored"),
    }
}
