//! In-app calls: customers call from the shop's page or app over WebRTC. The leg itself is the
//! `voicegate-webrtc` crate (the only one that imports the WebRTC stack); here are who may call
//! (`token`), the signalling messages (`signal`) and one call's leg into the live call
//! (`call`). The HTTP side (the WebSocket, WHIP, the caller page) is in `http::webrtc`.

pub mod call;
pub mod token;

pub use voicegate_webrtc::signal;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use voicegate_webrtc::EndpointConfig;

use crate::error::{Error, Result};
use crate::live::LiveCalls;
use crate::pipeline::Engines;
use token::TokenKey;

/// Random bytes from the operating system, as URL-safe text.
pub fn random_secret(bytes: usize) -> Result<String> {
    use base64::Engine;
    let mut b = vec![0u8; bytes];
    getrandom::getrandom(&mut b).map_err(|e| Error::internal(format!("no randomness from the OS: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

/// Media figures over the in-app calls finished so far, and those refused.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InAppTotals {
    #[serde(flatten)]
    pub media: crate::live::MediaTotals,
    pub refused: u64,
}

/// What every in-app call shares.
pub struct InApp {
    pub engines: Arc<Engines>,
    pub live: Arc<LiveCalls>,
    pub endpoint: EndpointConfig,
    pub tokens: TokenKey,
    pub recordings: PathBuf,
    pub greet: bool,
    max_calls: usize,
    max_sockets_per_source: usize,
    /// In-app calls being set up or up now.
    calls: AtomicUsize,
    sockets: Mutex<HashMap<IpAddr, usize>>,
    pub totals: Mutex<InAppTotals>,
    /// WHIP sessions by resource id.
    pub whip: Mutex<HashMap<String, Arc<call::CallHandle>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A slot among `webrtc.max_calls`, given back when dropped.
pub struct CallSlot(Arc<InApp>);

impl Drop for CallSlot {
    fn drop(&mut self) {
        self.0.calls.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An open signalling socket of one source address, counted until dropped.
pub struct SocketSlot(Arc<InApp>, IpAddr);

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut m = lock(&self.0.sockets);
        if let Some(n) = m.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.1);
            }
        }
    }
}

impl InApp {
    /// The in-app side of the gateway, when `[webrtc]` is enabled.
    pub fn start(engines: Arc<Engines>, live: Arc<LiveCalls>) -> Result<Option<Arc<Self>>> {
        let c = &engines.config.webrtc;
        if !c.enabled {
            return Ok(None);
        }
        let ips: Vec<IpAddr> = match c.ice_ips.is_empty() {
            true => vec![voicegate_sip::outward_ip()],
            false => c.ice_ips.iter().filter_map(|ip| ip.parse().ok()).collect(),
        };
        let endpoint = EndpointConfig {
            ips,
            ports: (c.udp_ports != [0, 0]).then_some((c.udp_ports[0], c.udp_ports[1])),
            ice_servers: c.ice_servers.clone(),
            lite: c.ice_lite,
            connect_timeout: Duration::from_millis(c.connect_timeout_ms),
            disconnected_timeout: Duration::from_millis(c.disconnected_timeout_ms),
            failed_timeout: Duration::from_millis(c.failed_timeout_ms),
            jitter_depth: (c.jitter_ms as usize).div_ceil(20),
        };
        let secret = match c.token_secret.is_empty() {
            false => c.token_secret.clone(),
            true => {
                let made = random_secret(32)?;
                engines.store.setting_or_insert("webrtc.token_secret", || made)?
            }
        };
        Ok(Some(Arc::new(Self {
            live,
            endpoint,
            tokens: TokenKey::new(secret.as_bytes()),
            recordings: engines.config.sip.recordings.clone(),
            greet: c.greet,
            max_calls: c.max_calls,
            max_sockets_per_source: c.max_sockets_per_source,
            calls: AtomicUsize::new(0),
            sockets: Mutex::new(HashMap::new()),
            totals: Mutex::new(InAppTotals::default()),
            whip: Mutex::new(HashMap::new()),
            engines,
        })))
    }

    /// A place for one more call, unless `webrtc.max_calls` are up.
    pub fn call_slot(self: &Arc<Self>) -> Option<CallSlot> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n >= self.max_calls {
            self.calls.fetch_sub(1, Ordering::SeqCst);
            lock(&self.totals).refused += 1;
            return None;
        }
        Some(CallSlot(self.clone()))
    }

    /// In-app calls being set up or up now.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// One more signalling socket from `ip`, unless it has `webrtc.max_sockets_per_source` open.
    pub fn socket_slot(self: &Arc<Self>, ip: IpAddr) -> Option<SocketSlot> {
        let mut m = lock(&self.sockets);
        let n = m.entry(ip).or_insert(0);
        if *n >= self.max_sockets_per_source {
            return None;
        }
        *n += 1;
        Some(SocketSlot(self.clone(), ip))
    }

    /// Signalling sockets open now.
    pub fn sockets(&self) -> usize {
        lock(&self.sockets).values().sum()
    }

    pub fn totals(&self) -> InAppTotals {
        lock(&self.totals).clone()
    }
}
