//! RTCP sender and receiver reports (RFC 3550 §6.4), and the receive statistics they carry:
//! packets lost, extended highest sequence, interarrival jitter. No IO; nothing here may
//! panic on any input.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpError {
    TooShort(usize),
    Version(u8),
    /// A packet's length field runs past the datagram.
    Length,
}

impl fmt::Display for RtcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtcpError::TooShort(n) => write!(f, "RTCP packet of {n} bytes (at least 8)"),
            RtcpError::Version(v) => write!(f, "RTCP version {v} (only 2)"),
            RtcpError::Length => write!(f, "RTCP length field runs past the datagram"),
        }
    }
}

impl std::error::Error for RtcpError {}

/// One report block: how a sender's stream reaches us (or our stream reaches them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed on the wire).
    pub cumulative_lost: i32,
    pub highest_sequence: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    pub last_sr: u32,
    pub delay_since_last_sr: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    SenderReport { ssrc: u32, ntp: u64, rtp_timestamp: u32, packets: u32, octets: u32, reports: Vec<ReportBlock> },
    ReceiverReport { ssrc: u32, reports: Vec<ReportBlock> },
    /// SDES, BYE, APP and the rest: recognised, not read.
    Other { packet_type: u8 },
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn blocks(b: &[u8], count: usize) -> Vec<ReportBlock> {
    b.chunks_exact(24)
        .take(count)
        .map(|r| {
            let lost = ((r[5] as u32) << 16 | (r[6] as u32) << 8 | r[7] as u32) as i32;
            ReportBlock {
                ssrc: u32_at(r, 0),
                fraction_lost: r[4],
                cumulative_lost: (lost << 8) >> 8,
                highest_sequence: u32_at(r, 8),
                jitter: u32_at(r, 12),
                last_sr: u32_at(r, 16),
                delay_since_last_sr: u32_at(r, 20),
            }
        })
        .collect()
}

/// Parses a compound RTCP datagram.
pub fn parse(datagram: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
    if datagram.len() < 8 {
        return Err(RtcpError::TooShort(datagram.len()));
    }
    let mut out = Vec::new();
    let mut rest = datagram;
    while rest.len() >= 4 {
        let version = rest[0] >> 6;
        if version != 2 {
            return Err(RtcpError::Version(version));
        }
        let count = (rest[0] & 0x1f) as usize;
        let pt = rest[1];
        let len = (u16::from_be_bytes([rest[2], rest[3]]) as usize + 1) * 4;
        if len > rest.len() {
            return Err(RtcpError::Length);
        }
        let body = &rest[4..len];
        out.push(match pt {
            200 if body.len() >= 24 => RtcpPacket::SenderReport {
                ssrc: u32_at(body, 0),
                ntp: (u32_at(body, 4) as u64) << 32 | u32_at(body, 8) as u64,
                rtp_timestamp: u32_at(body, 12),
                packets: u32_at(body, 16),
                octets: u32_at(body, 20),
                reports: blocks(&body[24..], count),
            },
            201 if body.len() >= 4 => RtcpPacket::ReceiverReport { ssrc: u32_at(body, 0), reports: blocks(&body[4..], count) },
            200 | 201 => return Err(RtcpError::Length),
            other => RtcpPacket::Other { packet_type: other },
        });
        rest = &rest[len..];
    }
    Ok(out)
}

fn push_block(out: &mut Vec<u8>, r: &ReportBlock) {
    out.extend(r.ssrc.to_be_bytes());
    out.push(r.fraction_lost);
    out.extend(&(r.cumulative_lost.clamp(-(1 << 23), (1 << 23) - 1) as u32).to_be_bytes()[1..]);
    out.extend(r.highest_sequence.to_be_bytes());
    out.extend(r.jitter.to_be_bytes());
    out.extend(r.last_sr.to_be_bytes());
    out.extend(r.delay_since_last_sr.to_be_bytes());
}

fn header(out: &mut Vec<u8>, count: usize, pt: u8) {
    out.push(0x80 | count as u8);
    out.push(pt);
    out.extend([0, 0]);
}

fn set_length(out: &mut [u8], start: usize) {
    let words = ((out.len() - start) / 4 - 1) as u16;
    out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
}

