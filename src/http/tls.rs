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
    if !cfg.tls_cert.as_os_str().is_empty() {
        let config = RustlsConfig::from_pem_file(&cfg.tls_cert, &cfg.tls_key)
            .await
            .map_err(|e| Error::Config(format!("http.tls_cert/tls_key ({}, {}): {e}", cfg.tls_cert.display(), cfg.tls_key.display())))?;
        return Ok(Tls { config, self_signed: None });
    }
    let dir = var.join("tls");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if !cert.is_file() || !key.is_file() {
        std::fs::create_dir_all(&dir).map_err(|e| Error::Config(format!("{}: {e}", dir.display())))?;
        let made = rcgen::generate_simple_self_signed(names.to_vec()).map_err(|e| Error::internal(format!("self-signed certificate: {e}")))?;
        std::fs::write(&cert, made.cert.pem()).map_err(|e| Error::Config(format!("{}: {e}", cert.display())))?;
        write_private(&key, made.signing_key.serialize_pem().as_bytes())?;
    }
    let config = RustlsConfig::from_pem_file(&cert, &key).await.map_err(|e| Error::Config(format!("{} (delete it to have a new one made): {e}", cert.display())))?;
    Ok(Tls { config, self_signed: Some(cert) })
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
