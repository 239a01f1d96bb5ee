//! POST /v1/chat: the text channel of the same system. The same NLU, the same dialog (with
//! its per-session state, order actions and knowledge base) and the same escalation policy as
//! a call; only the words arrive typed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{check_lang, json_body, ApiError, AppState};
use crate::call::{take_turn, EscalationPolicy, CallerTurn, PolicyInput, TurnOutcome};
use crate::dialog::{reply_language, Dialog};
use crate::pipeline::conversation::blocking;

/// Sessions idle this long are forgotten.
const IDLE: Duration = Duration::from_secs(30 * 60);
const MAX_SESSIONS: usize = 10_000;

pub struct ChatSession {
    dialog: Box<dyn Dialog>,
    policy: EscalationPolicy,
    started: Instant,
    touched: Instant,
}

pub type Sessions = Arc<Mutex<HashMap<String, ChatSession>>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatRequest {
    session_id: String,
    text: String,
    lang: Option<String>,
}

/// `{session_id, text, lang?}` in; `{reply, lang, intent, confidence, entities, emotion, anger,
/// kb, actions, progress, handoff}` out. Bad requests get a 400 with the reason.
pub async fn chat(State(s): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let req: ChatRequest = json_body(&body, "{\"session_id\": ..., \"text\": ..., \"lang\"?: ...}")?;
    if req.session_id.trim().is_empty() || req.session_id.len() > 128 {
        return Err(ApiError::bad_request("session_id must be 1 to 128 characters"));
    }
    if req.text.trim().is_empty() {
        return Err(ApiError::bad_request("text is empty"));
    }
    check_lang(req.lang.as_deref())?;
    let engines = s.engines.clone();
    let nlu = engines.nlu.analyze(&req.text, req.lang.as_deref()).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let lang = req.lang.clone().unwrap_or_else(|| reply_language(&req.text, &nlu.lang).to_string());

    let mut sessions = s.chats.lock().unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    sessions.retain(|_, v| now.duration_since(v.touched) < IDLE);
    if !sessions.contains_key(&req.session_id) && sessions.len() >= MAX_SESSIONS {
        return Err(ApiError(axum::http::StatusCode::SERVICE_UNAVAILABLE, "too many open chat sessions".into()));
    }
    let session = sessions.entry(req.session_id.clone()).or_insert_with(|| ChatSession {
        dialog: engines.new_dialog(false),
        policy: EscalationPolicy::new(engines.config.escalation.clone()),
        started: now,
        touched: now,
    });
    session.touched = now;
    let t = now.duration_since(session.started).as_millis() as u64;

    if session.policy.handed_off() {
        return Ok(Json(json!({
            "session_id": req.session_id, "reply": crate::dialog::transfer_prompt(&lang).text, "lang": lang,
            "intent": nlu.intent, "confidence": nlu.confidence, "entities": nlu.entities, "emotion": nlu.emotion,
            "anger": nlu.anger, "kb": null, "actions": [], "progress": "chat", "handoff": null, "handed_off": true,
        })));
    }
    let heard = CallerTurn { text: &req.text, lang: &lang, nlu: &nlu, start_ms: t, end_ms: t, anger: nlu.anger, interrupted_bot: false };
    let (dialog, policy) = (&mut session.dialog, &mut session.policy);
    let TurnOutcome { reply, handoff, says_transfer } = blocking(|| take_turn(dialog.as_mut(), policy, &heard, t));
    let text = match &handoff {
        Some(_) if !says_transfer => crate::dialog::transfer_prompt(&lang).text,
        _ => reply.text.clone(),
    };
    session.policy.handle(PolicyInput::BotSaid { text: text.clone() }, t);
    let handoff = handoff.map(|h| json!({ "reason": h.reason.as_str(), "context": h.context }));
    Ok(Json(json!({
        "session_id": req.session_id, "reply": text, "lang": lang, "intent": nlu.intent, "confidence": nlu.confidence,
        "entities": nlu.entities, "emotion": nlu.emotion, "anger": nlu.anger, "kb": reply.kb, "actions": reply.actions,
        "progress": reply.progress, "handoff": handoff, "handed_off": session.policy.handed_off(),
    })))
}
