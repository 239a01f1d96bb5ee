//! POST /v1/nlu: the chat channel's way to the same NLU the voice pipeline uses.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;

use super::{check_lang, json_body, ApiError, AppState};
use crate::nlu::NluResult;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NluRequest {
    text: String,
    lang: Option<String>,
}

/// `{text, lang?}` in, `{intent, confidence, top, entities, emotion, sentiment, ...}` out; a
/// body that is not UTF-8 or not the expected JSON, and text the NLU refuses, get a 400 with
/// the reason.
pub async fn analyze(State(s): State<AppState>, body: Bytes) -> Result<Json<NluResult>, ApiError> {
    let req: NluRequest = json_body(&body, "{\"text\": ..., \"lang\"?: ...}")?;
    check_lang(req.lang.as_deref())?;
    let result = s
        .engines
        .nlu
        .analyze(&req.text, req.lang.as_deref())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Json(result))
}
