//! A Piper voice (`NAME.onnx` and `NAME.onnx.json`, as the Piper project and its PyPI packages
//! ship them) made into a folder sherpa-onnx's VITS engine reads: the model with the metadata
//! sherpa-onnx looks for (`comment = piper`, the espeak-ng voice, sample rate, speakers),
//! `tokens.txt` from the voice's phoneme map, and `espeak-ng-data/` (a link to the system's,
//! which sherpa-onnx's own espeak-ng phonemises with). No Python, no `onnx` package: the
//! metadata entries are protobuf fields appended to the model (field 14 of ModelProto), after
//! any the model had are dropped.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Debian's espeak-ng data (package espeak-ng-data).
pub const SYSTEM_ESPEAK_DATA: &str = "/usr/lib/x86_64-linux-gnu/espeak-ng-data";

/// What `prepare` made.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub dir: PathBuf,
    pub sample_rate: u32,
    pub espeak_voice: String,
    pub speakers: u32,
    pub tokens: usize,
    pub language: String,
}

/// Prepares `onnx` (with `onnx`.json beside it) as a sherpa-onnx voice folder `out`.
pub fn prepare(onnx: &Path, out: &Path, espeak_data: &Path) -> Result<Prepared> {
    let bad = |why: String| Error::Config(format!("Piper voice {}: {why}", onnx.display()));
    let json_path = PathBuf::from(format!("{}.json", onnx.display()));
    let text = std::fs::read_to_string(&json_path).map_err(|e| bad(format!("its config {} cannot be read: {e}", json_path.display())))?;
    let cfg: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("its config is not JSON: {e}")))?;
    let sample_rate = cfg["audio"]["sample_rate"].as_u64().ok_or_else(|| bad("no audio.sample_rate in its config".into()))? as u32;
    let espeak_voice = cfg["espeak"]["voice"].as_str().ok_or_else(|| bad("no espeak.voice in its config (only espeak-phonemised Piper voices are supported)".into()))?.to_string();
    let speakers = cfg["num_speakers"].as_u64().unwrap_or(1).max(1) as u32;
    let language = cfg["language"]["name_english"].as_str().unwrap_or("English").to_string();
    let map = cfg["phoneme_id_map"].as_object().ok_or_else(|| bad("no phoneme_id_map in its config".into()))?;
    let mut tokens: Vec<(i64, &str)> = Vec::new();
    for (symbol, ids) in map {
        let id = ids.get(0).and_then(|i| i.as_i64()).ok_or_else(|| bad(format!("phoneme {symbol:?} has no id")))?;
        tokens.push((id, symbol));
    }
    tokens.sort();
    if !espeak_data.join("phontab").is_file() {
        return Err(bad(format!("no espeak-ng data at {} (Debian's espeak-ng-data package; make setup installs it)", espeak_data.display())));
    }
    let model = std::fs::read(onnx).map_err(|e| bad(format!("cannot be read: {e}")))?;
    let mut model = without_metadata(&model).ok_or_else(|| bad("is not an ONNX model".into()))?;
    let meta = [
        ("model_type", "vits".to_string()),
        ("comment", "piper".to_string()),
        ("language", language.clone()),
        ("voice", espeak_voice.clone()),
        ("has_espeak", "1".to_string()),
        ("n_speakers", speakers.to_string()),
        ("sample_rate", sample_rate.to_string()),
    ];
    for (k, v) in &meta {
        let entry = [field(1, k.as_bytes()), field(2, v.as_bytes())].concat();
        model.extend(field(14, &entry));
    }
    std::fs::create_dir_all(out).map_err(|e| Error::Config(format!("cannot create {}: {e}", out.display())))?;
    let write = |name: &str, bytes: &[u8]| std::fs::write(out.join(name), bytes).map_err(|e| Error::Config(format!("cannot write {}: {e}", out.join(name).display())));
    write("model.onnx", &model)?;
    let lines: String = tokens.iter().map(|(id, s)| format!("{s} {id}\n")).collect();
    write("tokens.txt", lines.as_bytes())?;
    let data = out.join("espeak-ng-data");
    if std::fs::symlink_metadata(&data).is_err() {
        std::os::unix::fs::symlink(espeak_data, &data).map_err(|e| Error::Config(format!("cannot link {}: {e}", data.display())))?;
    }
    Ok(Prepared { dir: out.to_path_buf(), sample_rate, espeak_voice, speakers, tokens: tokens.len(), language })
}

/// A protobuf varint.
fn varint(mut n: u64) -> Vec<u8> {
    let mut b = Vec::new();
    loop {
        let x = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            b.push(x);
            return b;
        }
        b.push(x | 0x80);
    }
}

/// A length-delimited protobuf field.
fn field(number: u64, data: &[u8]) -> Vec<u8> {
    [varint(number << 3 | 2), varint(data.len() as u64), data.to_vec()].concat()
}

/// Reads a varint at `*at`, moving past it.
fn read_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut n = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        n |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}

/// A message's top-level fields: number, where the whole field lies, and the body of a
/// length-delimited one. None when the bytes are not a well-formed protobuf message.
fn fields(bytes: &[u8]) -> Option<Vec<(u64, std::ops::Range<usize>, Option<&[u8]>)>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        let tag = read_varint(bytes, &mut at)?;
        let body = match tag & 7 {
            0 => {
                read_varint(bytes, &mut at)?;
                None
            }
            1 => {
                at += 8;
                None
            }
            2 => {
                let len = read_varint(bytes, &mut at)? as usize;
                let body = bytes.get(at..at.checked_add(len)?)?;
                at += len;
                Some(body)
            }
            5 => {
                at += 4;
                None
            }
            _ => return None,
        };
        if at > bytes.len() {
            return None;
        }
        out.push((tag >> 3, start..at, body));
    }
    Some(out)
}

