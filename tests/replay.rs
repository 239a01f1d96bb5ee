//! `voicegate replay` on the audio fixtures, with the real Silero VAD and Whisper tiny.en.

mod common;

use common::*;

/// Every English fixture: the right number of turns, each transcribed with its key words, and a
/// timeline that is ordered and consistent. Listen-only, so the turns end on the normal hangover
/// (when the bot answers, a complete question may end a turn sooner: tests/conversation.rs).
#[test]
fn english_fixtures_are_segmented_and_transcribed() {
    let mut failures = Vec::new();
    for f in manifest().fixture.iter().filter(|f| f.lang.as_deref() == Some("en")) {
        let (out, events) = replay_events(&fixture(&f.file), &["--listen-only"]);
        if !out.status.success() {
            failures.push(format!("{}: exit {:?}: {}", f.file, out.status.code(), stderr(&out)));
            continue;
        }
        let finals = finals(&events);
        let want = f.utterances.unwrap_or(1);
        if finals.len() != want || of_type(&events, "speech_ended").len() != want {
            failures.push(format!("{}: {} transcripts, wanted {want}: {:?}", f.file, finals.len(), transcript(&events)));
        }
        let heard = words(&transcript(&events));
        let missing: Vec<_> = f.keywords.iter().filter(|k| !heard.contains(k)).collect();
        if !missing.is_empty() {
            failures.push(format!("{}: missing {missing:?} in {heard:?}", f.file));
        }
        check_timeline(&f.file, &events, &mut failures);
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn check_timeline(file: &str, events: &[serde_json::Value], failures: &mut Vec<String>) {
    let first = events.first().map(|e| e["type"].clone());
    let last = events.last().map(|e| e["type"].clone());
    if first != Some("call_started".into()) || last != Some("call_ended".into()) {
        failures.push(format!("{file}: timeline must run from call_started to call_ended"));
    }
    let times: Vec<u64> = events.iter().map(|e| e["t_ms"].as_u64().unwrap_or(u64::MAX)).collect();
    if times.windows(2).any(|w| w[0] > w[1]) {
        failures.push(format!("{file}: t_ms not in order: {times:?}"));
    }
    for t in finals(events) {
        let (s, e) = (t["start_ms"].as_u64().unwrap_or(0), t["end_ms"].as_u64().unwrap_or(0));
        if s >= e || t["lang"] != "en" || t["call_id"].as_str().is_none_or(|c| c.is_empty()) {
            failures.push(format!("{file}: bad transcript event {t}"));
        }
        // A transcript is known only after its speech ended.
        if t["t_ms"].as_u64().unwrap_or(0) < e {
            failures.push(format!("{file}: transcript at {} before its speech ended at {e}", t["t_ms"]));
        }
    }
    for (st, en) in of_type(events, "speech_started").iter().zip(of_type(events, "speech_ended")) {
        if st["t_ms"].as_u64() > en["t_ms"].as_u64() {
            failures.push(format!("{file}: speech ended before it started"));
        }
    }
}

#[test]
fn mandarin_speech_is_found_by_the_vad() {
    // tiny.en cannot transcribe Mandarin, but the VAD must still find the caller's turn.
    for f in manifest().fixture.iter().filter(|f| f.lang.as_deref() == Some("zh")) {
        let (out, events) = replay_events(&fixture(&f.file), &[]);
        assert!(out.status.success(), "{}: {}", f.file, stderr(&out));
        assert_eq!(of_type(&events, "speech_ended").len(), f.utterances.unwrap_or(1), "{}", f.file);
    }
}

#[test]
fn silence_and_room_noise_give_no_speech() {
    for name in ["silence.wav", "room_noise.wav"] {
        let (out, events) = replay_events(&fixture(name), &[]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(of_type(&events, "speech_started").is_empty(), "{name}: {events:?}");
        assert!(of_type(&events, "transcript").is_empty(), "{name}: {events:?}");
        assert_eq!(of_type(&events, "call_ended").len(), 1);
    }
}

#[test]
fn the_channel_option_picks_the_speaker_of_a_stereo_file() {
    let file = fixture("stereo_refund_left_agent_right.wav");
    let (_, left) = replay_events(&file, &[]);
    let (_, right) = replay_events(&file, &["--channel", "1"]);
    let (l, r) = (words(&transcript(&left)), words(&transcript(&right)));
    assert!(l.contains(&"refund".to_string()) && !l.contains(&"person".to_string()), "{l:?}");
    assert!(r.contains(&"person".to_string()) && !r.contains(&"refund".to_string()), "{r:?}");
}

#[test]
fn realtime_pacing_gives_the_same_transcript() {
    let file = fixture("en_human_agent_8k.wav");
    let (fast_out, fast) = replay_events(&file, &[]);
    let (rt_out, rt) = replay_events(&file, &["--realtime"]);
    assert!(fast_out.status.success() && rt_out.status.success());
    assert_eq!(transcript(&fast), transcript(&rt));
    assert!(!transcript(&rt).is_empty());
}

#[test]
fn the_timeline_shows_each_utterance_with_its_times() {
    let out = run(&["replay", fixture("en_two_turns.wav").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    // Caller turns are "[start -> end]  words"; the bot's lines follow them.
    let lines: Vec<_> = text.lines().filter(|l| l.trim_start().starts_with("[00:") && l.contains(" -> ")).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(text.contains("bot: "), "{text}");
    assert!(lines[0].to_lowercase().contains("order"), "{text}");
    assert!(lines[1].to_lowercase().contains("person"), "{text}");
    assert!(text.contains("2 utterance(s)"), "{text}");
}

/// Each kind of bad input: exit code 2, one line on stderr naming the reason, no panic.
#[test]
fn bad_input_exits_2_with_a_one_line_reason() {
    let mut cases: Vec<(String, Vec<String>, String)> = manifest()
        .fixture
        .iter()
        .filter(|f| f.exit.is_some())
        .map(|f| (f.file.clone(), vec![], f.reason.clone().unwrap_or_default()))
        .collect();
    cases.push(("does-not-exist.wav".into(), vec![], "no such file".into()));
    cases.push(("en_refund.wav".into(), vec!["--channel".into(), "1".into()], "channel 1 does not exist".into()));
    cases.push(("stereo_refund_left_agent_right.wav".into(), vec!["--channel".into(), "2".into()], "channel 2 does not exist".into()));
    assert!(cases.len() >= 6);
    for (file, extra, reason) in cases {
        let path = fixture(&file);
        let mut args = vec!["replay", path.to_str().unwrap()];
        args.extend(extra.iter().map(String::as_str));
        let out = run(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert!(err.contains(&reason), "{file}: wanted {reason:?} in {err:?}");
        assert_eq!(err.trim_end().lines().count(), 1, "{file}: {err:?}");
        assert!(!err.contains("panicked"), "{file}: {err}");
        assert!(stdout(&out).is_empty(), "{file}: printed a timeline for bad input");
    }
}

#[test]
fn a_directory_is_not_an_audio_file() {
    let out = run(&["replay", fixture("").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is a directory"), "{}", stderr(&out));
}
