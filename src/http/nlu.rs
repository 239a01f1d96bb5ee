//! POST /v1/nlu: the chat channel's way to the same NLU the voice pipeline uses.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;

use super::{ApiError, AppState};
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
    let text = std::str::from_utf8(&body).map_err(|e| ApiError::bad_request(format!("body is not UTF-8: {e}")))?;
    let req: NluRequest = serde_json::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("body is not a JSON object {{\"text\": ..., \"lang\"?: ...}}: {e}")))?;
    if let Some(lang) = req.lang.as_deref() {
        if !matches!(lang, "en" | "zh") {
            return Err(ApiError::bad_request(format!("lang must be \"en\" or \"zh\", not {lang:?}")));
        }
    }
    let result = s
        .engines
        .nlu
        .analyze(&req.text, req.lang.as_deref())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Json(result))
}