impl RtcpPacket {
    /// The packet on the wire, followed by an SDES with our CNAME (RFC 3550 requires one in
    /// every compound packet).
    pub fn to_bytes(&self, cname: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let ssrc = match self {
            RtcpPacket::SenderReport { ssrc, ntp, rtp_timestamp, packets, octets, reports } => {
                header(&mut out, reports.len().min(31), 200);
                out.extend(ssrc.to_be_bytes());
                out.extend(ntp.to_be_bytes());
                out.extend(rtp_timestamp.to_be_bytes());
                out.extend(packets.to_be_bytes());
                out.extend(octets.to_be_bytes());
                reports.iter().take(31).for_each(|r| push_block(&mut out, r));
                *ssrc
            }
            RtcpPacket::ReceiverReport { ssrc, reports } => {
                header(&mut out, reports.len().min(31), 201);
                out.extend(ssrc.to_be_bytes());
                reports.iter().take(31).for_each(|r| push_block(&mut out, r));
                *ssrc
            }
            RtcpPacket::Other { .. } => return out,
        };
        set_length(&mut out, 0);
        let start = out.len();
        header(&mut out, 1, 202);
        out.extend(ssrc.to_be_bytes());
        let name = &cname.as_bytes()[..cname.len().min(255)];
        out.push(1);
        out.push(name.len() as u8);
        out.extend(name);
        out.push(0);
        while (out.len() - start) % 4 != 0 {
            out.push(0);
        }
        set_length(&mut out, start);
        out
    }
}

/// Receive statistics of one RTP stream (RFC 3550 A.3, A.8).
#[derive(Debug, Clone, Default)]
pub struct ReceiveStats {
    ssrc: u32,
    base: Option<u32>,
    highest: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    /// Jitter estimate ×16, in timestamp units.
    jitter16: i64,
    last_transit: Option<i64>,
    last_sr: u32,
    last_sr_at_ms: Option<u64>,
}

