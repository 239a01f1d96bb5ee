//! Phone calls end to end: SIPp (Debian's sip-tester) calls the real gateway over SIP and RTP,
//! with the real Whisper and VAD models. Asserts on the transcript events, on the bot's RTP as
//! captured on its way to SIPp (tcpdump), on the recordings, and on the SIP answers.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use common::sip::*;
use serde_json::Value;
use voicegate::audio::frame::rms;

/// A gateway on loopback with its store and recordings in `dir`, and `extra` config lines.
fn gateway(dir: &Path, extra: &str) -> (Gateway, PathBuf) {
    let config = dir.join("voicegate.toml");
    let text = format!(
        "[store]\npath = \"{}\"\n[sip]\nrecordings = \"{}\"\ngreet = false\n{extra}\n",
        dir.join("db.sqlite").display(),
        dir.join("recordings").display()
    );
    std::fs::write(&config, text).unwrap();
    let g = start_with(&["--config", config.to_str().unwrap()]);
    assert!(g.sip.is_some(), "the gateway listens for SIP");
    (g, config)
}

/// Runs one SIPp scenario against the gateway, from `dir` (where its pcaps are).
fn sipp(dir: &Path, scenario_name: &str, gw: SocketAddr, extra: &[&str]) -> Output {
    Command::new("sipp")
        .current_dir(dir)
        .arg("-sf")
        .arg(scenario(scenario_name))
        .args(["-m", "1", "-nostdin", "-i", "127.0.0.1", "-mi", "127.0.0.1", "-timeout", "60", "-timeout_error", "-trace_err"])
        .args(extra)
        .arg(gw.to_string())
        .output()
        .expect("sipp runs (Debian package sip-tester; make setup installs it)")
}

fn assert_passes(o: &Output, what: &str) {
    assert!(o.status.success(), "SIPp {what} failed ({}):\n{}\n{}", o.status, stdout(o), stderr(o));
}

fn of<'a>(events: &'a [Value], ty: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == ty).collect()
}

#[test]
fn a_caller_speaks_hears_the_bot_and_the_call_is_recorded_and_replayable() {
    let dir = tempfile::tempdir().unwrap();
    let (g, config) = gateway(dir.path(), "");
    let sip = g.sip.unwrap();
    caller_pcap("en_order_status.wav", &dir.path().join("caller.pcap"));
    let cap = capture(dir.path());
    let out = sipp(dir.path(), "call_speech.xml", sip, &[]);
    assert_passes(&out, "call_speech.xml");
    let (call, events) = ended_call(&g, None);

    // What the caller said, understood and answered.
    let heard: String = of(&events, "transcript").iter().filter(|e| e["final"] == true).map(|e| e["text"].as_str().unwrap().to_lowercase()).collect();
    assert!(heard.contains("where is my order"), "heard {heard:?} in {:?}", events.iter().map(|e| format!("{} {} {}", e["t_ms"], e["type"], e["text"])).collect::<Vec<_>>());
    assert_eq!(of(&events, "intent")[0]["intent"], "track_order", "{events:?}");
    let replies = of(&events, "bot_reply");
    assert!(!replies.is_empty() && !of(&events, "tts_started").is_empty());
    assert_eq!(of(&events, "call_ended")[0]["reason"], "caller_hangup");
    assert_eq!(call["end_reason"], "caller_hangup");
    assert!(call["caller"].as_str().unwrap().contains("sip:caller@127.0.0.1"), "{call}");

    // The bot's RTP reached SIPp, and carried speech.
    let (packets, bot) = cap.audio(|to| to.port() != sip.port());
    assert!(packets > 300, "only {packets} RTP packets from the gateway");
    assert!(loudest_second(&bot) > 0.03, "the bot's RTP is silent (loudest second {})", loudest_second(&bot));

    // The recording: the caller left, the bot right, both audible.
    let rec = PathBuf::from(call["recording"].as_str().unwrap());
    let left = voicegate::audio::decode::decode_file(&rec, Some(0)).unwrap();
    let right = voicegate::audio::decode::decode_file(&rec, Some(1)).unwrap();
    assert_eq!((left.sample_rate, left.channels), (8000, 2));
    assert!(left.samples.len() >= 8000 * 10, "recording of {} samples", left.samples.len());
    assert!(loudest_second(&left.samples) > 0.03 && loudest_second(&right.samples) > 0.03);
    // The caller spoke first: the bot's side is quiet for the first second.
    assert!(rms(&right.samples[..8000]) < 0.005);

    // `voicegate calls` lists it; QA replay re-runs it through the pipeline.
    let id = call["id"].as_str().unwrap();
    let list = run(&["--config", config.to_str().unwrap(), "calls"]);
    assert!(stdout(&list).contains(id), "{}", stdout(&list));
    let qa = run(&["--config", config.to_str().unwrap(), "replay", id]);
    assert!(qa.status.success(), "{}", stderr(&qa));
    let text = stdout(&qa);
    let summary: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(summary["qa"], "replay");
    assert!(summary["decisions_recorded"].as_u64().unwrap() >= 3, "{text}");
    assert!(text.contains("intent  track_order"), "{text}");
    // The replay is faithful: it hears what the live call heard, word for word.
    let qa = run(&["--config", config.to_str().unwrap(), "replay", id, "--json"]);
    let heard_differently: Vec<Value> = stdout(&qa)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["diff"].is_string() && l["diff"] != "same" && (l["recorded"]["kind"] == "heard" || l["now"]["kind"] == "heard"))
        .collect();
    assert!(heard_differently.is_empty(), "the replay heard something else: {heard_differently:?}");
    let unknown = run(&["--config", config.to_str().unwrap(), "replay", "no-such-call"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("no recorded call"), "{}", stderr(&unknown));
}

