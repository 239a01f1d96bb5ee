//! The agent desktop `/agent` in a real browser: Debian's chromium, driven by playwright-core
//! (tests/browser/agent.mjs), signs in as a browser agent, goes available, is offered a phone
//! call (`voicegate dial` speaking fixtures) handed off by the bot, reads the context card,
//! accepts over WebRTC with a fixture as its microphone, talks, hangs up and wraps up. Asserts
//! on what the page showed and received, and on the call in the store, its recording and what
//! the caller's phone heard.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::sip::loudest_second;
use common::*;
use serde_json::Value;

/// A gateway with SIP and WebRTC on, the browser agent `ann` (also a user): its password.
fn gateway_with_desktop_agent(dir: &Path) -> (Gateway, String) {
    let config = dir.join("voicegate.toml");
    let text = format!(
        // One thread per decode: the browser shares the two cores (see browser_calls.rs).
        "[store]\npath = \"{}\"\n[sip]\nrecordings = \"{}\"\ngreet = false\n[asr]\nthreads = 1\n[agents]\nwrap_up_s = 1\nring_timeout_s = 20\nsurvey = false\n",
        dir.join("db.sqlite").display(),
        dir.join("recordings").display()
    );
    std::fs::write(&config, text).unwrap();
    let c = config.to_str().unwrap();
    let o = run(&["--config", c, "agents", "add", "ann", "--name", "Ann Lee", "--languages", "en", "--skills", "delivery"]);
    assert!(o.status.success(), "agents add: {}", stderr(&o));
    let o = run(&["--config", c, "users", "add", "ann", "--role", "agent"]);
    assert!(o.status.success(), "users add: {}", stderr(&o));
    let password = stdout(&o).rsplit("password (shown once): ").next().unwrap().trim().to_string();
    (start_with(&["--config", c]), password)
}

/// `lead_s` of silence, the fixture, then `tail_s` of silence, as 16 kHz 16-bit PCM.
fn padded(name: &str, lead_s: f32, tail_s: f32, out: &Path) -> PathBuf {
    let audio = voicegate::audio::load_for_pipeline(&fixture(name), None).unwrap();
    let mut all = vec![0.0; (lead_s * 16_000.0) as usize];
    all.extend(&audio.samples);
    all.extend(std::iter::repeat_n(0.0, (tail_s * 16_000.0) as usize));
    let path = out.join(format!("padded-{name}"));
    voicegate::audio::wav::write_wav(&path, &[&all], 16_000).unwrap();
    path
}

/// The fixtures one after another with the silences given before each.
fn turns(parts: &[(f32, &str)], tail_s: f32, out: &Path) -> PathBuf {
    let mut all = Vec::new();
    for (gap, name) in parts {
        all.extend(std::iter::repeat_n(0.0, (gap * 16_000.0) as usize));
        all.extend(voicegate::audio::load_for_pipeline(&fixture(name), None).unwrap().samples);
    }
    all.extend(std::iter::repeat_n(0.0, (tail_s * 16_000.0) as usize));
    let path = out.join("caller.wav");
    voicegate::audio::wav::write_wav(&path, &[&all], 16_000).unwrap();
    path
}

fn agent_state(g: &Gateway, agent: &str) -> String {
    let v = get_json(&format!("{}/v1/agents", g.base));
    v["agents"].as_array().and_then(|a| a.iter().find(|x| x["id"] == agent)).and_then(|x| x["state"].as_str()).unwrap_or("").to_string()
}

