//! Neural voices through sherpa-onnx (sherpa-rs): Piper and other VITS voices, Kokoro, Matcha.
//!
//! sherpa-onnx ends the process (`exit`) on some malformed voice files and hands back a null
//! synthesiser on a bad config, so a voice folder is checked here first, with a message that
//! names what is missing, and the voice says one test sentence at start-up: a broken voice
//! stops the gateway when it starts, never in the middle of a call.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use sherpa_rs::tts::{CommonTtsConfig, KokoroTts, KokoroTtsConfig, MatchaTts, MatchaTtsConfig, VitsTts, VitsTtsConfig};
use sherpa_rs::OnnxConfig;

use crate::audio::resample::resample;
use crate::audio::SAMPLE_RATE;
use crate::config::{SherpaVoiceConfig, SherpaVoiceKind};
use crate::error::{Error, Result};
use crate::tts::Synthesizer;

/// The files of a checked voice folder.
#[derive(Debug, Clone)]
pub struct VoiceFiles {
    pub model: PathBuf,
    pub tokens: PathBuf,
    /// espeak-ng-data, for voices that phonemise with espeak.
    pub data_dir: Option<PathBuf>,
    pub lexicon: Option<PathBuf>,
    /// Kokoro's speaker embeddings.
    pub voices: Option<PathBuf>,
    /// Matcha's vocoder.
    pub vocoder: Option<PathBuf>,
}

fn bad(dir: &Path, what: String) -> Error {
    Error::Config(format!(
        "tts.sherpa.dir {}: {what} (see the README, \"Voices\", for the folder layout)",
        dir.display()
    ))
}

/// `tokens.txt` as sherpa-onnx reads it: `symbol id` per line, or a lone id for the space.
fn check_tokens(dir: &Path, path: &Path) -> Result<()> {
    let text = std::fs::read_to_string(path).map_err(|e| bad(dir, format!("tokens.txt unreadable: {e}")))?;
    let mut seen = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (sym, id) = match fields[..] {
            [id] => (" ", id),
            [sym, id] => (sym, id),
            _ => return Err(bad(dir, format!("tokens.txt line {}: expected `symbol id`", i + 1))),
        };
        if id.parse::<i64>().is_err() {
            return Err(bad(dir, format!("tokens.txt line {}: `{id}` is not a number", i + 1)));
        }
        if !seen.insert(sym.to_string()) {
            return Err(bad(dir, format!("tokens.txt line {}: `{sym}` appears twice", i + 1)));
        }
    }
    if seen.is_empty() {
        return Err(bad(dir, "tokens.txt is empty".into()));
    }
    Ok(())
}

/// An ONNX model whose metadata holds every key sherpa-onnx insists on.
fn check_model(dir: &Path, path: &Path, keys: &[&str]) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| bad(dir, format!("{} unreadable: {e}", path.display())))?;
    if bytes.first() != Some(&0x08) {
        return Err(bad(dir, format!("{} is not an ONNX model", path.display())));
    }
    for key in keys {
        if !bytes.windows(key.len()).any(|w| w == key.as_bytes()) {
            return Err(bad(dir, format!("{} lacks the metadata `{key}` sherpa-onnx needs", path.display())));
        }
    }
    Ok(())
}

