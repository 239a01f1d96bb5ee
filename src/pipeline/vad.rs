//! Silero VAD through sherpa-rs, one detector per call (the model keeps per-stream state),
//! made ahead of the calls by [`VadSpares`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use sherpa_rs::silero_vad::{SileroVad, SileroVadConfig};

use crate::audio::frame::{rms, samples_to_ms};
use crate::audio::SAMPLE_RATE;
use crate::config::VadConfig;
use crate::error::{Error, ModelError, Result};

/// Speech found by the VAD, in call-relative milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeechSpan {
    pub start_ms: u64,
    pub end_ms: u64,
}

/// What the detector saw after one frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VadStep {
    /// The VAD hears speech now (for at least [`ONSET_MS`]).
    pub active: bool,
    /// Stretches of speech that just ended (followed by `min_silence_ms` of silence).
    pub finished: Vec<SpeechSpan>,
    /// The frame just fed is well above the line's quiet level while the VAD hears no speech:
    /// speech may be starting that the VAD confirms only [`ONSET_MS`] later.
    pub sound: bool,
}

pub struct VoiceDetector {
    vad: SileroVad,
    quiet: QuietLevel,
}

/// How loud the line is while nobody speaks, and whether a frame stands out from it.
#[derive(Debug, Clone, Copy, Default)]
pub struct QuietLevel {
    /// RMS of the quiet, None before the first frame without speech.
    floor: Option<f32>,
}

/// A frame this many times the quiet level's RMS (12 dB) is sound.
const SOUND_OVER_QUIET: f32 = 4.0;
/// Nor is anything quieter than this (-50 dBFS) sound, however quiet the line.
const SOUND_MIN_RMS: f32 = 0.003;

impl QuietLevel {
    /// Takes in the RMS of the next frame (`speech`: the VAD hears speech) and says whether it
    /// is sound. The level follows the quiet down at once and up slowly (a fiftieth of the way
    /// a frame), and not during speech.
    pub fn observe(&mut self, rms: f32, speech: bool) -> bool {
        let sound = self.floor.is_some_and(|f| rms > (f * SOUND_OVER_QUIET).max(SOUND_MIN_RMS));
        if !speech {
            self.floor = Some(match self.floor {
                Some(f) if rms > f => f + (rms - f) * 0.02,
                _ => rms,
            });
        }
        sound && !speech
    }
}

/// Speech the VAD itself needs before it reports activity: one 32 ms window. Short, so that new
/// speech inside a pause is seen at once; the caller-level minimum (`vad.min_speech_ms`, which
/// keeps coughs out) is applied by the utterance segmenter.
const CONFIRM_S: f32 = 0.032;
/// How long after speech begins the VAD reports it active: two windows, and up to a frame
/// more until the next 20 ms frame is fed.
pub const ONSET_MS: u64 = 80;

