//! `voicegate serve`: the HTTP API with the pipeline loaded.

mod common;

use common::*;

#[test]
fn health_reports_the_loaded_pipeline() {
    let g = start();
    let body = ureq::get(&format!("{}/health", g.base)).call().unwrap().into_string().unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["pipeline"]["asr"]["model"]["name"], "whisper-tiny.en");
    assert!(v["pipeline"]["asr"]["workers"].as_u64() >= Some(1));
    assert_eq!(v["pipeline"]["vad"]["model"]["name"], "silero-vad");
    assert!(v["pipeline"]["vad"]["model"]["path"].as_str().unwrap().ends_with("silero_vad.onnx"));
}

#[test]
fn replay_endpoint_runs_uploaded_audio_through_the_pipeline() {
    let g = start();
    let audio = std::fs::read(fixture("en_order_status_8k.wav")).unwrap();
    let body = ureq::post(&format!("{}/v1/replay", g.base)).set("Authorization", &g.bearer())
        .send_bytes(&audio)
        .unwrap()
        .into_string()
        .unwrap();
    let events: Vec<serde_json::Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let heard = words(&transcript(&events));
    assert!(heard.contains(&"order".to_string()), "{body}");
    assert_eq!(events.first().unwrap()["type"], "call_started");
    assert_eq!(events.last().unwrap()["type"], "call_ended");
}

#[test]
fn replay_endpoint_rejects_what_is_not_audio() {
    let g = start();
    for body in [&b"definitely not audio"[..], &b""[..]] {
        match ureq::post(&format!("{}/v1/replay", g.base)).set("Authorization", &g.bearer()).send_bytes(body) {
            Err(ureq::Error::Status(400, resp)) => {
                let v: serde_json::Value = serde_json::from_str(&resp.into_string().unwrap()).unwrap();
                assert!(v["error"].as_str().unwrap().contains("upload"), "{v}");
            }
            other => panic!("expected 400, got {other:?}"),
        }
    }
}

fn post_nlu(g: &Gateway, body: &[u8]) -> (u16, serde_json::Value) {
    let resp = match ureq::post(&format!("{}/v1/nlu", g.base)).set("Authorization", &g.bearer()).set("Content-Type", "application/json").send_bytes(body) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    let status = resp.status();
    (status, serde_json::from_str(&resp.into_string().unwrap()).unwrap())
}

