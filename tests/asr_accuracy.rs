//! Accuracy of the replay pipeline on real speech (`voicegate bench asr`), against the
//! acceptance thresholds and against the same model decoding each whole file directly.

mod common;

use common::*;

fn bench(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["bench", "asr"];
    all.extend_from_slice(args);
    let out = run(&all);
    assert!(out.status.success(), "bench failed: {}", stderr(&out));
    let s = bench_summary(&out);
    assert_eq!(s["bench"], "asr");
    s
}

fn check(summary: &serde_json::Value, max_wer: f64) {
    let wer = summary["wer"].as_f64().expect("wer");
    let direct = summary["wer_direct"].as_f64().expect("wer_direct");
    assert!(summary["n"].as_u64() > Some(0));
    assert!(wer <= max_wer, "pipeline WER {wer} above {max_wer}: {summary}");
    // Segmenting by VAD must not cost accuracy: at most one point worse than the direct decode.
    assert!(wer <= direct + 0.01, "pipeline WER {wer} vs direct {direct}: {summary}");
    assert!(summary["rtf"].as_f64() > Some(0.0));
}

#[test]
fn librispeech_wer_at_most_10_percent() {
    let dir = shared("datasets/asr/librispeech");
    check(&bench(&[dir.to_str().unwrap()]), 0.10);
}

#[test]
fn telephone_band_osr_wer_at_most_15_percent() {
    let dir = shared("datasets/asr/osr-8k");
    let tsv = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/osr-8k.tsv");
    check(&bench(&[dir.to_str().unwrap(), "--transcripts", tsv]), 0.15);
}

#[test]
fn fixtures_bench_reads_the_manifest_and_scores_english_only() {
    let s = bench(&[fixture("").to_str().unwrap(), "--no-direct"]);
    let english = manifest()
        .fixture
        .iter()
        .filter(|f| f.lang.as_deref() == Some("en"))
        .count() as u64;
    assert_eq!(s["n"].as_u64(), Some(english));
    assert!(s["wer_direct"].is_null());
    assert!(s["wer"].as_f64().unwrap() < 0.15, "{s}");
}

#[test]
fn bench_on_a_folder_without_transcripts_is_bad_input() {
    let t = tempfile::tempdir().unwrap();
    let out = run(&["bench", "asr", t.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no audio with transcripts"), "{}", stderr(&out));
}
