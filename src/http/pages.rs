//! The web pages and their assets, built into the binary (plain HTML, CSS and JS from `web/`;
//! no build step). `/call` is the caller page a shop embeds;
//! `/agent` the agent desktop; `/qa` the QA console; `/supervisor` the live wallboard;
//! `/dashboard` the analytics dashboard.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::{ApiError, AppState};

const CALL_HTML: &str = include_str!("../../web/call.html");
const AGENT_HTML: &str = include_str!("../../web/agent.html");
const QA_HTML: &str = include_str!("../../web/qa.html");
const SUPERVISOR_HTML: &str = include_str!("../../web/supervisor.html");
const DASHBOARD_HTML: &str = include_str!("../../web/dashboard.html");

/// The assets under /assets/, by name: (content, content type).
const ASSETS: &[(&str, &str, &str)] = &[
    ("common.css", include_str!("../../web/common.css"), "text/css; charset=utf-8"),
    ("call.css", include_str!("../../web/call.css"), "text/css; charset=utf-8"),
    ("call.js", include_str!("../../web/call.js"), "text/javascript; charset=utf-8"),
    ("agent.css", include_str!("../../web/agent.css"), "text/css; charset=utf-8"),
    ("agent.js", include_str!("../../web/agent.js"), "text/javascript; charset=utf-8"),
    ("qa.css", include_str!("../../web/qa.css"), "text/css; charset=utf-8"),
    ("qa.js", include_str!("../../web/qa.js"), "text/javascript; charset=utf-8"),
    ("console.css", include_str!("../../web/console.css"), "text/css; charset=utf-8"),
    ("console.js", include_str!("../../web/console.js"), "text/javascript; charset=utf-8"),
    ("supervisor.css", include_str!("../../web/supervisor.css"), "text/css; charset=utf-8"),
    ("supervisor.js", include_str!("../../web/supervisor.js"), "text/javascript; charset=utf-8"),
    ("dashboard.css", include_str!("../../web/dashboard.css"), "text/css; charset=utf-8"),
    ("dashboard.js", include_str!("../../web/dashboard.js"), "text/javascript; charset=utf-8"),
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

/// A page of the consoles (agent, QA, wallboard, dashboard): never inside another site's frame,
/// where a click on accept or hang up could be someone else's.
fn console_html(body: &'static str) -> Response {
    let mut r = html(body);
    let h = r.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, header::HeaderValue::from_static("DENY"));
    h.insert(header::CONTENT_SECURITY_POLICY, header::HeaderValue::from_static("frame-ancestors 'none'"));
    r
}

/// GET /call: the caller page.
pub async fn call_page() -> Response {
    html(CALL_HTML)
}

/// GET /agent: the agent desktop, for whoever is signed in (others go to the sign-in page).
pub async fn agent_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    match super::auth::principal(&s, &headers) {
        Ok(Some(_)) => console_html(AGENT_HTML),
        _ => Redirect::to("/login?next=/agent").into_response(),
    }
}

/// A supervisors' page: the page for supervisors and admins; an agent is refused (`what` is
/// the page's name), anyone else is sent to the sign-in page and back to `path`.
fn supervisors_page(s: &AppState, headers: &HeaderMap, body: &'static str, path: &str, what: &str) -> Response {
    match super::auth::principal(s, headers) {
        Ok(Some(p)) if p.role >= crate::auth::Role::Supervisor => console_html(body),
        Ok(Some(p)) => (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            format!("<!doctype html><meta charset=utf-8><title>Not for agents · voicegate</title><link rel=stylesheet href=/assets/common.css><main style=\"max-width:32rem;margin:4rem auto;font-family:system-ui\"><h1>{what} is for supervisors</h1><p>You are signed in as {} ({}). Your own calls are on the <a href=/agent>agent desktop</a>.</p></main>", html_escape(&p.name), p.role),
        )
            .into_response(),
        _ => Redirect::to(&format!("/login?next={path}")).into_response(),
    }
}

/// GET /qa: the QA console.
pub async fn qa_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    supervisors_page(&s, &headers, QA_HTML, "/qa", "The QA console")
}

/// GET /supervisor: the live wallboard.
pub async fn supervisor_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    supervisors_page(&s, &headers, SUPERVISOR_HTML, "/supervisor", "The wallboard")
}

/// GET /dashboard: the analytics dashboard.
pub async fn dashboard_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    supervisors_page(&s, &headers, DASHBOARD_HTML, "/dashboard", "The dashboard")
}

/// Text made safe to put in HTML.
pub(super) fn html_escape(t: &str) -> String {
    t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// GET /assets/{name}.
pub async fn asset(Path(name): Path<String>) -> Result<Response, ApiError> {
    let Some((_, body, ctype)) = ASSETS.iter().find(|(n, _, _)| *n == name) else {
        return Err(ApiError(StatusCode::NOT_FOUND, format!("no asset {name}")));
    };
    Ok(([(header::CONTENT_TYPE, *ctype), (header::CACHE_CONTROL, "no-cache")], *body).into_response())
}