#[test]
fn nlu_endpoint_serves_the_chat_channel() {
    let g = start();
    let (status, v) = post_nlu(&g, r#"{"text": "AJ1有货么"}"#.as_bytes());
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["intent"], "product_availability");
    assert_eq!(v["entities"][0]["type"], "product");
    assert_eq!(v["entities"][0]["value"], "Air Jordan 1");
    for key in ["confidence", "top", "emotion", "sentiment"] {
        assert!(!v[key].is_null(), "{key}: {v}");
    }
    let (status, v) = post_nlu(&g, r#"{"text": "cancel order 48152", "lang": "en"}"#.as_bytes());
    assert_eq!((status, v["intent"].as_str()), (200, Some("cancel_order")));
}

#[test]
fn nlu_endpoint_refuses_bad_input_with_a_reason() {
    let g = start();
    let big = format!(r#"{{"text": "{}"}}"#, "x".repeat(100 * 1024));
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (br#"{"text": ""}"#.to_vec(), "empty text"),
        (br#"{"text": "   "}"#.to_vec(), "empty text"),
        (big.into_bytes(), "too long"),
        (b"{not json".to_vec(), "not a JSON object"),
        (br#"{"txt": "hello"}"#.to_vec(), "not a JSON object"),
        (b"\xff\xfe\x00garbage".to_vec(), "not UTF-8"),
        (br#"{"text": "hi", "lang": "fr"}"#.to_vec(), "lang must be"),
    ];
    for (body, reason) in cases {
        let (status, v) = post_nlu(&g, &body);
        assert!((400..500).contains(&status), "{reason}: {status}");
        assert!(v["error"].as_str().unwrap().contains(reason), "wanted {reason:?}: {v}");
    }
}

#[test]
fn https_serves_the_caller_page_with_a_self_signed_certificate_made_on_first_start() {
    let t = tempfile::tempdir().unwrap();
    let config = t.path().join("voicegate.toml");
    std::fs::write(&config, format!("[store]\npath = \"{}\"\n", t.path().join("db.sqlite").display())).unwrap();
    let mut child = bin()
        .args(["--config", config.to_str().unwrap(), "serve", "--listen", "127.0.0.1:0", "--no-sip", "--tls-listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    // The banner, to its last line; what follows is drained so the gateway never writes into a closed pipe.
    let mut reader = std::io::BufRead::lines(std::io::BufReader::new(out));
    let mut lines = Vec::new();
    for l in reader.by_ref() {
        let l = l.unwrap();
        let last = l.starts_with("stop with");
        lines.push(l);
        if last {
            break;
        }
    }
    std::thread::spawn(move || reader.for_each(drop));
    let https = lines.iter().find(|l| l.contains("HTTPS")).unwrap_or_else(|| panic!("no HTTPS line: {lines:?}"));
    assert!(https.contains("self-signed"), "{https}");
    let addr = https.split_whitespace().nth(1).unwrap();
    let port = addr.rsplit(':').next().unwrap();
    let cert = t.path().join("tls/cert.pem");
    assert!(cert.is_file(), "the pair is made beside the store");
    // A client that trusts the certificate reaches the page over HTTPS (the name checks).
    let page = std::process::Command::new("curl").args(["-sS", "--cacert", cert.to_str().unwrap(), &format!("https://localhost:{port}/call")]).output().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(page.status.success(), "{}", String::from_utf8_lossy(&page.stderr));
    assert!(String::from_utf8_lossy(&page.stdout).contains("<html"), "not the page");
    // The banner also offers the caller page with a fresh demo token.
    assert!(lines.iter().any(|l| l.contains("/call?token=vg1.")), "{lines:?}");
}

/// A status and body, 4xx and 5xx included.
fn answer(r: Result<ureq::Response, ureq::Error>) -> (u16, String) {
    match r {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap_or_default()),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn every_route_but_the_open_ones_needs_a_token_or_a_session_with_the_right_role() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("voicegate.toml");
    std::fs::write(&config, format!("[store]\npath = \"{}\"\n", dir.path().join("db.sqlite").display())).unwrap();
    let cfg = config.to_str().unwrap();
    // An agent with their own password; a supervisor with one made for them.
    let mut add = bin().args(["--config", cfg, "users", "add", "ann", "--role", "agent", "--password-stdin"]).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    add.stdin.take().unwrap().write_all(b"ann-secret-1\n").unwrap();
    assert!(add.wait_with_output().unwrap().status.success());
    let sue = run(&["--config", cfg, "users", "add", "sue", "--role", "supervisor"]);
    assert!(stdout(&sue).contains("password (shown once): "), "{}", stdout(&sue));
    assert_eq!(run(&["--config", cfg, "users", "add", "bad name", "--role", "agent"]).status.code(), Some(2));
    assert_eq!(run(&["--config", cfg, "users", "add", "x", "--role", "root"]).status.code(), Some(2));
    let agent_token = make_token(&["--config", cfg], "agent");
    let g = start_with(&["--no-sip", "--config", cfg]);
    let url = |p: &str| format!("{}{p}", g.base);
    // Open: health, the caller page, the sign-in page.
    assert_eq!(answer(ureq::get(&url("/health")).call()).0, 200);
    assert_eq!(answer(ureq::get(&url("/call")).call()).0, 200);
    let (code, page) = answer(ureq::get(&url("/login")).call());
    assert!(code == 200 && page.contains("Sign in"), "{page}");
    // Closed without a token, with a forged one, or with too small a role.
    for path in ["/v1/calls", "/v1/live", "/v1/sip", "/v1/me", "/v1/audit"] {
        let (code, body) = answer(ureq::get(&url(path)).call());
        assert!(code == 401 && body.contains("sign in"), "{path}: {code} {body}");
        assert_eq!(answer(ureq::get(&url(path)).set("Authorization", "Bearer vgt_forged").call()).0, 401, "{path}");
    }
    assert_eq!(answer(ureq::post(&url("/v1/replay")).send_bytes(b"RIFF")).0, 401);
    let agent = format!("Bearer {agent_token}");
    assert_eq!(answer(ureq::get(&url("/v1/calls")).set("Authorization", &agent).call()), (200, r#"{"calls":[]}"#.into()));
    assert_eq!(answer(ureq::get(&url("/v1/live")).set("Authorization", &agent).call()).0, 403);
    assert_eq!(answer(ureq::get(&url("/v1/audit")).set("Authorization", &agent).call()).0, 403);
    let (code, audit) = answer(ureq::get(&url("/v1/audit")).set("Authorization", &g.bearer()).call());
    assert!(code == 200 && audit.contains("add_user") && audit.contains("sue (supervisor)"), "{audit}");
    // A person signs in: a session cookie, the CSRF token for unsafe requests, sign-out.
    let web = ureq::AgentBuilder::new().redirects(0).build();
    let (code, page) = answer(web.post(&url("/login")).send_form(&[("name", "ann"), ("password", "wrong"), ("next", "/v1/me")]));
    assert!(code == 401 && page.contains("Wrong name or password"), "{code}");
    let r = web.post(&url("/login")).send_form(&[("name", "ann"), ("password", "ann-secret-1"), ("next", "https://evil.example/")]).unwrap();
    assert_eq!((r.status(), r.header("location")), (303, Some("/login")), "only local pages after sign-in");
    let set = r.header("set-cookie").unwrap().to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();
    let me: serde_json::Value = serde_json::from_str(&answer(web.get(&url("/v1/me")).set("Cookie", &cookie).call()).1).unwrap();
    assert_eq!((me["name"].as_str(), me["role"].as_str()), (Some("ann"), Some("agent")));
    let csrf = me["csrf"].as_str().unwrap().to_string();
    let chat = r#"{"session_id":"s1","text":"where is order 48152"}"#;
    assert_eq!(answer(web.post(&url("/v1/chat")).set("Cookie", &cookie).send_string(chat)).0, 403, "no CSRF token");
    assert_eq!(answer(web.post(&url("/v1/chat")).set("Cookie", &cookie).set("X-CSRF-Token", "guess").send_string(chat)).0, 403);
    assert_eq!(answer(web.post(&url("/v1/chat")).set("Cookie", &cookie).set("X-CSRF-Token", &csrf).send_string(chat)).0, 200);
    assert_eq!(answer(web.get(&url("/v1/live")).set("Cookie", &cookie).call()).0, 403, "an agent sees no live figures");
    // An agent sets their own state only (ann is a user here, not an agent in the pool).
    let set_state = |id: &str| answer(web.post(&url(&format!("/v1/agents/{id}/state"))).set("Cookie", &cookie).set("X-CSRF-Token", &csrf).send_string(r#"{"state":"away"}"#)).0;
    assert_eq!(set_state("bob"), 403);
    assert_eq!(set_state("ann"), 404);
    assert_eq!(answer(web.get(&url("/v1/agents")).set("Cookie", &cookie).call()).0, 403);
    assert_eq!(answer(web.post(&url("/logout")).set("Cookie", &cookie).call()).0, 303);
    assert_eq!(answer(web.get(&url("/v1/me")).set("Cookie", &cookie).call()).0, 401, "signed out");
    // A revoked token opens nothing.
    let list = stdout(&run(&["--config", cfg, "tokens", "list", "--json"]));
    let id = list.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).find(|t| t["role"] == "agent").unwrap()["id"].as_i64().unwrap();
    assert!(run(&["--config", cfg, "tokens", "revoke", &id.to_string()]).status.success());
    assert_eq!(answer(ureq::get(&url("/v1/calls")).set("Authorization", &agent).call()).0, 401);
    assert_eq!(run(&["--config", cfg, "tokens", "revoke", &id.to_string()]).status.code(), Some(2));
}
