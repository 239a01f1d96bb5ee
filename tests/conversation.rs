//! The conversation loop on the conversation fixtures: every turn answered in the caller's
//! language, partial transcripts while the caller speaks, barge-in, the bot's channel of the
//! recorded call, the sherpa voice end to end, and a broken voice refused at start-up.

mod common;

use std::path::Path;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use common::*;
use serde_json::Value;

/// The cadence of partial transcripts is timed on an otherwise idle machine: the other tests'
/// recognisers running beside it would slow them.
static MACHINE: RwLock<()> = RwLock::new(());

fn beside_others() -> RwLockReadGuard<'static, ()> {
    MACHINE.read().unwrap_or_else(|p| p.into_inner())
}

fn alone() -> RwLockWriteGuard<'static, ()> {
    MACHINE.write().unwrap_or_else(|p| p.into_inner())
}

fn conversations() -> Vec<Fixture> {
    manifest().fixture.into_iter().filter(|f| f.conversation).collect()
}

/// Replays `file` with `--out`; returns the events and the stereo WAV's two channels.
fn replay_with_audio(file: &Path, extra: &[&str]) -> (Vec<Value>, Vec<f32>, Vec<f32>) {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("call.wav");
    let mut args = vec!["--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (o, events) = replay_events(file, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let audio = voicegate::audio::decode_file(&out, Some(0)).unwrap();
    assert_eq!(audio.channels, 2);
    let bot = voicegate::audio::decode_file(&out, Some(1)).unwrap();
    (events, audio.samples, bot.samples)
}

fn ms(v: &Value) -> u64 {
    v["t_ms"].as_u64().unwrap()
}

/// RMS of the bot channel in 20 ms frames.
fn frame_rms(samples: &[f32]) -> Vec<f32> {
    samples.chunks(320).map(voicegate::audio::frame::rms).collect()
}

#[test]
fn every_turn_is_answered_in_the_callers_language() {
    let _machine = beside_others();
    let convs = conversations();
    assert!(convs.len() >= 4);
    for f in convs {
        let (out, events) = replay_events(&fixture(&f.file), &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        let finals = finals(&events);
        assert_eq!(finals.len(), f.utterances.unwrap(), "{}: {}", f.file, transcript(&events));
        for t in finals {
            let start = &t["start_ms"];
            let reply = of_type(&events, "bot_reply")
                .into_iter()
                .find(|r| &r["in_reply_to_ms"] == start)
                .unwrap_or_else(|| panic!("{}: no reply to {t}", f.file));
            assert_eq!(reply["lang"], "en", "{}", f.file);
            assert!(reply["text"].as_str().unwrap().is_ascii(), "{reply}");
            let audible = of_type(&events, "tts_started").iter().any(|s| s["reply_id"] == reply["reply_id"]);
            assert!(audible, "{}: reply {} never spoke", f.file, reply["reply_id"]);
            // The answer comes after the words it answers.
            assert!(ms(reply) >= ms(t));
        }
    }
}

#[test]
fn partial_transcripts_show_the_callers_words_while_they_speak() {
    let _machine = alone();
    let (_, events) = replay_events(&fixture("en_long_turn.wav"), &["--listen-only"]);
    let mut gaps = Vec::new();
    let mut last = None;
    for e in &events {
        match e["type"].as_str().unwrap() {
            "speech_started" => last = Some(ms(e)),
            "transcript" => {
                if let Some(l) = last {
                    gaps.push(ms(e) - l);
                }
                last = Some(ms(e));
            }
            "speech_ended" => last = None,
            _ => {}
        }
    }
    let partial_events: Vec<&Value> = of_type(&events, "transcript").into_iter().filter(|e| e["final"] == false).collect();
    let partials = partial_events.len();
    // 26 s of speech: partial transcripts one after another, each started 600 ms after the
    // last or as soon as the previous decode is done. How long a decode takes is the
    // machine's: the cadence is measured against it (about a second in a release build on
    // the machines this was tuned on; three times that in a debug build on a slower one).
    let mut decode: Vec<u64> = partial_events.iter().filter_map(|e| e["asr_ms"].as_u64()).collect();
    decode.sort_unstable();
    let slowest = *decode.last().unwrap_or(&0);
    let typical = decode.get(decode.len() / 2).copied().unwrap_or(0);
    let expected = 26_000 / (600 + typical).max(1);
    assert!(partials as u64 * 10 >= expected * 6, "{partials} partials, {expected} expected at {typical} ms a decode");
    let worst = gaps.iter().max().copied().unwrap_or(0);
    assert!(worst <= 1500.max(600 + slowest * 3 / 2), "longest wait for the caller's words: {worst} ms ({gaps:?}; decodes up to {slowest} ms)");
    // Partials grow with the turn and end where the final transcript does.
    let first_words: Vec<String> = words("hello i ordered a pair of running shoes");
    let last_partial = of_type(&events, "transcript").into_iter().filter(|e| e["final"] == false).next_back().unwrap();
    let heard = words(last_partial["text"].as_str().unwrap());
    assert!(first_words.iter().filter(|w| heard.contains(w)).count() >= 5 || heard.len() > 10, "{heard:?}");
}

#[test]
fn barge_in_stops_the_bot_at_once_and_the_caller_is_answered() {
    let _machine = beside_others();
    let (events, caller, bot) = replay_with_audio(&fixture("conv_en_barge_in.wav"), &[]);
    let stop = of_type(&events, "tts_interrupted");
    assert_eq!(stop.len(), 1, "{events:?}");
    let stop = stop[0];
    let t_stop = ms(stop);
    assert!(stop["played_ms"].as_u64().unwrap() > 1000 && stop["dropped_ms"].as_u64().unwrap() > 1000, "{stop}");
    // The caller's second turn is what interrupted: the bot stopped once 200 ms of speech was
    // heard (plus the VAD's own onset), not later.
    let second = of_type(&events, "speech_started")[1];
    let onset = second["start_ms"].as_u64().unwrap();
    assert!(t_stop >= onset + 150 && t_stop <= onset + 400, "speech from {onset}, bot stopped at {t_stop}");

    let rms = frame_rms(&bot);
    let frame = |t: u64| (t / 20) as usize;
    // Speaking before the interruption...
    let before: f32 = rms[frame(t_stop - 500)..frame(t_stop)].iter().sum::<f32>() / 25.0;
    assert!(before > 0.01, "bot quiet before the interruption: {before}");
    // ...silent within 200 ms of it, until the answer to the interrupting turn starts.
    let next_start = of_type(&events, "tts_started").into_iter().map(ms).find(|t| *t > t_stop).unwrap();
    let after = &rms[frame(t_stop + 200)..frame(next_start)];
    assert!(after.iter().all(|r| *r < 1e-4), "bot still audible after the interruption");
    let first_silent = (frame(t_stop)..frame(next_start)).find(|i| rms[*i] < 1e-4).unwrap() as u64 * 20;
    assert!(first_silent <= t_stop + 200, "bot fell silent only at {first_silent} ms");
    // The interrupting words were heard and answered.
    let last = finals(&events).into_iter().last().unwrap();
    assert!(words(last["text"].as_str().unwrap()).contains(&"person".to_string()));
    assert!(of_type(&events, "bot_reply").iter().any(|r| r["in_reply_to_ms"] == last["start_ms"]));
    // The caller's channel is the fixture, untouched and in place.
    let original = voicegate::audio::load_for_pipeline(&fixture("conv_en_barge_in.wav"), None).unwrap();
    assert_eq!(&caller[..original.samples.len()], &original.samples[..]);
}

/// Intervals in which the bot may be heard: from tts_started to its finish or interruption.
fn speaking_intervals(events: &[Value]) -> Vec<(u64, u64)> {
    of_type(events, "tts_started")
        .into_iter()
        .map(|s| {
            let end = events
                .iter()
                .filter(|e| e["reply_id"] == s["reply_id"] && (e["type"] == "tts_finished" || e["type"] == "tts_interrupted"))
                .map(ms)
                .next()
                .unwrap_or(u64::MAX);
            (ms(s), end)
        })
        .collect()
}

#[test]
fn the_bot_channel_carries_speech_only_where_the_events_say() {
    let _machine = beside_others();
    for f in conversations() {
        let (events, _, bot) = replay_with_audio(&fixture(&f.file), &[]);
        let spans = speaking_intervals(&events);
        assert!(!spans.is_empty(), "{}", f.file);
        let rms = frame_rms(&bot);
        for (i, r) in rms.iter().enumerate() {
            let t = i as u64 * 20;
            let inside = spans.iter().any(|(a, b)| t + 20 > *a && t < *b);
            assert!(inside || *r < 1e-4, "{}: bot audible at {t} ms outside every tts span {spans:?}", f.file);
        }
        // And each span holds speech.
        for (a, b) in &spans {
            let (a, b) = ((*a / 20) as usize, ((*b).min(bot.len() as u64 / 16) / 20) as usize);
            let loud = rms[a..b].iter().filter(|r| **r > 0.01).count();
            assert!(loud * 3 > b - a, "{}: span {a}..{b} mostly silent", f.file);
        }
    }
}

#[test]
fn listen_only_replays_do_not_answer() {
    let _machine = beside_others();
    let (_, events) = replay_events(&fixture("conv_en_order.wav"), &["--listen-only"]);
    assert!(of_type(&events, "bot_reply").is_empty());
    assert_eq!(finals(&events).len(), 3);
    assert_eq!(of_type(&events, "intent").len(), 3);
}

fn sherpa_config(dir: &Path) -> tempfile::NamedTempFile {
    let cfg = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(cfg.path(), format!("[tts]\nengine = \"sherpa\"\n[tts.sherpa]\nkind = \"vits\"\ndir = {:?}\nlanguages = [\"en\"]\n", dir)).unwrap();
    cfg
}

/// The generated VITS voice says 256 samples for each character it knows, sentence by
/// sentence, and each sentence plays as whole 20 ms frames.
#[test]
fn the_sherpa_voice_speaks_replies_of_the_expected_length() {
    let _machine = beside_others();
    let voice = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/tts-test");
    let cfg = sherpa_config(&voice);
    let (events, _, bot) = replay_with_audio(&fixture("en_human_agent.wav"), &["--config", cfg.path().to_str().unwrap()]);
    let reply = of_type(&events, "bot_reply")[0]["text"].as_str().unwrap().to_string();
    let known = |c: char| c.is_ascii_alphabetic() || " .,?!'".contains(c);
    let expected_frames: usize = voicegate::tts::sentences::split(&reply)
        .iter()
        .map(|s| (s.chars().filter(|c| known(*c)).count() * 256).div_ceil(320))
        .sum();
    let voiced = frame_rms(&bot).iter().filter(|r| **r > 1e-3).count();
    assert!(
        (voiced as i64 - expected_frames as i64).abs() <= 2,
        "{voiced} voiced frames, expected {expected_frames} for {reply:?}"
    );
}

#[test]
fn a_missing_or_incomplete_voice_folder_stops_start_up_with_a_reason() {
    let _machine = beside_others();
    let t = tempfile::tempdir().unwrap();
    let missing = sherpa_config(&t.path().join("no-voice"));
    let out = run(&["--config", missing.path().to_str().unwrap(), "replay", fixture("en_human_agent.wav").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no such folder"), "{}", stderr(&out));

    std::fs::write(t.path().join("model.onnx"), b"\x08junk").unwrap();
    let incomplete = sherpa_config(t.path());
    for args in [vec!["replay", fixture("en_human_agent.wav").to_str().unwrap()], vec!["serve", "--listen", "127.0.0.1:0"]] {
        let mut all = vec!["--config", incomplete.path().to_str().unwrap()];
        all.extend(args);
        let out = run(&all);
        assert_eq!(out.status.code(), Some(2), "{all:?}");
        assert!(stderr(&out).contains("missing tokens.txt"), "{}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"));
    }
}