#[test]
fn rfc4733_keys_become_dtmf_events_and_zero_reaches_a_person() {
    let dir = tempfile::tempdir().unwrap();
    let (g, _) = gateway(dir.path(), "");
    for (name, key) in [("key1.pcap", "4"), ("key2.pcap", "2"), ("key3.pcap", "0")] {
        std::os::unix::fs::symlink(shared(&format!("datasets/pcap/sipp/dtmf_2833_{key}.pcap")), dir.path().join(name)).unwrap();
    }
    assert_passes(&sipp(dir.path(), "call_dtmf.xml", g.sip.unwrap(), &[]), "call_dtmf.xml");
    let (_, events) = ended_call(&g, None);
    let keys: Vec<&str> = of(&events, "dtmf").iter().map(|e| e["digit"].as_str().unwrap()).collect();
    assert_eq!(keys, ["4", "2", "0"], "{events:?}");
    assert!(of(&events, "dtmf").iter().all(|e| e["out_of_band"] == true));
    let handoffs = of(&events, "handoff");
    assert_eq!(handoffs.len(), 1, "{events:?}");
    assert_eq!(handoffs[0]["reason"], "dtmf");
}

#[test]
fn cancel_hold_unhold_codecs_malformed_messages_and_options() {
    let dir = tempfile::tempdir().unwrap();
    let (g, _) = gateway(dir.path(), "answer_after_ms = 1500");
    let sip = g.sip.unwrap();
    assert_passes(&sipp(dir.path(), "cancel.xml", sip, &[]), "cancel.xml (487 after CANCEL)");
    assert_passes(&sipp(dir.path(), "no_codec.xml", sip, &[]), "no_codec.xml (488)");
    assert_passes(&sipp(dir.path(), "malformed_sdp.xml", sip, &[]), "malformed_sdp.xml (400)");
    // Garbage, a request line with nothing after it, and an oversized datagram: dropped.
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    for junk in [&b"\x00\xff\xfe not sip at all"[..], b"INVITE sip:x SIP/2.0\r\n\r\n", b"SIP/2.0 200\r\n", &vec![b'A'; 60_000][..]] {
        u.send_to(junk, sip).unwrap();
    }
    assert_passes(&sipp(dir.path(), "hold.xml", sip, &[]), "hold.xml (re-INVITE sendonly -> recvonly, sendrecv -> sendrecv)");
    let (_, events) = ended_call(&g, None);
    let holds: Vec<bool> = of(&events, "hold").iter().map(|e| e["held"].as_bool().unwrap()).collect();
    assert_eq!(holds, [true, false]);
    // Still answering, over UDP and TCP.
    assert_passes(&sipp(dir.path(), "options.xml", sip, &[]), "options.xml over UDP");
    assert_passes(&sipp(dir.path(), "options.xml", sip, &["-t", "t1"]), "options.xml over TCP");
    assert_passes(&sipp(dir.path(), "hold.xml", sip, &["-t", "t1"]), "hold.xml over TCP");
    let stats = get_json(&format!("{}/v1/sip", g.base));
    assert_eq!(stats["server"]["cancelled"], 1, "{stats}");
    assert_eq!(stats["server"]["rejected_codec"], 2, "{stats}");
    assert_eq!(stats["server"]["answered"], 2, "{stats}");
    // The cancelled call never became a call.
    assert_eq!(get_json(&format!("{}/v1/calls", g.base))["calls"].as_array().unwrap().len(), 2);
}

