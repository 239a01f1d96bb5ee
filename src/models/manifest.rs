//! The model manifest (models/manifest.toml), compiled into the binary.

use serde::Deserialize;

use crate::error::{Error, ModelError, Result};

pub const MANIFEST_TOML: &str = include_str!("../../models/manifest.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub name: String,
    pub kind: String,
    pub file: String,
    pub required: bool,
    pub url: String,
    /// Accepted digests, `sha1:<hex>` or `sha256:<hex>`; a download must match one.
    pub checksums: Vec<String>,
    pub licence: String,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(rename = "model")]
    pub models: Vec<ModelSpec>,
}

impl Manifest {
    /// The manifest compiled into this binary.
    pub fn embedded() -> Result<Self> {
        toml::from_str(MANIFEST_TOML).map_err(|e| Error::internal(format!("models/manifest.toml: {e}")))
    }

    pub fn get(&self, name: &str) -> Result<&ModelSpec> {
        self.models.iter().find(|m| m.name == name).ok_or_else(|| {
            ModelError::Unknown {
                name: name.to_owned(),
                known: self.models.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", "),
            }
            .into()
        })
    }
}

/// A checksum of the manifest, split into algorithm and expected hex digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum<'a> {
    Sha1(&'a str),
    Sha256(&'a str),
}

impl<'a> Checksum<'a> {
    pub fn parse(s: &'a str) -> Option<Self> {
        let (alg, hex) = s.split_once(':')?;
        match alg {
            "sha1" => Some(Checksum::Sha1(hex)),
            "sha256" => Some(Checksum::Sha256(hex)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_manifest_parses_and_every_checksum_is_known() {
        let m = Manifest::embedded().unwrap();
        assert!(m.get("whisper-tiny.en").unwrap().required);
        assert!(m.get("silero-vad").unwrap().required);
        for spec in &m.models {
            assert!(!spec.checksums.is_empty(), "{} has no checksum", spec.name);
            for c in &spec.checksums {
                assert!(Checksum::parse(c).is_some(), "{}: bad checksum {c}", spec.name);
            }
            assert!(spec.url.starts_with("https://"), "{}", spec.name);
        }
    }

    #[test]
    fn unknown_model_names_the_known_ones() {
        let m = Manifest::embedded().unwrap();
        let err = m.get("whisper-huge").unwrap_err().to_string();
        assert!(err.contains("whisper-tiny.en"), "{err}");
    }
}