impl ReceiveStats {
    /// A packet arrived at `arrival_ms` (wall clock; 8 timestamp units per ms at 8 kHz).
    pub fn on_packet(&mut self, ssrc: u32, sequence: u16, timestamp: u32, arrival_ms: u64, clock_khz: u32) {
        self.count(ssrc, sequence);
        let transit = (arrival_ms as i64) * clock_khz as i64 - timestamp as i64;
        if let Some(last) = self.last_transit {
            let d = (transit - last).abs();
            self.jitter16 += d - ((self.jitter16 + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    /// A packet that counts for loss but not for jitter: an RFC 4733 event's packets share
    /// one timestamp (the event's start), so their transit times say nothing about jitter.
    pub fn on_untimed_packet(&mut self, ssrc: u32, sequence: u16) {
        self.count(ssrc, sequence);
    }

    fn count(&mut self, ssrc: u32, sequence: u16) {
        if self.base.is_none() || self.ssrc != ssrc {
            *self = Self { ssrc, base: Some(sequence as u32), highest: sequence as u32, ..Default::default() };
        }
        self.received += 1;
        let cycles = self.highest & !0xffff;
        let mut ext = cycles | sequence as u32;
        if ext + 0x8000 < self.highest {
            ext = ext.wrapping_add(0x10000);
        }
        if ext > self.highest && ext < self.highest.wrapping_add(0x8000) {
            self.highest = ext;
        }
    }

    /// The middle 32 bits of a sender report's NTP time, when it came.
    pub fn on_sender_report(&mut self, ntp: u64, now_ms: u64) {
        self.last_sr = (ntp >> 16) as u32;
        self.last_sr_at_ms = Some(now_ms);
    }

    pub fn lost(&self) -> i64 {
        match self.base {
            Some(b) => (self.highest as i64 - b as i64 + 1) - self.received as i64,
            None => 0,
        }
    }

    pub fn jitter(&self) -> u32 {
        (self.jitter16 >> 4) as u32
    }

    /// The report block for this stream, and the interval counters moved on.
    pub fn report(&mut self, now_ms: u64) -> Option<ReportBlock> {
        let base = self.base?;
        let expected = self.highest.wrapping_sub(base).wrapping_add(1);
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 { 0 } else { ((lost_interval << 8) / expected_interval as i64).min(255) as u8 };
        let dlsr = self.last_sr_at_ms.map(|t| ((now_ms.saturating_sub(t)) * 65536 / 1000) as u32).unwrap_or(0);
        Some(ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: self.lost().clamp(i32::MIN as i64, i32::MAX as i64) as i32,
            highest_sequence: self.highest,
            jitter: self.jitter(),
            last_sr: self.last_sr,
            delay_since_last_sr: dlsr,
        })
    }
}

/// Wall-clock time as a 64-bit NTP timestamp.
pub fn ntp_now() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() + 2_208_988_800;
    (secs << 32) | ((now.subsec_nanos() as u64) << 32) / 1_000_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_press_packets_are_received_not_lost_and_leave_jitter_alone() {
        let mut r = ReceiveStats::default();
        for seq in 0..10u16 {
            r.on_packet(7, seq, seq as u32 * 160, seq as u64 * 20, 8);
        }
        // An RFC 4733 event: six packets with one timestamp, in the stream's sequence.
        for seq in 10..16u16 {
            r.on_untimed_packet(7, seq);
        }
        for seq in 16..30u16 {
            r.on_packet(7, seq, seq as u32 * 160, seq as u64 * 20, 8);
        }
        assert_eq!(r.lost(), 0);
        assert_eq!(r.jitter(), 0);
        // A real gap is a loss.
        r.on_packet(7, 32, 32 * 160, 32 * 20, 8);
        assert_eq!(r.lost(), 2);
    }

    #[test]
    fn reports_round_trip_with_sdes() {
        let rb = ReportBlock { ssrc: 7, fraction_lost: 25, cumulative_lost: -3, highest_sequence: 70_000, jitter: 12, last_sr: 5, delay_since_last_sr: 9 };
        let sr = RtcpPacket::SenderReport { ssrc: 1, ntp: 0x0102_0304_0506_0708, rtp_timestamp: 160, packets: 10, octets: 1600, reports: vec![rb] };
        let bytes = sr.to_bytes("voicegate@example");
        let parsed = parse(&bytes).unwrap();
        assert_eq!(parsed[0], sr);
        assert_eq!(parsed[1], RtcpPacket::Other { packet_type: 202 });
        let rr = RtcpPacket::ReceiverReport { ssrc: 2, reports: vec![] };
        assert_eq!(parse(&rr.to_bytes("x")).unwrap()[0], rr);
    }

    #[test]
    fn loss_and_jitter_are_counted() {
        let mut s = ReceiveStats::default();
        // 100 packets, 20 ms apart, with 5 lost and a sequence wrap in the middle.
        let mut got = 0;
        for i in 0..100u32 {
            if i % 20 == 7 {
                continue;
            }
            let seq = (65_500 + i) as u16;
            // Half the packets arrive 4 ms late: jitter.
            let late = if i % 2 == 0 { 4 } else { 0 };
            s.on_packet(9, seq, i * 160, (i * 20 + late) as u64, 8);
            got += 1;
        }
        assert_eq!(got, 95);
        assert_eq!(s.lost(), 5);
        let r = s.report(2000).unwrap();
        assert_eq!(r.highest_sequence, 65_500 + 99);
        assert_eq!(r.cumulative_lost, 5);
        assert!(r.fraction_lost > 10 && r.fraction_lost < 15, "{}", r.fraction_lost);
        assert!(r.jitter > 10 && r.jitter < 40, "jitter {} units", r.jitter);
        // Nothing new: nothing lost in the interval.
        assert_eq!(s.report(3000).unwrap().fraction_lost, 0);
    }

    #[test]
    fn malformed_datagrams_are_errors_never_panics() {
        assert_eq!(parse(&[0x80, 200, 0, 1]), Err(RtcpError::TooShort(4)));
        assert_eq!(parse(&[0x40, 200, 0, 1, 0, 0, 0, 0]), Err(RtcpError::Version(1)));
        assert_eq!(parse(&[0x80, 200, 0, 9, 0, 0, 0, 0]), Err(RtcpError::Length));
        assert_eq!(parse(&[0x81, 200, 0, 1, 0, 0, 0, 0]), Err(RtcpError::Length));
        let good = RtcpPacket::ReceiverReport { ssrc: 2, reports: vec![ReportBlock::default()] }.to_bytes("c");
        for n in 0..good.len() {
            let _ = parse(&good[..n]);
        }
        for b in 0..=255u8 {
            let mut x = good.clone();
            x[0] = b;
            let _ = parse(&x);
            x[3] = b;
            let _ = parse(&x);
        }
    }
}