fn wait_for_state(g: &Gateway, agent: &str, state: &str, within: Duration) -> bool {
    let t = Instant::now();
    while t.elapsed() < within {
        if agent_state(g, agent) == state {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    false
}

#[test]
fn a_browser_agent_takes_a_handed_off_phone_call_with_its_context_and_wraps_it_up() {
    let dir = tempfile::tempdir().unwrap();
    let (g, password) = gateway_with_desktop_agent(dir.path());
    // The agent's microphone: silence while the whisper plays, then their words.
    let mic = padded("en_refund.wav", 8.0, 40.0, dir.path());
    let shots = dir.path().join("shots");
    let page = Command::new("nice")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["-n", "15", "node", "tests/browser/agent.mjs", "--url", &g.base, "--name", "ann", "--password", &password])
        .args(["--audio", mic.to_str().unwrap(), "--out", shots.to_str().unwrap(), "--seconds", "90", "--hangup-after-ms", "22000", "--disposition", "resolved", "--notes", "Order 48152 on its way"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs (make setup installs playwright-core)");
    assert!(wait_for_state(&g, "ann", "available", Duration::from_secs(40)), "the page did not make ann available (state {:?})", agent_state(&g, "ann"));
    // The caller asks about an order, then for a person; once put through, speaks again.
    let caller = turns(&[(0.5, "en_order_status.wav"), (7.0, "en_human_agent.wav"), (18.0, "en_complaint.wav")], 6.0, dir.path());
    let heard = dir.path().join("dial.wav");
    let uri = format!("sip:bot@{}", g.sip.unwrap());
    let o = run(&["dial", &uri, "--play", caller.to_str().unwrap(), "--record", heard.to_str().unwrap(), "--listen", "15"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let out = page.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let p: Value = serde_json::from_str(text.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    if let Ok(keep) = std::env::var("VOICEGATE_SHOTS") {
        for f in ["agent-ringing.png", "agent-call.png", "agent-wrapup.png", "agent-after.png"] {
            let _ = std::fs::copy(shots.join(f), Path::new(&keep).join(f));
        }
    }
    let (call, events) = ended_call(&g, None);
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(p["error"].is_null(), "the page: {p}\nevents: {types:?}");
    // The context card, as the page showed it.
    assert_eq!(p["hello"]["agent"]["name"], "Ann Lee", "{p}");
    assert_eq!(p["offer"]["reason_attr"], "caller_request", "{p}");
    assert!(p["offer"]["order_text"].as_str().unwrap_or("").contains("48152"), "the order on the card: {p}");
    let lines = p["offer"]["lines"].as_array().cloned().unwrap_or_default();
    let said = |speaker: &str| lines.iter().filter(|l| l["speaker"] == speaker).map(|l| l["text"].as_str().unwrap_or("").to_lowercase()).collect::<Vec<_>>().join(" ");
    assert!(said("caller").contains("order") && said("caller").contains("person"), "the caller's lines on the card: {lines:?}");
    assert!(!said("bot").is_empty(), "the bot's lines on the card: {lines:?}");
    // Accepted over WebRTC: the caller's voice reached the page, the page's microphone went out.
    assert_eq!((p["connected"].as_bool(), p["bridged"].as_bool()), (Some(true), Some(true)), "{p}");
    assert!(p["inbound"]["energy"].as_f64().unwrap_or(0.0) > 0.01, "the page heard nothing: {p}");
    assert!(p["outbound"]["packets"].as_u64().unwrap_or(0) > 300, "{p}");
    assert_eq!(p["wrapup_saved"], true, "{p}");
    // The transfer in the call's events, in order, to ann.
    let order = ["handoff", "queued", "agent_offered", "agent_answered", "whisper_played", "bridged", "agent_left"];
    let at: Vec<usize> = order.iter().map(|ty| types.iter().position(|x| x == ty).unwrap_or_else(|| panic!("no {ty} event: {types:?}"))).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "out of order: {order:?} at {at:?} in {types:?}");
    assert_eq!(of_type(&events, "agent_answered")[0]["agent"], "ann");
    let bridged_ms = of_type(&events, "bridged")[0]["t_ms"].as_u64().unwrap();
    // The page's live transcript showed the call going on.
    assert!(p["live_lines"].as_array().is_some_and(|l| !l.is_empty()), "no live transcript on the page: {p}");
    // Both sides transcribed after the bridge: the agent's microphone and the caller's last turn.
    let agent_text: String = finals(&events).into_iter().filter(|e| e["speaker"] == "agent").map(|e| e["text"].as_str().unwrap_or("").to_string()).collect::<Vec<_>>().join(" ");
    assert!(words(&agent_text).contains(&"refund".to_string()), "the agent's words: {agent_text:?}");
    let caller_after: String = finals(&events).into_iter().filter(|e| e["speaker"] == "caller" && e["start_ms"].as_u64().unwrap_or(0) > bridged_ms).map(|e| e["text"].as_str().unwrap_or("").to_string()).collect::<Vec<_>>().join(" ");
    assert!(words(&caller_after).contains(&"complaint".to_string()), "the caller after the bridge: {caller_after:?}");
    // The agent hung up from the page: the call ends (no survey here).
    assert_eq!(call["end_reason"], "agent_hangup", "{call}");
    // The caller's phone heard the agent's microphone after the bridge.
    let dial_heard = voicegate::audio::decode::decode_file(&heard, Some(1)).unwrap().samples;
    let from = (bridged_ms as usize) * 8;
    assert!(loudest_second(&dial_heard[from.min(dial_heard.len())..]) > 0.03, "the caller did not hear the agent");
    // The wrap-up is stored with the call; ann sees the call as hers.
    let id = call["id"].as_str().unwrap();
    let c = get_json(&format!("{}/v1/calls/{id}", g.base));
    assert_eq!(c["wrapups"][0]["disposition"], "resolved", "{c}");
    assert_eq!(c["wrapups"][0]["notes"], "Order 48152 on its way", "{c}");
    assert_eq!(c["wrapups"][0]["agent"], "ann", "{c}");
    assert!(p["recent_calls_rows"].as_u64().unwrap_or(0) >= 1, "the page's recent calls: {p}");
    // Nothing left: no live call; the page closed, so ann is offline.
    assert!(wait_for_state(&g, "ann", "offline", Duration::from_secs(10)), "ann after the page closed: {:?}", agent_state(&g, "ann"));
    assert_eq!(get_json(&format!("{}/health", g.base))["live_calls"], 0);
}

#[test]
fn a_desktop_that_vanishes_mid_call_puts_the_caller_back_in_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let (g, password) = gateway_with_desktop_agent(dir.path());
    let mic = padded("en_refund.wav", 2.0, 30.0, dir.path());
    let shots = dir.path().join("shots");
    let page = Command::new("nice")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["-n", "15", "node", "tests/browser/agent.mjs", "--url", &g.base, "--name", "ann", "--password", &password])
        .args(["--audio", mic.to_str().unwrap(), "--out", shots.to_str().unwrap(), "--seconds", "90", "--hangup-after-ms", "5000", "--vanish", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs (make setup installs playwright-core)");
    assert!(wait_for_state(&g, "ann", "available", Duration::from_secs(40)), "the page did not make ann available (state {:?})", agent_state(&g, "ann"));
    // The caller asks for a person and stays on the line well after the agent's page is gone.
    let caller = turns(&[(0.5, "en_human_agent.wav")], 40.0, dir.path());
    let uri = format!("sip:bot@{}", g.sip.unwrap());
    let o = run(&["dial", &uri, "--play", caller.to_str().unwrap(), "--listen", "3"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let out = page.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let p: Value = serde_json::from_str(text.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("{e}: {text}"));
    let (call, events) = ended_call(&g, None);
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(p["error"].is_null(), "the page: {p}\nevents: {types:?}");
    assert_eq!((p["bridged"].as_bool(), p["vanished"].as_bool()), (Some(true), Some(true)), "{p}");
    // The agent left without hanging up; the caller went back to the queue, not off the line.
    let left = of_type(&events, "agent_left");
    assert_eq!(left.first().map(|l| l["reason"].as_str().unwrap_or("")), Some("agent_lost"), "{types:?}");
    let bridged_at = types.iter().position(|t| *t == "bridged").unwrap();
    assert!(types[bridged_at..].contains(&"queued"), "not queued again after the bridge: {types:?}");
    assert_ne!(call["end_reason"], "agent_hangup", "{call}");
    assert!(call["duration_ms"].as_u64().unwrap_or(0) > 35_000, "the caller was dropped: {call}");
    // Their page is gone: ann is offline; nothing is left over.
    assert!(wait_for_state(&g, "ann", "offline", Duration::from_secs(10)), "ann: {:?}", agent_state(&g, "ann"));
    assert_eq!(get_json(&format!("{}/health", g.base))["live_calls"], 0);
}
