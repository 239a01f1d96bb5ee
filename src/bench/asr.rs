//! `voicegate bench asr`: word error rate (English) or character error rate (Chinese) and speed
//! of the replay pipeline over a dataset, next to the same model decoding each whole file
//! directly (the parity reference: segmenting by VAD must not cost accuracy). Each file is
//! transcribed in its language (the layout's, else the reference's script) by the recogniser the
//! gateway uses for it, or, with `--lang auto`, in the language the pipeline identifies.

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

/// The language a file is in, for scoring: the layout's, else Chinese when its reference is
/// written in Chinese characters, else English.
pub fn expected_lang(item: &Item) -> String {
    item.lang.clone().unwrap_or_else(|| if item.text.chars().any(crate::nlu::text::is_cjk) { "zh" } else { "en" }.to_string())
}

/// One file's result: Chinese is scored per character (`cer`), other languages per word (`wer`).
#[derive(Debug, Clone, Serialize)]
pub struct FileResult {
    pub file: String,
    /// The file's language (see [`expected_lang`]).
    pub lang: String,
    /// The language the pipeline transcribed it in (the identified one with `--lang auto`).
    pub lang_heard: String,
    pub reference: String,
    pub hyp: String,
    pub hyp_direct: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wer: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wer_direct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cer: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cer_direct: Option<f64>,
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
    /// Word error rate over the English (non-Chinese) files; null when there were none.
    pub wer: Option<f64>,
    pub wer_direct: Option<f64>,
    /// Character error rate over the Chinese files; null when there were none.
    pub cer: Option<f64>,
    pub cer_direct: Option<f64>,
    /// Files per language heard.
    pub langs: std::collections::BTreeMap<String, usize>,
    /// Files transcribed in their own language (all of them unless the language was identified).
    pub lang_right: usize,
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

/// Runs one file through the pipeline (and directly, unless `direct` is off); `identify`: the
/// pipeline is not told the language and identifies it.
pub async fn bench_file(engines: &Arc<Engines>, item: &Item, direct: bool, identify: bool) -> Result<FileResult> {
    let lang = expected_lang(item);
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
        lang: (!identify && lang != "en").then(|| lang.clone()),
        recorded_early_ends: None,
    };
    let started = Instant::now();
    run_file_call(engines.clone(), spec, audio.samples.clone(), tx).await?;
    let pipeline_ms = started.elapsed().as_millis() as u64;
    let mut parts = Vec::new();
    let mut asr_ms = Vec::new();
    let mut heard = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let EventKind::Transcript { is_final: true, text, start_ms, asr_ms: infer, lang: l, .. } = ev.kind {
            parts.push((start_ms, text));
            asr_ms.push(infer);
            heard.push(l);
        }
    }
    // The language of most of its transcripts (the file's own when nothing was heard).
    heard.sort();
    let lang_heard = heard.chunk_by(|a, b| a == b).max_by_key(|g| g.len()).and_then(|g| g.first().cloned()).unwrap_or_else(|| lang.clone());
    parts.sort_by_key(|(t, _)| *t);
    let hyp = parts.into_iter().map(|(_, t)| t).collect::<Vec<_>>().join(" ");
    let (errors, words) = word_errors(&item.text, &hyp);

    let (hyp_direct, errors_direct) = if direct {
        let r = engines.asr_for(&lang_heard).transcribe("bench-direct", audio.samples, DecodeMode::WholeFile).await?;
        let (e, _) = word_errors(&item.text, &r.transcription.text);
        (Some(r.transcription.text), e)
    } else {
        (None, 0)
    };
    let rate = |e: usize| if words == 0 { 0.0 } else { round4(e as f64 / words as f64) };
    let chinese = lang == "zh";
    let (own, direct_rate) = (Some(rate(errors)), hyp_direct.as_ref().map(|_| rate(errors_direct)));
    Ok(FileResult {
        file: item.audio.display().to_string(),
        lang,
        lang_heard,
        reference: item.text.clone(),
        hyp,
        wer: if chinese { None } else { own },
        wer_direct: if chinese { None } else { direct_rate },
        cer: if chinese { own } else { None },
        cer_direct: if chinese { direct_rate } else { None },
        hyp_direct,
        errors,
        errors_direct,
        words,
        audio_ms,
        pipeline_ms,
        asr_ms,
    })
}

