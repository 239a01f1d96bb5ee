//! voicegate's SIP edge, and the only crate that imports the SIP stack (rsipstack): the user
//! agent server (`server`), the trunk guard (`guard`), SDP offer/answer (`sdp`), RTP and
//! RFC 4733 (`rtp`), RTCP (`rtcp`), the jitter buffer (`jitter`) and one call's media sockets
//! (`media`). Parsers and decisions are free of IO; `server` and `media` are the thin async
//! shell around them.

pub mod client;
pub mod guard;
pub mod jitter;
pub mod media;
pub mod pcap;
pub mod rtcp;
pub mod rtp;
pub mod sdp;
pub mod server;

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