/// Checked once per process: sherpa-onnx hands back a null detector (and later crashes) on a
/// missing or foreign model, so the file is verified before any detector is made from it.
pub fn check_model(path: &Path) -> Result<PathBuf> {
    let meta = std::fs::metadata(path).map_err(|e| ModelError::Load {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    if !meta.is_file() || meta.len() < 1024 {
        return Err(ModelError::Load {
            path: path.to_owned(),
            reason: "not an ONNX model".into(),
        }
        .into());
    }
    let mut head = [0u8; 2];
    use std::io::Read;
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map_err(|e| ModelError::Load { path: path.to_owned(), reason: e.to_string() })?;
    // An ONNX file is a protobuf ModelProto, which begins with field 1 (ir_version, varint).
    if head[0] != 0x08 {
        return Err(ModelError::Load {
            path: path.to_owned(),
            reason: "not an ONNX model (bad header)".into(),
        }
        .into());
    }
    Ok(path.to_owned())
}

impl VoiceDetector {
    /// A detector on a model file already passed through [`check_model`].
    pub fn new(model: &Path, cfg: &VadConfig) -> Result<Self> {
        let config = SileroVadConfig {
            model: model.to_string_lossy().into_owned(),
            threshold: cfg.threshold,
            min_silence_duration: cfg.min_silence_ms as f32 / 1000.0,
            min_speech_duration: CONFIRM_S,
            // Long turns are cut by the utterance segmenter; this only bounds the VAD buffer.
            max_speech_duration: cfg.max_utterance_ms as f32 / 1000.0 + 1.0,
            sample_rate: SAMPLE_RATE,
            window_size: 512,
            provider: None,
            num_threads: Some(1),
            debug: false,
        };
        let buffer_s = cfg.max_utterance_ms as f32 / 1000.0 + 5.0;
        let vad = SileroVad::new(config, buffer_s).map_err(|e| Error::internal(format!("silero VAD: {e}")))?;
        Ok(Self { vad, quiet: QuietLevel::default() })
    }

    /// Feeds the next 16 kHz samples (any length; the VAD windows them itself).
    pub fn push(&mut self, samples: &[f32]) -> VadStep {
        self.vad.accept_waveform(samples.to_vec());
        let active = self.vad.is_speech();
        let mut step = VadStep {
            active,
            finished: Vec::new(),
            sound: self.quiet.observe(rms(samples), active),
        };
        self.drain(&mut step.finished);
        step
    }

    /// Ends the stream: speech still open becomes a finished span.
    pub fn flush(&mut self) -> Vec<SpeechSpan> {
        self.vad.flush();
        let mut spans = Vec::new();
        self.drain(&mut spans);
        spans
    }

    fn drain(&mut self, out: &mut Vec<SpeechSpan>) {
        while !self.vad.is_empty() {
            let seg = self.vad.front();
            self.vad.pop();
            let start = seg.start.max(0) as usize;
            out.push(SpeechSpan {
                start_ms: samples_to_ms(start),
                end_ms: samples_to_ms(start + seg.samples.len()),
            });
        }
    }
}

/// Voice detectors made ahead of the calls that need them. Making one loads an ONNX session:
/// about 120 ms of CPU, which a new call's first frames should not wait for, nor the threads
/// that pace the other calls' audio spend. Once [`VadSpares::keep_ready`] is called (by the
/// gateway; a replay has no use for it) a thread at a low CPU priority keeps a few ready.
pub struct VadSpares {
    shared: Arc<Spares>,
    maker: Mutex<Option<std::thread::JoinHandle<()>>>,
}

struct Spares {
    ready: Mutex<Vec<VoiceDetector>>,
    /// Signalled when a spare is taken, and on close.
    taken: Condvar,
    closed: AtomicBool,
    model: PathBuf,
    config: VadConfig,
}

impl Spares {
    fn lock(&self) -> MutexGuard<'_, Vec<VoiceDetector>> {
        self.ready.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes a detector whenever fewer than `keep` are ready, until closed.
    fn make(&self, keep: usize) {
        loop {
            let ready = self.lock();
            let ready = self.taken.wait_while(ready, |r| r.len() >= keep && !self.closed.load(Ordering::SeqCst)).unwrap_or_else(|p| p.into_inner());
            drop(ready);
            if self.closed.load(Ordering::SeqCst) {
                return;
            }
            match VoiceDetector::new(&self.model, &self.config) {
                Ok(v) => self.lock().push(v),
                Err(e) => {
                    // Calls make their own then (and report the error themselves).
                    tracing::warn!("cannot make a spare voice detector: {e}");
                    return;
                }
            }
        }
    }
}

impl VadSpares {
    /// Holds `first` for the first call; more are made only once asked to keep some ready.
    pub fn new(first: VoiceDetector, model: &Path, config: &VadConfig) -> Self {
        let shared = Arc::new(Spares {
            ready: Mutex::new(vec![first]),
            taken: Condvar::new(),
            closed: AtomicBool::new(false),
            model: model.to_owned(),
            config: config.clone(),
        });
        Self { shared, maker: Mutex::new(None) }
    }

    /// From now on keeps `keep` detectors ready, made `nice` CPU priority steps under the
    /// gateway's. Once: later calls change nothing.
    pub fn keep_ready(&self, keep: usize, nice: i32) -> Result<()> {
        let mut maker = self.maker.lock().unwrap_or_else(|p| p.into_inner());
        if maker.is_some() || keep == 0 {
            return Ok(());
        }
        let s = self.shared.clone();
        let h = std::thread::Builder::new()
            .name("vad-spares".into())
            .spawn(move || {
                crate::pipeline::asr_pool::lower_thread_priority(nice);
                s.make(keep);
            })
            .map_err(|e| Error::internal(format!("cannot start the VAD spares thread: {e}")))?;
        *maker = Some(h);
        Ok(())
    }

    /// A fresh detector for one call: a spare when one is ready, else made now.
    pub fn take(&self) -> Result<VoiceDetector> {
        let spare = self.shared.lock().pop();
        self.shared.taken.notify_all();
        match spare {
            Some(v) => Ok(v),
            None => VoiceDetector::new(&self.shared.model, &self.shared.config),
        }
    }

    /// Detectors ready now.
    pub fn ready(&self) -> usize {
        self.shared.lock().len()
    }
}

impl Drop for VadSpares {
    /// Stops the maker and waits for the detector it may be making: ONNX Runtime must not be
    /// torn down at exit beneath it.
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.taken.notify_all();
        if let Some(h) = self.maker.get_mut().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_frame_well_above_the_quiet_is_sound() {
        let mut q = QuietLevel::default();
        // Nothing to compare the first frame with.
        assert!(!q.observe(0.5, false));
        let mut q = QuietLevel::default();
        for _ in 0..50 {
            assert!(!q.observe(0.002, false), "line noise is not sound");
        }
        // Louder than -50 dBFS and 12 dB over the quiet: sound, until the VAD calls it speech.
        assert!(q.observe(0.05, false));
        assert!(!q.observe(0.05, true));
        // The quiet level is not raised by speech, and back in the quiet a breath is not sound.
        assert!(q.observe(0.05, false));
        assert!(!q.observe(0.004, false));
        // On a noisy line the level follows the noise up.
        let mut q = QuietLevel::default();
        q.observe(0.001, false);
        let loud_noise = (0..300).map(|_| q.observe(0.02, false)).filter(|s| *s).count();
        assert!(loud_noise < 20, "noise counted as sound in {loud_noise} of 300 frames");
        assert!(!q.observe(0.02, false));
    }

    use super::*;
    use std::time::{Duration, Instant};

    fn model() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/models/silero_vad.onnx")
    }

    fn wait_for(spares: &VadSpares, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while spares.ready() < n {
            assert!(Instant::now() < deadline, "only {} spare detectors after 20 s", spares.ready());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn spares_are_kept_ready_and_each_hears_speech() {
        let config = crate::config::Config::default().vad;
        let first = VoiceDetector::new(&model(), &config).expect("the Silero model in ../shared/models (make setup)");
        let spares = VadSpares::new(first, &model(), &config);
        assert_eq!(spares.ready(), 1, "only the first detector until asked to keep some ready");
        spares.keep_ready(2, 0).unwrap();
        wait_for(&spares, 2);
        // More taken than kept: the last one is made on the spot.
        let mut taken: Vec<VoiceDetector> = (0..3).map(|_| spares.take().unwrap()).collect();
        wait_for(&spares, 2);
        let speech = crate::audio::load_for_pipeline(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/audio-fixtures/en_order_status.wav")), None).unwrap();
        for v in &mut taken {
            let mut spans = Vec::new();
            for chunk in speech.samples.chunks(320) {
                spans.extend(v.push(chunk).finished);
            }
            spans.extend(v.flush());
            // Each detector starts fresh: the speech is found at the same place by all.
            assert!(!spans.is_empty(), "a detector heard no speech in the fixture");
            assert!(spans[0].start_ms < 1000, "speech found at {} ms", spans[0].start_ms);
        }
    }
}
