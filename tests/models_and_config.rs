//! `voicegate models`, the resolver seen from outside, and configuration errors.

mod common;

use common::*;

#[test]
fn models_lists_each_model_and_where_it_resolved_from() {
    let out = run(&["models", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let get = |name: &str| rows.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("{name} not listed"));
    for name in ["whisper-tiny.en", "silero-vad"] {
        let r = get(name);
        assert_eq!(r["required"], true);
        assert_eq!(r["in_use"], true);
        assert!(r["path"].is_string(), "{name} not found: {r}");
        assert!(r["url"].as_str().unwrap().starts_with("https://"));
        assert_eq!(r["licence"], "MIT");
    }
    // The optional multilingual model is listed with its URL even when absent.
    assert!(get("whisper-base")["url"].as_str().unwrap().contains("ggml-base.bin"));
}

#[test]
fn models_verify_checks_the_local_copies_against_the_manifest() {
    let out = run(&["models", "--verify", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let verified: Vec<_> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["required"] == true)
        .map(|r| r["verified"].clone())
        .collect();
    assert_eq!(verified, vec![serde_json::Value::Bool(true); 2]);
}

#[test]
fn env_dir_is_looked_at_before_the_shared_models() {
    let t = tempfile::tempdir().unwrap();
    let vad = shared("models/silero_vad.onnx");
    std::fs::copy(&vad, t.path().join("silero_vad.onnx")).unwrap();
    let out = bin().args(["models", "--json"]).env("VOICEGATE_MODELS", t.path()).output().unwrap();
    let row = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["name"] == "silero-vad")
        .unwrap();
    assert_eq!(row["origin"], "$VOICEGATE_MODELS");
}

#[test]
fn a_missing_model_offline_exits_2_naming_file_url_and_place() {
    // Run from an empty folder, so that neither models/ nor ../shared/models exist.
    let t = tempfile::tempdir().unwrap();
    let out = bin()
        .current_dir(t.path())
        .env("VOICEGATE_OFFLINE", "1")
        .args(["replay", fixture("en_human_agent.wav").to_str().unwrap()])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("ggml-tiny.en.bin"), "{err}");
    assert!(err.contains("https://huggingface.co/ggerganov/whisper.cpp"), "{err}");
    assert!(err.contains("models/") && err.contains("VOICEGATE_MODELS"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn a_configured_path_that_is_not_a_model_is_a_clear_error() {
    let t = tempfile::tempdir().unwrap();
    let fake = t.path().join("fake.onnx");
    std::fs::write(&fake, vec![b'x'; 4096]).unwrap();
    let cfg = t.path().join("vg.toml");
    std::fs::write(&cfg, format!("[models.paths]\n\"silero-vad\" = {:?}\n", fake)).unwrap();
    let out = run(&["--config", cfg.to_str().unwrap(), "replay", fixture("en_human_agent.wav").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not an ONNX model"), "{}", stderr(&out));
}

#[test]
fn wrong_config_exits_2_naming_the_key() {
    let t = tempfile::tempdir().unwrap();
    let cfg = t.path().join("vg.toml");
    std::fs::write(&cfg, "[vad]\nhangover = 300\n").unwrap();
    let out = run(&["--config", cfg.to_str().unwrap(), "config"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("hangover"), "{}", stderr(&out));

    let missing = run(&["--config", "/nonexistent/vg.toml", "config"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("/nonexistent/vg.toml"));
}

#[test]
fn config_prints_the_merged_settings() {
    let t = tempfile::tempdir().unwrap();
    let cfg = t.path().join("vg.toml");
    std::fs::write(&cfg, "[vad]\nhangover_ms = 700\n").unwrap();
    let out = run(&["--config", cfg.to_str().unwrap(), "config"]);
    assert!(out.status.success());
    let merged: toml::Table = stdout(&out).parse().unwrap();
    assert_eq!(merged["vad"]["hangover_ms"].as_integer(), Some(700));
    assert_eq!(merged["models"]["asr"].as_str(), Some("whisper-tiny.en"));
}

#[test]
fn help_describes_every_command() {
    let out = run(&["--help"]);
    let text = stdout(&out);
    for cmd in ["serve", "replay", "models", "config", "bench"] {
        assert!(text.contains(cmd), "--help lacks {cmd}: {text}");
    }
    let replay = stdout(&run(&["replay", "--help"]));
    for opt in ["--json", "--channel", "--realtime"] {
        assert!(replay.contains(opt), "replay --help lacks {opt}");
    }
}
