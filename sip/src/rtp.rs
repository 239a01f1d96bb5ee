//! RTP packets (RFC 3550) and RFC 4733 telephone events: parsing and writing, without IO.
//! Everything here reads bytes from the network, so nothing may panic on any input.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtpError {
    TooShort(usize),
    Version(u8),
    /// The CSRC list, extension or padding runs past the packet.
    Truncated(&'static str),
}

impl fmt::Display for RtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtpError::TooShort(n) => write!(f, "RTP packet of {n} bytes (at least 12)"),
            RtpError::Version(v) => write!(f, "RTP version {v} (only 2)"),
            RtpError::Truncated(what) => write!(f, "RTP packet truncated in its {what}"),
        }
    }
}

impl std::error::Error for RtpError {}

/// One RTP packet, borrowing its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload: &'a [u8],
}

impl<'a> RtpPacket<'a> {
    pub fn parse(b: &'a [u8]) -> Result<Self, RtpError> {
        if b.len() < 12 {
            return Err(RtpError::TooShort(b.len()));
        }
        let version = b[0] >> 6;
        if version != 2 {
            return Err(RtpError::Version(version));
        }
        let padding = b[0] & 0x20 != 0;
        let extension = b[0] & 0x10 != 0;
        let csrcs = (b[0] & 0x0f) as usize;
        let mut start = 12 + 4 * csrcs;
        if start > b.len() {
            return Err(RtpError::Truncated("CSRC list"));
        }
        if extension {
            let words = b.get(start + 2..start + 4).ok_or(RtpError::Truncated("header extension"))?;
            start += 4 + 4 * u16::from_be_bytes([words[0], words[1]]) as usize;
            if start > b.len() {
                return Err(RtpError::Truncated("header extension"));
            }
        }
        let mut end = b.len();
        if padding {
            let pad = b[b.len() - 1] as usize;
            if pad == 0 || start + pad > end {
                return Err(RtpError::Truncated("padding"));
            }
            end -= pad;
        }
        Ok(Self {
            marker: b[1] & 0x80 != 0,
            payload_type: b[1] & 0x7f,
            sequence: u16::from_be_bytes([b[2], b[3]]),
            timestamp: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            ssrc: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            payload: &b[start..end],
        })
    }

    /// The packet on the wire (no CSRCs, extension or padding).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(12 + self.payload.len());
        v.push(0x80);
        v.push((self.marker as u8) << 7 | (self.payload_type & 0x7f));
        v.extend_from_slice(&self.sequence.to_be_bytes());
        v.extend_from_slice(&self.timestamp.to_be_bytes());
        v.extend_from_slice(&self.ssrc.to_be_bytes());
        v.extend_from_slice(self.payload);
        v
    }
}

/// An RFC 4733 telephone event (a key press), as carried in one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// 0-9, 10 = *, 11 = #, 12-15 = A-D.
    pub event: u8,
    pub end: bool,
    pub volume: u8,
    pub duration: u16,
}

impl TelephoneEvent {
    pub fn parse(payload: &[u8]) -> Option<Self> {
        let b = payload.get(..4)?;
        Some(Self { event: b[0], end: b[1] & 0x80 != 0, volume: b[1] & 0x3f, duration: u16::from_be_bytes([b[2], b[3]]) })
    }

    /// The event code of a key, for sending.
    pub fn event_for(key: char) -> Option<u8> {
        Some(match key.to_ascii_uppercase() {
            k @ '0'..='9' => k as u8 - b'0',
            '*' => 10,
            '#' => 11,
            k @ 'A'..='D' => k as u8 - b'A' + 12,
            _ => return None,
        })
    }

    /// The key: '0'-'9', '*', '#', 'A'-'D'.
    pub fn key(&self) -> Option<char> {
        Some(match self.event {
            0..=9 => (b'0' + self.event) as char,
            10 => '*',
            11 => '#',
            12..=15 => (b'A' + self.event - 12) as char,
            _ => return None,
        })
    }

    pub fn to_bytes(&self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [self.event, (self.end as u8) << 7 | (self.volume & 0x3f), d[0], d[1]]
    }
}

/// Key presses from a stream of telephone-event packets: each event once, at its end (the
/// end packet is sent three times; a new timestamp is a new press).
#[derive(Debug, Default)]
pub struct DtmfReceiver {
    last_done: Option<u32>,
}

impl DtmfReceiver {
    pub fn push(&mut self, timestamp: u32, ev: &TelephoneEvent) -> Option<char> {
        if !ev.end || self.last_done == Some(timestamp) {
            return None;
        }
        self.last_done = Some(timestamp);
        ev.key()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_bad_packets_without_panicking() {
        let p = RtpPacket { marker: true, payload_type: 8, sequence: 65535, timestamp: 160, ssrc: 0xdead_beef, payload: &[1, 2, 3] };
        let bytes = p.to_bytes();
        assert_eq!(RtpPacket::parse(&bytes), Ok(p));
        assert_eq!(RtpPacket::parse(&bytes[..11]), Err(RtpError::TooShort(11)));
        let mut v1 = bytes.clone();
        v1[0] = 0x40;
        assert_eq!(RtpPacket::parse(&v1), Err(RtpError::Version(1)));
        let mut csrc = bytes.clone();
        csrc[0] |= 0x0f;
        assert_eq!(RtpPacket::parse(&csrc), Err(RtpError::Truncated("CSRC list")));
        let mut pad = bytes.clone();
        pad[0] |= 0x20;
        *pad.last_mut().unwrap() = 200;
        assert_eq!(RtpPacket::parse(&pad), Err(RtpError::Truncated("padding")));
        // Every prefix and every first byte of a real packet: errors, never a panic.
        for n in 0..bytes.len() {
            let _ = RtpPacket::parse(&bytes[..n]);
        }
        for b0 in 0..=255u8 {
            let mut x = bytes.clone();
            x[0] = b0;
            let _ = RtpPacket::parse(&x);
        }
    }

    #[test]
    fn telephone_events_give_each_key_once() {
        let mut rx = DtmfReceiver::default();
        let mut keys = String::new();
        for (ts, ev, end) in [(100, 5, false), (100, 5, false), (100, 5, true), (100, 5, true), (100, 5, true), (900, 11, true), (900, 11, true)] {
            let e = TelephoneEvent { event: ev, end, volume: 10, duration: 800 };
            assert_eq!(TelephoneEvent::parse(&e.to_bytes()), Some(e));
            keys.extend(rx.push(ts, &e));
        }
        assert_eq!(keys, "5#");
        assert_eq!(TelephoneEvent::parse(&[1, 2]), None);
    }
}
