//! `voicegate serve`: the HTTP API with the pipeline loaded.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use common::*;

/// A running gateway, stopped when dropped.
struct Gateway {
    child: Child,
    base: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Gateway {
    let mut child = bin()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a banner line").expect("readable");
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_string();
    // Keep draining the banner so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Gateway { child, base }
}

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
