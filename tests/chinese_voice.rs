//! Mandarin by voice: a Chinese call is transcribed by the multilingual recogniser
//! (models.asr_zh, Whisper base) beside the English one, in simplified characters, and its
//! words reach the dialog. Real Mandarin recordings from ../shared/datasets/asr/zh.

mod common;

use common::*;

#[test]
fn a_chinese_call_is_heard_by_the_multilingual_model_in_simplified_characters() {
    // Whisper base writes this one in traditional characters (換一首歌).
    let (out, events) = replay_events(&shared("datasets/asr/zh/IT0011W0001.flac"), &["--lang", "zh", "--listen-only"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let finals = finals(&events);
    assert_eq!(finals.len(), 1, "{events:?}");
    assert_eq!(finals[0]["lang"], "zh", "{finals:?}");
    let text = finals[0]["text"].as_str().unwrap_or_default();
    assert!(text.contains("换一首歌"), "heard {text:?}");

    // A longer one: the words come through, and the NLU reads them as Chinese.
    let (out, events) = replay_events(&shared("datasets/asr/zh/TEST_NET_Y0000000000_-KTKHdZ2fb8_S00000.flac"), &["--lang", "zh", "--listen-only"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let heard = transcript(&events);
    assert!(heard.contains("说不清楚"), "heard {heard:?}");
    let intents = of_type(&events, "intent");
    assert!(!intents.is_empty(), "{events:?}");
}

#[test]
fn the_gateway_loads_both_recognisers_and_english_calls_stay_on_the_english_one() {
    let out = run(&["models"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = stdout(&out);
    let base = listed.lines().find(|l| l.contains("whisper-base-q8_0")).unwrap_or_default();
    assert!(base.starts_with('*') && base.contains("ggml-base-q8_0.bin ("), "in use and found: {listed}");
    // An English call without a language is transcribed as before.
    let (out, events) = replay_events(&fixture("en_order_status.wav"), &["--listen-only"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(transcript(&events).to_lowercase().contains("where is my order"), "{events:?}");
    assert!(finals(&events).iter().all(|f| f["lang"] == "en"));
}

#[test]
fn with_identification_on_a_call_that_tells_no_language_is_heard_in_the_one_it_speaks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("identify.toml");
    std::fs::write(&config, "[asr]\nidentify_language = true\n").expect("config");
    let config = config.to_str().expect("utf-8 path");
    // No --lang: the first utterance's language decides.
    let (out, events) = replay_events(&shared("datasets/asr/zh/TEST_NET_Y0000000000_-KTKHdZ2fb8_S00000.flac"), &["--config", config, "--listen-only"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let heard = finals(&events);
    assert!(heard.iter().any(|f| f["lang"] == "zh"), "{heard:?}");
    assert!(transcript(&events).contains("说不清楚"), "{events:?}");
    // An English caller is heard in English.
    let (out, events) = replay_events(&fixture("en_order_status.wav"), &["--config", config, "--listen-only"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(transcript(&events).to_lowercase().contains("where is my order"), "{events:?}");
    assert!(finals(&events).iter().all(|f| f["lang"] == "en"), "{events:?}");
}
