//! Every route of the HTTP API has an auth decision: the test reads the router's routes from
//! its source (`src/http/mod.rs`, grouped by the layer that guards them) and walks each one on
//! a running gateway: without credentials 401, with a role below the group's 403. A route
//! added later without a decision is either in no group (the test fails, naming it) or in the
//! open group without being on the list of routes that must be open (it fails too).

mod common;

use common::*;

/// The routes open to anyone, and why.
const OPEN: &[(&str, &str)] = &[
    ("/health", "load balancers and monitoring"),
    ("/login", "the sign-in page and its form"),
    ("/logout", "signing out"),
    ("/call", "the caller page a shop embeds"),
    ("/agent", "the agent desktop page (it sends people to /login; its socket needs sign-in)"),
    ("/qa", "the QA console page (it sends people to /login and refuses agents; its API needs a supervisor)"),
    ("/supervisor", "the wallboard page (as /qa)"),
    ("/dashboard", "the dashboard page (as /qa)"),
    ("/assets/{name}", "the pages' CSS and JS"),
    ("/v1/webrtc", "the caller page's signalling (a call token, checked there)"),
    ("/v1/webrtc/tokens", "call tokens for the shop's backend (its shared secret, checked there)"),
    ("/v1/whip", "WHIP (a call token, checked there)"),
    ("/v1/whip/{id}", "WHIP sessions (their secret resource URL)"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Open,
    SignedIn,
    Supervisor,
    Admin,
}

/// (group, method, path) of every route in the router's source.
fn routes() -> Vec<(Group, String, String)> {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/mod.rs")).unwrap();
    let start = src.find("pub fn router(").expect("the router function");
    let body = &src[start..];
    let end = body.find("\n}\n").expect("the router's end");
    let body = &body[..end];
    let mut out = Vec::new();
    for stmt in body.split(';') {
        let group = if stmt.contains("auth::signed_in") {
            Group::SignedIn
        } else if stmt.contains("auth::supervisor") {
            Group::Supervisor
        } else if stmt.contains("auth::admin") {
            Group::Admin
        } else {
            Group::Open
        };
        for route in stmt.split(".route(").skip(1) {
            let path = route.split('"').nth(1).expect("a route's path").to_string();
            // The handlers of this route: up to the next route or layer of the group.
            let handlers = route.split(".route_layer(").next().unwrap_or(route);
            for (method, call) in [("GET", "get("), ("POST", "post("), ("DELETE", "delete("), ("PATCH", "patch("), ("PUT", "put(")] {
                let n = handlers.matches(call).count() - handlers.matches(&format!("_{call}")).count();
                if n > 0 {
                    out.push((group, method.to_string(), path.clone()));
                }
            }
        }
    }
    out
}

fn status(method: &str, url: &str, auth: Option<&str>) -> u16 {
    let mut req = ureq::request(method, url);
    if let Some(a) = auth {
        req = req.set("Authorization", &format!("Bearer {a}"));
    }
    match req.call() {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("{method} {url}: {e}"),
    }
}

#[test]
fn every_route_is_open_on_purpose_or_refuses_who_may_not_use_it() {
    let found = routes();
    assert!(found.len() >= 20, "the router's routes were not read: {found:?}");
    for (group, method, path) in &found {
        if *group == Group::Open {
            assert!(OPEN.iter().any(|(p, _)| p == path), "{method} {path} is open to anyone without being on the list of routes that must be: put it behind sign-in or add it to OPEN with why");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("voicegate.toml");
    std::fs::write(&config, format!("[store]\npath = \"{}\"\n", dir.path().join("db.sqlite").display())).unwrap();
    let args = ["--config", config.to_str().unwrap(), "--no-sip"];
    let g = start_with(&args);
    let agent = make_token(&args, "agent");
    let supervisor = make_token(&args, "supervisor");
    let mut walked = 0;
    for (group, method, path) in &found {
        if *group == Group::Open {
            continue;
        }
        let url = format!("{}{}", g.base, path.replace("{id}", "no-such-id").replace("{name}", "no-such-name"));
        assert_eq!(status(method, &url, None), 401, "{method} {path} without credentials");
        assert_eq!(status(method, &url, Some("forged-token")), 401, "{method} {path} with a forged token");
        let below = match group {
            Group::Supervisor => Some(&agent),
            Group::Admin => Some(&supervisor),
            _ => None,
        };
        match below {
            Some(t) => assert_eq!(status(method, &url, Some(t)), 403, "{method} {path} with a role below {group:?}"),
            // Signed in is enough to pass the guard (the handler may still refuse what is not
            // theirs, which the routes' own tests check).
            None => assert_ne!(status(method, &url, Some(&agent)), 401, "{method} {path} refused a signed-in agent"),
        }
        walked += 1;
    }
    assert!(walked >= 10, "{walked} guarded routes walked: {found:?}");
}
