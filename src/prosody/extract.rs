//! The statistics of every clip of a set of corpora, clean and as heard over a phone line,
//! computed once for training and evaluating the anger model.

use std::time::Instant;

use crate::audio::{g711, resample::resample, SAMPLE_RATE};
use crate::error::Result;
use crate::prosody::corpus::Clip;
use crate::prosody::stats::UtteranceStats;
use crate::prosody::utterance_stats;

/// The statistics of every clip, clean and as heard over a phone line (8 kHz, G.711 µ-law).
#[derive(Debug, Clone)]
pub struct Extracted {
    pub clips: Vec<Clip>,
    pub clean: Vec<Option<UtteranceStats>>,
    pub phone: Vec<Option<UtteranceStats>>,
    /// Seconds of audio analysed and CPU seconds it took (one thread), for the cost per call.
    pub audio_s: f64,
    pub analysis_s: f64,
}

/// 16 kHz audio as it arrives from a phone call: down to 8 kHz, through µ-law, back up.
pub fn telephone(samples: &[f32]) -> Result<Vec<f32>> {
    let narrow = resample(samples, SAMPLE_RATE, 8000)?;
    let line: Vec<f32> = narrow.iter().map(|x| g711::ulaw_decode(g711::ulaw_encode(*x))).collect();
    resample(&line, 8000, SAMPLE_RATE)
}

/// Decodes and analyses every clip on two threads, with a progress bar on stderr.
pub fn extract(clips: Vec<Clip>, progress: bool) -> Result<Extracted> {
    let bar = if progress { indicatif::ProgressBar::new(clips.len() as u64) } else { indicatif::ProgressBar::hidden() };
    bar.set_style(
        indicatif::ProgressStyle::with_template("  prosody {bar:30} {pos}/{len} clips {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    type One = Result<(Option<UtteranceStats>, Option<UtteranceStats>, f64, f64)>;
    let work = |clip: &Clip| -> One {
        let audio = crate::audio::load_for_pipeline(&clip.path, None)?;
        let phone = telephone(&audio.samples)?;
        let t = Instant::now();
        let clean = utterance_stats(&audio.samples);
        let analysis = t.elapsed().as_secs_f64();
        let phoned = utterance_stats(&phone);
        Ok((clean, phoned, audio.samples.len() as f64 / SAMPLE_RATE as f64, analysis))
    };
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 4);
    let results: Vec<One> = std::thread::scope(|s| {
        let chunks: Vec<_> = (0..threads)
            .map(|k| {
                let clips = &clips;
                let bar = &bar;
                s.spawn(move || {
                    (k..clips.len())
                        .step_by(threads)
                        .map(|i| {
                            let r = work(&clips[i]);
                            bar.inc(1);
                            (i, r)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, One)> = chunks.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect();
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, r)| r).collect()
    });
    bar.finish_and_clear();
    let mut out = Extracted { clips, clean: Vec::new(), phone: Vec::new(), audio_s: 0.0, analysis_s: 0.0 };
    for r in results {
        let (c, p, a, t) = r?;
        out.clean.push(c);
        out.phone.push(p);
        out.audio_s += a;
        out.analysis_s += t;
    }
    if out.clean.len() != out.clips.len() {
        return Err(crate::error::Error::internal("a prosody worker stopped"));
    }
    Ok(out)
}

/// One labelled utterance of a speaker.
#[derive(Debug, Clone)]
pub struct Item<'a> {
    pub speaker: &'a str,
    pub corpus: &'a str,
    pub class: usize,
    /// Heard through the 8 kHz line (false: the clean 16 kHz clip).
    pub phone: bool,
    pub stats: &'a UtteranceStats,
}

/// The usable utterances of `data` (clean or telephone), of the clips `keep` accepts.
pub fn items<'a>(data: &'a Extracted, phone: bool, keep: &dyn Fn(&Clip) -> bool) -> Vec<Item<'a>> {
    let stats = if phone { &data.phone } else { &data.clean };
    data.clips
        .iter()
        .zip(stats)
        .filter(|(c, _)| keep(c))
        .filter_map(|(c, s)| s.as_ref().map(|s| Item { speaker: &c.speaker, corpus: &c.corpus, class: c.class, phone, stats: s }))
        .collect()
}

/// Both lines' utterances of the clips `keep` accepts: what a model is trained on.
pub fn both_lines<'a>(data: &'a Extracted, keep: &dyn Fn(&Clip) -> bool) -> Vec<Item<'a>> {
    items(data, false, keep).into_iter().chain(items(data, true, keep)).collect()
}
