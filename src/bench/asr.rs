//! `voicegate bench asr`: word error rate and speed of the replay pipeline over a dataset, next
//! to the same model decoding each whole file directly (the parity reference: segmenting by VAD
//! must not cost accuracy).

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::audio;
use crate::bench::dataset::Item;
use crate::bench::percentile;
use crate::bench::wer::word_errors;
use crate::error::Result;
use crate::events::EventKind;
use crate::pipeline::whisper::DecodeMode;
use crate::pipeline::{run_file_call, CallSpec, Engines, Pacing};

/// One file's result.
#[derive(Debug, Clone, Serialize)]
pub struct FileResult {
    pub file: String,
    pub reference: String,
    pub hyp: String,
    pub hyp_direct: Option<String>,
    pub wer: f64,
    pub wer_direct: Option<f64>,
    #[serde(skip)]
    errors: usize,
    #[serde(skip)]
    errors_direct: usize,
    #[serde(skip)]
    words: usize,
    pub audio_ms: u64,
    pub pipeline_ms: u64,
    /// Inference time per utterance. (Queue wait is left out: a file replayed faster than real
    /// time queues all its utterances at once, which no live call does.)
    pub asr_ms: Vec<u64>,
}

/// The summary line.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub bench: &'static str,
    pub n: usize,
    pub wer: f64,
    pub wer_direct: Option<f64>,
    /// Pipeline wall time over audio time.
    pub rtf: f64,
    /// ASR inference time per utterance, median and 95th percentile.
    pub p50_ms: u64,
    pub p95_ms: u64,
    pub utterances: usize,
    pub words: usize,
    pub audio_s: f64,
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Runs one file through the pipeline (and directly, unless `direct` is off).
pub async fn bench_file(engines: &Arc<Engines>, item: &Item, direct: bool) -> Result<FileResult> {
    let path = item.audio.clone();
    let audio = tokio::task::spawn_blocking(move || audio::load_for_pipeline(&path, None))
        .await
        .map_err(crate::error::Error::internal)??;
    let audio_ms = audio.duration_ms();

    let (tx, mut rx) = mpsc::unbounded_channel();
    // Transcribed and understood, not answered: the ASR bench measures the listening half.
    let spec = CallSpec {
        call_id: format!("bench-{}", item.audio.display()),
        source: format!("file:{}", item.audio.display()),
        pacing: Pacing::Simulated,
        respond: false,
        greet: false,
        live: false,
        lang: None,
    };
    let started = Instant::now();
    run_file_call(engines.clone(), spec, audio.samples.clone(), tx).await?;
    let pipeline_ms = started.elapsed().as_millis() as u64;
    let mut parts = Vec::new();
    let mut asr_ms = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let EventKind::Transcript { is_final: true, text, start_ms, asr_ms: infer, .. } = ev.kind {
            parts.push((start_ms, text));
            asr_ms.push(infer);
        }
    }
    parts.sort_by_key(|(t, _)| *t);
    let hyp = parts.into_iter().map(|(_, t)| t).collect::<Vec<_>>().join(" ");
    let (errors, words) = word_errors(&item.text, &hyp);

    let (hyp_direct, errors_direct) = if direct {
        let r = engines.asr.transcribe("bench-direct", audio.samples, DecodeMode::WholeFile).await?;
        let (e, _) = word_errors(&item.text, &r.transcription.text);
        (Some(r.transcription.text), e)
    } else {
        (None, 0)
    };
    let rate = |e: usize| if words == 0 { 0.0 } else { round4(e as f64 / words as f64) };
    Ok(FileResult {
        file: item.audio.display().to_string(),
        reference: item.text.clone(),
        hyp,
        wer: rate(errors),
        wer_direct: hyp_direct.as_ref().map(|_| rate(errors_direct)),
        hyp_direct,
        errors,
        errors_direct,
        words,
        audio_ms,
        pipeline_ms,
        asr_ms,
    })
}

/// Corpus-level figures over every file.
pub fn summarize(results: &[FileResult], direct: bool) -> Summary {
    let words: usize = results.iter().map(|r| r.words).sum();
    let errors: usize = results.iter().map(|r| r.errors).sum();
    let errors_direct: usize = results.iter().map(|r| r.errors_direct).sum();
    let audio_ms: u64 = results.iter().map(|r| r.audio_ms).sum();
    let wall_ms: u64 = results.iter().map(|r| r.pipeline_ms).sum();
    let mut lat: Vec<u64> = results.iter().flat_map(|r| r.asr_ms.iter().copied()).collect();
    lat.sort_unstable();
    let rate = |e: usize| if words == 0 { 0.0 } else { round4(e as f64 / words as f64) };
    Summary {
        bench: "asr",
        n: results.len(),
        wer: rate(errors),
        wer_direct: direct.then(|| rate(errors_direct)),
        rtf: if audio_ms == 0 { 0.0 } else { round4(wall_ms as f64 / audio_ms as f64) },
        p50_ms: percentile(&lat, 0.50),
        p95_ms: percentile(&lat, 0.95),
        utterances: lat.len(),
        words,
        audio_s: audio_ms as f64 / 1000.0,
    }
}
