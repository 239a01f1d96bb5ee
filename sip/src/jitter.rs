//! A jitter buffer for one RTP stream, without IO or clocks: packets go in as they arrive
//! (late, early, duplicated, out of order), and every 20 ms the caller takes out the next one
//! in sequence, or `Lost` where it never came (the ASR path conceals it). A new SSRC starts it
//! afresh (the far end restarted its stream).

use std::collections::BTreeMap;

use crate::rtp::RtpPacket;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    Packet { sequence: u16, payload: Vec<u8> },
    /// The packet due now never arrived.
    Lost { sequence: u16 },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    pub received: u64,
    pub played: u64,
    pub lost: u64,
    pub late: u64,
    pub duplicate: u64,
    /// Slots with nothing to play.
    pub underruns: u64,
}

#[derive(Debug)]
pub struct JitterBuffer {
    /// Packets held before playout starts (the delay that absorbs jitter).
    depth: usize,
    ssrc: Option<u32>,
    /// Extended (roll-over counted) sequence numbers.
    packets: BTreeMap<u64, Vec<u8>>,
    highest: Option<u64>,
    next: Option<u64>,
    /// The last slot played (or concealed): anything at or before it comes too late.
    played_up_to: Option<u64>,
    started: bool,
    /// Slots in a row with nothing buffered.
    starved: u32,
    pub stats: JitterStats,
}

/// After this many 20 ms slots with nothing buffered, the delay is built up again.
const MAX_STARVED: u32 = 5;
/// A packet this far behind is from the past, not a wrap-around.
const HALF: u64 = 1 << 15;

impl JitterBuffer {
    pub fn new(depth: usize) -> Self {
        Self { depth: depth.max(1), ssrc: None, packets: BTreeMap::new(), highest: None, next: None, played_up_to: None, started: false, starved: 0, stats: JitterStats::default() }
    }

    /// The extended sequence number closest to the highest seen.
    fn extend(&self, seq: u16) -> u64 {
        let Some(h) = self.highest else { return (1 << 16) + seq as u64 };
        let base = h & !0xffff;
        let candidates = [base.wrapping_sub(1 << 16), base, base + (1 << 16)];
        candidates.into_iter().map(|b| b + seq as u64).min_by_key(|c| c.abs_diff(h)).unwrap_or(h)
    }

    pub fn push(&mut self, p: &RtpPacket) {
        if self.ssrc != Some(p.ssrc) {
            let stats = self.stats;
            *self = Self::new(self.depth);
            self.stats = stats;
            self.ssrc = Some(p.ssrc);
        }
        self.stats.received += 1;
        let ext = self.extend(p.sequence);
        if self.played_up_to.is_some_and(|p| ext <= p) || self.highest.is_some_and(|h| h > ext + HALF) {
            self.stats.late += 1;
            return;
        }
        if self.packets.insert(ext, p.payload.to_vec()).is_some() {
            self.stats.duplicate += 1;
        }
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        if self.next.is_none() {
            self.next = Some(ext);
        }
        if let Some(n) = self.next {
            // A packet earlier than the first one seen, before playout: start from it.
            if !self.started && ext < n {
                self.next = Some(ext);
            }
        }
    }

    /// Packets waiting to be played.
    pub fn buffered(&self) -> usize {
        self.packets.len()
    }

    /// The payload of the packet due next, if it is here (after a loss: the packet whose
    /// forward error correction can rebuild the lost one).
    pub fn peek_next(&self) -> Option<&[u8]> {
        self.packets.get(&self.next?).map(Vec::as_slice)
    }

    /// The next 20 ms of the stream, or None while filling or paused.
    pub fn pop(&mut self) -> Option<Playout> {
        if !self.started {
            if self.packets.len() < self.depth {
                return None;
            }
            self.started = true;
            self.starved = 0;
            self.next = self.packets.keys().next().copied();
        }
        let n = self.next?;
        if let Some(payload) = self.packets.remove(&n) {
            self.next = Some(n + 1);
            self.played_up_to = Some(n);
            self.starved = 0;
            self.stats.played += 1;
            return Some(Playout::Packet { sequence: n as u16, payload });
        }
        if self.packets.is_empty() {
            // Nothing has come yet: wait for it (the caller fills the slot); after a while,
            // build the delay up again.
            self.starved += 1;
            self.stats.underruns += 1;
            if self.starved > MAX_STARVED {
                self.started = false;
            }
            return None;
        }
        // A gap with later packets waiting: this one is lost.
        self.next = Some(n + 1);
        self.played_up_to = Some(n);
        self.stats.lost += 1;
        Some(Playout::Lost { sequence: n as u16 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(seq: u16, ssrc: u32) -> Vec<u8> {
        RtpPacket { marker: false, payload_type: 8, sequence: seq, timestamp: seq as u32 * 160, ssrc, payload: &[seq as u8] }.to_bytes()
    }

    fn push(j: &mut JitterBuffer, seq: u16) {
        j.push(&RtpPacket::parse(&pkt(seq, 7)).unwrap());
    }

    fn drain(j: &mut JitterBuffer) -> Vec<String> {
        std::iter::from_fn(|| j.pop())
            .map(|p| match p {
                Playout::Packet { sequence, .. } => sequence.to_string(),
                Playout::Lost { sequence } => format!("lost {sequence}"),
            })
            .collect()
    }

    #[test]
    fn reorders_conceals_losses_and_drops_late_and_duplicate_packets() {
        let mut j = JitterBuffer::new(3);
        for s in [10, 12, 11, 11, 14, 15] {
            push(&mut j, s);
        }
        assert_eq!(drain(&mut j)[..6], ["10", "11", "12", "lost 13", "14", "15"]);
        push(&mut j, 13); // too late now
        assert_eq!(j.stats.duplicate, 1);
        assert_eq!(j.stats.late, 1);
        assert_eq!(j.stats.lost, 1);
    }

    #[test]
    fn follows_the_sequence_across_its_wrap_and_a_new_ssrc_restarts() {
        let mut j = JitterBuffer::new(2);
        for s in [65534, 65535, 0, 1] {
            push(&mut j, s);
        }
        let got = drain(&mut j);
        assert_eq!(got[..4], ["65534", "65535", "0", "1"]);
        j.push(&RtpPacket::parse(&pkt(500, 8)).unwrap());
        j.push(&RtpPacket::parse(&pkt(501, 8)).unwrap());
        assert_eq!(drain(&mut j)[..2], ["500", "501"]);
    }
}
