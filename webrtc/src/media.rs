//! One in-app call's media, on the stack's peer connection: the caller's RTP through a jitter
//! buffer into one 20 ms slot every 20 ms (Opus payloads, RFC 4733 keys apart), and the bot's
//! Opus packets out, one per 20 ms slot, on the RTP clock of the slot. The stack neither paces
//! nor buffers; this task does both. Codecs stay outside.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::rtp;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use voicegate_sip::jitter::{JitterBuffer, Playout};
use voicegate_sip::rtp::{DtmfReceiver, RtpPacket, TelephoneEvent};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;

const SLOT: Duration = Duration::from_millis(20);
/// RTP clock ticks per 20 ms (Opus and telephone-event on the browser's 48 kHz clock).
const TICKS_PER_SLOT: u32 = 960;
/// A bot frame sent later than this after its due time counts as late.
pub const LATE_MS: u64 = 40;

/// What the call gets from the caller, one audio item per 20 ms slot.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// A packet's Opus payload.
    Audio(Vec<u8>),
    /// The packet due now never came: conceal it, from `next` (the following packet, already
    /// here) by its forward error correction when there is one.
    Lost { next: Option<Vec<u8>> },
    /// Nothing to play (before the first packet, while a key is pressed, in a pause).
    Silence,
    /// An RFC 4733 key press.
    Dtmf(char),
}

/// 20 ms of bot audio (one Opus packet), and when it was due (for the lateness count).
#[derive(Debug, Clone)]
pub struct Outbound {
    pub due: Option<Instant>,
    pub payload: Vec<u8>,
}

/// A packet as it came off the track.
#[derive(Debug, Clone)]
pub(crate) struct RxPacket {
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload: Bytes,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct MediaStats {
    pub rx_packets: u64,
    pub rx_lost: u64,
    pub rx_late: u64,
    pub rx_dtmf: u64,
    /// Packets of payload types not agreed (comfort noise, RED): their slots play silence.
    pub rx_other: u64,
    pub tx_packets: u64,
    pub tx_late: u64,
    pub tx_max_late_ms: u64,
    pub tx_dtmf: u64,
    pub tx_errors: u64,
}

/// Payload types agreed for one direction.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PayloadTypes {
    pub opus: u8,
    pub telephone_event: Option<u8>,
}

pub(crate) struct MediaTask {
    rx_pts: PayloadTypes,
    jitter: JitterBuffer,
    dtmf_in: DtmfReceiver,
    ssrc: u32,
    seq: u16,
    ts_base: u32,
    slot: u64,
    started: Instant,
    queue: VecDeque<Outbound>,
    dtmf_out: VecDeque<(bool, u32, [u8; 4])>,
    talking: bool,
    stats: Arc<Mutex<MediaStats>>,
    local: MediaStats,
}

impl MediaTask {
    pub fn new(jitter_depth: usize, ssrc: u32, stats: Arc<Mutex<MediaStats>>) -> Self {
        Self {
            rx_pts: PayloadTypes::default(),
            jitter: JitterBuffer::new(jitter_depth),
            dtmf_in: DtmfReceiver::default(),
            ssrc,
            seq: random() as u16,
            ts_base: random() as u32,
            slot: 0,
            started: Instant::now(),
            queue: VecDeque::new(),
            dtmf_out: VecDeque::new(),
            talking: false,
            stats,
            local: MediaStats::default(),
        }
    }

