//! Whisper speech recognition through whisper-rs: the model, loaded once per process, and the
//! decoding of one utterance on a worker's own state.
//!
//! Speed on short utterances comes from sizing Whisper's encoder to the utterance (`audio_ctx`)
//! instead of its 30 s window, with one segment and no timestamps. A shortened encoder is out of
//! the distribution Whisper was trained on and now and then loops, stops early or skips speech,
//! so each fast result is checked ([`looks_wrong`]) and, when in doubt, decoded again with the
//! full window. Accuracy is measured against the full decode by `voicegate bench asr`.

use std::collections::HashMap;
use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState};

use crate::audio::SAMPLE_RATE;
use crate::config::AudioCtx;
use crate::error::{Error, ModelError, Result};

/// Whisper's encoder positions per second of audio (1500 for its 30 s window).
const CTX_PER_SECOND: f64 = 50.0;
const FULL_AUDIO_CTX: i32 = 1500;
/// The shortest encoder used unless configured (`asr.min_audio_ctx`): 512 positions (about
/// 10 s) lost no words on the bench sets against 768 and decodes a short turn a third faster;
/// at 384 tiny.en starts to lose words and to be decoded twice.
pub const MIN_AUDIO_CTX: i32 = 512;
/// whisper.cpp ignores input shorter than one second; shorter utterances are padded to this.
const MIN_SAMPLES: usize = SAMPLE_RATE as usize * 11 / 10;
/// Speech rarely exceeds this many tokens a second; a fast decode that reaches the cap loops.
const TOKENS_PER_SECOND_CAP: f64 = 8.0;

/// A loaded Whisper model, shared by all workers.
pub struct WhisperModel {
    ctx: WhisperContext,
    pub path: PathBuf,
    pub multilingual: bool,
}

/// How to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeMode {
    /// One utterance from the VAD: a single segment, no timestamps, encoder sized to it.
    Utterance,
    /// A partial transcript while the caller speaks: as `Utterance`, but a result that looks
    /// wrong is not decoded again (the final transcript will be).
    Preview,
    /// A whole file with whisper.cpp's own 30 s windowing: the parity reference of `bench asr`.
    WholeFile,
}

/// Decoder settings that come from the config.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    pub threads: usize,
    pub audio_ctx: AudioCtx,
    /// The shortest encoder an utterance gets (positions of 1500; 50 a second of audio).
    pub min_audio_ctx: i32,
    pub language: String,
}

