//! Speech datasets for `bench asr`: audio files paired with reference transcripts.
//!
//! Layouts understood:
//! - LibriSpeech: `*.trans.txt` files of `ID TEXT` lines, audio `ID.flac` beside them;
//!   a `transcripts.txt` in the same `ID TEXT` form is read the same way;
//! - `transcripts.tsv`: `file<TAB>text`, paths relative to the folder (a `file text` header
//!   line is skipped);
//! - `manifest.toml`: voicegate's audio-fixtures manifest (`[[fixture]]` with `file`, `text`,
//!   `lang`); fixtures without text (silence, bad input) are left out;
//! - `--transcripts FILE`: a TSV as above, or an Asterisk prompt list (`name: text`, optionally
//!   gzipped, as in asterisk-core-sounds-en's core-sounds-en.txt), relative to the folder.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{InputError, Result};

const AUDIO_EXTENSIONS: [&str; 5] = ["flac", "wav", "mp3", "ogg", "gsm"];

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub audio: PathBuf,
    pub text: String,
    /// The spoken language, where the layout says it.
    pub lang: Option<String>,
}

#[derive(serde::Deserialize)]
struct FixtureManifest {
    fixture: Vec<FixtureEntry>,
}

#[derive(serde::Deserialize)]
struct FixtureEntry {
    file: String,
    #[serde(default)]
    text: String,
    lang: Option<String>,
}

/// The fixtures of an audio-fixtures manifest that have speech.
pub fn parse_fixture_manifest(text: &str, dir: &Path) -> Result<Vec<Item>> {
    let m: FixtureManifest = toml::from_str(text)
        .map_err(|e| InputError::Invalid(format!("{}: {e}", dir.join("manifest.toml").display())))?;
    Ok(m.fixture
        .into_iter()
        .filter(|f| is_speech(&f.text))
        .map(|f| Item { audio: dir.join(f.file), text: f.text, lang: f.lang })
        .collect())
}

fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| InputError::from_io(path, e))?;
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut s = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut s)
            .map_err(|e| InputError::Unreadable { path: path.to_owned(), reason: format!("gzip: {e}") })?;
        s
    } else {
        bytes
    };
    String::from_utf8(bytes)
        .map_err(|_| InputError::Unreadable { path: path.to_owned(), reason: "not UTF-8 text".into() }.into())
}

/// The audio file for a name without extension, if one exists.
fn find_audio(dir: &Path, stem: &str) -> Option<PathBuf> {
    let direct = dir.join(stem);
    if direct.extension().is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| e == *a)) && direct.is_file() {
        return Some(direct);
    }
    AUDIO_EXTENSIONS
        .iter()
        .map(|ext| dir.join(format!("{stem}.{ext}")))
        .find(|p| p.is_file())
}

/// A reference that is a description of a sound, not speech ("[beep]", "<beep ascending>",
/// "(1 second of silence)").
fn is_speech(text: &str) -> bool {
    let t = text.trim();
    !t.is_empty() && !t.starts_with(['[', '<', '('])
}

/// The spoken words of a reference, without notes in parentheses ("IAX (note: ...)").
fn spoken(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0u32;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parses one transcripts file whose names are relative to `dir`.
pub fn parse_transcripts(text: &str, dir: &Path) -> Vec<Item> {
    let mut items = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        let (name, words) = if let Some((n, t)) = line.split_once('\t') {
            (n.trim(), t.trim())
        } else if let Some((n, t)) = line.split_once(": ") {
            (n.trim(), t.trim())
        } else if let Some((n, t)) = line.split_once(char::is_whitespace) {
            (n.trim(), t.trim())
        } else {
            continue;
        };
        if name == "file" && words == "text" || !is_speech(words) {
            continue;
        }
        if let Some(audio) = find_audio(dir, name) {
            items.push(Item { audio, text: spoken(words), lang: None });
        }
    }
    items
}

/// Every (audio, transcript) pair under `dir`, sorted by path.
pub fn load(dir: &Path, transcripts: Option<&Path>) -> Result<Vec<Item>> {
    if !dir.is_dir() {
        return Err(InputError::NotFound { path: dir.to_owned() }.into());
    }
    let mut items = Vec::new();
    if let Some(t) = transcripts {
        items = parse_transcripts(&read_text(t)?, dir);
    } else if dir.join("manifest.toml").is_file() {
        items = parse_fixture_manifest(&read_text(&dir.join("manifest.toml"))?, dir)?;
    } else {
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            let entries = std::fs::read_dir(&d).map_err(|e| InputError::from_io(&d, e))?;
            for entry in entries.flatten() {
                let p = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if p.is_dir() {
                    stack.push(p);
                } else if name.ends_with(".trans.txt") || name == "transcripts.txt" || name == "transcripts.tsv" {
                    items.extend(parse_transcripts(&read_text(&p)?, &d));
                }
            }
        }
    }
    if items.is_empty() {
        return Err(InputError::Invalid(format!(
            "{}: no audio with transcripts found (expected LibriSpeech *.trans.txt, transcripts.tsv, or --transcripts FILE)",
            dir.display()
        ))
        .into());
    }
    items.sort_by(|a, b| a.audio.cmp(&b.audio));
    items.dedup_by(|a, b| a.audio == b.audio);
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_three_layouts() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        for f in ["a-1.flac", "b.wav", "digits/1.wav", "beep.wav"] {
            let p = d.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        let libri = parse_transcripts("a-1 HELLO THERE\nmissing-2 NOTHING\n", d);
        assert_eq!(libri, vec![Item { audio: d.join("a-1.flac"), text: "HELLO THERE".into(), lang: None }]);
        let tsv = parse_transcripts("file\ttext\nb.wav\tgood morning (note: slowly)\n", d);
        assert_eq!(tsv[0].text, "good morning");
        let asterisk = parse_transcripts("; comment\ndigits/1: one\nbeep: [this is a beep]\nbeep: <beep ascending>\nbeep: (1 second of silence)\n", d);
        assert_eq!(asterisk, vec![Item { audio: d.join("digits/1.wav"), text: "one".into(), lang: None }]);
    }

    #[test]
    fn reads_the_fixture_manifest_and_skips_silence() {
        let text = "[[fixture]]\nfile = \"a.wav\"\nlang = \"en\"\ntext = \"hello\"\n\n[[fixture]]\nfile = \"silence.wav\"\ntext = \"\"\n\n[[fixture]]\nfile = \"bad.wav\"\nexit = 2\n";
        let items = parse_fixture_manifest(text, Path::new("fx")).unwrap();
        assert_eq!(items, vec![Item { audio: PathBuf::from("fx/a.wav"), text: "hello".into(), lang: Some("en".into()) }]);
    }

    #[test]
    fn an_empty_folder_is_bad_input() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(load(t.path(), None).unwrap_err().exit_code(), 2);
        assert_eq!(load(&t.path().join("nope"), None).unwrap_err().exit_code(), 2);
    }
}
