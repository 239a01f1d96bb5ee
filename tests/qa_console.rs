//! The QA console `/qa` with real calls: `voicegate dial` makes an English and a Mandarin
//! phone call; a supervisor in Chromium (tests/browser/qa.mjs) finds each by words from its
//! transcript, opens the English one, plays its recording and seeks by clicking a transcript
//! line, sees its QA score, and replays it through today's pipeline. An agent is refused;
//! a deleted recording is a clear message; ten thousand calls are paged.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::*;
use serde_json::Value;

fn status(url: &str, token: &str) -> (u16, String) {
    match ureq::get(url).set("Authorization", &format!("Bearer {token}")).call() {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => panic!("GET {url}: {e}"),
    }
}

/// A phone call to `number` playing `audio`; the call's id once it has ended.
fn call(g: &Gateway, number: &str, audio: &Path) -> String {
    let uri = format!("sip:{number}@{}", g.sip.unwrap());
    let o = run(&["dial", &uri, "--play", audio.to_str().unwrap(), "--listen", "6"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let (c, _) = ended_call(g, None);
    c["id"].as_str().unwrap().to_string()
}

#[test]
fn a_supervisor_finds_calls_by_their_words_plays_them_and_replays_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("voicegate.toml");
    let db = dir.path().join("db.sqlite");
    std::fs::write(&config, format!("[store]\npath = \"{}\"\n[sip]\nrecordings = \"{}\"\n[sip.languages]\n4008 = \"zh\"\n", db.display(), dir.path().join("recordings").display())).unwrap();
    let c = config.to_str().unwrap();
    let args = ["--config", c];
    let g = start_with(&args);
    // An English call about a refund, a Mandarin one (a real recording).
    let en = call(&g, "bot", &fixture("conv_en_refund.wav"));
    let zh_audio = dir.path().join("zh.wav");
    let zh = voicegate::audio::load_for_pipeline(&shared("datasets/asr/zh/TEST_NET_Y0000000000_-KTKHdZ2fb8_S00000.flac"), None).unwrap();
    // After the greeting, then silence for the answer.
    let mut samples = vec![0.0; 16_000 * 5];
    samples.extend(&zh.samples);
    samples.extend(std::iter::repeat_n(0.0, 16_000 * 6));
    voicegate::audio::wav::write_wav(&zh_audio, &[&samples], 16_000).unwrap();
    let zh_id = call(&g, "4008", &zh_audio);
    // The Mandarin call's transcript: the bot greeted and answered in Chinese (what the caller
    // is heard as over an 8 kHz line varies; the bot's words do not).
    let zh_events = ended_call(&g, Some(&zh_id)).1;
    let bot_zh: Vec<&str> = of_type(&zh_events, "bot_reply").iter().filter_map(|e| e["text"].as_str()).collect();
    assert!(bot_zh.iter().any(|t| t.contains("欢迎致电")), "{zh_events:?}");
    let zh_word = "欢迎致电".to_string();
    let o = run(&["--config", c, "users", "add", "sue", "--role", "supervisor"]);
    let password = stdout(&o).rsplit("password (shown once): ").next().unwrap().trim().to_string();
    let shots = dir.path().join("shots");
    let o = Command::new("nice")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["-n", "10", "node", "tests/browser/qa.mjs", "--url", &g.base, "--name", "sue", "--password", &password, "--out", shots.to_str().unwrap()])
        .args(["--search", &zh_word, "--search", "refund", "--open-first", "1", "--replay", "1"])
        .output()
        .expect("node runs (make setup installs playwright-core)");
    let text = stdout(&o);
    let p: Value = serde_json::from_str(text.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("{e}: {text}\n{}", stderr(&o)));
    if let Ok(keep) = std::env::var("VOICEGATE_SHOTS") {
        for f in ["qa-list.png", "qa-search.png", "qa-call.png", "qa-replay.png"] {
            let _ = std::fs::copy(shots.join(f), Path::new(&keep).join(f));
        }
    }
    assert!(p["error"].is_null(), "{p}");
    // Found by a Chinese word and by an English one, with the words marked.
    let searches = p["searches"].as_array().unwrap();
    let ids = |i: usize| searches[i]["rows"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(ids(0), [zh_id.as_str()], "{zh_word}: {p}");
    assert_eq!(ids(1), [en.as_str()], "refund: {p}");
    let hits: Vec<String> = searches[1]["rows"][0]["snippet_hits"].as_array().unwrap().iter().map(|h| h.as_str().unwrap().to_lowercase()).collect();
    assert!(hits.iter().any(|h| h == "refund"), "{p}");
    assert!(searches[0]["rows"][0]["snippet_hits"].as_array().unwrap().iter().any(|h| h.as_str().unwrap().contains(&zh_word)), "{p}");
    // The English call: its lines, the player seeking to a clicked line and playing on.
    let opened = &p["call"];
    let lines = opened["lines"].as_array().unwrap();
    assert!(lines.iter().any(|l| l["speaker"] == "caller" && l["text"].as_str().unwrap().to_lowercase().contains("refund")), "{opened}");
    assert!(lines.iter().any(|l| l["speaker"] == "bot"), "{opened}");
    let seek = opened;
    let (to, now, after) = (seek["seek_to"].as_f64().unwrap() / 1000.0, seek["current_time"].as_f64().unwrap(), seek["current_time_after"].as_f64().unwrap());
    assert!((now - to).abs() < 1.5, "clicked a line at {to} s; the player is at {now} s: {seek}");
    assert!(after > now + 0.5, "the player did not play on: {seek}");
    // The QA score with its evidence, and the replay's comparison.
    let detail = get_json(&format!("{}/v1/calls/{en}", g.base));
    let score = detail["qa"]["score"].as_u64().expect("a QA score");
    assert!(opened["qa_score_text"].as_str().unwrap_or("").contains(&score.to_string()), "page {} vs {score}", opened["qa_score_text"]);
    assert!(detail["qa"]["items"].as_array().unwrap().iter().any(|i| i["passed"] == true && !i["evidence"].as_array().unwrap().is_empty()), "{}", detail["qa"]);
    assert!(p["replay"]["summary"].as_str().unwrap_or("").contains("difference"), "{p}");
    assert!(p["replay"]["rows"].as_u64().unwrap_or(0) >= 3, "{p}");
    assert!(p["unknown_call"]["banner"].as_str().unwrap_or("").contains("no-such-call"), "{p}");
    // An agent may not use the console, nor see calls that are not theirs.
    let agent = make_token(&args, "agent");
    assert_eq!(status(&format!("{}/qa", g.base), &agent).0, 403);
    assert_eq!(status(&format!("{}/v1/qa/calls?q=refund", g.base), &agent).0, 403);
    assert_eq!(status(&format!("{}/v1/calls/{en}/recording", g.base), &agent).0, 404);
    // Injection in search and filters is text, not syntax.
    for q in ["%22%3B%20DROP%20TABLE%20calls%3B%20--", "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "NEAR(refund"] {
        let v = get_json(&format!("{}/v1/qa/calls?q={q}", g.base));
        assert_eq!(v["total"], 0, "{q}: {v}");
    }
    assert_eq!(status(&format!("{}/v1/qa/calls?from=yesterday", g.base), &g.token).0, 400);
    // A deleted recording: a clear message.
    let rec = get_json(&format!("{}/v1/calls/{en}", g.base))["call"]["recording"].as_str().unwrap().to_string();
    std::fs::remove_file(&rec).unwrap();
    let (code, body) = status(&format!("{}/v1/calls/{en}/recording", g.base), &g.token);
    assert_eq!(code, 404);
    assert!(body.contains("recording of call") && body.contains("gone"), "{body}");
    // The dashboard and the wallboard count what these two calls did.
    let both: Vec<Vec<Value>> = [en.as_str(), zh_id.as_str()].iter().map(|id| ended_call(&g, Some(id)).1).collect();
    let count = |ty: &str| both.iter().filter(|evs| !of_type(evs, ty).is_empty()).count();
    let (handoffs, abandoned) = (count("handoff"), count("abandoned"));
    let o = Command::new("nice")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["-n", "10", "node", "tests/browser/dashboard.mjs", "--url", &g.base, "--name", "sue", "--password", &password, "--out", shots.to_str().unwrap()])
        .output()
        .expect("node runs");
    let text = stdout(&o);
    let d: Value = serde_json::from_str(text.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("{e}: {text}\n{}", stderr(&o)));
    if let Ok(keep) = std::env::var("VOICEGATE_SHOTS") {
        for f in ["dashboard.png", "supervisor.png"] {
            let _ = std::fs::copy(shots.join(f), Path::new(&keep).join(f));
        }
    }
    assert!(d["error"].is_null(), "{d}");
    let kpi = |page: &str, k: &str| d[page]["kpis"][k].as_str().unwrap_or("").to_string();
    assert_eq!(kpi("dashboard", "calls"), "2", "{d}");
    assert_eq!(kpi("dashboard", "handoffs"), handoffs.to_string(), "{d}");
    assert_eq!(kpi("dashboard", "containment"), format!("{:.0}%", (2 - handoffs) as f64 * 50.0), "{d}");
    if handoffs > 0 {
        assert_eq!(kpi("dashboard", "abandonment"), format!("{:.0}%", abandoned as f64 * 100.0 / handoffs as f64), "{d}");
    }
    assert_eq!(d["wallboard"]["kpis"]["calls"], "2", "{d}");
    // For training: the calls by QA score, lowest first, and by anger, each a link to its page.
    let a = get_json(&format!("{}/v1/analytics", g.base));
    let ids = |v: &Value| v.as_array().unwrap().iter().map(|r| r["call"].as_str().unwrap_or("").to_string()).collect::<Vec<_>>();
    let lowest = ids(&a["training"]["lowest_qa"]);
    assert_eq!(lowest.len(), 2, "{a}");
    let scores: Vec<i64> = a["training"]["lowest_qa"].as_array().unwrap().iter().map(|r| r["qa_score"].as_i64().unwrap()).collect();
    assert!(scores[0] <= scores[1], "{scores:?}");
    let shown: Vec<String> = d["dashboard"]["training_lowest"].as_array().unwrap().iter().map(|r| r["call"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(shown, lowest, "{d}");
    assert_eq!(d["dashboard"]["training_lowest"][0]["href"], format!("/qa#call={}", lowest[0]), "{d}");
    assert!(d["dashboard"]["training_lowest"][0]["text"].as_str().unwrap_or("").contains(&format!("QA {}", scores[0])), "{d}");
    let angriest: Vec<String> = d["dashboard"]["training_angriest"].as_array().unwrap().iter().map(|v| v.as_str().unwrap_or("").to_string()).collect();
    assert_eq!(angriest, ids(&a["training"]["angriest"]), "{d}");
    assert_eq!(d["wallboard"]["kpis"]["abandoned"], abandoned.to_string(), "{d}");
    // Prometheus: the handoff counted by its reason, requests by route, calls by channel.
    let metrics = ureq::get(&format!("{}/metrics", g.base)).set("Authorization", &g.bearer()).call().unwrap().into_string().unwrap();
    for reason in both.iter().flat_map(|evs| of_type(evs, "handoff").into_iter().filter_map(|h| h["reason"].as_str().map(str::to_string)).collect::<Vec<_>>()) {
        assert!(metrics.contains(&format!("voicegate_handoffs_total{{reason=\"{reason}\"}} 1")), "{metrics}");
    }
    assert!(metrics.contains("voicegate_http_requests_total{route=\"/v1/qa/calls\",status=\"200\"}"), "{metrics}");
    assert!(metrics.contains("voicegate_active_calls{channel=\"phone\"} 0"), "{metrics}");
    assert!(metrics.contains("voicegate_asr_inference_seconds_count{lang=\"en\"}"), "{metrics}");
    // The list as CSV: both calls, and the export in the audit log.
    let csv = ureq::get(&format!("{}/v1/qa/export", g.base)).set("Authorization", &g.bearer()).call().unwrap().into_string().unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("id,started_at,channel,caller"), "{csv}");
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(rows.iter().any(|r| r.starts_with(&format!("{en},"))), "{csv}");
    let audit = get_json(&format!("{}/v1/audit", g.base));
    assert!(audit["audit"].as_array().unwrap().iter().any(|a| a["action"] == "export_calls"), "{audit}");
    // Ten thousand calls: one page of them, quickly.
    seed_calls(&db, 10_000);
    let t = Instant::now();
    let v = get_json(&format!("{}/v1/qa/calls?page=7&per_page=50", g.base));
    let took = t.elapsed();
    assert_eq!(v["calls"].as_array().unwrap().len(), 50);
    assert!(v["total"].as_u64().unwrap() >= 10_000, "{}", v["total"]);
    eprintln!("10,000 calls: page 7 of the list in {} ms", took.as_millis());
    let v = get_json(&format!("{}/v1/qa/calls?q=parcel&per_page=50", g.base));
    assert_eq!(v["total"].as_u64(), Some(10_000), "every seeded call speaks of a parcel");
}

/// `n` ended calls written straight into the index (one transaction).
fn seed_calls(db: &Path, n: usize) {
    let mut conn = rusqlite::Connection::open(db).unwrap();
    let tx = conn.transaction().unwrap();
    for i in 0..n {
        let id = format!("seed-{i:05}");
        tx.execute(
            "INSERT INTO call_index (call_id, started_at, channel, caller, lang, duration_ms, end_reason, intents, handoff_reason, agent, peak_anger, csat, qa_score, turns) VALUES (?1, '2026-01-01T00:00:00Z', 'phone', 'seed', 'en', 1000, 'caller_hangup', 'track_order', NULL, NULL, 0.1, NULL, 90, 1)",
            [&id],
        )
        .unwrap();
        tx.execute("INSERT INTO call_text (call_id, text) VALUES (?1, 'where is my parcel')", [&id]).unwrap();
    }
    tx.commit().unwrap();
}

/// The left channel of a 16-bit stereo WAV and its rate.
fn left_channel(path: &str) -> (Vec<i16>, u32) {
    let mut r = hound::WavReader::open(path).unwrap();
    let (channels, rate) = (r.spec().channels as usize, r.spec().sample_rate);
    let samples: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
    (samples.iter().step_by(channels).copied().collect(), rate)
}

#[test]
fn spoken_phone_numbers_are_silenced_in_the_recording_and_the_rest_of_the_call_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("voicegate.toml");
    std::fs::write(&config, format!("[store]\npath = \"{}\"\n[sip]\nrecordings = \"{}\"\n[privacy]\nredact_audio = true\n", dir.path().join("db.sqlite").display(), dir.path().join("recordings").display())).unwrap();
    let c = config.to_str().unwrap();
    let g = start_with(&["--config", c]);
    // "My phone number is one three eight, one two three four, five six seven eight. Please
    // call me back about my order."
    let id = call(&g, "bot", &fixture("en_phone_number.wav"));
    // The gateway heard the number (the stored transcript keeps it whole for the dialog).
    let heard = transcript(&ended_call(&g, Some(&id)).1);
    let digits = |t: &str| t.chars().filter(char::is_ascii_digit).count() + words(t).iter().filter(|w| ["one", "two", "three", "four", "five", "six", "seven", "eight"].contains(&w.as_str())).count();
    assert!(digits(&heard) >= 9, "the call's transcript: {heard}");
    // After the call its recording is redacted: the event names the span on the caller's side.
    let deadline = Instant::now() + std::time::Duration::from_secs(90);
    let spans = loop {
        let evs = ended_call(&g, Some(&id)).1;
        if let Some(e) = of_type(&evs, "audio_redacted").first() {
            break e["spans"].as_array().unwrap().clone();
        }
        assert!(Instant::now() < deadline, "no audio_redacted event: {evs:?}");
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!((spans[0]["channel"].as_str(), spans[0]["kind"].as_str()), (Some("caller"), Some("phone")), "{spans:?}");
    let (start, end) = (spans[0]["start_ms"].as_u64().unwrap(), spans[0]["end_ms"].as_u64().unwrap());
    assert!(end > start + 1500, "a ten-digit number takes over 1.5 s to say: {spans:?}");
    // The span is silent in the file, and what is left is the caller's other words.
    let rec = get_json(&format!("{}/v1/calls/{id}", g.base))["call"]["recording"].as_str().unwrap().to_string();
    let (left, rate) = left_channel(&rec);
    let at = |ms: u64| (ms * rate as u64 / 1000) as usize;
    assert!(left[at(start)..at(end).min(left.len())].iter().all(|&s| s == 0), "the span is not silent");
    assert!(left.iter().any(|&s| s.unsigned_abs() > 1000), "the rest of the caller's speech is gone");
    let o = run(&["replay", &rec, "--channel", "0", "--listen-only", "--json"]);
    let events: Vec<Value> = stdout(&o).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let left_words = transcript(&events);
    assert!(digits(&left_words) <= 2, "the number is still heard in the recording: {left_words}");
    for kept in ["phone", "call", "order"] {
        assert!(words(&left_words).iter().any(|w| w == kept), "`{kept}` was silenced too: {left_words}");
    }
    let audit = get_json(&format!("{}/v1/audit", g.base));
    assert!(audit["audit"].as_array().unwrap().iter().any(|a| a["action"] == "redact_recording" && a["target"].as_str().unwrap_or("").starts_with(&id)), "{audit}");
    // By hand, on a file: a copy is redacted and the original left as it was.
    let out = dir.path().join("redacted.wav");
    let o = run(&["--config", c, "redact", fixture("en_phone_number.wav").to_str().unwrap(), "--out", out.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let spans: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!(spans[0]["kind"], "phone");
    let (before, after) = (left_channel(fixture("en_phone_number.wav").to_str().unwrap()).0, left_channel(out.to_str().unwrap()).0);
    assert_eq!(before.len(), after.len());
    assert!(before.iter().zip(&after).any(|(a, b)| a != b) && before.iter().any(|&s| s != 0));
    // Bad input: an unknown call, a file that is not a recording.
    let o = run(&["--config", c, "redact", "no-such-call"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no-such-call"), "{}", stderr(&o));
    let o = run(&["--config", c, "redact", fixture("not_audio.wav").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("not a WAV recording"), "{}", stderr(&o));
}
