//! Warm transfer to a live agent, with real peers: `voicegate dial` is the caller (speaking an
//! escalation fixture over SIP/RTP), SIPp plays the agent's desk phone (answers, speaks a
//! fixture), tcpdump hears what the gateway sends the agent, and the real models run.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::sip::*;
use common::*;
use serde_json::Value;

/// A gateway on loopback with its store and recordings in `dir`, agents added first.
fn gateway_with_agents(dir: &Path, agents: &[&[&str]]) -> Gateway {
    gateway_with(dir, agents, "")
}

/// The same with more `[agents]` settings.
fn gateway_with(dir: &Path, agents: &[&[&str]], more_agents_settings: &str) -> Gateway {
    gateway_with_sip(dir, agents, "", more_agents_settings)
}

/// The same with more `[sip]` settings too.
fn gateway_with_sip(dir: &Path, agents: &[&[&str]], more_sip_settings: &str, more_agents_settings: &str) -> Gateway {
    let config = dir.join("voicegate.toml");
    let text = format!(
        "[store]\npath = \"{}\"\n[sip]\nrecordings = \"{}\"\ngreet = false\n{more_sip_settings}\n[agents]\nwrap_up_s = 1\nring_timeout_s = 4\n{more_agents_settings}\n",
        dir.join("db.sqlite").display(),
        dir.join("recordings").display()
    );
    std::fs::write(&config, text).unwrap();
    for a in agents {
        let mut args = vec!["--config", config.to_str().unwrap(), "agents", "add"];
        args.extend_from_slice(a);
        let o = run(&args);
        assert!(o.status.success(), "agents add {a:?}: {}", stderr(&o));
    }
    let g = start_with(&["--config", config.to_str().unwrap()]);
    assert!(g.sip.is_some(), "the gateway listens for SIP");
    g
}

