//! voicegate's SIP edge, and the only crate that imports the SIP stack (rsipstack): the user
//! agent server (`server`), the trunk guard (`guard`), SDP offer/answer (`sdp`), RTP and
//! RFC 4733 (`rtp`), RTCP (`rtcp`), the jitter buffer (`jitter`), one call's media sockets
//! (`media`) on one pacing clock for all calls (`media_engine`, reading with kernel arrival
//! times: `udp_arrival`), the screen that answers malformed requests before the stack reads them
//! (`screen`, with `screened_udp` and `screened_stream` around it) and session timers
//! (`timer`). Parsers and decisions are free of IO; `server`, `media` and the `screened_*`
//! sockets are the thin async shell around them.

pub mod client;
pub mod guard;
pub mod jitter;
pub mod media;
pub mod media_engine;
pub mod pcap;
pub mod registrar;
pub mod rtcp;
pub mod rtp;
pub mod screen;
pub mod screened_stream;
pub mod screened_udp;
pub mod sdes;
pub mod sdp;
pub mod server;
pub mod srtp;
pub mod thread_priority;
pub mod timer;
pub mod udp_arrival;

/// A random number for SSRCs, sequence and timestamp starts, call ids and nonce keys (the
/// standard library's randomly keyed hasher over the clock; not for cryptography).
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.finish()
}

/// This machine's address towards the outside, found by routing (no packet is sent);
/// loopback when it has none.
pub fn outward_ip() -> std::net::IpAddr {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").and_then(|s| s.connect("192.0.2.1:9").and_then(|_| s.local_addr()));
    match probe {
        Ok(a) if !a.ip().is_unspecified() => a.ip(),
        _ => std::net::IpAddr::from([127, 0, 0, 1]),
    }
}

/// RTP static payload types for the G.711 laws (RFC 3551).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum G711PayloadType {
    /// µ-law, payload type 0.
    Pcmu = 0,
    /// A-law, payload type 8.
    Pcma = 8,
}

impl G711PayloadType {
    /// The payload type for an RTP payload-type number, if it is a G.711 law.
    pub fn from_number(pt: u8) -> Option<Self> {
        match pt {
            0 => Some(Self::Pcmu),
            8 => Some(Self::Pcma),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_static_payload_types() {
        assert_eq!(G711PayloadType::from_number(0), Some(G711PayloadType::Pcmu));
        assert_eq!(G711PayloadType::from_number(8), Some(G711PayloadType::Pcma));
        assert_eq!(G711PayloadType::from_number(18), None);
    }
}
