//! `voicegate models`: each model of the manifest and where it resolves from.

use clap::Args;

use crate::config::Config;
use crate::error::{ModelError, Result};
use crate::models::{download, Manifest, ModelResolver};

#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// Download every required model that has no local copy
    #[arg(long)]
    pub fetch: bool,
    /// Hash each local copy and compare it with the manifest checksums
    #[arg(long)]
    pub verify: bool,
    /// One JSON object per model
    #[arg(long)]
    pub json: bool,
}

pub fn run(config: Config, args: ModelsArgs) -> Result<()> {
    let manifest = Manifest::embedded()?;
    let resolver = ModelResolver::from_config(&config.models);
    let in_use = [config.models.asr.as_str(), config.models.asr_zh.as_str(), config.models.vad.as_str()];
    let name_width = manifest.models.iter().map(|m| m.name.len()).max().unwrap_or(16);
    let file_width = manifest.models.iter().map(|m| m.file.len()).max().unwrap_or(18);
    let mut first_error = None;

    for spec in &manifest.models {
        let wanted = spec.required || in_use.contains(&spec.name.as_str());
        let found = if args.fetch && wanted {
            match resolver.resolve(spec) {
                Ok(r) => Some(r),
                Err(e) => {
                    eprintln!("voicegate: {e}");
                    first_error.get_or_insert(e);
                    None
                }
            }
        } else {
            resolver.locate(spec)
        };
        let mut verified = None;
        if let (Some(r), true) = (&found, args.verify) {
            let (ok, digest) = download::verify(spec, &r.path).unwrap_or((false, "unreadable".into()));
            verified = Some(ok);
            if !ok {
                first_error.get_or_insert(
                    ModelError::ChecksumMismatch {
                        path: r.path.clone(),
                        got: digest,
                        url: spec.url.clone(),
                    }
                    .into(),
                );
            }
        }
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "name": spec.name, "kind": spec.kind, "file": spec.file,
                    "required": spec.required, "in_use": in_use.contains(&spec.name.as_str()),
                    "path": found.as_ref().map(|r| r.path.display().to_string()),
                    "origin": found.as_ref().map(|r| r.origin.to_string()),
                    "verified": verified, "url": spec.url, "licence": spec.licence,
                })
            );
            continue;
        }
        let status = match (&found, verified) {
            (Some(r), Some(true)) => format!("{} (from {}, checksum ok)", r.path.display(), r.origin),
            (Some(r), Some(false)) => format!("{} (from {}, CHECKSUM MISMATCH)", r.path.display(), r.origin),
            (Some(r), None) => format!("{} (from {})", r.path.display(), r.origin),
            (None, _) if wanted => format!("MISSING: fetch with `voicegate models --fetch` or from {}", spec.url),
            (None, _) => "not installed (optional)".to_string(),
        };
        let mark = if in_use.contains(&spec.name.as_str()) { "*" } else { " " };
        println!("{mark} {:<name_width$} {:<8} {:<file_width$} {:<4} {status}", spec.name, spec.kind, spec.file, spec.licence);
    }
    if !args.json {
        println!("(* in use by the current config)");
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
