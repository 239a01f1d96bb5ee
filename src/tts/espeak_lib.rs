//! The system's libespeak-ng, opened at run time with `RTLD_LOCAL | RTLD_DEEPBIND` rather than
//! linked. sherpa-onnx carries an espeak-ng of its own (for Piper and Kokoro voices) and exports
//! the same symbols; with both in the process's global scope, one library's calls landed in
//! the other's code and the first sentence crashed inside espeak. Opened this way, the system
//! library's symbols stay out of the global scope and its own calls bind to itself: each
//! engine keeps its own espeak-ng.

use std::os::raw::{c_char, c_int, c_short, c_uint, c_void};

use libloading::os::unix::{Library, Symbol};

/// Where Debian's package puts the library, then the loader's search path.
const CANDIDATES: [&str; 2] = ["/usr/lib/x86_64-linux-gnu/libespeak-ng.so.1", "libespeak-ng.so.1"];

/// speak_lib.h's values this crate uses.
pub const AUDIO_OUTPUT_SYNCHRONOUS: c_int = 2;
pub const EE_OK: c_int = 0;
pub const PARAMETER_RATE: c_int = 1;
pub const POS_CHARACTER: c_int = 1;
pub const CHARS_UTF8: c_uint = 1;

/// `t_espeak_callback`: samples, their count, the events (opaque here).
pub type SynthCallback = unsafe extern "C" fn(*mut c_short, c_int, *mut c_void) -> c_int;

/// The functions voicegate calls, resolved from the library (kept open for the process).
pub struct EspeakLib {
    pub initialize: Symbol<unsafe extern "C" fn(c_int, c_int, *const c_char, c_int) -> c_int>,
    pub set_synth_callback: Symbol<unsafe extern "C" fn(Option<SynthCallback>)>,
    pub set_voice_by_name: Symbol<unsafe extern "C" fn(*const c_char) -> c_int>,
    pub set_parameter: Symbol<unsafe extern "C" fn(c_int, c_int, c_int) -> c_int>,
    #[allow(clippy::type_complexity)]
    pub synth: Symbol<unsafe extern "C" fn(*const c_void, usize, c_uint, c_int, c_uint, c_uint, *mut c_uint, *mut c_void) -> c_int>,
    _lib: Library,
}

impl EspeakLib {
    /// Opens the library; the error names what is missing and the Debian package with it.
    pub fn open() -> Result<Self, String> {
        let flags = libc::RTLD_NOW | libc::RTLD_LOCAL | libc::RTLD_DEEPBIND;
        let mut last = String::new();
        for path in CANDIDATES {
            // SAFETY: loading libespeak-ng runs no initialisers with preconditions of ours.
            match unsafe { Library::open(Some(path), flags) } {
                Ok(lib) => return Self::resolve(lib),
                Err(e) => last = e.to_string(),
            }
        }
        Err(format!("libespeak-ng.so.1 could not be opened ({last}); install Debian's libespeak-ng1 (make setup does)"))
    }

    fn resolve(lib: Library) -> Result<Self, String> {
        fn get<T>(lib: &Library, name: &str) -> Result<Symbol<T>, String> {
            // SAFETY: each name is looked up with the signature speak_lib.h gives it.
            unsafe { lib.get(name.as_bytes()) }.map_err(|e| format!("libespeak-ng lacks {name}: {e}"))
        }
        Ok(Self {
            initialize: get(&lib, "espeak_Initialize")?,
            set_synth_callback: get(&lib, "espeak_SetSynthCallback")?,
            set_voice_by_name: get(&lib, "espeak_SetVoiceByName")?,
            set_parameter: get(&lib, "espeak_SetParameter")?,
            synth: get(&lib, "espeak_Synth")?,
            _lib: lib,
        })
    }
}
