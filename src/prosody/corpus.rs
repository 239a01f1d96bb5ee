//! Emotional speech corpora on disk: Berlin EmoDB (one folder, the emotion in each file name),
//! and CASIA or RAVDESS (<speaker>/<emotion>/*.flac). Anger and calm speech train the anger
//! model; happy and sad speech are kept to show how often they pass for anger.

use std::path::{Path, PathBuf};

use crate::error::{InputError, Result};

/// The emotions kept, by class index.
pub const CLASSES: [&str; 4] = ["angry", "neutral", "happy", "sad"];
pub const ANGRY: usize = 0;
/// Calm speech: EmoDB's and CASIA's neutral, RAVDESS's neutral and calm.
pub const CALM: usize = 1;

#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    pub path: PathBuf,
    pub speaker: String,
    /// The corpus folder's name.
    pub corpus: String,
    /// Index into `CLASSES`.
    pub class: usize,
}

fn class_index(name: &str) -> Option<usize> {
    match name {
        "calm" => Some(CALM),
        _ => CLASSES.iter().position(|c| *c == name),
    }
}

/// EmoDB's emotion letters (German): W Wut, N neutral, F Freude, T Trauer.
fn emodb_class(letter: char) -> Option<usize> {
    class_index(match letter {
        'W' => "angry",
        'N' => "neutral",
        'F' => "happy",
        'T' => "sad",
        _ => return None,
    })
}

fn is_audio(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("flac" | "wav" | "mp3" | "ogg"))
}

fn list(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| InputError::from_io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    Ok(v)
}

/// The clips of a corpus folder in either layout, sorted by speaker and file.
pub fn load(dir: &Path) -> Result<Vec<Clip>> {
    if !dir.is_dir() {
        return Err(InputError::Invalid(format!("{}: not a folder", dir.display())).into());
    }
    let entries = list(dir)?;
    let corpus = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut clips = Vec::new();
    // EmoDB: 03a01Wa.flac = speaker 03, text a01, emotion W, version a.
    for p in entries.iter().filter(|p| p.is_file() && is_audio(p)) {
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let chars: Vec<char> = stem.chars().collect();
        if chars.len() == 7 && chars[..2].iter().all(|c| c.is_ascii_digit()) {
            if let Some(class) = emodb_class(chars[5]) {
                clips.push(Clip { path: p.clone(), speaker: format!("emodb-{}", &stem[..2]), corpus: corpus.clone(), class });
            }
        }
    }
    // CASIA and RAVDESS: <speaker>/<emotion>/*.
    for speaker in entries.iter().filter(|p| p.is_dir()) {
        for emotion in list(speaker)?.into_iter().filter(|p| p.is_dir()) {
            let Some(class) = emotion.file_name().and_then(|n| n.to_str()).and_then(class_index) else {
                continue;
            };
            let name = speaker.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            for p in list(&emotion)?.into_iter().filter(|p| p.is_file() && is_audio(p)) {
                clips.push(Clip { path: p, speaker: name.to_string(), corpus: corpus.clone(), class });
            }
        }
    }
    if clips.is_empty() {
        return Err(InputError::Invalid(format!(
            "{}: no emotional speech found (expected EmoDB files such as 03a01Wa.flac, or <speaker>/<emotion>/*.flac as in CASIA and RAVDESS, with emotions {}, calm)",
            dir.display(),
            CLASSES.join(", ")
        ))
        .into());
    }
    clips.sort_by(|a, b| (&a.speaker, &a.path).cmp(&(&b.speaker, &b.path)));
    Ok(clips)
}

/// The speakers of `clips`, in order.
pub fn speakers(clips: &[Clip]) -> Vec<String> {
    let mut s: Vec<String> = clips.iter().map(|c| c.speaker.clone()).collect();
    s.dedup();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_layouts_and_counts_calm_as_neutral() {
        let dir = tempfile::tempdir().expect("tempdir");
        let touch = |p: &str| {
            let p = dir.path().join(p);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, b"").expect("write");
        };
        for f in ["03a01Wa.flac", "03a01Nc.flac", "10b02Ab.flac", "notes.txt"] {
            touch(f);
        }
        for f in ["Actor_01/calm/a.flac", "Actor_01/neutral/b.flac", "Actor_01/angry/c.flac", "Actor_01/fear/d.flac"] {
            touch(f);
        }
        let clips = load(dir.path()).expect("clips");
        let got: Vec<(&str, usize)> = clips.iter().map(|c| (c.speaker.as_str(), c.class)).collect();
        assert_eq!(got, [("Actor_01", ANGRY), ("Actor_01", CALM), ("Actor_01", CALM), ("emodb-03", CALM), ("emodb-03", ANGRY)]);
        assert!(load(&dir.path().join("Actor_01/fear")).is_err());
    }
}