impl DecodeOptions {
    /// The configured decoder settings (`[asr]`), with `threads` for one decode.
    pub fn from_config(asr: &crate::config::AsrConfig, threads: usize) -> Self {
        Self {
            threads,
            audio_ctx: asr.audio_ctx,
            min_audio_ctx: asr.min_audio_ctx,
            language: asr.language.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Transcription {
    pub text: String,
    pub lang: String,
    pub infer_ms: u64,
    /// The fast decode looked wrong and the full window was used.
    pub redecoded: bool,
}

/// What one whisper.cpp run produced.
struct Decoded {
    text: String,
    tokens: usize,
    lang_id: i32,
}

impl WhisperModel {
    pub fn load(path: &Path) -> Result<Self> {
        whisper_rs::install_logging_hooks();
        let ctx = WhisperContext::new_with_params(path, WhisperContextParameters::default()).map_err(|e| {
            ModelError::Load {
                path: path.to_owned(),
                reason: format!("not a whisper.cpp ggml model ({e})"),
            }
        })?;
        let multilingual = ctx.is_multilingual();
        Ok(Self {
            ctx,
            path: path.to_owned(),
            multilingual,
        })
    }

    pub fn new_state(&self) -> Result<WhisperState> {
        self.ctx
            .create_state()
            .map_err(|e| Error::internal(format!("whisper state: {e}")))
    }

    /// Decodes 16 kHz mono `samples` on `state`; setting `cancel` stops the decode early.
    pub fn transcribe(
        &self,
        state: &mut WhisperState,
        samples: &[f32],
        mode: DecodeMode,
        opts: &DecodeOptions,
        cancel: Option<&AtomicBool>,
    ) -> Result<Transcription> {
        let started = Instant::now();
        let padded;
        let mut audio = samples;
        if audio.len() < MIN_SAMPLES {
            padded = [samples, &vec![0.0; MIN_SAMPLES - samples.len()]].concat();
            audio = &padded;
        }
        let language = if self.multilingual { opts.language.as_str() } else { "en" };
        let seconds = audio.len() as f64 / SAMPLE_RATE as f64;

        let mut redecoded = false;
        let decoded = match (mode, opts.audio_ctx) {
            (DecodeMode::WholeFile, _) => self.decode(state, audio, language, opts.threads, cancel, None)?,
            (DecodeMode::Utterance | DecodeMode::Preview, AudioCtx::Full) => {
                self.decode(state, audio, language, opts.threads, cancel, Some(Shortcut::full_window(audio.len())))?
            }
            (DecodeMode::Utterance | DecodeMode::Preview, AudioCtx::Auto) => {
                let fast = Shortcut::sized(audio.len(), opts.min_audio_ctx);
                let d = self.decode(state, audio, language, opts.threads, cancel, Some(fast))?;
                if mode == DecodeMode::Utterance && looks_wrong(&d.text, d.tokens, fast.max_tokens, seconds) {
                    tracing::debug!(text = %d.text, seconds, "fast decode looks wrong; decoding the full window");
                    redecoded = true;
                    self.decode(state, audio, language, opts.threads, cancel, Some(Shortcut::full_window(audio.len())))?
                } else {
                    d
                }
            }
        };
        let lang = if language == "auto" {
            whisper_rs::get_lang_str(decoded.lang_id).unwrap_or("und").to_owned()
        } else {
            language.to_owned()
        };
        Ok(Transcription {
            text: crate::nlu::script::simplified(&clean_text(&decoded.text)).into_owned(),
            lang,
            infer_ms: started.elapsed().as_millis() as u64,
            redecoded,
        })
    }

    /// One whisper.cpp run: whole-file defaults, or an utterance `shortcut`.
    fn decode(
        &self,
        state: &mut WhisperState,
        audio: &[f32],
        language: &str,
        threads: usize,
        cancel: Option<&AtomicBool>,
        shortcut: Option<Shortcut>,
    ) -> Result<Decoded> {
        // When a greedy decode fails whisper.cpp retries at higher temperatures with `best_of`
        // samples each. For utterances one sample keeps the worst case (speech the model cannot
        // understand) near a second with no loss on any bench set; the whole-file reference
        // keeps whisper.cpp's default of five.
        let best_of = if shortcut.is_some() { 1 } else { 5 };
        let mut p = params(language, threads, best_of);
        if let Some(s) = shortcut {
            // Each utterance stands alone: no prompt from earlier turns, one segment.
            p.set_no_context(true);
            p.set_single_segment(true);
            p.set_no_timestamps(true);
            p.set_audio_ctx(s.audio_ctx);
            p.set_max_tokens(s.max_tokens as i32);
        }
        if let Some(flag) = cancel {
            // SAFETY: the callback reads the AtomicBool behind the pointer, which the caller
            // keeps alive until `full` returns.
            unsafe {
                p.set_abort_callback(Some(abort_when_set));
                p.set_abort_callback_user_data(flag as *const AtomicBool as *mut c_void);
            }
        }
        state.full(p, audio).map_err(|e| {
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                Error::internal(CANCELLED)
            } else {
                Error::internal(format!("whisper decode: {e}"))
            }
        })?;
        let mut text = String::new();
        let mut tokens = 0;
        for seg in state.as_iter() {
            tokens += seg.n_tokens().max(0) as usize;
            if let Ok(s) = seg.to_str_lossy() {
                text.push_str(&s);
            }
        }
        Ok(Decoded {
            text,
            tokens,
            lang_id: state.full_lang_id_from_state(),
        })
    }
}

/// One piece of a transcript with where it was said: `t0_ms..t1_ms` from the start of the audio.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedToken {
    pub text: String,
    pub t0_ms: u64,
    pub t1_ms: u64,
}

impl WhisperModel {
    /// Decodes a whole 16 kHz recording (whisper.cpp's own 30 s windows) with a time for each
    /// token (whisper.cpp's token timestamps); special tokens are left out. Token texts joined
    /// are the transcript; a token may hold part of a multi-byte character, which the text of
    /// the token before or after completes.
    pub fn transcribe_timed(&self, state: &mut WhisperState, samples: &[f32], language: &str, threads: usize) -> Result<Vec<TimedToken>> {
        let language = if self.multilingual { language } else { "en" };
        let mut p = params(language, threads, 5);
        p.set_token_timestamps(true);
        state.full(p, samples).map_err(|e| Error::internal(format!("whisper decode: {e}")))?;
        let eot = self.ctx.token_eot();
        let mut bytes: Vec<(Vec<u8>, u64, u64)> = Vec::new();
        for seg in state.as_iter() {
            for i in 0..seg.n_tokens() {
                let Some(tok) = seg.get_token(i) else { continue };
                let data = tok.token_data();
                if data.id >= eot {
                    continue;
                }
                let text = tok.to_bytes().map(<[u8]>::to_vec).unwrap_or_default();
                // Centiseconds.
                bytes.push((text, data.t0.max(0) as u64 * 10, data.t1.max(0) as u64 * 10));
            }
        }
        Ok(whole_chars(bytes))
    }
}

/// Greedy decoding in `language` on `threads`, printing nothing, blanks and non-speech
/// tokens suppressed.
fn params(language: &str, threads: usize, best_of: i32) -> FullParams<'_, '_> {
    let mut p = FullParams::new(SamplingStrategy::Greedy { best_of });
    p.set_n_threads(threads.max(1) as i32);
    p.set_language(Some(language));
    p.set_translate(false);
    p.set_print_special(false);
    p.set_print_progress(false);
    p.set_print_realtime(false);
    p.set_print_timestamps(false);
    p.set_suppress_blank(true);
    p.set_suppress_nst(true);
    p
}

/// Tokens' bytes as text: a token ending inside a character carries its bytes on to the next
/// (whose time then starts at the first part's).
fn whole_chars(tokens: Vec<(Vec<u8>, u64, u64)>) -> Vec<TimedToken> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut carry: Option<(Vec<u8>, u64)> = None;
    for (bytes, t0, t1) in tokens {
        let (mut joined, start) = match carry.take() {
            Some((mut b, s)) => {
                b.extend(bytes);
                (b, s)
            }
            None => (bytes, t0),
        };
        match String::from_utf8(std::mem::take(&mut joined)) {
            Ok(text) => out.push(TimedToken { text, t0_ms: start, t1_ms: t1.max(start) }),
            Err(e) if e.utf8_error().error_len().is_none() => carry = Some((e.into_bytes(), start)),
            Err(e) => out.push(TimedToken { text: String::from_utf8_lossy(e.as_bytes()).into_owned(), t0_ms: start, t1_ms: t1.max(start) }),
        }
    }
    if let Some((b, s)) = carry {
        out.push(TimedToken { text: String::from_utf8_lossy(&b).into_owned(), t0_ms: s, t1_ms: s });
    }
    out
}

