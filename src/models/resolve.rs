//! Finds a model file: the path in the config, $VOICEGATE_MODELS, models/, ../shared/models,
//! and finally a download from the official URL with a progress bar and a checksum check.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::ModelsConfig;
use crate::error::{ModelError, Result};
use crate::models::download;
use crate::models::manifest::ModelSpec;

/// Where a model was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Config,
    EnvDir,
    ProjectDir,
    SharedDir,
    Downloaded,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Config => "config path",
            Origin::EnvDir => "$VOICEGATE_MODELS",
            Origin::ProjectDir => "models/",
            Origin::SharedDir => "../shared/models",
            Origin::Downloaded => "downloaded",
        })
    }
}

#[derive(Debug, Clone)]
pub struct Resolved {
    pub path: PathBuf,
    pub origin: Origin,
}

/// The places to look, in order, and whether a download is allowed.
#[derive(Debug, Clone)]
pub struct ModelResolver {
    config_paths: BTreeMap<String, PathBuf>,
    env_dir: Option<PathBuf>,
    project_dir: PathBuf,
    shared_dir: PathBuf,
    download: bool,
}

impl ModelResolver {
    /// The resolver for a config, reading $VOICEGATE_MODELS and $VOICEGATE_OFFLINE, relative to
    /// the current directory (the project checkout for `make run` and the tests).
    pub fn from_config(cfg: &ModelsConfig) -> Self {
        let offline = std::env::var("VOICEGATE_OFFLINE").is_ok_and(|v| !v.is_empty() && v != "0");
        Self {
            config_paths: cfg.paths.clone(),
            env_dir: std::env::var_os("VOICEGATE_MODELS").filter(|v| !v.is_empty()).map(PathBuf::from),
            project_dir: PathBuf::from("models"),
            shared_dir: PathBuf::from("../shared/models"),
            download: cfg.download && !offline,
        }
    }

    /// A resolver with explicit places, for tests.
    pub fn with_dirs(env_dir: Option<PathBuf>, project_dir: PathBuf, shared_dir: PathBuf, download: bool) -> Self {
        Self {
            config_paths: BTreeMap::new(),
            env_dir,
            project_dir,
            shared_dir,
            download,
        }
    }

    pub fn with_config_path(mut self, name: &str, path: PathBuf) -> Self {
        self.config_paths.insert(name.to_owned(), path);
        self
    }

    /// The candidate paths for a model, in the order they are tried.
    fn candidates(&self, spec: &ModelSpec) -> Vec<(PathBuf, Origin)> {
        let mut c = Vec::new();
        if let Some(p) = self.config_paths.get(&spec.name) {
            c.push((p.clone(), Origin::Config));
        }
        if let Some(d) = &self.env_dir {
            c.push((d.join(&spec.file), Origin::EnvDir));
        }
        c.push((self.project_dir.join(&spec.file), Origin::ProjectDir));
        c.push((self.shared_dir.join(&spec.file), Origin::SharedDir));
        c
    }

    /// The first local copy, without downloading.
    pub fn locate(&self, spec: &ModelSpec) -> Option<Resolved> {
        self.candidates(spec)
            .into_iter()
            .find(|(p, _)| is_nonempty_file(p))
            .map(|(path, origin)| Resolved { path, origin })
    }

    /// A local copy, or else the file downloaded from the official URL.
    pub fn resolve(&self, spec: &ModelSpec) -> Result<Resolved> {
        if let Some(found) = self.locate(spec) {
            return Ok(found);
        }
        let looked = self
            .candidates(spec)
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        if !self.download {
            return Err(ModelError::Missing {
                file: spec.file.clone(),
                url: spec.url.clone(),
                looked,
            }
            .into());
        }
        let dir = self.env_dir.clone().unwrap_or_else(|| self.project_dir.clone());
        let dest = dir.join(&spec.file);
        download::fetch(spec, &dest).map_err(|reason| ModelError::DownloadFailed {
            file: spec.file.clone(),
            url: spec.url.clone(),
            looked,
            reason,
        })?;
        Ok(Resolved { path: dest, origin: Origin::Downloaded })
    }
}

fn is_nonempty_file(p: &Path) -> bool {
    std::fs::metadata(p).map(|m| m.is_file() && m.len() > 0).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::manifest::Manifest;

    fn spec() -> ModelSpec {
        Manifest::embedded().unwrap().get("silero-vad").unwrap().clone()
    }

    fn put(dir: &Path, name: &str) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, b"weights").unwrap();
        p
    }

    #[test]
    fn looks_in_the_documented_order() {
        let t = tempfile::tempdir().unwrap();
        let (env, project, shared) = (t.path().join("env"), t.path().join("models"), t.path().join("shared"));
        let r = ModelResolver::with_dirs(Some(env.clone()), project.clone(), shared.clone(), false);
        let s = spec();
        assert!(r.locate(&s).is_none());

        put(&shared, &s.file);
        assert_eq!(r.locate(&s).unwrap().origin, Origin::SharedDir);
        put(&project, &s.file);
        assert_eq!(r.locate(&s).unwrap().origin, Origin::ProjectDir);
        put(&env, &s.file);
        assert_eq!(r.locate(&s).unwrap().origin, Origin::EnvDir);
        let explicit = put(&t.path().join("cfg"), "my-vad.onnx");
        let r = r.with_config_path(&s.name, explicit.clone());
        let found = r.locate(&s).unwrap();
        assert_eq!((found.origin, found.path), (Origin::Config, explicit));
    }

    #[test]
    fn empty_files_do_not_count() {
        let t = tempfile::tempdir().unwrap();
        let s = spec();
        std::fs::write(t.path().join(&s.file), b"").unwrap();
        let r = ModelResolver::with_dirs(None, t.path().to_owned(), t.path().join("none"), false);
        assert!(r.locate(&s).is_none());
    }

    #[test]
    fn offline_and_missing_names_file_url_and_places() {
        let t = tempfile::tempdir().unwrap();
        let r = ModelResolver::with_dirs(None, t.path().join("models"), t.path().join("shared"), false);
        let err = r.resolve(&spec()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let msg = err.to_string();
        assert!(msg.contains("silero_vad.onnx"), "{msg}");
        assert!(msg.contains("https://"), "{msg}");
        assert!(msg.contains("models/"), "{msg}");
    }
}