/// The model's top-level fields but its metadata entries (field 14).
fn without_metadata(model: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(model.len() + 512);
    for (number, range, _) in fields(model)? {
        if number != 14 {
            out.extend_from_slice(&model[range]);
        }
    }
    Some(out)
}

/// The metadata entries of a model (key, value), in order.
pub fn metadata(model: &[u8]) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (number, _, body) in fields(model)? {
        let (14, Some(body)) = (number, body) else { continue };
        let (mut k, mut v) = (String::new(), String::new());
        for (n, _, text) in fields(body)? {
            let text = String::from_utf8_lossy(text.unwrap_or_default()).into_owned();
            if n == 1 {
                k = text;
            } else if n == 2 {
                v = text;
            }
        }
        out.push((k, v));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SherpaVoiceConfig, SherpaVoiceKind};
    use crate::tts::sherpa::SherpaVoice;
    use crate::tts::Synthesizer;

    /// The repository's tiny Piper-format voice (random weights: `models/tts-test`, made by
    /// make_tiny_vits.py), copied to `dir`.
    fn tiny_piper(dir: &Path) -> PathBuf {
        let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/tts-test");
        let onnx = dir.join("en_US-tiny-low.onnx");
        std::fs::copy(tiny.join("piper-tiny.onnx"), &onnx).unwrap();
        std::fs::copy(tiny.join("piper-tiny.onnx.json"), dir.join("en_US-tiny-low.onnx.json")).unwrap();
        onnx
    }

    #[test]
    fn a_piper_voice_becomes_a_folder_sherpa_onnx_speaks_with() {
        let t = tempfile::tempdir().unwrap();
        let onnx = tiny_piper(t.path());
        let out = t.path().join("voice");
        let p = prepare(&onnx, &out, Path::new(SYSTEM_ESPEAK_DATA)).unwrap();
        assert_eq!((p.sample_rate, p.espeak_voice.as_str(), p.speakers), (16000, "en-us", 1));
        let meta = metadata(&std::fs::read(out.join("model.onnx")).unwrap()).unwrap();
        let get = |k: &str| meta.iter().filter(|(key, _)| key == k).map(|(_, v)| v.clone()).collect::<Vec<_>>();
        assert_eq!(get("comment"), ["piper"]);
        assert_eq!(get("voice"), ["en-us"]);
        assert_eq!(get("sample_rate"), ["16000"]);
        assert!(std::fs::read_to_string(out.join("tokens.txt")).unwrap().lines().count() == p.tokens);
        assert!(out.join("espeak-ng-data/phontab").is_file());
        // sherpa-onnx phonemises with its own espeak-ng while this process also has the system's
        // (the built-in voice): both speak.
        let cfg = SherpaVoiceConfig { kind: SherpaVoiceKind::Vits, dir: out.clone(), languages: vec!["en".into()], speaker: 0, speed: 1.0 };
        let mut voice = SherpaVoice::load(&cfg).unwrap();
        let audio = voice.synthesize("Your order left our warehouse.", "en").unwrap();
        assert!(audio.len() > 1000, "{} samples", audio.len());
        let mut espeak = crate::tts::espeak::Espeak::new(&[("en", "en-us")], 165).unwrap();
        assert!(espeak.synthesize("Your order left our warehouse.", "en").unwrap().len() > 8000);
        // Again, from the prepared model: the same result, its metadata replaced, not doubled.
        std::fs::copy(out.join("model.onnx"), &onnx).unwrap();
        assert_eq!(prepare(&onnx, &out, Path::new(SYSTEM_ESPEAK_DATA)).unwrap(), p);
        let meta = metadata(&std::fs::read(out.join("model.onnx")).unwrap()).unwrap();
        assert_eq!(meta.iter().filter(|(k, _)| k == "comment").count(), 1);
    }

    #[test]
    fn what_is_not_a_piper_voice_is_named() {
        let t = tempfile::tempdir().unwrap();
        let onnx = tiny_piper(t.path());
        let data = Path::new(SYSTEM_ESPEAK_DATA);
        std::fs::write(t.path().join("en_US-tiny-low.onnx.json"), "{\"audio\": {}}").unwrap();
        assert!(prepare(&onnx, &t.path().join("v"), data).unwrap_err().to_string().contains("sample_rate"));
        std::fs::remove_file(t.path().join("en_US-tiny-low.onnx.json")).unwrap();
        assert!(prepare(&onnx, &t.path().join("v"), data).unwrap_err().to_string().contains("cannot be read"));
        let bogus = t.path().join("x.onnx");
        std::fs::write(&bogus, [0xffu8; 16]).unwrap();
        std::fs::write(t.path().join("x.onnx.json"), serde_json::json!({"audio": {"sample_rate": 22050}, "espeak": {"voice": "en-us"}, "phoneme_id_map": {"a": [1]}}).to_string()).unwrap();
        assert!(prepare(&bogus, &t.path().join("v"), data).unwrap_err().to_string().contains("not an ONNX model"));
        assert!(prepare(&bogus, &t.path().join("v"), &t.path().join("nowhere")).unwrap_err().to_string().contains("espeak-ng data"));
    }
}