/// The reason given for a decode stopped on request.
pub const CANCELLED: &str = "transcription cancelled";

unsafe extern "C" fn abort_when_set(flag: *mut c_void) -> bool {
    // SAFETY: `decode` passes a pointer to an AtomicBool that outlives the decode.
    unsafe { (*(flag as *const AtomicBool)).load(Ordering::Relaxed) }
}

/// The utterance settings of one decode: encoder size and token cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shortcut {
    audio_ctx: i32,
    max_tokens: usize,
}

impl Shortcut {
    fn sized(samples: usize, min_audio_ctx: i32) -> Self {
        let seconds = samples as f64 / SAMPLE_RATE as f64;
        Self {
            audio_ctx: audio_ctx_for(samples, min_audio_ctx),
            max_tokens: (seconds * TOKENS_PER_SECOND_CAP).ceil() as usize + 16,
        }
    }

    /// The whole 30 s window, with the same cap on runaway output.
    fn full_window(samples: usize) -> Self {
        Self {
            audio_ctx: FULL_AUDIO_CTX,
            ..Self::sized(samples, FULL_AUDIO_CTX)
        }
    }
}

/// The encoder context for `n` samples: the audio plus a margin, rounded up to a multiple of
/// 64, at least `min` (and at most the whole window).
pub fn audio_ctx_for(n: usize, min: i32) -> i32 {
    let needed = (n as f64 / SAMPLE_RATE as f64 * CTX_PER_SECOND).ceil() as i32 + 64;
    (((needed + 63) / 64) * 64).clamp(min.min(FULL_AUDIO_CTX), FULL_AUDIO_CTX)
}

