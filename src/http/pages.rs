//! The web pages and their assets, built into the binary (plain HTML, CSS and JS from `web/`;
//! no build step). `/call` is the caller page a shop embeds.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::ApiError;

const CALL_HTML: &str = include_str!("../../web/call.html");

/// The assets under /assets/, by name: (content, content type).
const ASSETS: &[(&str, &str, &str)] = &[
    ("common.css", include_str!("../../web/common.css"), "text/css; charset=utf-8"),
    ("call.css", include_str!("../../web/call.css"), "text/css; charset=utf-8"),
    ("call.js", include_str!("../../web/call.js"), "text/javascript; charset=utf-8"),
];

fn html(body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            // The page may be embedded by the shop (in an iframe with allow="microphone").
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

/// GET /call: the caller page.
pub async fn call_page() -> Response {
    html(CALL_HTML)
}

/// GET /assets/{name}.
pub async fn asset(Path(name): Path<String>) -> Result<Response, ApiError> {
    let Some((_, body, ctype)) = ASSETS.iter().find(|(n, _, _)| *n == name) else {
        return Err(ApiError(StatusCode::NOT_FOUND, format!("no asset {name}")));
    };
    Ok(([(header::CONTENT_TYPE, *ctype), (header::CACHE_CONTROL, "no-cache")], *body).into_response())
}
