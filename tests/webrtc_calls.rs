//! In-app calls end to end: the real gateway answers WebRTC callers (`voicegate dial ws://...`,
//! and raw clients on the same stack) with the real Whisper and VAD models. Asserts on the
//! call's events in the store, the recordings, the signalling answers, and that no call state
//! is left behind after faults.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use voicegate::inapp::token::{unix_now, CallClaims, TokenKey};
use voicegate_webrtc::{EndpointConfig, Session, SessionEvent};

const SECRET: &str = "voicegate-test-secret-0123456789";
const API_KEY: &str = "test-api-key-0123456789";

fn token(customer: &str, order: Option<&str>, exp_in: i64) -> String {
    let exp = (unix_now() as i64 + exp_in).max(0) as u64;
    TokenKey::new(SECRET.as_bytes()).mint(&CallClaims { customer: customer.into(), order: order.map(str::to_string), locale: Some("en-US".into()), exp })
}

/// A gateway with its store and recordings in `dir`, short WebRTC timeouts, and `extra` lines.
fn gateway(dir: &Path, extra: &str) -> Gateway {
    let config = dir.join("voicegate.toml");
    let text = format!(
        "[store]\npath = \"{}\"\n[sip]\nrecordings = \"{}\"\ngreet = false\n[webrtc]\ntoken_secret = \"{SECRET}\"\napi_keys = [\"{API_KEY}\"]\ngreet = false\nconnect_timeout_ms = 2000\ndisconnected_timeout_ms = 1000\nfailed_timeout_ms = 1000\nmax_sockets_per_source = 4\n{extra}\n",
        dir.join("db.sqlite").display(),
        dir.join("recordings").display()
    );
    std::fs::write(&config, text).unwrap();
    start_with(&["--config", config.to_str().unwrap(), "--no-sip"])
}

fn ws_url(g: &Gateway) -> String {
    format!("{}/v1/webrtc", g.base.replace("http://", "ws://"))
}

/// The status of a request (ureq answers 4xx as errors).
fn status(r: Result<ureq::Response, ureq::Error>) -> (u16, String) {
    match r {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap_or_default()),
        Err(e) => panic!("request failed: {e}"),
    }
}

/// Waits until nothing of a call is left: no live call, no in-app call or socket.
fn assert_nothing_left(g: &Gateway) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = get_json(&format!("{}/v1/live", g.base));
        if v["count"] == 0 && v["webrtc"]["calls"] == 0 && v["webrtc"]["sockets"] == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "call state left behind: {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn channel_rms(path: &Path, channel: usize) -> f32 {
    let a = voicegate::audio::decode_file(path, Some(channel)).unwrap();
    voicegate::audio::frame::rms(&a.samples)
}

