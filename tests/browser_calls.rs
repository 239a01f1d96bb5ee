//! The caller page in a real browser: Debian's chromium, driven by playwright-core
//! (tests/browser/call.mjs), calls the real gateway over WebRTC with an audio fixture as its
//! microphone. Asserts on what the page showed (captions of both sides), what it received (the
//! bot's audio energy from getStats), and on the call in the gateway's store and recording.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;
use voicegate::inapp::token::{unix_now, CallClaims, TokenKey};

const SECRET: &str = "voicegate-test-secret-0123456789";

fn gateway(dir: &Path) -> Gateway {
    let config = dir.join("voicegate.toml");
    let text = format!(
        // One thread per decode: the browser shares the two cores, and whisper.cpp's threads
        // wait for one another by spinning (a decode beside a busy browser took 8 s on two).
        "[store]\npath = \"{}\"\n[sip]\nrecordings = \"{}\"\n[asr]\nthreads = 1\n[webrtc]\ntoken_secret = \"{SECRET}\"\ngreet = false\n",
        dir.join("db.sqlite").display(),
        dir.join("recordings").display()
    );
    std::fs::write(&config, text).unwrap();
    start_with(&["--config", config.to_str().unwrap(), "--no-sip"])
}

/// The fixture with `lead_ms` of silence before it (the fake microphone starts before the call
/// is connected), as 16-bit PCM, which Chromium's fake capture reads.
fn microphone(name: &str, lead_ms: u32, out: &Path) -> PathBuf {
    let audio = voicegate::audio::load_for_pipeline(&fixture(name), None).unwrap();
    let path = out.join(format!("mic-{name}"));
    let spec = hound::WavSpec { channels: 1, sample_rate: 16_000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for _ in 0..(lead_ms * 16) {
        w.write_sample(0i16).unwrap();
    }
    for s in &audio.samples {
        w.write_sample(voicegate::audio::to_i16(*s)).unwrap();
    }
    // Silence after, while the bot answers (the capture stops at the file's end).
    for _ in 0..(3000 * 16) {
        w.write_sample(0i16).unwrap();
    }
    w.finalize().unwrap();
    path
}

/// Runs the page against the gateway; the JSON line the driver printed.
fn call_from_browser(g: &Gateway, mic: &Path, out: &Path, extra: &[&str]) -> Value {
    let claims = CallClaims { customer: "browser-cust".into(), order: None, locale: Some("en-US".into()), exp: unix_now() + 600 };
    let url = format!("{}/call?token={}", g.base, TokenKey::new(SECRET.as_bytes()).mint(&claims));
    // The browser below the gateway's priority: the call's audio and the recogniser go first.
    let o = Command::new("nice")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["-n", "15", "node", "tests/browser/call.mjs", "--url", &url, "--audio", mic.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .args(extra)
        .output()
        .expect("node runs (make setup installs playwright-core and Debian's chromium)");
    let text = stdout(&o);
    let last = text.lines().last().unwrap_or_else(|| panic!("the browser driver printed nothing: {}", stderr(&o)));
    serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON: {last}: {e}\n{}", stderr(&o)))
}

fn captions<'a>(page: &'a Value, speaker: &str) -> Vec<&'a str> {
    page["captions"].as_array().map(|c| c.iter().filter(|c| c["speaker"] == speaker && c["final"] == true).filter_map(|c| c["text"].as_str()).collect()).unwrap_or_default()
}

#[test]
fn a_customer_calls_from_the_page_and_hears_the_answer() {
    let t = tempfile::tempdir().unwrap();
    let g = gateway(t.path());
    let mic = microphone("en_order_status.wav", 1500, t.path());
    let page = call_from_browser(&g, &mic, t.path(), &["--until-bot", "1", "--seconds", "40"]);
    assert!(page["errors"].as_array().unwrap().is_empty(), "page errors: {page}");
    assert_eq!(page["states"][0], "connected", "{page}");
    // The question, as a final caption of the caller, and the bot's answer, on the page.
    let said = captions(&page, "caller").join(" ");
    assert!(words(&said).contains(&"order".to_string()), "caller captions: {page}");
    assert!(!captions(&page, "bot").is_empty(), "no bot caption: {page}");
    // The bot's voice reached the browser: energy on the remote track.
    let inbound = &page["inbound"];
    assert!(inbound["packets"].as_u64().unwrap_or(0) > 50, "{inbound}");
    assert!(inbound["energy"].as_f64().unwrap_or(0.0) > 0.01, "no audio energy received: {inbound}");
    assert_eq!(page["states"][1], "ended", "{page}");

    // The gateway's side: the same words in the call's events, the recording with both sides.
    let id = page["call_id"].as_str().unwrap();
    let (call, events) = ended_call(&g, Some(id));
    assert!(call["source"].as_str().unwrap().starts_with("webrtc:browser-cust"), "{call}");
    assert!(words(&transcript(&events)).contains(&"order".to_string()), "{events:?}");
    assert_eq!(call["end_reason"], "caller_hangup");
    let rec = PathBuf::from(call["recording"].as_str().unwrap());
    for (ch, who) in [(0, "caller"), (1, "bot")] {
        let a = voicegate::audio::decode_file(&rec, Some(ch)).unwrap();
        assert!(voicegate::audio::frame::rms(&a.samples) > 0.005, "no {who} speech in the recording");
    }
}