#[test]
fn trunks_authenticate_and_floods_are_turned_away() {
    let dir = tempfile::tempdir().unwrap();
    let (g, _) = gateway(dir.path(), "invite_rate = 0.01\ninvite_burst = 5\n[sip.users]\ntrunk = \"s3cret\"");
    let sip = g.sip.unwrap();
    assert_passes(&sipp(dir.path(), "call_auth.xml", sip, &["-au", "trunk", "-ap", "s3cret"]), "call_auth.xml with the right password");
    let wrong = sipp(dir.path(), "call_auth.xml", sip, &["-au", "trunk", "-ap", "guess"]);
    assert!(!wrong.status.success(), "a wrong password must not get through");
    let s = get_json(&format!("{}/v1/sip", g.base))["server"].clone();
    assert_eq!((s["answered"].as_u64(), s["rejected_auth"].as_u64()), (Some(1), Some(1)), "{s}");
    // Four INVITEs of the five allowed are spent: a burst of five more gets 503 but one.
    let flood = sipp(dir.path(), "no_codec.xml", sip, &["-m", "5", "-r", "50"]);
    assert!(!flood.status.success());
    let s = get_json(&format!("{}/v1/sip", g.base))["server"].clone();
    assert_eq!(s["rejected_rate"], 4, "{s}");

    // A trunk allow-list that does not name us: 403 before anything else.
    drop(g);
    let dir2 = tempfile::tempdir().unwrap();
    let (g2, _) = gateway(dir2.path(), "allow = [\"10.9.9.0/24\"]");
    assert!(!sipp(dir2.path(), "no_codec.xml", g2.sip.unwrap(), &[]).status.success());
    assert_eq!(get_json(&format!("{}/v1/sip", g2.base))["server"]["rejected_allow_list"], 1);
}

#[test]
fn a_call_ends_the_moment_the_caller_hangs_up_in_the_middle_of_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (g, _) = gateway(dir.path(), "");
    caller_pcap("en_order_status.wav", &dir.path().join("caller.pcap"));
    let t0 = Instant::now();
    let out = sipp(dir.path(), "hangup_mid_answer.xml", g.sip.unwrap(), &[]);
    assert_passes(&out, "hangup_mid_answer.xml");
    let bye_ms = t0.elapsed().as_millis() as u64;
    let (call, events) = ended_call(&g, None);
    assert_eq!(call["end_reason"], "caller_hangup");
    // The end is the last event, at the BYE (8 s after the answer), with the real duration.
    let last = events.last().unwrap();
    assert_eq!(last["type"], "call_ended", "{events:?}");
    let d = call["duration_ms"].as_u64().unwrap();
    assert!((7_600..=bye_ms + 500).contains(&d), "duration {d} ms, BYE about 8000 ms after the answer");
    assert_eq!(last["duration_ms"].as_u64(), Some(d));
    // Nothing the bot did after the BYE: no reply, no audio started or finished later.
    for e in &events {
        if matches!(e["type"].as_str(), Some("bot_reply" | "tts_started" | "tts_finished" | "transcript" | "intent")) {
            assert!(e["t_ms"].as_u64().unwrap() <= d, "{e} after the end at {d}");
        }
    }
    // What the caller heard of the answer is what the events say: it stopped at the BYE.
    for started in of(&events, "tts_started") {
        let id = &started["reply_id"];
        let t = started["t_ms"].as_u64().unwrap();
        let done = events.iter().find(|e| (e["type"] == "tts_finished" || e["type"] == "tts_interrupted") && e["reply_id"] == *id).unwrap_or_else(|| panic!("reply {id} has no end: {events:?}"));
        assert!(done["played_ms"].as_u64().unwrap() <= d - t + 40, "{done} but the call ended {} ms after it started", d - t);
    }
    // The recording stops at the end too.
    let rec = PathBuf::from(call["recording"].as_str().unwrap());
    let ms = voicegate::audio::decode::decode_file(&rec, Some(0)).unwrap().samples.len() as u64 / 8;
    assert!(ms.abs_diff(d) <= 400, "recording of {ms} ms, call of {d} ms");
}