/// SIPp as an agent's phone on `port`, from `dir` (where agent.pcap is).
fn agent_phone(dir: &Path, scenario_name: &str, port: u16, media_port: u16) -> Child {
    Command::new("sipp")
        .current_dir(dir)
        .arg("-sf")
        .arg(scenario(scenario_name))
        .args(["-m", "1", "-nostdin", "-i", "127.0.0.1", "-mi", "127.0.0.1", "-timeout", "90", "-timeout_error", "-trace_err"])
        .args(["-p", &port.to_string(), "-mp", &media_port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipp runs (Debian package sip-tester; make setup installs it)")
}

/// The tests here run one at a time: each runs real Whisper on two speakers in real time, and
/// two at once on two cores would fall behind.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// What `agent_answers.xml` plays once answered (agent.pcap in `dir`): `en_refund.wav`, then
/// silence, as a phone keeps sending while the call is up.
fn agent_says_refund(dir: &Path) {
    let audio = voicegate::audio::load_for_pipeline(&fixture("en_refund.wav"), None).unwrap();
    let mut narrow = voicegate::audio::resample::resample(&audio.samples, 16_000, 8_000).unwrap();
    narrow.extend(std::iter::repeat_n(0.0, 8_000 * 30));
    let payloads = voicegate::audio::g711::encode_slots(0, &narrow);
    std::fs::write(dir.join("agent.pcap"), voicegate_sip::pcap::rtp_pcap(&payloads, 0, "127.0.0.1:6000".parse().unwrap(), "127.0.0.1:7000".parse().unwrap())).unwrap();
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["type"].as_str()).collect()
}

/// The caller's audio: `first`, `gap_s` of silence, then `second` (8 kHz WAV).
fn two_turns(first: &str, gap_s: f32, second: &str, out: &Path) {
    let a = voicegate::audio::load_for_pipeline(&fixture(first), None).unwrap().samples;
    let b = voicegate::audio::load_for_pipeline(&fixture(second), None).unwrap().samples;
    let mut all = a;
    all.extend(std::iter::repeat_n(0.0, (gap_s * 16_000.0) as usize));
    all.extend(b);
    voicegate::audio::wav::write_wav(out, &[&all], 16_000).unwrap();
}

#[test]
fn a_phone_caller_is_handed_to_a_sip_agent_who_hears_a_whisper_then_the_caller() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    // The agent speaks a fixture of their own once the whisper is over.
    agent_says_refund(dir.path());
    let g = gateway_with_agents(dir.path(), &[&["ann", "--languages", "en", "--sip", "sip:ann@127.0.0.1:5391"]]);
    let phone = agent_phone(dir.path(), "agent_answers.xml", 5391, 16400);
    let cap = capture(dir.path());
    // The caller asks for a person, waits, and speaks again once put through.
    let caller_wav = dir.path().join("caller.wav");
    two_turns("en_human_agent.wav", 16.0, "en_order_status.wav", &caller_wav);
    let heard = dir.path().join("dial.wav");
    let uri = format!("sip:bot@{}", g.sip.unwrap());
    let o = run(&["dial", &uri, "--play", caller_wav.to_str().unwrap(), "--record", heard.to_str().unwrap(), "--listen", "10"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let (call, events) = ended_call(&g, None);
    let t = types(&events);
    let phone_out = phone.wait_with_output().unwrap();
    assert!(phone_out.status.success(), "the agent's phone (SIPp) failed: {}\n{}\nevents: {:?}", String::from_utf8_lossy(&phone_out.stdout), String::from_utf8_lossy(&phone_out.stderr), of_type(&events, "agent_left"));
    // The transfer, in order.
    let order = ["handoff", "queued", "agent_offered", "agent_answered", "whisper_played", "bridged"];
    let at: Vec<usize> = order.iter().map(|ty| t.iter().position(|x| x == ty).unwrap_or_else(|| panic!("no {ty} event: {t:?}"))).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "out of order: {order:?} at {at:?} in {t:?}");
    let whisper = of_type(&events, "whisper_played")[0];
    assert!(whisper["text"].as_str().unwrap().starts_with("Caller asked for a person"), "{whisper}");
    assert!(whisper["played_ms"].as_u64().unwrap() > 1000, "{whisper}");
    assert_eq!(of_type(&events, "agent_answered")[0]["agent"], "ann");
    let bridged_ms = of_type(&events, "bridged")[0]["t_ms"].as_u64().unwrap();
    // The caller went on being heard after the bridge (their second turn).
    let after: Vec<&Value> = finals(&events).into_iter().filter(|e| e["start_ms"].as_u64().unwrap() > bridged_ms && e["speaker"] == "caller").collect();
    // The agent's words are transcribed too, on the call's clock, after the bridge.
    let agent: Vec<&Value> = finals(&events).into_iter().filter(|e| e["speaker"] == "agent").collect();
    let agent_text = agent.iter().map(|e| e["text"].as_str().unwrap()).collect::<Vec<_>>().join(" ");
    assert!(words(&agent_text).contains(&"refund".to_string()), "the agent's words: {agent_text:?}");
    assert!(agent.iter().all(|e| e["start_ms"].as_u64().unwrap() >= bridged_ms), "{agent:?}");
    assert!(!after.is_empty(), "no caller transcript after the bridge at {bridged_ms} ms: {events:?}");
    assert!(words(after.iter().map(|e| e["text"].as_str().unwrap()).collect::<Vec<_>>().join(" ").as_str()).contains(&"order".to_string()), "{after:?}");
    // The caller hung up: the agent was hung up and wraps up.
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
    assert!(t.contains(&"agent_left") && t.contains(&"wrap_up"), "{t:?}");
    // The recording: the caller left; on the right, after the bridge, the agent's voice.
    let rec = call["recording"].as_str().unwrap();
    let right = voicegate::audio::decode::decode_file(Path::new(rec), Some(1)).unwrap().samples;
    let from = (bridged_ms as usize) * 8;
    assert!(right.len() > from + 8000, "recording too short");
    let agent_in_recording = loudest_second(&right[from..]);
    assert!(agent_in_recording > 0.03, "the agent's voice is not in the recording after the bridge (loudest second {agent_in_recording})");
    // What the caller's phone heard after the bridge: the agent.
    let dial_heard = voicegate::audio::decode::decode_file(&heard, Some(1)).unwrap().samples;
    assert!(loudest_second(&dial_heard[from.min(dial_heard.len())..]) > 0.03, "the caller did not hear the agent");
    // What the agent's phone got: the whisper, then the caller's second turn.
    let (packets, to_agent) = cap.audio(|to: SocketAddr| to.port() == 16400);
    assert!(packets > 200, "{packets} packets to the agent");
    let whisper_end = (whisper["played_ms"].as_u64().unwrap() as usize + 1500) * 8;
    assert!(to_agent.len() > whisper_end, "the agent's stream ended early");
    assert!(loudest_second(&to_agent[..whisper_end]) > 0.03, "the agent did not hear the whisper");
    assert!(loudest_second(&to_agent[whisper_end..]) > 0.03, "the agent did not hear the caller");
    // Nothing left over: no live call; the agent back from wrap-up.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(get_json(&format!("{}/health", g.base))["live_calls"], 0);
    let agents = run(&["--config", dir.path().join("voicegate.toml").to_str().unwrap(), "agents", "list", "--json"]);
    assert!(stdout(&agents).contains("\"state\":\"available\""), "{}", stdout(&agents));
}

#[test]
fn with_the_ai_off_calls_go_straight_to_an_agent_who_hears_the_caller_and_is_heard() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    // The agent's phone speaks a fixture 7 s after it answers (the whisper is over by then).
    agent_says_refund(dir.path());
    let g = gateway_with_sip(dir.path(), &[&["ann", "--languages", "en", "--sip", "sip:ann@127.0.0.1:5396"]], "pipeline = false\nto_agents = true", "");
    let phone = agent_phone(dir.path(), "agent_answers.xml", 5396, 16480);
    let heard = dir.path().join("dial.wav");
    let uri = format!("sip:bot@{}", g.sip.unwrap());
    let o = run(&["dial", &uri, "--play", fixture("en_order_status.wav").to_str().unwrap(), "--record", heard.to_str().unwrap(), "--listen", "14"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let (call, events) = ended_call(&g, None);
    let t = types(&events);
    let phone_out = phone.wait_with_output().unwrap();
    assert!(phone_out.status.success(), "the agent's phone (SIPp) failed: {}", String::from_utf8_lossy(&phone_out.stderr));
    // Queued from the first moment, put through; no bot, nothing transcribed.
    let order = ["handoff", "queued", "agent_offered", "agent_answered", "whisper_played", "bridged"];
    let at: Vec<usize> = order.iter().map(|ty| t.iter().position(|x| x == ty).unwrap_or_else(|| panic!("no {ty} event: {t:?}"))).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "out of order: {order:?} at {at:?} in {t:?}");
    assert_eq!(of_type(&events, "handoff")[0]["reason"], "direct");
    assert!(of_type(&events, "handoff")[0]["t_ms"].as_u64().unwrap() < 1000, "{events:?}");
    assert!(!t.contains(&"transcript") && !t.contains(&"bot_reply"), "the AI is off: {t:?}");
    assert!(of_type(&events, "whisper_played")[0]["played_ms"].as_u64().unwrap() > 500);
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
    // Each heard the other: the caller's phone and the recording's right channel hold the
    // agent's words after the bridge.
    let bridged_ms = of_type(&events, "bridged")[0]["t_ms"].as_u64().unwrap();
    let from = bridged_ms as usize * 8;
    let dial_heard = voicegate::audio::decode::decode_file(&heard, Some(1)).unwrap().samples;
    assert!(loudest_second(&dial_heard[from.min(dial_heard.len())..]) > 0.03, "the caller did not hear the agent");
    let right = voicegate::audio::decode::decode_file(Path::new(call["recording"].as_str().unwrap()), Some(1)).unwrap().samples;
    assert!(loudest_second(&right[from.min(right.len())..]) > 0.03, "the agent is not in the recording");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(get_json(&format!("{}/health", g.base))["live_calls"], 0);
}

#[test]
fn a_busy_agent_and_one_who_lets_it_ring_pass_the_call_on_then_the_caller_asks_for_a_callback_or_hangs_up() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let g = gateway_with_agents(dir.path(), &[&["bob", "--languages", "en", "--sip", "sip:bob@127.0.0.1:5392"], &["cat", "--languages", "en,zh", "--sip", "sip:cat@127.0.0.1:5393"]]);
    let config = dir.path().join("voicegate.toml");
    let busy = agent_phone(dir.path(), "agent_busy.xml", 5392, 16420);
    let rings = agent_phone(dir.path(), "agent_rings_out.xml", 5393, 16440);
    // Asks for a person, waits in the queue, then presses 1 for a callback.
    let caller_wav = dir.path().join("caller.wav");
    two_turns("en_human_agent.wav", 13.0, "silence.wav", &caller_wav);
    let uri = format!("sip:bot@{}", g.sip.unwrap());
    let o = run(&["dial", &uri, "--play", caller_wav.to_str().unwrap(), "--dtmf", "1", "--listen", "15"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("far end hung up"), "the gateway ends the call after booking the callback: {}", stdout(&o));
    let (call, events) = ended_call(&g, None);
    for (phone, what) in [(busy, "busy"), (rings, "rings out")] {
        let out = phone.wait_with_output().unwrap();
        assert!(out.status.success(), "the agent's phone that {what} (SIPp) failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let offered: Vec<&str> = of_type(&events, "agent_offered").iter().map(|e| e["agent"].as_str().unwrap()).collect();
    assert!(offered.contains(&"bob") && offered.contains(&"cat"), "{offered:?}");
    let declined = of_type(&events, "agent_declined");
    assert_eq!((declined.len(), &declined[0]["agent"], &declined[0]["why"]), (1, &Value::from("bob"), &Value::from("486")), "{declined:?}");
    assert_eq!(of_type(&events, "agent_no_answer")[0]["agent"], "cat");
    assert!(of_type(&events, "agent_answered").is_empty());
    // Told where they stand, then the key: a ticket with the caller's number and the context.
    let replies: Vec<&str> = of_type(&events, "bot_reply").iter().filter_map(|e| e["text"].as_str()).collect();
    assert!(replies.iter().any(|r| r.starts_with("You are number 1 in line") && r.contains("press 1")), "{replies:?}");
    assert!(replies.last().unwrap().contains("call you back"), "{replies:?}");
    let ticket = of_type(&events, "callback_requested");
    assert_eq!(ticket.len(), 1, "{events:?}");
    assert!(ticket[0]["number"].as_str().unwrap().contains("voicegate-dial"), "{}", ticket[0]);
    assert_eq!(call["end_reason"], "bot_hangup", "{call}");
    let db = rusqlite::Connection::open(dir.path().join("db.sqlite")).unwrap();
    let (number, context): (String, String) = db.query_row("SELECT number, context FROM callbacks WHERE id = ?1", [ticket[0]["ticket"].as_i64().unwrap()], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert!(number.contains("voicegate-dial"));
    let context: Value = serde_json::from_str(&context).unwrap();
    assert!(context["transcript"].as_array().is_some_and(|t| !t.is_empty()), "the ticket keeps what was said: {context}");
    // The agent who let it ring went away; the busy one is free again.
    let list = stdout(&run(&["--config", config.to_str().unwrap(), "agents", "list", "--json"]));
    assert!(list.lines().any(|l| l.contains("\"id\":\"cat\"") && l.contains("\"state\":\"away\"")), "{list}");
    assert!(list.lines().any(|l| l.contains("\"id\":\"bob\"") && l.contains("\"state\":\"available\"")), "{list}");

    // The same over the API, for supervisors: tickets with their context, agents' states.
    let tickets = get_json(&format!("{}/v1/callbacks", g.base));
    assert_eq!(tickets["callbacks"][0]["ticket"], ticket[0]["ticket"], "{tickets}");
    assert!(tickets["callbacks"][0]["context"]["transcript"].as_array().is_some_and(|t| !t.is_empty()), "{tickets}");
    let agents = get_json(&format!("{}/v1/agents", g.base));
    let state_of = |id: &str| agents["agents"].as_array().unwrap().iter().find(|a| a["id"] == id).map(|a| a["state"].clone());
    assert_eq!((state_of("bob"), state_of("cat")), (Some("available".into()), Some("away".into())), "{agents}");
    let post_state = |id: &str, body: &str| match ureq::post(&format!("{}/v1/agents/{id}/state", g.base)).set("Authorization", &g.bearer()).send_string(body) {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap_or_default()),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(post_state("bob", r#"{"state":"on_call"}"#).0, 400, "the gateway's state to set");
    assert_eq!(post_state("nobody", r#"{"state":"away"}"#).0, 404);
    let (code, body) = post_state("bob", r#"{"state":"away"}"#);
    assert!(code == 200 && body.contains("\"state\":\"away\""), "{code} {body}");

    // With nobody free, a caller who hangs up while waiting has abandoned the queue.
    let o = run(&["dial", &uri, "--play", fixture("en_human_agent.wav").to_str().unwrap(), "--listen", "9"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let calls = get_json(&format!("{}/v1/calls", g.base));
    let id = calls["calls"][0]["id"].as_str().unwrap().to_string();
    let (call, events) = ended_call(&g, Some(&id));
    assert_eq!(call["end_reason"], "caller_hangup");
    assert!(of_type(&events, "agent_offered").is_empty(), "{events:?}");
    let t = types(&events);
    let (q, a) = (t.iter().position(|x| *x == "queued"), t.iter().position(|x| *x == "abandoned"));
    assert!(q.is_some() && a > q, "{t:?}");
    assert!(of_type(&events, "abandoned")[0]["waited_ms"].as_u64().unwrap() > 1000);
    assert_eq!(get_json(&format!("{}/health", g.base))["live_calls"], 0);
}

#[test]
fn after_the_agent_hangs_up_the_caller_rates_the_call_on_the_keypad() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let g = gateway_with_agents(dir.path(), &[&["dee", "--languages", "en", "--sip", "sip:dee@127.0.0.1:5394"]]);
    let phone = agent_phone(dir.path(), "agent_hangs_up.xml", 5394, 16460);
    // Asks for a person, stays on while the agent talks and hangs up, then presses 4.
    let caller_wav = dir.path().join("caller.wav");
    two_turns("en_human_agent.wav", 14.0, "silence.wav", &caller_wav);
    let uri = format!("sip:bot@{}", g.sip.unwrap());
    let o = run(&["dial", &uri, "--play", caller_wav.to_str().unwrap(), "--dtmf", "4", "--listen", "12"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let (call, events) = ended_call(&g, None);
    let out = phone.wait_with_output().unwrap();
    assert!(out.status.success(), "the agent's phone (SIPp) failed: {}", String::from_utf8_lossy(&out.stderr));
    let t = types(&events);
    let (left, rated) = (t.iter().position(|x| *x == "agent_left"), t.iter().position(|x| *x == "survey"));
    assert!(left.is_some() && rated > left, "{t:?}");
    assert_eq!(of_type(&events, "agent_left")[0]["reason"], "agent_hangup");
    let replies: Vec<&str> = of_type(&events, "bot_reply").iter().filter_map(|e| e["text"].as_str()).collect();
    assert!(replies.iter().any(|r| r.contains("Press 1 to 5")), "{replies:?}");
    assert!(replies.last().unwrap().contains("Thank you for your feedback"), "{replies:?}");
    assert_eq!(of_type(&events, "survey")[0]["score"], 4);
    assert_eq!(call["end_reason"], "agent_hangup", "{call}");
}

/// 1 s blocks of `x` (8 kHz) in which a tone at `freq` is most of the sound.
fn tone_blocks(x: &[f32], freq: f32) -> Vec<bool> {
    x.chunks(8000).map(|b| b.len() == 8000 && voicegate::audio::frame::rms(b) > 0.01 && voicegate::audio::dtmf::tone_share(b, freq, 8000.0) > 0.3).collect()
}

#[test]
fn a_supervisor_listens_in_then_coaches_the_agent_then_barges_in_from_the_wallboard() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    // The agent speaks once after the whisper, then is silent.
    let audio = voicegate::audio::load_for_pipeline(&fixture("en_refund.wav"), None).unwrap();
    let mut narrow = voicegate::audio::resample::resample(&audio.samples, 16_000, 8_000).unwrap();
    narrow.extend(std::iter::repeat_n(0.0, 8_000 * 50));
    let payloads = voicegate::audio::g711::encode_slots(0, &narrow);
    std::fs::write(dir.path().join("agent.pcap"), voicegate_sip::pcap::rtp_pcap(&payloads, 0, "127.0.0.1:6000".parse().unwrap(), "127.0.0.1:7000".parse().unwrap())).unwrap();
    let g = gateway_with_agents(dir.path(), &[&["ann", "--languages", "en", "--sip", "sip:ann@127.0.0.1:5392"]]);
    let config = dir.path().join("voicegate.toml");
    let o = run(&["--config", config.to_str().unwrap(), "users", "add", "sue", "--role", "supervisor"]);
    assert!(o.status.success(), "users add: {}", stderr(&o));
    let password = stdout(&o).rsplit("password (shown once): ").next().unwrap().trim().to_string();
    // The supervisor's microphone: a 700 Hz tone, easy to find in what the others hear.
    const TONE_HZ: f32 = 700.0;
    let tone: Vec<f32> = (0..16_000 * 90).map(|i| 0.3 * (2.0 * std::f32::consts::PI * TONE_HZ * i as f32 / 16_000.0).sin()).collect();
    let mic = dir.path().join("supervisor-mic.wav");
    voicegate::audio::wav::write_wav(&mic, &[&tone], 16_000).unwrap();
    let phone = agent_phone(dir.path(), "agent_answers.xml", 5392, 16420);
    let cap = capture(dir.path());
    let shots = dir.path().join("shots");
    let page = Command::new("nice")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["-n", "15", "node", "tests/browser/supervisor.mjs", "--url", &g.base, "--name", "sue", "--password", &password, "--agent", "ann"])
        .args(["--audio", mic.to_str().unwrap(), "--out", shots.to_str().unwrap(), "--seconds", "100", "--plan", "listen:5,coach:5,barge:5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs (make setup installs playwright-core)");
    // The caller asks for a person, then stays on the line, silent.
    let caller_wav = dir.path().join("caller.wav");
    two_turns("en_human_agent.wav", 45.0, "silence.wav", &caller_wav);
    let heard = dir.path().join("dial.wav");
    let uri = format!("sip:bot@{}", g.sip.unwrap());
    let o = run(&["dial", &uri, "--play", caller_wav.to_str().unwrap(), "--record", heard.to_str().unwrap(), "--listen", "3"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let out = page.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let p: Value = serde_json::from_str(text.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    if let Ok(keep) = std::env::var("VOICEGATE_SHOTS") {
        for f in ["supervisor-listening.png", "supervisor-barge.png", "supervisor-after.png"] {
            let _ = std::fs::copy(shots.join(f), Path::new(&keep).join(f));
        }
    }
    let (call, events) = ended_call(&g, None);
    let _ = phone.wait_with_output();
    let t = types(&events);
    assert!(p["error"].is_null(), "the page: {p}\nevents: {t:?}");
    // The page joined, switched mode twice and left; the wallboard showed it on the call.
    assert_eq!(p["connected"], true, "{p}");
    let steps = p["steps"].as_array().cloned().unwrap_or_default();
    assert_eq!(steps.iter().map(|s| (s["mode"].as_str().unwrap_or(""), s["ok"].as_bool().unwrap_or(false))).collect::<Vec<_>>(), [("listen", true), ("coach", true), ("barge", true)], "{p}");
    assert!(steps[0]["inbound_packets_delta"].as_u64().unwrap_or(0) > 150, "the supervisor received no audio while listening: {p}");
    assert_eq!((p["stopped"].as_bool(), p["stop_status"].as_u64()), (Some(true), Some(200)), "{p}");
    assert!(p["monitors_seen"].as_array().is_some_and(|m| m.iter().any(|x| x["call"] == call["id"] && x["supervisor"] == "sue")), "the wallboard's monitors: {p}");
    // The events, in order, each with the supervisor.
    let mon: Vec<(&str, &str)> = events.iter().filter(|e| e["type"].as_str().is_some_and(|x| x.starts_with("monitor_"))).map(|e| (e["type"].as_str().unwrap(), e["mode"].as_str().or(e["reason"].as_str()).unwrap_or(""))).collect();
    assert_eq!(mon, [("monitor_started", "listen"), ("monitor_changed", "coach"), ("monitor_changed", "barge"), ("monitor_ended", "stopped")], "{t:?}");
    assert!(events.iter().filter(|e| e["type"].as_str().is_some_and(|x| x.starts_with("monitor_"))).all(|e| e["supervisor"] == "sue"));
    let at = |ty: &str, n: usize| of_type(&events, ty)[n]["t_ms"].as_u64().unwrap() as usize;
    let (listen_ms, coach_ms, barge_ms, end_ms) = (at("monitor_started", 0), at("monitor_changed", 0), at("monitor_changed", 1), at("monitor_ended", 0));
    assert!(at("agent_answered", 0) <= listen_ms, "{t:?}");
    // What the caller heard: the supervisor's tone only after the barge.
    let dial_heard = voicegate::audio::decode::decode_file(&heard, Some(1)).unwrap().samples;
    let caller_tone = tone_blocks(&dial_heard, TONE_HZ);
    let secs = |from_ms: usize, to_ms: usize, blocks: &[bool]| blocks.iter().enumerate().filter(|(i, on)| **on && i * 1000 >= from_ms && (i + 1) * 1000 <= to_ms).count();
    assert_eq!(secs(0, barge_ms.saturating_sub(500), &caller_tone), 0, "the caller heard the supervisor before the barge at {barge_ms} ms: {caller_tone:?}");
    assert!(secs(barge_ms + 500, end_ms, &caller_tone) >= 2, "the caller did not hear the barge ({barge_ms}-{end_ms} ms): {caller_tone:?}");
    // The recording has it too (the caller's ear is recorded on the right).
    let right = voicegate::audio::decode::decode_file(Path::new(call["recording"].as_str().unwrap()), Some(1)).unwrap().samples;
    assert!(secs(barge_ms + 500, end_ms, &tone_blocks(&right, TONE_HZ)) >= 2, "the barge is not in the recording");
    // What the agent heard: the whisper, then the caller (from the bridge on), with the
    // supervisor's tone from the coaching on, never while they only listened.
    let whisper_ms = of_type(&events, "whisper_played")[0]["played_ms"].as_u64().unwrap() as usize;
    let (_, to_agent) = cap.audio(|to: SocketAddr| to.port() == 16420);
    let bridged = at("bridged", 0);
    // The agent's stream on the call's clock: whisper, then 20 ms frames from the bridge.
    let mut agent_clock = vec![0.0f32; bridged * 8];
    agent_clock.extend_from_slice(&to_agent[(whisper_ms * 8).min(to_agent.len())..]);
    let agent_tone = tone_blocks(&agent_clock, TONE_HZ);
    assert_eq!(secs(listen_ms.max(bridged), coach_ms.saturating_sub(500), &agent_tone), 0, "the agent heard the supervisor while they only listened: {agent_tone:?}");
    assert!(secs(coach_ms + 500, barge_ms, &agent_tone) >= 2, "the agent did not hear the coaching ({coach_ms}-{barge_ms} ms): {agent_tone:?}");
    assert!(secs(barge_ms + 500, end_ms, &agent_tone) >= 2, "the agent did not hear the barge ({barge_ms}-{end_ms} ms): {agent_tone:?}");
    // The supervisor's joining is audited; nothing is left behind.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(get_json(&format!("{}/health", g.base))["live_calls"], 0);
    let wb = get_json(&format!("{}/v1/wallboard", g.base));
    assert_eq!(wb["monitors"], serde_json::json!([]), "{wb}");
    let audit = get_json(&format!("{}/v1/audit", g.base));
    assert!(audit.to_string().contains("monitor_call"), "{audit}");
    // Bad requests: a clear answer each.
    let monitor = |id: &str, body: &str| match ureq::post(&format!("{}/v1/calls/{id}/monitor", g.base)).set("Authorization", &g.bearer()).send_string(body) {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => panic!("{e}"),
    };
    let (code, body) = monitor(call["id"].as_str().unwrap(), r#"{"mode":"listen","sdp":"v=0"}"#);
    assert_eq!(code, 404, "an ended call: {body}");
    let (code, body) = monitor("nope", r#"{"mode":"shout"}"#);
    assert!(code == 400 && body.contains("listen"), "{code} {body}");
    let (code, body) = monitor("nope", "not json");
    assert!(code == 400 && body.contains("JSON"), "{code} {body}");
}

/// SIPp registering `agent`'s softphone with `password`; the phone itself waits on `contact_port`.
fn register(dir: &Path, scenario_name: &str, gw: SocketAddr, agent: &str, password: &str, contact_port: u16) -> std::process::Output {
    Command::new("sipp")
        .current_dir(dir)
        .arg("-sf")
        .arg(scenario(scenario_name))
        .args(["-m", "1", "-nostdin", "-i", "127.0.0.1", "-timeout", "20", "-timeout_error", "-trace_err", "-s", agent, "-au", agent, "-ap", password])
        .args(["-key", "contact_port", &contact_port.to_string()])
        .arg(gw.to_string())
        .output()
        .expect("sipp runs")
}

#[test]
fn an_agent_whose_softphone_registers_is_made_available_and_rung_where_it_registered() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let audio = voicegate::audio::load_for_pipeline(&fixture("en_refund.wav"), None).unwrap();
    let mut narrow = voicegate::audio::resample::resample(&audio.samples, 16_000, 8_000).unwrap();
    narrow.extend(std::iter::repeat_n(0.0, 8_000 * 20));
    let payloads = voicegate::audio::g711::encode_slots(0, &narrow);
    std::fs::write(dir.path().join("agent.pcap"), voicegate_sip::pcap::rtp_pcap(&payloads, 0, "127.0.0.1:6000".parse().unwrap(), "127.0.0.1:7000".parse().unwrap())).unwrap();
    // No URI: the agent is reached only where their softphone registers.
    let g = gateway_with_agents(dir.path(), &[&["ann", "--languages", "en", "--sip-password", "correct-horse"]]);
    let sip = g.sip.unwrap();
    let state = || get_json(&format!("{}/v1/agents", g.base))["agents"][0]["state"].as_str().unwrap_or("").to_string();
    assert_eq!(state(), "offline");
    // The wrong password: 401, then 403; nothing registered.
    let o = register(dir.path(), "agent_register_refused.xml", sip, "ann", "battery-staple", 5393);
    assert!(o.status.success(), "the wrong password was not refused with 403:\n{}\n{}", stdout(&o), stderr(&o));
    // Nor can an unknown user register.
    let o = register(dir.path(), "agent_register_refused.xml", sip, "mallory", "correct-horse", 5393);
    assert!(o.status.success(), "an unknown user was not refused with 403:\n{}\n{}", stdout(&o), stderr(&o));
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(state(), "offline", "refused registrations changed the agent's state");
    // The phone waits on 5393 and registers there with the right password.
    let phone = agent_phone(dir.path(), "agent_answers.xml", 5393, 16440);
    let o = register(dir.path(), "agent_registers.xml", sip, "ann", "correct-horse", 5393);
    assert!(o.status.success(), "the registration failed:\n{}\n{}", stdout(&o), stderr(&o));
    let t = std::time::Instant::now();
    while state() != "available" && t.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    assert_eq!(state(), "available", "a registered softphone makes its agent available");
    // A caller asks for a person: the call rings the registered phone, which answers.
    let caller_wav = dir.path().join("caller.wav");
    two_turns("en_human_agent.wav", 14.0, "silence.wav", &caller_wav);
    let uri = format!("sip:bot@{sip}");
    let o = run(&["dial", &uri, "--play", caller_wav.to_str().unwrap(), "--listen", "2"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let (_, events) = ended_call(&g, None);
    let t = types(&events);
    let phone_out = phone.wait_with_output().unwrap();
    assert!(phone_out.status.success(), "the registered phone (SIPp) failed: {}\nevents: {t:?}", String::from_utf8_lossy(&phone_out.stdout));
    assert!(t.contains(&"bridged"), "{t:?}");
    assert_eq!(of_type(&events, "agent_answered")[0]["agent"], "ann");
    let sip_stats = get_json(&format!("{}/v1/sip", g.base));
    assert!(sip_stats["server"]["rejected_auth"].as_u64().unwrap_or(0) >= 2, "the refused registrations are counted: {sip_stats}");
}

#[test]
fn a_caller_handed_off_outside_the_agents_hours_is_told_them_and_booked_a_callback() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    // Open only on the day after today (UTC): closed now, whatever the hour.
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let today = ((std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 86_400 + 3) % 7) as usize;
    let tomorrow = (today + 1) % 7;
    let hours = format!("hours = \"{} 09:00-17:00\"\nutc_offset = \"+00:00\"", DAYS[tomorrow]);
    let g = gateway_with(dir.path(), &[&["ann", "--languages", "en", "--sip", "sip:ann@127.0.0.1:5394"]], &hours);
    let caller_wav = dir.path().join("caller.wav");
    two_turns("en_human_agent.wav", 12.0, "silence.wav", &caller_wav);
    let uri = format!("sip:bot@{}", g.sip.unwrap());
    let o = run(&["dial", &uri, "--play", caller_wav.to_str().unwrap(), "--listen", "2"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let (call, events) = ended_call(&g, None);
    let t = types(&events);
    // No agent was offered the call; the caller heard the hours and was booked a callback.
    assert!(t.contains(&"after_hours") && t.contains(&"callback_requested"), "{t:?}");
    assert!(!t.contains(&"agent_offered") && !t.contains(&"queued"), "{t:?}");
    const NAMES: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    let said: String = of_type(&events, "bot_reply").iter().map(|e| e["text"].as_str().unwrap_or("")).collect::<Vec<_>>().join(" ");
    assert!(said.contains(NAMES[tomorrow]) && said.contains("9:00 to 17:00"), "the bot said: {said}");
    assert!(said.contains("call you back"), "the bot said: {said}");
    assert_eq!(call["end_reason"], "bot_hangup", "{call}");
    let tickets = get_json(&format!("{}/v1/callbacks", g.base));
    assert_eq!(tickets["callbacks"].as_array().map(|a| a.len()), Some(1), "{tickets}");
}

/// A keypad tone (in-band) for `key`, 160 ms, 16 kHz.
fn key_tone(key: char) -> Vec<f32> {
    let (row, col) = match key {
        '2' => (697.0f32, 1336.0f32),
        '#' => (941.0, 1477.0),
        _ => panic!("no tone for {key}"),
    };
    (0..16_000 * 160 / 1000).map(|i| i as f32 / 16_000.0).map(|t| 0.25 * ((2.0 * std::f32::consts::PI * row * t).sin() + (2.0 * std::f32::consts::PI * col * t).sin())).collect()
}

#[test]
fn a_waiting_caller_presses_2_and_leaves_a_voice_message_kept_with_a_callback_ticket() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    // Ann is away: the caller waits, hears their place and the keys.
    let g = gateway_with_agents(dir.path(), &[&["ann", "--languages", "en", "--sip", "sip:ann@127.0.0.1:5395", "--state", "away"]]);
    let speech = |name: &str| voicegate::audio::load_for_pipeline(&fixture(name), None).unwrap().samples;
    let silence = |s: f32| vec![0.0f32; (s * 16_000.0) as usize];
    // A person, please; 2 once told the keys; the message once asked for it; then #.
    let mut caller = speech("en_human_agent.wav");
    caller.extend(silence(9.0));
    caller.extend(key_tone('2'));
    caller.extend(silence(11.0));
    caller.extend(speech("en_order_status.wav"));
    caller.extend(silence(1.0));
    caller.extend(key_tone('#'));
    caller.extend(silence(8.0));
    let caller_wav = dir.path().join("caller.wav");
    voicegate::audio::wav::write_wav(&caller_wav, &[&caller], 16_000).unwrap();
    let uri = format!("sip:bot@{}", g.sip.unwrap());
    let o = run(&["dial", &uri, "--play", caller_wav.to_str().unwrap(), "--listen", "2"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let (call, events) = ended_call(&g, None);
    let t = types(&events);
    let said: Vec<&str> = of_type(&events, "bot_reply").iter().map(|e| e["text"].as_str().unwrap_or("")).collect();
    assert!(said.iter().any(|r| r.contains("To leave a message, press 2")), "{said:?}");
    assert!(said.iter().any(|r| r.starts_with("Please leave your message")), "{said:?}");
    assert!(said.iter().any(|r| r.contains("Your message is recorded")), "{said:?}");
    // The message: saved, the caller's words in it, and on the callback ticket.
    let m = of_type(&events, "voice_message");
    assert_eq!(m.len(), 1, "{t:?}");
    let duration_ms = m[0]["duration_ms"].as_u64().unwrap();
    assert!((3_000..20_000).contains(&duration_ms), "{}", m[0]);
    let path = m[0]["path"].as_str().unwrap();
    let message = voicegate::audio::decode::decode_file(Path::new(path), Some(0)).unwrap().samples;
    assert!(loudest_second(&message) > 0.03, "the message holds no speech");
    let m_ms = m[0]["t_ms"].as_u64().unwrap();
    let spoken: String = finals(&events).into_iter().filter(|e| e["start_ms"].as_u64().unwrap_or(0) + duration_ms >= m_ms && e["speaker"] == "caller").map(|e| e["text"].as_str().unwrap_or("").to_string()).collect::<Vec<_>>().join(" ");
    assert!(words(&spoken).contains(&"order".to_string()), "the message's words: {spoken:?}");
    let tickets = get_json(&format!("{}/v1/callbacks", g.base));
    assert_eq!(tickets["callbacks"][0]["context"]["voice_message"], path, "{tickets}");
    assert!(!t.contains(&"agent_offered") && !t.contains(&"abandoned"), "{t:?}");
    assert_eq!(call["end_reason"], "bot_hangup", "{call}");
}
