//! Downloading a model with a progress bar, and checking files against the manifest checksums.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use sha1::Digest as _;

use crate::models::manifest::{Checksum, ModelSpec};

/// Both digests of a byte stream, computed in one pass.
#[derive(Default)]
pub struct Digests {
    sha1: sha1::Sha1,
    sha256: sha2::Sha256,
}

impl Digests {
    pub fn update(&mut self, bytes: &[u8]) {
        self.sha1.update(bytes);
        self.sha256.update(bytes);
    }

    /// The hex digests, as `(sha1, sha256)`.
    pub fn finish(self) -> (String, String) {
        (hex::encode(self.sha1.finalize()), hex::encode(self.sha256.finalize()))
    }
}

/// Whether either digest matches one of the spec's accepted checksums.
pub fn matches(spec: &ModelSpec, sha1: &str, sha256: &str) -> bool {
    spec.checksums.iter().filter_map(|c| Checksum::parse(c)).any(|c| match c {
        Checksum::Sha1(h) => h.eq_ignore_ascii_case(sha1),
        Checksum::Sha256(h) => h.eq_ignore_ascii_case(sha256),
    })
}

/// Hashes a file; `Ok(true)` when it matches the manifest.
pub fn verify(spec: &ModelSpec, path: &Path) -> std::io::Result<(bool, String)> {
    let mut f = File::open(path)?;
    let mut d = Digests::default();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        d.update(&buf[..n]);
    }
    let (sha1, sha256) = d.finish();
    Ok((matches(spec, &sha1, &sha256), format!("sha256:{sha256}")))
}

/// Downloads `spec.url` to `dest`, through a `.part` file renamed only after the checksum
/// matched, so an interrupted download never leaves a file that looks complete.
pub fn fetch(spec: &ModelSpec, dest: &Path) -> Result<(), String> {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(15))
        .timeout_read(Duration::from_secs(60))
        .build();
    let resp = agent.get(&spec.url).call().map_err(|e| e.to_string())?;
    let total = resp.header("Content-Length").and_then(|v| v.parse::<u64>().ok());

    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(format!("downloading {}", spec.file));

    // The folder is made only once the server answered, so a failed try leaves nothing behind.
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let part = dest.with_extension("part");
    let mut out = File::create(&part).map_err(|e| format!("cannot write {}: {e}", part.display()))?;
    let mut reader = resp.into_reader();
    let mut digests = Digests::default();
    let mut buf = vec![0u8; 1 << 16];
    let result = (|| {
        loop {
            let n = reader.read(&mut buf).map_err(|e| format!("download interrupted: {e}"))?;
            if n == 0 {
                break;
            }
            digests.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(|e| format!("cannot write {}: {e}", part.display()))?;
            bar.inc(n as u64);
        }
        out.sync_all().map_err(|e| e.to_string())?;
        let (sha1, sha256) = std::mem::take(&mut digests).finish();
        if !matches(spec, &sha1, &sha256) {
            return Err(format!("checksum mismatch (got sha256:{sha256}, sha1:{sha1})"));
        }
        std::fs::rename(&part, dest).map_err(|e| format!("cannot move into {}: {e}", dest.display()))
    })();
    bar.finish_and_clear();
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::manifest::Manifest;

    #[test]
    fn digests_of_a_known_string() {
        let mut d = Digests::default();
        d.update(b"abc");
        let (sha1, sha256) = d.finish();
        assert_eq!(sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn a_wrong_file_does_not_verify() {
        let spec = Manifest::embedded().unwrap().get("silero-vad").unwrap().clone();
        let t = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(t.path(), b"not the model").unwrap();
        assert!(!verify(&spec, t.path()).unwrap().0);
    }

    #[test]
    fn an_unreachable_url_fails_cleanly_and_leaves_nothing() {
        let mut spec = Manifest::embedded().unwrap().get("silero-vad").unwrap().clone();
        spec.url = "http://127.0.0.1:9/silero_vad.onnx".into();
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("models").join("silero_vad.onnx");
        assert!(fetch(&spec, &dest).is_err());
        assert!(!dest.exists());
        assert!(!t.path().join("models").exists());
        assert!(!dest.with_extension("part").exists());
    }
}