fn onnx_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "onnx")).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Checks a voice folder of the given kind and names its files.
pub fn check_voice(kind: SherpaVoiceKind, dir: &Path) -> Result<VoiceFiles> {
    if !dir.is_dir() {
        return Err(bad(dir, "no such folder".into()));
    }
    let file = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
    let tokens = file("tokens.txt").ok_or_else(|| bad(dir, "missing tokens.txt".into()))?;
    check_tokens(dir, &tokens)?;
    let data_dir = Some(dir.join("espeak-ng-data")).filter(|p| p.is_dir());
    let lexicon = file("lexicon.txt");
    let onnx = onnx_files(dir);
    let pick = |pred: &dyn Fn(&str) -> bool| {
        onnx.iter().find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(pred)).cloned()
    };
    let mut v = VoiceFiles { model: PathBuf::new(), tokens, data_dir, lexicon, voices: None, vocoder: None };
    match kind {
        SherpaVoiceKind::Vits => {
            v.model = file("model.onnx").or_else(|| onnx.first().cloned()).ok_or_else(|| bad(dir, "no .onnx model".into()))?;
            check_model(dir, &v.model, &["sample_rate", "n_speakers", "language", "comment"])?;
        }
        SherpaVoiceKind::Kokoro => {
            v.model = file("model.onnx").ok_or_else(|| bad(dir, "missing model.onnx".into()))?;
            v.voices = Some(file("voices.bin").ok_or_else(|| bad(dir, "missing voices.bin".into()))?);
            if v.data_dir.is_none() {
                return Err(bad(dir, "missing espeak-ng-data/".into()));
            }
            check_model(dir, &v.model, &["sample_rate", "n_speakers", "has_espeak", "style_dim"])?;
        }
        SherpaVoiceKind::Matcha => {
            v.vocoder = Some(
                pick(&|n: &str| n.starts_with("vocos") || n.starts_with("hifigan"))
                    .ok_or_else(|| bad(dir, "missing the vocoder (vocos*.onnx or hifigan*.onnx)".into()))?,
            );
            v.model = pick(&|n: &str| !n.starts_with("vocos") && !n.starts_with("hifigan"))
                .ok_or_else(|| bad(dir, "missing the acoustic model (model-steps-*.onnx)".into()))?;
            if v.data_dir.is_none() && v.lexicon.is_none() {
                return Err(bad(dir, "missing espeak-ng-data/ or lexicon.txt".into()));
            }
            check_model(dir, &v.model, &["sample_rate", "n_speakers", "jieba", "has_espeak", "use_eos_bos"])?;
        }
    }
    Ok(v)
}

enum Voice {
    Vits(VitsTts),
    Kokoro(KokoroTts),
    Matcha(MatchaTts),
}

/// A sherpa-onnx voice.
pub struct SherpaVoice {
    voice: Voice,
    languages: Vec<String>,
    speaker: i32,
    speed: f32,
    label: String,
}

fn s(p: &Option<PathBuf>) -> String {
    p.as_ref().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default()
}

impl SherpaVoice {
    /// Checks the folder, loads the voice and has it say a test sentence.
    pub fn load(cfg: &SherpaVoiceConfig) -> Result<Self> {
        let files = check_voice(cfg.kind, &cfg.dir)?;
        let onnx = OnnxConfig { provider: "cpu".into(), debug: false, num_threads: 1 };
        // silence_scale 1 keeps the voice's own pauses (sherpa-onnx shortens them otherwise).
        let common = CommonTtsConfig { silence_scale: 1.0, ..Default::default() };
        let model = files.model.to_string_lossy().into_owned();
        let voice = match cfg.kind {
            SherpaVoiceKind::Vits => Voice::Vits(VitsTts::new(VitsTtsConfig {
                model,
                tokens: files.tokens.to_string_lossy().into_owned(),
                data_dir: s(&files.data_dir),
                lexicon: s(&files.lexicon),
                length_scale: 1.0,
                noise_scale: 0.667,
                noise_scale_w: 0.8,
                silence_scale: 1.0,
                onnx_config: onnx,
                tts_config: common,
                ..Default::default()
            })),
            SherpaVoiceKind::Kokoro => Voice::Kokoro(KokoroTts::new(KokoroTtsConfig {
                model,
                voices: s(&files.voices),
                tokens: files.tokens.to_string_lossy().into_owned(),
                data_dir: s(&files.data_dir),
                lexicon: s(&files.lexicon),
                length_scale: 1.0,
                onnx_config: onnx,
                common_config: common,
                ..Default::default()
            })),
            SherpaVoiceKind::Matcha => Voice::Matcha(MatchaTts::new(MatchaTtsConfig {
                acoustic_model: model,
                vocoder: s(&files.vocoder),
                tokens: files.tokens.to_string_lossy().into_owned(),
                data_dir: s(&files.data_dir),
                lexicon: s(&files.lexicon),
                length_scale: 1.0,
                noise_scale: 0.667,
                noise_scale_w: 0.8,
                silence_scale: 1.0,
                onnx_config: onnx,
                common_config: common,
                ..Default::default()
            })),
        };
        let mut v = SherpaVoice {
            voice,
            languages: cfg.languages.clone(),
            speaker: cfg.speaker,
            speed: cfg.speed,
            label: format!("sherpa-onnx {:?} voice {}", cfg.kind, cfg.dir.display()).to_lowercase(),
        };
        let probe = if v.languages.iter().any(|l| l == "en") { "hello." } else { "你好。" };
        let lang = v.languages.first().cloned().unwrap_or_default();
        match v.synthesize(probe, &lang) {
            Ok(a) if !a.is_empty() => Ok(v),
            Ok(_) => Err(bad(&cfg.dir, "the voice produced no audio for a test sentence".into())),
            Err(e) => Err(bad(&cfg.dir, format!("the voice failed a test sentence: {e}"))),
        }
    }
}