#[test]
fn a_gateway_killed_mid_call_leaves_a_readable_recording_and_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let (mut g, config) = gateway(dir.path(), "");
    caller_pcap("en_order_status.wav", &dir.path().join("caller.pcap"));
    let mut call = Command::new("sipp")
        .current_dir(dir.path())
        .arg("-sf")
        .arg(scenario("call_speech.xml"))
        .args(["-m", "1", "-nostdin", "-i", "127.0.0.1", "-mi", "127.0.0.1", "-timeout", "30"])
        .arg(g.sip.unwrap().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(7));
    g.child.kill().unwrap();
    g.child.wait().unwrap();
    let _ = call.kill();
    let _ = call.wait();
    let recs: Vec<PathBuf> = std::fs::read_dir(dir.path().join("recordings")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(recs.len(), 1);
    let left = voicegate::audio::decode::decode_file(&recs[0], Some(0)).unwrap();
    let secs = left.samples.len() as f32 / 8000.0;
    assert!((4.0..=7.5).contains(&secs), "{secs} s readable after the kill");
    assert!(loudest_second(&left.samples) > 0.03, "the caller's speech is in it");
    // The call is in the store, not ended, with what happened so far.
    let list = run(&["--config", config.to_str().unwrap(), "calls", "--json"]);
    let row: Value = serde_json::from_str(stdout(&list).lines().next().unwrap()).unwrap();
    assert!(row["ended_at"].is_null());
    let id = row["id"].as_str().unwrap().to_string();
    let ev = run(&["--config", config.to_str().unwrap(), "calls", &id, "--json"]);
    let events: Vec<Value> = stdout(&ev).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events[0]["type"], "call_started");
    assert!(events.iter().any(|e| e["type"] == "transcript"), "{events:?}");

    // The gateway comes back: the killed call is closed, with what its recording holds and an
    // event saying why; the recording's header reads to its end.
    let g2 = start_with(&["--config", config.to_str().unwrap(), "--sip", "127.0.0.1:0"]);
    let one = get_json(&format!("{}/v1/calls/{id}", g2.base));
    assert_eq!(one["call"]["end_reason"], "gateway_restart", "{one}");
    let d = one["call"]["duration_ms"].as_u64().unwrap();
    let last = one["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["type"].as_str(), last["reason"].as_str()), (Some("call_ended"), Some("gateway_restart")));
    let repaired = voicegate::audio::decode::decode_file(&recs[0], Some(0)).unwrap().samples.len() as u64;
    assert!(repaired >= left.samples.len() as u64 && d.abs_diff(repaired / 8) <= 20, "{d} ms stored, {repaired} samples");
}