    /// Runs until cancelled or until the call stops taking its audio. `tx` is where the bot's
    /// packets go, with the payload types agreed for sending, once the connection is up.
    #[allow(clippy::too_many_arguments)]
    pub async fn run(
        mut self,
        mut packets: mpsc::Receiver<RxPacket>,
        mut rx_pts: mpsc::UnboundedReceiver<PayloadTypes>,
        mut sender: mpsc::UnboundedReceiver<(Arc<TrackLocalStaticRTP>, PayloadTypes)>,
        inbound: mpsc::Sender<Inbound>,
        mut outbound: mpsc::Receiver<Outbound>,
        mut keys: mpsc::UnboundedReceiver<char>,
        cancel: CancellationToken,
    ) {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::from_std(self.started + SLOT), SLOT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut tx: Option<(Arc<TrackLocalStaticRTP>, PayloadTypes)> = None;
        let mut outbound_open = true;
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                Some(p) = packets.recv() => {
                    if let Some(key) = self.on_packet(p) {
                        let _ = inbound.try_send(Inbound::Dtmf(key));
                    }
                }
                Some(pts) = rx_pts.recv() => self.rx_pts = pts,
                Some(s) = sender.recv() => tx = Some(s),
                _ = tick.tick() => {
                    let slot_due = self.started + SLOT * (self.slot as u32 + 1);
                    self.slot += 1;
                    let item = self.play_slot();
                    if inbound.is_closed() {
                        break;
                    }
                    // A call too slow to take its audio loses slots, as on the wire.
                    let _ = inbound.try_send(item);
                    while let Ok(f) = outbound.try_recv() {
                        self.queue.push_back(f);
                    }
                    if let Some((track, pts)) = &tx {
                        self.send_slot(track, *pts, slot_due).await;
                    } else {
                        // Not connected yet: what the bot says meanwhile is dropped, as on a line.
                        self.queue.clear();
                    }
                    self.publish();
                }
                f = outbound.recv(), if outbound_open => match f {
                    Some(f) => self.queue.push_back(f),
                    None => outbound_open = false,
                },
                Some(k) = keys.recv() => self.queue_dtmf(k, tx.as_ref().and_then(|(_, p)| p.telephone_event)),
            }
        }
        self.publish();
    }

    /// A packet off the track; a finished key press comes back.
    fn on_packet(&mut self, p: RxPacket) -> Option<char> {
        self.local.rx_packets += 1;
        let rtp = RtpPacket { marker: false, payload_type: p.payload_type, sequence: p.sequence, timestamp: p.timestamp, ssrc: p.ssrc, payload: &p.payload };
        if Some(p.payload_type) == self.rx_pts.telephone_event {
            // A key's packets take the place of audio in the stream: their slots play silence,
            // and they are not lost audio.
            self.jitter.push(&RtpPacket { payload: &[], ..rtp });
            let key = TelephoneEvent::parse(&p.payload).and_then(|ev| self.dtmf_in.push(p.timestamp, &ev));
            if key.is_some() {
                self.local.rx_dtmf += 1;
            }
            return key;
        }
        if p.payload_type != self.rx_pts.opus {
            // Comfort noise, RED, anything not agreed: the slot is silence.
            self.local.rx_other += 1;
            self.jitter.push(&RtpPacket { payload: &[], ..rtp });
            return None;
        }
        self.jitter.push(&rtp);
        None
    }

    fn play_slot(&mut self) -> Inbound {
        // A far end sending faster than we play (clock drift) would build up delay: drop one.
        if self.jitter.buffered() > 20 {
            let _ = self.jitter.pop();
        }
        let item = match self.jitter.pop() {
            Some(Playout::Packet { payload, .. }) if payload.is_empty() => Inbound::Silence,
            Some(Playout::Packet { payload, .. }) => Inbound::Audio(payload),
            Some(Playout::Lost { .. }) => Inbound::Lost { next: self.jitter.peek_next().filter(|p| !p.is_empty()).map(<[u8]>::to_vec) },
            None => Inbound::Silence,
        };
        self.local.rx_lost = self.jitter.stats.lost;
        self.local.rx_late = self.jitter.stats.late;
        item
    }

    fn queue_dtmf(&mut self, key: char, pt: Option<u8>) {
        let (Some(_), Some(event)) = (pt, TelephoneEvent::event_for(key)) else { return };
        let ts = self.ts_base.wrapping_add((self.slot as u32 + 1).wrapping_mul(TICKS_PER_SLOT));
        // 100 ms of tone, then the end packet three times (RFC 4733 §2.5.1.4).
        for i in 1..=5u32 {
            let ev = TelephoneEvent { event, end: false, volume: 10, duration: (i * TICKS_PER_SLOT) as u16 };
            self.dtmf_out.push_back((i == 1, ts, ev.to_bytes()));
        }
        for _ in 0..3 {
            let ev = TelephoneEvent { event, end: true, volume: 10, duration: (5 * TICKS_PER_SLOT) as u16 };
            self.dtmf_out.push_back((false, ts, ev.to_bytes()));
        }
        self.local.tx_dtmf += 1;
    }

    async fn send_slot(&mut self, track: &TrackLocalStaticRTP, pts: PayloadTypes, slot_due: Instant) {
        let (frame, late) = voicegate_sip::media::next_for_slot(&mut self.queue, |f| f.due, slot_due, Instant::now());
        if frame.is_some() {
            self.local.tx_max_late_ms = self.local.tx_max_late_ms.max(late);
            if late > LATE_MS {
                self.local.tx_late += 1;
            }
        }
        let ts = self.ts_base.wrapping_add((self.slot as u32).wrapping_mul(TICKS_PER_SLOT));
        let (marker, payload_type, timestamp, payload) = match (self.dtmf_out.pop_front(), pts.telephone_event) {
            (Some((marker, ts, ev)), Some(pt)) => (marker, pt, ts, Bytes::copy_from_slice(&ev)),
            _ => match frame {
                // After a pause (nothing to say is sent as nothing, as Opus DTX does), the marker
                // starts a talkspurt.
                Some(f) => (!self.talking, pts.opus, ts, Bytes::from(f.payload)),
                None => {
                    self.talking = false;
                    return;
                }
            },
        };
        self.talking = payload_type == pts.opus;
        let header = rtp::Header { version: 2, marker, payload_type, sequence_number: self.seq, timestamp, ssrc: self.ssrc, ..Default::default() };
        self.seq = self.seq.wrapping_add(1);
        match track.write_rtp(rtp::Packet { header, payload }).await {
            Ok(()) => self.local.tx_packets += 1,
            Err(_) => self.local.tx_errors += 1,
        }
    }

    fn publish(&mut self) {
        if let Ok(mut s) = self.stats.lock() {
            *s = self.local.clone();
        }
    }
}

pub(crate) fn random() -> u64 {
    voicegate_sip::random_u64()
}
