//! Text to speech behind one trait, with two engines: espeak-ng (built in, English and
//! Mandarin) and sherpa-onnx voices (Piper/VITS, Kokoro, Matcha) for the languages they speak.
//!
//! Synthesis runs on one thread that owns the engines (libespeak-ng has global state), one
//! sentence at a time, so the first sentence of a reply can play while the next is made.
//! Sentences already said are cached: a bot's fixed prompts are synthesised once.

pub mod espeak;
pub mod espeak_lib;
pub mod piper_import;
pub mod sentences;
pub mod sherpa;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::config::{TtsConfig, TtsEngineKind};
use crate::error::{Error, Result};

/// A speech synthesiser: text in one language to 16 kHz mono samples.
pub trait Synthesizer: Send {
    fn speaks(&self, lang: &str) -> bool;
    fn name(&self) -> String;
    fn synthesize(&mut self, text: &str, lang: &str) -> Result<Vec<f32>>;
}

/// Sentences kept in the cache.
const CACHE_ENTRIES: usize = 512;
/// Only sentences this short are cached: prompts, not one-off long answers.
const CACHE_MAX_CHARS: usize = 200;

type Audio = Arc<Vec<f32>>;

struct Job {
    text: String,
    lang: String,
    reply: oneshot::Sender<Result<Audio>>,
}

/// The TTS service shared by all calls.
pub struct Tts {
    jobs: std::sync::mpsc::Sender<Job>,
    cache: Arc<Mutex<HashMap<(String, String), Audio>>>,
    /// The engines, for /health and start-up messages.
    pub voices: Vec<String>,
}

impl Tts {
    /// Starts the engines the config asks for; a missing or broken voice is an error here.
    pub fn start(cfg: &TtsConfig) -> Result<Self> {
        let cfg = cfg.clone();
        let (jobs, rx) = std::sync::mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<Vec<String>>>();
        std::thread::Builder::new()
            .name("tts".into())
            .spawn(move || {
                let mut engines: Vec<Box<dyn Synthesizer>> = Vec::new();
                let made = (|| {
                    if cfg.engine == TtsEngineKind::Sherpa {
                        engines.push(Box::new(sherpa::SherpaVoice::load(&cfg.sherpa)?));
                    }
                    let voices = [("en", cfg.espeak_en.as_str()), ("zh", cfg.espeak_zh.as_str())];
                    engines.push(Box::new(espeak::Espeak::new(&voices, cfg.rate)?));
                    Ok(engines.iter().map(|e| e.name()).collect())
                })();
                let ok = made.is_ok();
                let _ = ready_tx.send(made);
                if !ok {
                    return;
                }
                while let Ok(job) = rx.recv() {
                    // The first engine that speaks the language; espeak, last, for the rest.
                    let i = engines.iter().position(|e| e.speaks(&job.lang)).unwrap_or(engines.len() - 1);
                    let _ = job.reply.send(engines[i].synthesize(&job.text, &job.lang).map(Arc::new));
                }
            })
            .map_err(|e| Error::internal(format!("cannot start the TTS thread: {e}")))?;
        let voices = ready_rx
            .recv()
            .map_err(|_| Error::internal("the TTS thread stopped while starting"))??;
        Ok(Self {
            jobs,
            cache: Arc::new(Mutex::new(HashMap::new())),
            voices,
        })
    }

    /// One sentence as 16 kHz mono, from the cache when it was said before.
    pub async fn sentence(&self, text: &str, lang: &str) -> Result<Audio> {
        let key = (lang.to_string(), text.to_string());
        if let Some(a) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(a.clone());
        }
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Job { text: text.to_string(), lang: lang.to_string(), reply: tx })
            .map_err(|_| Error::internal("the TTS thread has stopped"))?;
        let audio = rx.await.map_err(|_| Error::internal("the TTS thread has stopped"))??;
        if text.chars().count() <= CACHE_MAX_CHARS {
            let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if c.len() >= CACHE_ENTRIES {
                c.clear();
            }
            c.insert(key, audio.clone());
        }
        Ok(audio)
    }

    /// A whole text, sentence by sentence (for tests and tools; calls stream sentences).
    pub async fn say(&self, text: &str, lang: &str) -> Result<Vec<f32>> {
        let mut out = Vec::new();
        for s in sentences::split(text) {
            out.extend_from_slice(&self.sentence(&s, lang).await?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn rms(x: &[f32]) -> f32 {
        crate::audio::frame::rms(x)
    }

    #[tokio::test]
    async fn espeak_speaks_english_and_mandarin() {
        let tts = Tts::start(&Config::default().tts).unwrap();
        let en = tts.say("Your order has shipped.", "en").await.unwrap();
        let zh = tts.say("您的订单已经发货了。", "zh").await.unwrap();
        for a in [&en, &zh] {
            assert!(a.len() > 16_000 / 2, "{} samples", a.len());
            assert!(rms(a) > 0.02, "rms {}", rms(a));
        }
        // A second request for the same sentence comes from the cache, identical.
        let again = tts.say("Your order has shipped.", "en").await.unwrap();
        assert_eq!(again, en);
    }

    #[test]
    fn an_unknown_espeak_voice_is_a_start_up_error() {
        let mut cfg = Config::default().tts;
        cfg.espeak_en = "no-such-voice".into();
        let err = Tts::start(&cfg).err().unwrap();
        assert!(err.to_string().contains("no-such-voice"), "{err}");
    }
}