#[test]
fn voicegate_dial_calls_the_gateway_and_records_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let (g, _) = gateway(dir.path(), "");
    let out_wav = dir.path().join("dial.wav");
    let uri = format!("sip:bot@{}", g.sip.unwrap());
    let o = run(&["dial", &uri, "--play", fixture("en_order_status.wav").to_str().unwrap(), "--record", out_wav.to_str().unwrap(), "--listen", "7"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("answered (PCMU)"), "{}", stdout(&o));
    let ours = voicegate::audio::decode::decode_file(&out_wav, Some(0)).unwrap().samples;
    let heard = voicegate::audio::decode::decode_file(&out_wav, Some(1)).unwrap().samples;
    assert!(loudest_second(&ours) > 0.03, "what we said is recorded");
    assert!(loudest_second(&heard) > 0.03, "the bot's answer reached the caller");
    let (call, events) = ended_call(&g, None);
    assert!(call["caller"].as_str().unwrap().contains("voicegate-dial"), "{call}");
    assert!(!of(&events, "bot_reply").is_empty(), "{events:?}");
    // Not a SIP URI, or nobody there: a clear error, exit 2.
    let bad = run(&["dial", "bot@127.0.0.1"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("not a SIP URI"), "{}", stderr(&bad));
    let nobody = run(&["dial", "sip:bot@127.0.0.1:9", "--listen", "0", "--timeout", "3"]);
    assert_eq!(nobody.status.code(), Some(2), "{}", stderr(&nobody));
}

/// `src` (a WAV) with `seconds` of silence after it, as 8 kHz 16-bit mono.
fn padded_with_silence(src: &Path, out: &Path, seconds: u32) {
    let mut r = hound::WavReader::open(src).unwrap();
    assert_eq!((r.spec().sample_rate, r.spec().channels), (8000, 1), "{}", src.display());
    let samples: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
    let spec = hound::WavSpec { channels: 1, sample_rate: 8000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(out, spec).unwrap();
    for s in samples.into_iter().chain(std::iter::repeat_n(0, 8000 * seconds as usize)) {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

/// The newest call's events as stored so far, once one satisfies `want`.
fn newest_call_once(g: &Gateway, what: &str, want: impl Fn(&Value) -> bool) -> (String, Vec<Value>) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(id) = get_json(&format!("{}/v1/calls", g.base))["calls"][0]["id"].as_str() {
            let events = get_json(&format!("{}/v1/calls/{id}", g.base))["events"].as_array().cloned().unwrap_or_default();
            if events.iter().any(&want) {
                return (id.to_string(), events);
            }
            assert!(Instant::now() < deadline, "no {what} in time: {events:?}");
        }
        assert!(Instant::now() < deadline, "no call in time");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A real softphone as a carrier that requires encryption would call: baresip over SIP/TLS
/// offering RTP/SAVP with SDES keys. It is answered with SRTP, hears the bot (what it decoded
/// is transcribed), types the order number the bot asks for (RFC 4733) and is answered about
/// that order, and its RTCP and ours show no loss.
#[test]
fn baresip_over_tls_with_srtp_hears_the_bot_and_types_the_order_number() {
    use common::baresip::{Baresip, Options};
    let dir = tempfile::tempdir().unwrap();
    let (g, _) = gateway(dir.path(), "tls_listen = \"127.0.0.1:0\"");
    let tls = g.sip_tls.expect("the banner names where SIP over TLS listens");
    // The caller asks for a refund without saying which order, then stays on the line
    // (baresip hangs up at the file's end).
    let source = dir.path().join("caller.wav");
    padded_with_silence(&fixture("en_refund_8k.wav"), &source, 60);
    let mut phone = Baresip::start(dir.path(), &source, Options { transport: "tls", mediaenc: Some("srtp-mand") });
    phone.command("dial", &format!("sip:bot@{tls};transport=tls"));
    phone.wait_for("established call", Duration::from_secs(30), |e| e["type"] == "CALL_ESTABLISHED");
    let menc = phone.wait_for("SRTP", Duration::from_secs(5), |e| e["type"] == "CALL_MENC");
    assert!(menc["param"].as_str().unwrap_or_default().contains("AES_CM_128_HMAC_SHA1_80"), "{menc}");
    // The bot asks which order and finishes saying so; the caller types it on the keypad.
    let (id, _) = newest_call_once(&g, "question spoken", |e| e["type"] == "tts_finished");
    for key in ["4", "8", "1", "5", "2", "#"] {
        phone.command("sndcode", key);
        std::thread::sleep(Duration::from_millis(300));
    }
    let about_the_order = |e: &Value| e["type"] == "bot_reply" && e["actions"].as_array().is_some_and(|a| a.iter().any(|a| a["order"] == "48152"));
    newest_call_once(&g, "answer about the typed order", about_the_order);
    newest_call_once(&g, "answer spoken", |e| e["type"] == "tts_finished" && e["reply_id"].as_u64() > Some(1));
    phone.wait_for("RTCP report", Duration::from_secs(15), |e| e["type"] == "CALL_RTCP");
    phone.command("hangup", "");
    let heard = phone.heard();
    let rtcp: Vec<Value> = phone.of_type("CALL_RTCP").into_iter().cloned().collect();
    let log = phone.quit();

    let (call, events) = ended_call(&g, Some(&id));
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
    assert!(transcript(&events).to_lowercase().contains("refund"), "{}", transcript(&events));
    let keys: String = of(&events, "dtmf").iter().map(|e| e["digit"].as_str().unwrap()).collect();
    assert_eq!(keys, "48152#", "{events:?}");
    assert!(of(&events, "dtmf").iter().all(|e| e["out_of_band"] == true));
    let replies: Vec<String> = of(&events, "bot_reply").iter().map(|e| e["text"].as_str().unwrap().to_string()).collect();
    assert!(events.iter().any(about_the_order), "{replies:?}");
    assert!(of(&events, "tts_finished").iter().all(|e| e["played_ms"].as_u64().unwrap() > 1000), "{events:?}");
    // Our side of the media: SRTP, nothing lost, the keys counted.
    let media = &events.last().unwrap()["media"];
    assert_eq!((media["srtp"].as_bool(), media["rx_lost"].as_u64(), media["rx_dtmf"].as_u64()), (Some(true), Some(0), Some(6)), "{media}");
    assert!(media["rx_packets"].as_u64().unwrap() > 500, "{media}");
    // baresip's side: its RTCP (SRTCP both ways) shows no loss either way, and our reports.
    assert!(!rtcp.is_empty() && rtcp.iter().all(|e| e["rtcp_stats"]["tx"]["lost"] == 0 && e["rtcp_stats"]["rx"]["lost"] == 0), "{rtcp:?}");
    assert!(rtcp.last().unwrap()["rtcp_stats"]["tx"]["sent"].as_u64().unwrap() > 0, "our reports did not reach baresip: {rtcp:?}");
    assert!(log.contains("PL=0,0"), "baresip's summary:\n{log}");
    // What baresip decoded is what the bot said.
    let (_, heard_events) = replay_events(&heard, &[]);
    let heard_words = words(&transcript(&heard_events));
    let said = words(&replies.join(" "));
    let shared = said.iter().filter(|w| w.len() > 3 && heard_words.contains(w)).count();
    assert!(shared >= 4, "baresip heard {heard_words:?}, the bot said {replies:?}");
}

/// A flood of calls, some answered, some busy, some turned away: every INVITE is answered,
/// and once it is over the server holds nothing for it (transactions, waiting ACKs, dialogs,
/// calls, per-source rate state all back to zero).
#[test]
fn after_a_flood_the_server_holds_nothing_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let (g, _) = gateway(dir.path(), "invite_rate = 50\ninvite_burst = 100\nmax_calls = 20\npipeline = false\nrtp_timeout_ms = 5000");
    let sip = g.sip.unwrap();
    let before = get_json(&format!("{}/v1/sip", g.base));
    let flood = Command::new("sipp")
        .current_dir(dir.path())
        .arg("-sf")
        .arg(scenario("flood.xml"))
        .args(["-m", "600", "-r", "200", "-l", "60", "-nostdin", "-i", "127.0.0.1", "-mi", "127.0.0.1", "-timeout", "90", "-timeout_error", "-trace_err"])
        .arg(sip.to_string())
        .output()
        .unwrap();
    assert_passes(&flood, "flood.xml");
    let s = get_json(&format!("{}/v1/sip", g.base));
    let server = &s["server"];
    let answered = |k: &str| server[k].as_u64().unwrap_or(0);
    assert_eq!(answered("answered") + answered("rejected_busy") + answered("rejected_rate"), 600, "{server}");
    assert!(answered("answered") > 0 && answered("rejected_rate") > 0, "{server}");
    // Transactions linger for their timers (Timer J: 32 s over UDP), then nothing is left.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut live = s["live"].clone();
    eprintln!("held right after the flood: {live}; {server}");
    while live != serde_json::json!({"transactions": 0, "waiting_ack": 0, "dialogs": 0, "legs": 0, "sources": 0}) {
        assert!(Instant::now() < deadline, "still held after the flood: {live}");
        std::thread::sleep(Duration::from_millis(500));
        live = get_json(&format!("{}/v1/sip", g.base))["live"].clone();
    }
    let mut after = get_json(&format!("{}/v1/sip", g.base));
    // Idle again, the gateway makes its start-up work (the Chinese recogniser's first decode).
    let deadline = Instant::now() + Duration::from_secs(60);
    while after["process"]["warmed_up"] != true {
        assert!(Instant::now() < deadline, "not warmed up a minute after the flood: {after}");
        std::thread::sleep(Duration::from_millis(500));
        after = get_json(&format!("{}/v1/sip", g.base));
    }
    eprintln!("resident memory: {} MB before the flood, {} MB after", before["process"]["rss_mb"], after["process"]["rss_mb"]);
}