impl Synthesizer for SherpaVoice {
    fn speaks(&self, lang: &str) -> bool {
        self.languages.iter().any(|l| l == lang)
    }

    fn name(&self) -> String {
        self.label.clone()
    }

    fn synthesize(&mut self, text: &str, _lang: &str) -> Result<Vec<f32>> {
        let audio = match &mut self.voice {
            Voice::Vits(t) => t.create(text, self.speaker, self.speed),
            Voice::Kokoro(t) => t.create(text, self.speaker, self.speed),
            Voice::Matcha(t) => t.create(text, self.speaker, self.speed),
        }
        .map_err(|e| Error::internal(format!("sherpa-onnx synthesis: {e}")))?;
        resample(&audio.samples, audio.sample_rate, SAMPLE_RATE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> SherpaVoiceConfig {
        SherpaVoiceConfig {
            kind: SherpaVoiceKind::Vits,
            dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("models/tts-test"),
            languages: vec!["en".into()],
            speaker: 0,
            speed: 1.0,
        }
    }

    #[test]
    fn the_generated_vits_voice_synthesises_audio_of_the_expected_length() {
        let mut v = SherpaVoice::load(&tiny()).unwrap();
        // Every character of this text is in the voice's tokens: 256 samples each at 16 kHz.
        let text = "hello, world. how are you?";
        let audio = v.synthesize(text, "en").unwrap();
        assert_eq!(audio.len(), text.chars().count() * 256);
        assert!(crate::audio::frame::rms(&audio) > 0.01);
        // Characters the voice does not know are skipped, as sherpa-onnx does.
        assert_eq!(v.synthesize("ab1c", "en").unwrap().len(), 3 * 256);
    }

    #[test]
    fn incomplete_voice_folders_are_named_errors() {
        let t = tempfile::tempdir().unwrap();
        let mut cfg = tiny();
        cfg.dir = t.path().join("missing");
        assert!(SherpaVoice::load(&cfg).err().unwrap().to_string().contains("no such folder"));

        cfg.dir = t.path().to_owned();
        std::fs::copy(tiny().dir.join("model.onnx"), t.path().join("model.onnx")).unwrap();
        assert!(SherpaVoice::load(&cfg).err().unwrap().to_string().contains("missing tokens.txt"));

        std::fs::write(t.path().join("tokens.txt"), "a 0\nthis is wrong\n").unwrap();
        assert!(SherpaVoice::load(&cfg).err().unwrap().to_string().contains("line 2"));

        std::fs::copy(tiny().dir.join("tokens.txt"), t.path().join("tokens.txt")).unwrap();
        std::fs::write(t.path().join("model.onnx"), b"not a model").unwrap();
        assert!(SherpaVoice::load(&cfg).err().unwrap().to_string().contains("not an ONNX model"));

        cfg.kind = SherpaVoiceKind::Kokoro;
        assert!(SherpaVoice::load(&cfg).err().unwrap().to_string().contains("voices.bin"));
        cfg.kind = SherpaVoiceKind::Matcha;
        assert!(SherpaVoice::load(&cfg).err().unwrap().to_string().contains("vocoder"));

    }
}
