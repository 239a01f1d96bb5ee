//! Sign-in for the HTTP API and the pages: a bearer token (machine clients) or a session
//! cookie (people, from the sign-in page), checked against the role each group of routes
//! needs. Unsafe requests made with a session cookie must carry the session's CSRF token in
//! `X-CSRF-Token`. The sign-in page and its form live here too.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form, Json};
use serde::Deserialize;

use super::{ApiError, AppState};
use crate::auth::{Principal, Role};

const COOKIE: &str = "vg_session";
const LOGIN_HTML: &str = include_str!("../../web/login.html");

/// Set on requests that came over HTTPS: the session cookie is then `Secure`.
#[derive(Clone, Copy)]
pub struct Https;

fn now_s() -> i64 {
    crate::inapp::token::unix_now() as i64
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// Who sent the request, if anyone signed in: a bearer token first, then the session cookie.
pub fn principal(s: &AppState, headers: &HeaderMap) -> Result<Option<Principal>, ApiError> {
    if let Some(auth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let token = auth.strip_prefix("Bearer ").ok_or_else(|| ApiError(StatusCode::UNAUTHORIZED, "Authorization must be `Bearer TOKEN`".into()))?;
        return Ok(s.engines.store.token_principal(token.trim())?);
    }
    match cookie(headers, COOKIE) {
        Some(id) => Ok(s.engines.store.session_principal(&id, now_s())?),
        None => Ok(None),
    }
}

async fn check(s: AppState, mut req: Request, next: Next, need: Role) -> Response {
    let who = match principal(&s, req.headers()) {
        Ok(Some(p)) => p,
        Ok(None) => return ApiError(StatusCode::UNAUTHORIZED, "sign in first: a bearer token (`voicegate tokens add`) or a session from /login".into()).into_response(),
        Err(e) => return e.into_response(),
    };
    if who.role < need {
        return ApiError(StatusCode::FORBIDDEN, format!("{} is signed in as {}; this needs {need}", who.name, who.role)).into_response();
    }
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if let (true, Some(csrf)) = (unsafe_method, &who.csrf) {
        let sent = req.headers().get("x-csrf-token").map(|v| v.as_bytes()).unwrap_or_default();
        if !voicegate_sip::guard::constant_time_eq(sent, csrf.as_bytes()) {
            return ApiError(StatusCode::FORBIDDEN, "missing or wrong X-CSRF-Token for this session".into()).into_response();
        }
    }
    req.extensions_mut().insert(who);
    next.run(req).await
}

/// Password checks at once: argon2 takes memory and CPU, and sign-in is open to anyone.
static PASSWORD_CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

pub async fn signed_in(State(s): State<AppState>, req: Request, next: Next) -> Response {
    check(s, req, next, Role::Agent).await
}

pub async fn supervisor(State(s): State<AppState>, req: Request, next: Next) -> Response {
    check(s, req, next, Role::Supervisor).await
}

pub async fn admin(State(s): State<AppState>, req: Request, next: Next) -> Response {
    check(s, req, next, Role::Admin).await
}

/// GET /v1/me: who is signed in, and the session's CSRF token for the pages.
pub async fn me(Extension(who): Extension<Principal>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "name": who.name, "role": who.role, "csrf": who.csrf }))
}

/// GET /v1/audit (admins): who listened to, exported or changed what.
pub async fn audit(State(s): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(serde_json::json!({ "audit": s.engines.store.audit_log(500)? })))
}

/// The sign-in page in one of its states: `signed-out`, `signed-in` or `failed`.
fn page(status: StatusCode, state: &str, message: &str, next: &str) -> Response {
    let esc = super::pages::html_escape;
    let body = LOGIN_HTML.replace("{{state}}", state).replace("{{message}}", &esc(message)).replace("{{next}}", &esc(next));
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], body).into_response()
}

/// Only a path on this site is a place to go after signing in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        // Printable ASCII only: browsers drop tabs and newlines, so "/\t/evil" would be "//evil".
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && n.bytes().all(|b| (0x21..0x7f).contains(&b)) => n.to_string(),
        _ => "/login".into(),
    }
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// GET /login: the sign-in page (or who is signed in).
pub async fn login_page(State(s): State<AppState>, headers: HeaderMap, axum::extract::Query(q): axum::extract::Query<NextQuery>) -> Response {
    let next = safe_next(q.next.as_deref());
    match principal(&s, &headers) {
        Ok(Some(who)) => page(StatusCode::OK, "signed-in", &format!("Signed in as {} ({}).", who.name, who.role), &next),
        _ => page(StatusCode::OK, "signed-out", "", &next),
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    next: Option<String>,
}

/// POST /login: a session cookie for the right password, then on to `next`.
pub async fn login(State(s): State<AppState>, https: Option<Extension<Https>>, Form(f): Form<LoginForm>) -> Response {
    let next = safe_next(f.next.as_deref());
    let store = s.engines.store.clone();
    let name = f.name.trim().to_string();
    let Ok(_permit) = PASSWORD_CHECKS.acquire().await else {
        return ApiError(StatusCode::SERVICE_UNAVAILABLE, "sign-in is closed".into()).into_response();
    };
    let checked = tokio::task::spawn_blocking(move || store.check_password(&name, &f.password)).await;
    let name = f.name.trim().to_string();
    match checked {
        Ok(Ok(Some(_))) => match s.engines.store.new_session(&name, now_s()) {
            Ok((id, _)) => {
                let _ = s.engines.store.audit(&name, "sign_in", "");
                let secure = if https.is_some() { "; Secure" } else { "" };
                let set = format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}", crate::store::users::SESSION_S);
                Response::builder().status(StatusCode::SEE_OTHER).header(header::SET_COOKIE, set).header(header::LOCATION, next).body(Body::empty()).unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
            }
            Err(e) => ApiError::from(e).into_response(),
        },
        Ok(Ok(None)) => page(StatusCode::UNAUTHORIZED, "failed", "Wrong name or password.", &next),
        Ok(Err(e)) => ApiError::from(e).into_response(),
        Err(e) => ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// POST /logout: the session ends.
pub async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie(&headers, COOKIE) {
        let _ = s.engines.store.end_session(&id);
    }
    let set = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    Response::builder().status(StatusCode::SEE_OTHER).header(header::SET_COOKIE, set).header(header::LOCATION, "/login").body(Body::empty()).unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_and_cookies_are_read_among_others() {
        assert_eq!(safe_next(Some("/agent")), "/agent");
        for bad in ["https://evil.example/", "//evil.example", "/\\evil", "agent", "/\t/evil.example", "/\n/evil.example", "/ /x"] {
            assert_eq!(safe_next(Some(bad)), "/login", "{bad}");
        }
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; vg_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&h, COOKIE).as_deref(), Some("abc"));
    }
}
