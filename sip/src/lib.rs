//! voicegate's SIP edge. The SIP user agent, SDP offer/answer and RTP live here, and this
//! is the only crate that imports the SIP stack. So far: RTP and RFC 4733 parsing, the jitter
//! buffer and SDP offer/answer, all without IO; the user agent on rsipstack comes next.

pub mod jitter;
pub mod rtp;
pub mod sdp;

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