/// Signs that a decode with a shortened encoder went wrong: it ran into the token cap, it
/// repeats itself, or it has far too few words for the speech (a skipped stretch).
pub fn looks_wrong(text: &str, tokens: usize, token_cap: usize, seconds: f64) -> bool {
    if token_cap > 0 && tokens >= token_cap {
        return true;
    }
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    if repeats(&words) {
        return true;
    }
    // Callers speak two to three words a second; a long utterance with very few words lost
    // some. (Chinese has no spaces: count its characters as words.)
    let units = words.len().max(text.chars().filter(|c| *c as u32 >= 0x3400).count());
    seconds > 6.0 && (units as f64) < seconds * 0.6
}

/// Whether a phrase loops: some two words occur three times, or some four words twice. (A false
/// alarm only costs a second decode.)
fn repeats(words: &[String]) -> bool {
    let count = |n: usize, times: usize| {
        let mut seen: HashMap<&[String], usize> = HashMap::new();
        words.windows(n).any(|w| {
            let c = seen.entry(w).or_default();
            *c += 1;
            *c >= times
        })
    };
    count(2, 3) || count(4, 2)
}

/// Whisper's text without its non-speech annotations ("[BLANK_AUDIO]", "(music)") and with
/// single spaces.
pub fn clean_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut depth = 0u32;
    for ch in raw.chars() {
        match ch {
            '[' | '(' => depth += 1,
            ']' | ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(ch),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_ctx_covers_the_utterance() {
        assert_eq!(audio_ctx_for(16_000, MIN_AUDIO_CTX), MIN_AUDIO_CTX);
        assert_eq!(audio_ctx_for(16_000 * 20, MIN_AUDIO_CTX), 1088); // 1000 + 64 -> 1088
        assert_eq!(audio_ctx_for(16_000 * 40, MIN_AUDIO_CTX), 1500);
        // A smaller floor: a 3 s turn gets 150 + 64 positions, rounded up to 256.
        assert_eq!(audio_ctx_for(16_000 * 3, 128), 256);
        assert_eq!(audio_ctx_for(16_000, 4000), 1500);
        for secs in 1..30 {
            assert!(audio_ctx_for(16_000 * secs, 64) as f64 >= secs as f64 * 50.0);
        }
    }

    #[test]
    fn loops_are_caught() {
        let looped = "Stuffered into you, his belly, counseled him. Stuffered into you, his belly, counseled him.";
        assert!(looks_wrong(looped, 30, 100, 3.0));
        assert!(looks_wrong("He could wait no longer. He could wait no longer.", 12, 100, 3.0));
        assert!(looks_wrong("press one press one press one", 8, 100, 2.0));
    }

    #[test]
    fn hitting_the_token_cap_is_caught() {
        assert!(looks_wrong("the the the", 40, 40, 3.0));
        assert!(!looks_wrong("the cat sat", 5, 40, 3.0));
    }

    #[test]
    fn a_long_utterance_with_few_words_is_caught() {
        assert!(looks_wrong("For a company directory press 4, for an operator press 0.", 18, 400, 25.0));
        assert!(!looks_wrong("Please press 1 to mute or unmute yourself, 2 to lock or unlock the conference.", 20, 400, 7.0));
    }

    #[test]
    fn ordinary_speech_passes() {
        let ok = "Hello, I ordered a pair of running shoes two weeks ago and they still have not arrived. \
                  The tracking page says the parcel left the warehouse on Monday.";
        assert!(!looks_wrong(ok, 45, 200, 9.0));
        assert!(!looks_wrong("我的订单到哪里了？订单号是四八一五二。", 20, 100, 4.0));
    }

    #[test]
    fn a_character_split_over_tokens_is_joined() {
        let han = "中".as_bytes();
        let toks = vec![(b" call".to_vec(), 0, 40), (han[..2].to_vec(), 50, 60), (han[2..].to_vec(), 60, 80), (b"!".to_vec(), 80, 90)];
        let out = whole_chars(toks);
        let texts: Vec<&str> = out.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, [" call", "中", "!"]);
        assert_eq!((out[1].t0_ms, out[1].t1_ms), (50, 80));
    }

    #[test]
    fn annotations_are_removed() {
        assert_eq!(clean_text(" [BLANK_AUDIO]"), "");
        assert_eq!(clean_text(" Hello (upbeat music) there.  "), "Hello there.");
        assert_eq!(clean_text(" Where is my order?"), "Where is my order?");
    }
}
