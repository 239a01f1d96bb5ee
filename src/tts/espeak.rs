//! espeak-ng through libespeak-ng: English and Mandarin voices, built in, fast.
//!
//! libespeak-ng keeps one global synthesiser, so every call goes through one lock, and the
//! library is opened (`espeak_lib`, kept apart from sherpa-onnx's own espeak-ng) and
//! initialised once per process.

use std::cell::RefCell;
use std::ffi::CString;
use std::os::raw::{c_int, c_short, c_void};
use std::sync::{Mutex, OnceLock};

use super::espeak_lib::{self as sys, EspeakLib};

use crate::audio::resample::resample;
use crate::audio::SAMPLE_RATE;
use crate::error::{Error, Result};
use crate::tts::Synthesizer;

/// The library and its sample rate once initialised, or why it could not be.
static LIBRARY: OnceLock<std::result::Result<(EspeakLib, u32), String>> = OnceLock::new();
static LOCK: Mutex<()> = Mutex::new(());

thread_local! {
    /// Samples handed to the callback during the current synthesis (the callback runs on the
    /// calling thread in synchronous mode).
    static SAMPLES: RefCell<Vec<i16>> = const { RefCell::new(Vec::new()) };
}

unsafe extern "C" fn collect(wav: *mut c_short, n: c_int, _events: *mut c_void) -> c_int {
    if !wav.is_null() && n > 0 {
        // SAFETY: libespeak-ng passes `n` valid samples at `wav` for the length of the call.
        let chunk = unsafe { std::slice::from_raw_parts(wav, n as usize) };
        SAMPLES.with(|s| s.borrow_mut().extend_from_slice(chunk));
    }
    0
}

fn library() -> std::result::Result<&'static (EspeakLib, u32), String> {
    LIBRARY
        .get_or_init(|| {
            let lib = EspeakLib::open()?;
            // SAFETY: called once, before any other libespeak-ng function.
            let rate = unsafe { (lib.initialize)(sys::AUDIO_OUTPUT_SYNCHRONOUS, 0, std::ptr::null(), 0) };
            if rate <= 0 {
                return Err("libespeak-ng could not start (is the espeak-ng-data package installed?)".into());
            }
            // SAFETY: `collect` has the callback's signature and lives for the whole program.
            unsafe { (lib.set_synth_callback)(Some(collect)) };
            Ok((lib, rate as u32))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// An espeak-ng voice per language.
pub struct Espeak {
    voices: Vec<(String, CString)>,
    rate: u32,
    sample_rate: u32,
}

impl Espeak {
    /// Checks that the library starts and that every voice exists.
    pub fn new(voices: &[(&str, &str)], rate: u32) -> Result<Self> {
        let (lib, sample_rate) = library().map_err(Error::Config)?;
        let sample_rate = *sample_rate;
        let _g = LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for (lang, name) in voices {
            let c = CString::new(*name).map_err(|_| Error::Config(format!("tts: bad espeak voice name {name:?}")))?;
            // SAFETY: the library is initialised and `c` is a valid C string.
            if unsafe { (lib.set_voice_by_name)(c.as_ptr()) } != sys::EE_OK {
                return Err(Error::Config(format!(
                    "tts.espeak_{lang}: espeak-ng has no voice {name:?} (`espeak-ng --voices` lists them)"
                )));
            }
            out.push((lang.to_string(), c));
        }
        Ok(Self { voices: out, rate, sample_rate })
    }
}

impl Synthesizer for Espeak {
    fn speaks(&self, lang: &str) -> bool {
        self.voices.iter().any(|(l, _)| l == lang)
    }

    fn name(&self) -> String {
        let v: Vec<String> = self.voices.iter().map(|(l, c)| format!("{l}={}", c.to_string_lossy())).collect();
        format!("espeak-ng ({})", v.join(", "))
    }

    fn synthesize(&mut self, text: &str, lang: &str) -> Result<Vec<f32>> {
        let voice = self
            .voices
            .iter()
            .find(|(l, _)| l == lang)
            .or(self.voices.first())
            .ok_or_else(|| Error::internal("espeak: no voice"))?;
        let text = CString::new(text.replace('\0', " ")).map_err(|e| Error::internal(e.to_string()))?;
        let (lib, _) = library().map_err(Error::internal)?;
        let pcm = {
            let _g = LOCK.lock().unwrap_or_else(|p| p.into_inner());
            SAMPLES.with(|s| s.borrow_mut().clear());
            // SAFETY: initialised library, valid C strings, synchronous mode: the callback has
            // run for every sample when espeak_Synth returns.
            let err = unsafe {
                (lib.set_voice_by_name)(voice.1.as_ptr());
                (lib.set_parameter)(sys::PARAMETER_RATE, self.rate as c_int, 0);
                (lib.synth)(
                    text.as_ptr() as *const c_void,
                    text.as_bytes_with_nul().len(),
                    0,
                    sys::POS_CHARACTER,
                    0,
                    sys::CHARS_UTF8,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                )
            };
            if err != sys::EE_OK {
                return Err(Error::internal(format!("espeak-ng synthesis failed ({err})")));
            }
            SAMPLES.with(|s| std::mem::take(&mut *s.borrow_mut()))
        };
        let f: Vec<f32> = pcm.iter().map(|&s| s as f32 / 32768.0).collect();
        resample(&f, self.sample_rate, SAMPLE_RATE)
    }
}