/// One of the barge-in fixture's two turns, as a WAV file of its own.
fn turn_of(name: &str, from_ms: usize, to_ms: usize, out: &Path) -> PathBuf {
    let audio = voicegate::audio::load_for_pipeline(&fixture(name), None).unwrap();
    let path = out.join(format!("turn-{from_ms}-{name}"));
    let spec = hound::WavSpec { channels: 1, sample_rate: 16_000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    let end = (to_ms * 16).min(audio.samples.len());
    for s in &audio.samples[from_ms * 16..end] {
        w.write_sample(voicegate::audio::to_i16(*s)).unwrap();
    }
    w.finalize().unwrap();
    path
}

#[test]
fn a_customer_interrupts_the_bot_from_the_page() {
    let t = tempfile::tempdir().unwrap();
    let g = gateway(t.path());
    // "Where is my order?", then, 1.2 s into the bot's answer, "Stop, I want to talk to a
    // person." (the fixture's two turns, spoken by a scripted microphone).
    let first = turn_of("conv_en_barge_in.wav", 0, 3200, t.path());
    let second = turn_of("conv_en_barge_in.wav", 3200, 100_000, t.path());
    let page = call_from_browser(&g, &first, t.path(), &["--then-audio", second.to_str().unwrap(), "--after-bot-ms", "1200", "--until-bot", "2", "--seconds", "45"]);
    assert!(page["errors"].as_array().unwrap().is_empty(), "page errors: {page}");
    let id = page["call_id"].as_str().unwrap();
    let (_, events) = ended_call(&g, Some(id));
    // The caller's barge-in (what the queue says after the handoff may be cut by the hang-up).
    let handed_off_ms = of_type(&events, "handoff").first().map(|h| h["t_ms"].as_u64().unwrap()).unwrap_or(u64::MAX);
    let stop: Vec<&Value> = of_type(&events, "tts_interrupted").into_iter().filter(|e| e["t_ms"].as_u64().unwrap() <= handed_off_ms).collect();
    assert_eq!(stop.len(), 1, "the bot was not interrupted: {events:?}");
    assert!(stop[0]["played_ms"].as_u64().unwrap() >= 1000, "{}", stop[0]);
    // The interrupting words were heard and answered: a person was asked for.
    assert!(words(&transcript(&events)).contains(&"person".to_string()), "{events:?}");
    assert_eq!(of_type(&events, "handoff")[0]["reason"], "caller_request");
    // The page shows the bot's first answer as cut off.
    assert!(page["captions"].as_array().unwrap().iter().filter(|c| c["speaker"] == "bot").count() >= 2, "{page}");
}

#[test]
fn a_person_signs_in_on_the_sign_in_page_and_out_again() {
    let dir = tempfile::tempdir().unwrap();
    let g = gateway(dir.path());
    let config = dir.path().join("voicegate.toml");
    let added = run(&["--config", config.to_str().unwrap(), "users", "add", "sue", "--role", "supervisor"]);
    let password = stdout(&added).rsplit("password (shown once): ").next().unwrap().trim().to_string();
    let shots = dir.path().join("shots");
    let o = Command::new("node")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tests/browser/login.mjs", "--url", &g.base, "--name", "sue", "--password", &password, "--out", shots.to_str().unwrap()])
        .output()
        .expect("node runs (make setup installs playwright-core)");
    let line = stdout(&o);
    let v: Value = serde_json::from_str(line.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("{e}: {line} {}", stderr(&o)));
    assert!(v["error"].is_null(), "{v}");
    assert_eq!(v["title"], "Sign in · voicegate");
    assert_eq!(v["wrong"], "Wrong name or password.");
    assert_eq!(v["signed_in"], "Signed in as sue (supervisor).");
    assert_eq!((v["sign_out_shown_before"].as_bool(), v["form_shown_after"].as_bool()), (Some(false), Some(false)), "each state shows its own form: {v}");
    assert_eq!((v["cookie_http_only"].as_bool(), v["cookie_from_script"].as_bool()), (Some(true), Some(false)), "{v}");
    assert_eq!((v["me"]["name"].as_str(), v["me"]["role"].as_str()), (Some("sue"), Some("supervisor")));
    assert_eq!(v["after_sign_out"], 401);
    assert!(shots.join("signed-in.png").exists());
    if let Ok(keep) = std::env::var("VOICEGATE_SHOTS") {
        for f in ["login.png", "signed-in.png"] {
            let _ = std::fs::copy(shots.join(f), Path::new(&keep).join(f));
        }
    }
}