/// Corpus-level figures over every file: words of the English files, characters of the
/// Chinese ones.
pub fn summarize(results: &[FileResult], direct: bool) -> Summary {
    let (chinese, other): (Vec<&FileResult>, Vec<&FileResult>) = results.iter().partition(|r| r.lang == "zh");
    let rate = |files: &[&FileResult], errors: fn(&FileResult) -> usize| {
        let n: usize = files.iter().map(|r| r.words).sum();
        let e: usize = files.iter().map(|r| errors(r)).sum();
        (!files.is_empty()).then(|| if n == 0 { 0.0 } else { round4(e as f64 / n as f64) })
    };
    let mut langs = std::collections::BTreeMap::new();
    for r in results {
        *langs.entry(r.lang_heard.clone()).or_insert(0) += 1;
    }
    let words: usize = results.iter().map(|r| r.words).sum();
    let audio_ms: u64 = results.iter().map(|r| r.audio_ms).sum();
    let wall_ms: u64 = results.iter().map(|r| r.pipeline_ms).sum();
    let mut lat: Vec<u64> = results.iter().flat_map(|r| r.asr_ms.iter().copied()).collect();
    lat.sort_unstable();
    Summary {
        bench: "asr",
        n: results.len(),
        wer: rate(&other, |r| r.errors),
        wer_direct: if direct { rate(&other, |r| r.errors_direct) } else { None },
        cer: rate(&chinese, |r| r.errors),
        cer_direct: if direct { rate(&chinese, |r| r.errors_direct) } else { None },
        langs,
        lang_right: results.iter().filter(|r| r.lang_heard == r.lang).count(),
        rtf: if audio_ms == 0 { 0.0 } else { round4(wall_ms as f64 / audio_ms as f64) },
        p50_ms: percentile(&lat, 0.50),
        p95_ms: percentile(&lat, 0.95),
        utterances: lat.len(),
        words,
        audio_s: audio_ms as f64 / 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(lang: &str, heard: &str, errors: usize, words: usize) -> FileResult {
        let rate = Some(errors as f64 / words as f64);
        let zh = lang == "zh";
        FileResult {
            file: format!("{lang}.wav"),
            lang: lang.into(),
            lang_heard: heard.into(),
            reference: String::new(),
            hyp: String::new(),
            hyp_direct: None,
            wer: if zh { None } else { rate },
            wer_direct: None,
            cer: if zh { rate } else { None },
            cer_direct: None,
            errors,
            errors_direct: 0,
            words,
            audio_ms: 1000,
            pipeline_ms: 500,
            asr_ms: vec![100],
        }
    }

    #[test]
    fn chinese_is_scored_apart_per_character_and_the_language_heard_is_counted() {
        let item = |text: &str, lang: Option<&str>| Item { audio: "a.wav".into(), text: text.into(), lang: lang.map(str::to_string) };
        assert_eq!(expected_lang(&item("换一首歌", None)), "zh");
        assert_eq!(expected_lang(&item("change the song", None)), "en");
        assert_eq!(expected_lang(&item("换一首歌", Some("en"))), "en");
        // English 1 error in 10 words and 3 in 10; Chinese 2 in 20 characters, one file of which
        // was heard as English.
        let s = summarize(&[result("en", "en", 1, 10), result("en", "en", 3, 10), result("zh", "zh", 0, 10), result("zh", "en", 2, 10)], false);
        assert_eq!((s.wer, s.cer), (Some(0.2), Some(0.1)));
        assert_eq!(s.langs.get("en"), Some(&3));
        assert_eq!(s.langs.get("zh"), Some(&1));
        assert_eq!(s.lang_right, 3);
        let english_only = summarize(&[result("en", "en", 1, 10)], false);
        assert_eq!(english_only.cer, None);
    }
}