#[test]
fn an_app_call_is_understood_answered_recorded_and_listed() {
    let t = tempfile::tempdir().unwrap();
    let g = gateway(t.path(), "");
    let heard = t.path().join("heard.wav");
    let out = run(&[
        "dial",
        &ws_url(&g),
        "--token",
        &token("cust-42", None, 300),
        "--play",
        fixture("en_order_status.wav").to_str().unwrap(),
        "--listen",
        "9",
        "--record",
        heard.to_str().unwrap(),
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "dial failed: {text}\n{}", stderr(&out));
    assert!(text.contains("answered (Opus over DTLS-SRTP)"), "{text}");
    // The captions reached the caller's side while the call went on.
    assert!(text.contains("caller:") && text.contains("bot:"), "no captions came over the signalling: {text}");

    let (call, events) = ended_call(&g, None);
    assert!(call["source"].as_str().unwrap().starts_with("webrtc:cust-42"), "{call}");
    assert_eq!(call["caller"], "cust-42");
    let said = transcript(&events);
    let w = words(&said);
    assert!(w.contains(&"order".to_string()), "the question was not heard: {said:?}");
    let reply = of_type(&events, "bot_reply");
    assert!(!reply.is_empty(), "the bot did not answer: {events:?}");
    assert!(!of_type(&events, "tts_started").is_empty(), "the answer was not played");
    let ended = of_type(&events, "call_ended");
    assert_eq!(ended.len(), 1);
    assert_eq!(events.last().unwrap()["type"], "call_ended", "an event came after the end");
    assert!(matches!(ended[0]["reason"].as_str(), Some("caller_hangup")), "{}", ended[0]);

    // The gateway's recording: 16 kHz stereo, the caller left and the bot right.
    let rec = PathBuf::from(call["recording"].as_str().unwrap());
    let info = voicegate::audio::decode_file(&rec, Some(0)).unwrap();
    assert_eq!(info.sample_rate, 16_000);
    assert!(channel_rms(&rec, 0) > 0.01, "no caller speech in the recording");
    assert!(channel_rms(&rec, 1) > 0.01, "no bot speech in the recording");
    // The caller heard the bot.
    assert!(channel_rms(&heard, 1) > 0.01, "the caller heard nothing");

    // `voicegate calls` lists the call with its customer.
    let cfg = t.path().join("voicegate.toml");
    let listed = stdout(&run(&["--config", cfg.to_str().unwrap(), "calls"]));
    let line = listed.lines().find(|l| l.contains(call["id"].as_str().unwrap())).unwrap_or_else(|| panic!("{listed}"));
    assert!(line.contains("webrtc") && line.contains("cust-42"), "{listed}");
    // QA replay by call id: the recording's caller side through today's pipeline.
    let qa = run(&["--config", cfg.to_str().unwrap(), "replay", call["id"].as_str().unwrap()]);
    assert!(qa.status.success(), "{}", stderr(&qa));
    assert!(stdout(&qa).contains("intent  track_order"), "{}", stdout(&qa));
    assert_nothing_left(&g);
}

/// The first `ms` of a fixture, as a WAV file to speak.
fn first_of(name: &str, ms: usize, dir: &Path) -> PathBuf {
    let audio = voicegate::audio::load_for_pipeline(&fixture(name), None).unwrap();
    let path = dir.join(format!("first-{ms}-{name}"));
    let spec = hound::WavSpec { channels: 1, sample_rate: 16_000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for s in &audio.samples[..(ms * 16).min(audio.samples.len())] {
        w.write_sample(voicegate::audio::to_i16(*s)).unwrap();
    }
    w.finalize().unwrap();
    path
}

#[test]
fn the_app_tells_who_calls_about_which_order_and_keys_reach_the_dialog() {
    let t = tempfile::tempdir().unwrap();
    let g = gateway(t.path(), "");
    // The token names order 48152: "Where is my order?" is answered without asking for it.
    let ask = first_of("conv_en_barge_in.wav", 3200, t.path());
    let out = run(&["dial", &ws_url(&g), "--token", &token("cust-7", Some("48152"), 300), "--play", ask.to_str().unwrap(), "--listen", "8"]);
    assert!(out.status.success(), "{}
{}", stdout(&out), stderr(&out));
    let (call, events) = ended_call(&g, None);
    assert_eq!(call["caller"], "cust-7");
    let replies: Vec<&str> = of_type(&events, "bot_reply").iter().filter_map(|e| e["text"].as_str()).collect();
    assert!(replies.iter().any(|r| r.contains("4 8 1 5 2")), "the given order was not used: {replies:?}");
    assert!(!replies.iter().any(|r| r.contains("order number?")), "asked for the order it was given: {replies:?}");
    // A key from the app's keypad (RFC 4733 over WebRTC) is a key: 0 asks for a person.
    let out = run(&["dial", &ws_url(&g), "--token", &token("cust-8", None, 300), "--dtmf", "0", "--listen", "4"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, events) = ended_call(&g, None);
    let keys: Vec<&Value> = of_type(&events, "dtmf");
    assert!(keys.iter().any(|k| k["digit"] == "0" && k["out_of_band"] == true), "{events:?}");
    assert_eq!(of_type(&events, "handoff")[0]["reason"], "dtmf", "{events:?}");
    assert_nothing_left(&g);
}

#[test]
fn no_bad_or_expired_token_gets_anything() {
    let t = tempfile::tempdir().unwrap();
    let g = gateway(t.path(), "");
    let url = format!("{}/v1/webrtc", g.base);
    let forged = TokenKey::new(b"not the gateway's secret, no").mint(&CallClaims { customer: "mallory".into(), order: None, locale: None, exp: unix_now() + 300 });
    for (what, q) in [("none", String::new()), ("forged", format!("?token={forged}")), ("expired", format!("?token={}", token("c", None, -5))), ("garbage", "?token=vg1.abc.def".into())] {
        let (code, body) = status(ureq::get(&format!("{url}{q}")).call());
        assert_eq!(code, 401, "{what}: {body}");
        assert!(body.contains("token"), "{what}: {body}");
    }
    // WHIP takes the token as a bearer token.
    let (code, _) = status(ureq::post(&format!("{}/v1/whip", g.base)).set("Content-Type", "application/sdp").set("Authorization", &format!("Bearer {forged}")).send_string("v=0\r\n"));
    assert_eq!(code, 401);
    let (code, _) = status(ureq::post(&format!("{}/v1/whip", g.base)).set("Content-Type", "application/sdp").send_string("v=0\r\n"));
    assert_eq!(code, 401);
    // A good token passes the check (then wants a WebSocket).
    let (code, _) = status(ureq::get(&format!("{url}?token={}", token("c", None, 60))).call());
    assert_eq!(code, 426);
    // The shop's backend mints tokens with its API key; without it, nothing.
    let mint = format!("{}/v1/webrtc/tokens", g.base);
    let (code, _) = status(ureq::post(&mint).send_string(r#"{"customer":"c7"}"#));
    assert_eq!(code, 401);
    let (code, _) = status(ureq::post(&mint).set("Authorization", "Bearer wrong-key-0123456789").send_string(r#"{"customer":"c7"}"#));
    assert_eq!(code, 401);
    let (code, body) = status(ureq::post(&mint).set("Authorization", &format!("Bearer {API_KEY}")).send_string(r#"{"customer":"c7","order":"48152","locale":"zh-CN"}"#));
    assert_eq!(code, 200, "{body}");
    let minted: Value = serde_json::from_str(&body).unwrap();
    let claims = TokenKey::new(SECRET.as_bytes()).verify(minted["token"].as_str().unwrap(), unix_now()).unwrap();
    assert_eq!((claims.customer.as_str(), claims.order.as_deref(), claims.lang()), ("c7", Some("48152"), Some("zh")));
    let (code, _) = status(ureq::post(&mint).set("Authorization", &format!("Bearer {API_KEY}")).send_string(r#"{"customer":""}"#));
    assert_eq!(code, 400);
    // `dial` with a bad token: a clear refusal.
    let out = run(&["dial", &ws_url(&g), "--token", &forged, "--timeout", "5"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
    // Nothing was allocated, nothing stored.
    assert_nothing_left(&g);
    assert_eq!(get_json(&format!("{}/v1/calls", g.base))["calls"].as_array().unwrap().len(), 0);
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(g: &Gateway, tok: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(format!("{}?token={tok}", ws_url(g))).await.expect("signalling socket opens");
    ws
}

/// The next JSON message from the gateway (within 10 s).
async fn next(ws: &mut Ws) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(&t).unwrap(),
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) => return Value::Null,
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => panic!("socket error: {e}"),
            Err(_) => panic!("no message from the gateway within 10 s"),
        }
    }
}

/// Messages until one of type `ty` (returned), or the socket closes (Null).
async fn until(ws: &mut Ws, ty: &str) -> Value {
    loop {
        let v = next(ws).await;
        if v.is_null() || v["type"] == ty {
            return v;
        }
    }
}

async fn text(ws: &mut Ws, s: &str) {
    ws.send(Message::Text(s.to_string().into())).await.unwrap();
}

/// An offer from the same WebRTC stack a client would use.
async fn real_offer() -> (Session, String, voicegate_webrtc::SessionIo) {
    let cfg = EndpointConfig { ips: vec![voicegate_sip::outward_ip()], ..Default::default() };
    Session::offer(&cfg).await.expect("an offer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signalling_gets_a_reason_and_leaves_nothing_behind() {
    let t = tempfile::tempdir().unwrap();
    let g = tokio::task::block_in_place(|| gateway(t.path(), ""));
    let mut ws = connect(&g, &token("c1", None, 60)).await;
    let hello = next(&mut ws).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["customer"], "c1");
    for (bad, why) in [
        ("hello there", "not a signalling message"),
        ("{}", "not a signalling message"),
        (r#"{"type":"dance"}"#, "not a signalling message"),
        (r#"{"type":"candidate","candidate":"candidate:1 1 udp 1 192.0.2.9 9 typ host"}"#, "offer before candidates"),
        (r#"{"type":"offer","sdp":"hello"}"#, "not an SDP"),
    ] {
        text(&mut ws, bad).await;
        let e = next(&mut ws).await;
        assert_eq!(e["type"], "error", "{bad}: {e}");
        assert!(e["reason"].as_str().unwrap().contains(why), "{bad}: {e}");
    }
    ws.send(Message::Binary(vec![0u8, 1, 2, 255].into())).await.unwrap();
    assert!(next(&mut ws).await["reason"].as_str().unwrap().contains("binary"));
    let huge = format!(r#"{{"type":"offer","sdp":"v=0{}"}}"#, "a".repeat(40_000));
    text(&mut ws, &huge).await;
    assert!(next(&mut ws).await["reason"].as_str().unwrap().contains("over the limit"));
    // Offers the gateway cannot make a voice call of.
    let (session, offer, _io) = real_offer().await;
    for (change, why) in [(("m=audio", "m=video"), "no audio"), (("opus/48000", "speex/48000"), "no Opus")] {
        let sdp = offer.replace(change.0, change.1);
        text(&mut ws, &serde_json::json!({"type":"offer","sdp": sdp}).to_string()).await;
        let e = next(&mut ws).await;
        assert!(e["reason"].as_str().unwrap_or_default().contains(why), "{why}: {e}");
    }
    session.close().await;

    // An offer whose ICE never connects (its answer is never applied): refused after the
    // connect timeout, everything released.
    let (session, offer, _io) = real_offer().await;
    let stray: String = offer.split_inclusive('\n').filter(|l| !l.starts_with("a=candidate")).collect();
    text(&mut ws, &serde_json::json!({"type":"offer","sdp": stray}).to_string()).await;
    assert_eq!(until(&mut ws, "answer").await["type"], "answer");
    let hangup = until(&mut ws, "hangup").await;
    assert_eq!(hangup["reason"], "ice_timeout", "{hangup}");
    session.close().await;
    assert_nothing_left(&g);

    // An offer whose DTLS fingerprint is not its certificate's: ICE connects, the handshake
    // cannot, and the call never starts.
    let mut ws2 = connect(&g, &token("c1", None, 60)).await;
    assert_eq!(next(&mut ws2).await["type"], "hello");
    let (session, offer, _io) = real_offer().await;
    let forged: String = offer
        .split_inclusive('\n')
        .map(|l| if l.starts_with("a=fingerprint:sha-256 ") { "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n".to_string() } else { l.to_string() })
        .collect();
    text(&mut ws2, &serde_json::json!({"type":"offer","sdp": forged}).to_string()).await;
    let answer = until(&mut ws2, "answer").await;
    session.accept_answer(answer["sdp"].as_str().unwrap()).await.unwrap();
    let hangup = until(&mut ws2, "hangup").await;
    assert!(matches!(hangup["reason"].as_str(), Some("dtls_failed" | "ice_failed" | "ice_timeout")), "{hangup}");
    session.close().await;
    drop(ws2);
    assert_nothing_left(&g);

    // Sockets opened and abandoned from one address: a limit per source.
    let mut open = Vec::new();
    for _ in 0..4 {
        open.push(connect(&g, &token("c2", None, 60)).await);
    }
    let refused = tokio_tungstenite::connect_async(format!("{}?token={}", ws_url(&g), token("c2", None, 60))).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 429),
        other => panic!("a fifth socket from one address was not refused: {:?}", other.map(|_| ())),
    }
    drop(open);
    assert_nothing_left(&g);
    // Nothing became a call.
    let calls = tokio::task::block_in_place(|| get_json(&format!("{}/v1/calls", g.base)));
    assert_eq!(calls["calls"].as_array().unwrap().len(), 0, "{calls}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_vanishes_without_hanging_up_is_ended_by_consent_expiry() {
    let t = tempfile::tempdir().unwrap();
    let g = tokio::task::block_in_place(|| gateway(t.path(), ""));
    let mut ws = connect(&g, &token("c3", None, 60)).await;
    assert_eq!(next(&mut ws).await["type"], "hello");
    let (session, offer, mut io) = real_offer().await;
    text(&mut ws, &serde_json::json!({"type":"offer","sdp": offer}).to_string()).await;
    let answer = until(&mut ws, "answer").await;
    session.accept_answer(answer["sdp"].as_str().unwrap()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout(Duration::from_secs(10), io.events.recv()).await {
            Ok(Some(SessionEvent::Connected)) => break,
            Ok(Some(SessionEvent::Ended { reason })) => panic!("not connected: {reason}"),
            _ => assert!(Instant::now() < deadline, "not connected in time"),
        }
    }
    assert_eq!(until(&mut ws, "state").await["state"], "connected");
    // The app's media goes away; its signalling socket stays open and silent.
    session.close().await;
    let hangup = until(&mut ws, "hangup").await;
    assert_eq!(hangup["reason"], "connection_lost", "{hangup}");
    let (call, events) = tokio::task::block_in_place(|| ended_call(&g, None));
    assert_eq!(call["end_reason"], "connection_lost");
    assert_eq!(events.last().unwrap()["type"], "call_ended");
    tokio::task::block_in_place(|| assert_nothing_left(&g));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whip_offers_get_a_complete_answer_and_delete_hangs_up() {
    let t = tempfile::tempdir().unwrap();
    let g = tokio::task::block_in_place(|| gateway(t.path(), ""));
    let (session, offer, mut io) = real_offer().await;
    let (base, tok) = (g.base.clone(), token("c4", Some("48152"), 60));
    let resp = tokio::task::spawn_blocking(move || ureq::post(&format!("{base}/v1/whip")).set("Content-Type", "application/sdp").set("Authorization", &format!("Bearer {tok}")).send_string(&offer))
        .await
        .unwrap()
        .expect("WHIP answers");
    assert_eq!(resp.status(), 201);
    let location = resp.header("Location").unwrap().to_string();
    assert_eq!(resp.content_type(), "application/sdp");
    let answer = resp.into_string().unwrap();
    assert!(answer.contains("a=candidate"), "the WHIP answer carries its candidates: {answer}");
    session.accept_answer(&answer).await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), io.events.recv()).await.expect("connects") {
            Some(SessionEvent::Connected) => break,
            Some(SessionEvent::Ended { reason }) => panic!("{reason}"),
            _ => {}
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let url = format!("{}{location}", g.base);
    let code = tokio::task::spawn_blocking(move || status(ureq::delete(&url).call()).0).await.unwrap();
    assert_eq!(code, 200);
    let (call, _) = tokio::task::block_in_place(|| ended_call(&g, None));
    assert_eq!(call["end_reason"], "caller_hangup");
    assert!(call["source"].as_str().unwrap().starts_with("webrtc:c4"));
    session.close().await;
    tokio::task::block_in_place(|| assert_nothing_left(&g));
}
