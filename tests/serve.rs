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
    let body = ureq::post(&format!("{}/v1/replay", g.base))
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
        match ureq::post(&format!("{}/v1/replay", g.base)).send_bytes(body) {
            Err(ureq::Error::Status(400, resp)) => {
                let v: serde_json::Value = serde_json::from_str(&resp.into_string().unwrap()).unwrap();
                assert!(v["error"].as_str().unwrap().contains("upload"), "{v}");
            }
            other => panic!("expected 400, got {other:?}"),
        }
    }
}

fn post_nlu(g: &Gateway, body: &[u8]) -> (u16, serde_json::Value) {
    let resp = match ureq::post(&format!("{}/v1/nlu", g.base)).set("Content-Type", "application/json").send_bytes(body) {
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
