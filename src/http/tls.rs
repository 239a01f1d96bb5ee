//! HTTPS for the pages: browsers grant the microphone only to secure pages (localhost aside),
//! so callers on other machines need it. The certificate and key come from the config; without
//! them a self-signed pair is made on first start (under `var/tls/`, beside the store) and
//! reused, and the banner says so.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use axum_server::tls_rustls::RustlsConfig;

use crate::config::HttpConfig;
use crate::error::{Error, Result};

/// HTTPS ready to serve, and where its self-signed certificate is (when it is one).
pub struct Tls {
    pub config: RustlsConfig,
    pub self_signed: Option<PathBuf>,
}

/// The certificate and key in effect: the configured pair, or the generated one.
pub async fn load(cfg: &HttpConfig, var: &Path, names: &[String]) -> Result<Tls> {
    // One crypto provider for the whole process (several crates bring rustls).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let pair = pem_files(&cfg.tls_cert, &cfg.tls_key, var, names)?;
    let config = RustlsConfig::from_pem_file(&pair.cert, &pair.key).await.map_err(|e| match pair.self_signed {
        true => Error::Config(format!("{} (delete it to have a new one made): {e}", pair.cert.display())),
        false => Error::Config(format!("http.tls_cert/tls_key ({}, {}): {e}", pair.cert.display(), pair.key.display())),
    })?;
    Ok(Tls { config, self_signed: pair.self_signed.then_some(pair.cert) })
}

/// A certificate and its private key, as PEM files.
pub struct PemFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Made here (`var/tls/`), not configured.
    pub self_signed: bool,
}

/// The configured pair (`cert` not empty), or the self-signed one under `var/tls/`, made on
/// first use for `names` and reused (HTTPS and SIP over TLS share it).
pub fn pem_files(cert: &Path, key: &Path, var: &Path, names: &[String]) -> Result<PemFiles> {
    if !cert.as_os_str().is_empty() {
        return Ok(PemFiles { cert: cert.to_path_buf(), key: key.to_path_buf(), self_signed: false });
    }
    let dir = var.join("tls");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if !cert.is_file() || !key.is_file() {
        std::fs::create_dir_all(&dir).map_err(|e| Error::Config(format!("{}: {e}", dir.display())))?;
        let made = rcgen::generate_simple_self_signed(names.to_vec()).map_err(|e| Error::internal(format!("self-signed certificate: {e}")))?;
        std::fs::write(&cert, made.cert.pem()).map_err(|e| Error::Config(format!("{}: {e}", cert.display())))?;
        write_private(&key, made.signing_key.serialize_pem().as_bytes())?;
    }
    Ok(PemFiles { cert, key, self_signed: true })
}

/// The names a self-signed certificate is made for: localhost, this machine's name and
/// addresses.
pub fn local_names(ips: &[IpAddr]) -> Vec<String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if let Ok(h) = std::fs::read_to_string("/etc/hostname") {
        let h = h.trim();
        if !h.is_empty() {
            names.push(h.to_string());
        }
    }
    names.extend(ips.iter().map(|i| i.to_string()));
    names.sort();
    names.dedup();
    names
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    f.write_all(bytes).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
}
