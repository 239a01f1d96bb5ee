//! One call's RTP and RTCP sockets: packets in through the jitter buffer, one 20 ms slot out
//! to the call every 20 ms; the bot's audio out, paced at 20 ms; RFC 4733 keys both ways;
//! symmetric RTP (we send to where the caller's packets come from); RTCP reports every 5 s.
//! Codecs stay outside: payloads in and out are G.711 bytes. With SDES keys, packets are SRTP
//! and SRTCP on the wire (`srtp`): a packet that is not authentic is counted and dropped.
//! Sessions run on the shared pacing clock (`media_engine`): on each 20 ms tick a session reads
//! what its sockets received (with the kernel's arrival times, for jitter), plays its slot and
//! sends one packet, with no task or timer of its own.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use std::net::UdpSocket as StdUdpSocket;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::jitter::{JitterBuffer, Playout};
use crate::media_engine::{self, SLOT};
use crate::rtcp::{self, ReceiveStats, RtcpPacket};
use crate::rtp::{DtmfReceiver, RtpPacket, TelephoneEvent};
use crate::sdes::SrtpKeys;
use crate::srtp::SrtpSession;
use crate::udp_arrival;

const SAMPLES_PER_SLOT: u32 = 160;
const RTCP_EVERY: Duration = Duration::from_secs(5);
/// Packets from a new source in a row before we send there instead (one stray packet must
/// not steal the call's audio).
const RELATCH_AFTER: u32 = 5;
/// A bot frame sent later than this after its due time counts as late.
pub const LATE_MS: u64 = 40;
/// Comfort noise (RFC 3389), static payload type 13.
const COMFORT_NOISE: u8 = 13;

/// What the call gets from the caller, one audio item per 20 ms slot.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// A packet's G.711 payload.
    Audio(Vec<u8>),
    /// The packet due now was lost: conceal it.
    Lost,
    /// Nothing to play (before the first packet, on hold, during a pause in the stream).
    Silence,
    /// An RFC 4733 key press.
    Dtmf(char),
    /// No packet came for the media timeout while the call was not on hold: the far end is
    /// gone. The last item.
    TimedOut,
}

/// 20 ms of bot audio to send, and when it was due (for the lateness count).
#[derive(Debug, Clone)]
pub struct Outbound {
    pub due: Option<Instant>,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone)]
pub enum Control {
    SendDtmf(char),
    /// A re-INVITE changed the far end's address, direction (hold: `send` false) or SRTP key.
    Update { remote: SocketAddr, send: bool, srtp: Option<SrtpKeys> },
}

#[derive(Debug, Clone, Copy)]
pub struct MediaParams {
    /// 0 (PCMU) or 8 (PCMA).
    pub codec: u8,
    pub telephone_event: Option<u8>,
    /// Where the SDP says to send.
    pub remote: SocketAddr,
    pub send: bool,
    pub jitter_depth: usize,
    /// No packet from the far end for this long (while not on hold) ends the session.
    pub timeout: Option<Duration>,
    /// SRTP both ways with these keys (an `RTP/SAVP` session).
    pub srtp: Option<SrtpKeys>,
    /// Slots of the caller's audio handed to the call at once: 1 for a call listened to as it
    /// speaks; more for one only recorded (a wake-up of the call's task per batch, not per
    /// slot). The packets we send are paced at 20 ms either way.
    pub deliver_slots: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct MediaStats {
    pub rx_packets: u64,
    pub rx_lost: u64,
    pub rx_late: u64,
    pub rx_malformed: u64,
    pub rx_dtmf: u64,
    /// SRTP packets refused: not authentic, replayed, or not SRTP at all.
    pub rx_unauthentic: u64,
    pub tx_packets: u64,
    /// Packets sent more than [`LATE_MS`] after they were due (a bot frame's due time, or the
    /// packet's 20 ms slot).
    pub tx_late: u64,
    pub tx_max_late_ms: u64,
    pub tx_dtmf: u64,
    pub rtcp_rx: u64,
    pub rtcp_tx: u64,
    /// Interarrival jitter of the caller's stream.
    pub jitter_ms: f64,
    /// The address the caller's RTP comes from (where ours goes), once seen.
    pub latched: Option<SocketAddr>,
    /// The session ended because the far end stopped sending.
    pub timed_out: bool,
    /// The media is SRTP.
    pub srtp: bool,
}

/// A running media session; dropping `outbound`/`control` or cancelling stops it.
pub struct MediaSession {
    pub inbound: mpsc::Receiver<Inbound>,
    pub outbound: mpsc::Sender<Outbound>,
    pub control: mpsc::UnboundedSender<Control>,
    pub stats: Arc<Mutex<MediaStats>>,
    pub cancel: CancellationToken,
}

/// Binds an even RTP port and the odd RTCP port above it, from `range` (inclusive). Each call
/// starts the search one pair further on, so a port just freed is not reused at once.
pub async fn bind_pair(ip: IpAddr, range: (u16, u16)) -> io::Result<(UdpSocket, UdpSocket)> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let start = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed).wrapping_add(std::process::id());
    let (lo, hi) = (range.0 & !1, range.1);
    let span = ((hi.saturating_sub(lo)) / 2).max(1) as u32;
    for i in 0..span {
        let port = lo + ((start.wrapping_add(i) % span) * 2) as u16;
        let Ok(rtp) = UdpSocket::bind((ip, port)).await else { continue };
        if let Ok(rtcp) = UdpSocket::bind((ip, port + 1)).await {
            return Ok((rtp, rtcp));
        }
    }
    Err(io::Error::new(io::ErrorKind::AddrInUse, format!("no free RTP port pair in {}-{}", range.0, range.1)))
}

/// Starts the session on the shared media engine (`media_engine`); fails only when SRTP was
/// asked for and cannot be keyed, or a socket cannot be handed over.
pub fn start(rtp: UdpSocket, rtcp: UdpSocket, params: MediaParams, cancel: CancellationToken) -> Result<MediaSession, String> {
    let srtp = params.srtp.as_ref().map(SrtpSession::new).transpose()?;
    let rtp = rtp.into_std().map_err(|e| format!("RTP socket: {e}"))?;
    let rtcp = rtcp.into_std().map_err(|e| format!("RTCP socket: {e}"))?;
    // Without stamps, jitter counts from when a packet is read (within one tick of arriving).
    udp_arrival::enable(&rtp);
    udp_arrival::enable(&rtcp);
    let (in_tx, in_rx) = mpsc::channel(256);
    let (out_tx, out_rx) = mpsc::channel(64);
    let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
    let stats = Arc::new(Mutex::new(MediaStats::default()));
    let (st, c) = (stats.clone(), cancel.clone());
    let added = media_engine::engine().add(move |origin| {
        let task = Task::new(params, srtp, st, origin);
        Box::new(Session { task, rtp, rtcp, inbound: in_tx, pending: Vec::new(), outbound: Some(out_rx), control: ctl_rx, cancel: c, next_report: origin + RTCP_EVERY, timed_out_tries: 0 })
    });
    if !added {
        return Err("no media worker thread could be started".into());
    }
    Ok(MediaSession { inbound: in_rx, outbound: out_tx, control: ctl_tx, stats, cancel })
}

/// A session on the engine: the call's state, its sockets and its channels.
struct Session {
    task: Task,
    rtp: StdUdpSocket,
    rtcp: StdUdpSocket,
    inbound: mpsc::Sender<Inbound>,
    /// Items for the call not handed over yet (`MediaParams::deliver_slots`).
    pending: Vec<Inbound>,
    /// None once the call dropped its sender.
    outbound: Option<mpsc::Receiver<Outbound>>,
    control: mpsc::UnboundedReceiver<Control>,
    cancel: CancellationToken,
    next_report: Instant,
    /// Ticks spent offering the call the final `TimedOut` while its queue was full.
    timed_out_tries: u32,
}

/// Datagrams read from one socket on one tick at most (a flood waits in the socket, and the
/// kernel drops what overflows it, rather than delaying every other call).
const READS_PER_TICK: usize = 64;

/// Hands `on` each datagram waiting on `socket` (bytes, source, age), a batch of them per
/// system call, up to [`READS_PER_TICK`]. An error but "nothing waiting" or an ICMP port
/// unreachable from an earlier send is returned.
fn read_arrived(socket: &StdUdpSocket, mut on: impl FnMut(&[u8], SocketAddr, Option<Duration>)) -> io::Result<()> {
    thread_local! {
        static BATCH: std::cell::RefCell<udp_arrival::Batch> = std::cell::RefCell::new(udp_arrival::Batch::default());
    }
    BATCH.with_borrow_mut(|batch| {
        for _ in 0..READS_PER_TICK / udp_arrival::BATCH {
            let n = match udp_arrival::recv_batch(socket, batch) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(e),
            };
            for i in 0..n {
                if let (bytes, Some(from), age) = batch.get(i) {
                    on(bytes, from, age);
                }
            }
            if n < udp_arrival::BATCH {
                break;
            }
        }
        Ok(())
    })
}

impl media_engine::Paced for Session {
    fn tick(&mut self, now: Instant) -> bool {
        let go_on = self.step(now);
        self.task.publish();
        go_on
    }
}

impl Session {
    fn step(&mut self, now: Instant) -> bool {
        // Checked every 100 ms: the token takes a lock.
        if self.task.slot % 5 == 0 && self.cancel.is_cancelled() {
            return false;
        }
        if self.timed_out_tries > 0 {
            return self.offer_timed_out();
        }
        loop {
            match self.control.try_recv() {
                Ok(c) => self.task.on_control(c),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => return false,
            }
        }
        if !self.read_rtp() {
            return false;
        }
        if self.task.slot % 5 == 0 {
            self.read_rtcp();
        }
        // The slots due by now (more than one only when the worker fell behind).
        for _ in 0..10 {
            let due = self.task.slot_due(self.task.slot);
            if due > now + Duration::from_millis(1) {
                break;
            }
            if !self.play(due, now) {
                return false;
            }
        }
        if now >= self.next_report {
            self.task.send_report(&self.rtcp);
            self.next_report += RTCP_EVERY;
        }
        true
    }

    /// What arrived on the RTP port since the last tick (one system call when it is a packet
    /// or two); false when the socket failed.
    fn read_rtp(&mut self) -> bool {
        let (task, pending) = (&mut self.task, &mut self.pending);
        read_arrived(&self.rtp, |bytes, from, age| {
            let arrival = task.arrival_ms(age);
            if let Some(key) = task.on_rtp_datagram(bytes, from, arrival) {
                pending.push(Inbound::Dtmf(key));
            }
        })
        .is_ok()
    }

    /// What arrived on the RTCP port; a failing RTCP socket does not end the call.
    fn read_rtcp(&mut self) {
        let task = &mut self.task;
        let _ = read_arrived(&self.rtcp, |bytes, from, age| {
            let arrival = task.arrival_ms(age);
            task.on_rtcp_datagram(bytes, from, arrival);
        });
    }

    /// One slot: the caller's audio to the call, the bot's to the caller. False when the far
    /// end timed out.
    fn play(&mut self, slot_due: Instant, now: Instant) -> bool {
        let t = &mut self.task;
        t.slot += 1;
        if !t.params.send {
            // On hold the far end may be silent; its silence counts from the resume.
            t.last_heard = now;
        }
        if t.params.timeout.is_some_and(|limit| now.saturating_duration_since(t.last_heard) > limit) {
            t.local.timed_out = true;
            self.hand_over_pending();
            return self.offer_timed_out();
        }
        self.pending.push(t.play_slot());
        if self.pending.len() >= t.params.deliver_slots {
            self.hand_over_pending();
        }
        let t = &mut self.task;
        if let Some(out) = self.outbound.as_mut() {
            loop {
                match out.try_recv() {
                    Ok(f) => t.queue.push_back(f),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        self.outbound = None;
                        break;
                    }
                }
            }
        }
        t.send_slot(&self.rtp, slot_due, now);
        true
    }

    /// The items waiting for the call, handed over. A call too slow to take its audio loses
    /// slots, as on the wire.
    fn hand_over_pending(&mut self) {
        for item in self.pending.drain(..) {
            let _ = self.inbound.try_send(item);
        }
    }

    /// Hands the call the last item, `TimedOut`; while its queue is full, tries again on the
    /// next ticks (for a second). False: the session is over.
    fn offer_timed_out(&mut self) -> bool {
        match self.inbound.try_send(Inbound::TimedOut) {
            Err(mpsc::error::TrySendError::Full(_)) if self.timed_out_tries < 50 => {
                self.timed_out_tries += 1;
                true
            }
            _ => false,
        }
    }
}

struct Task {
    params: MediaParams,
    remote: SocketAddr,
    rtcp_remote: SocketAddr,
    /// Packets in a row from a source other than `remote`, and which.
    candidate: Option<(SocketAddr, u32)>,
    jitter: JitterBuffer,
    dtmf_in: DtmfReceiver,
    recv: ReceiveStats,
    ssrc: u32,
    seq: u16,
    /// RTP timestamp of slot 0.
    ts_base: u32,
    started: Instant,
    slot: u64,
    queue: VecDeque<Outbound>,
    /// RFC 4733 packets waiting for their slots (sequence number and SSRC filled in on sending).
    dtmf_out: VecDeque<Vec<u8>>,
    talking: bool,
    sent_octets: u32,
    /// When the far end last sent a packet (or the call came off hold).
    last_heard: Instant,
    stats: Arc<Mutex<MediaStats>>,
    local: MediaStats,
    srtp: Option<SrtpSession>,
}

impl Task {
    fn new(params: MediaParams, srtp: Option<SrtpSession>, stats: Arc<Mutex<MediaStats>>, origin: Instant) -> Self {
        let rtcp_remote = SocketAddr::new(params.remote.ip(), params.remote.port().wrapping_add(1));
        Self {
            params,
            remote: params.remote,
            rtcp_remote,
            candidate: None,
            jitter: JitterBuffer::new(params.jitter_depth),
            dtmf_in: DtmfReceiver::default(),
            recv: ReceiveStats::default(),
            ssrc: crate::random_u64() as u32,
            seq: crate::random_u64() as u16,
            ts_base: crate::random_u64() as u32,
            started: origin,
            slot: 0,
            queue: VecDeque::new(),
            dtmf_out: VecDeque::new(),
            talking: false,
            sent_octets: 0,
            last_heard: Instant::now(),
            stats,
            local: MediaStats { srtp: srtp.is_some(), ..MediaStats::default() },
            srtp,
        }
    }

    /// The instant slot `slot` (counted from 0) is due.
    fn slot_due(&self, slot: u64) -> Instant {
        self.started + SLOT * (slot as u32 + 1)
    }

    fn on_control(&mut self, c: Control) {
        match c {
            Control::SendDtmf(k) => self.queue_dtmf(k),
            Control::Update { remote, send, srtp } => {
                self.rekey(srtp);
                if !self.latched() {
                    self.remote = remote;
                }
                self.rtcp_remote = SocketAddr::new(remote.ip(), remote.port().wrapping_add(1));
                self.params.send = send;
            }
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// When a datagram `age` old arrived, on the session's clock.
    fn arrival_ms(&self, age: Option<Duration>) -> u64 {
        self.now_ms().saturating_sub(age.map_or(0, |a| a.as_millis() as u64))
    }

    /// A re-INVITE's keys: the far end may change its own.
    fn rekey(&mut self, keys: Option<SrtpKeys>) {
        if keys == self.params.srtp {
            return;
        }
        match keys.as_ref().map(SrtpSession::new) {
            Some(Ok(session)) => {
                self.srtp = Some(session);
                self.params.srtp = keys;
            }
            // Server and client refuse a re-INVITE that turns SRTP off; keep what works.
            Some(Err(e)) => tracing::warn!(error = %e, "SRTP rekey failed"),
            None => {}
        }
    }

    /// One datagram on the RTP port, unprotected first in an SRTP session.
    fn on_rtp_datagram(&mut self, datagram: &[u8], from: SocketAddr, arrival_ms: u64) -> Option<char> {
        match self.srtp.as_mut().map(|s| s.unprotect_rtp(datagram)) {
            None => self.on_rtp(datagram, from, arrival_ms),
            Some(Ok(plain)) => self.on_rtp(&plain, from, arrival_ms),
            Some(Err(_)) => {
                self.local.rx_unauthentic += 1;
                None
            }
        }
    }

    fn on_rtcp_datagram(&mut self, datagram: &[u8], from: SocketAddr, arrival_ms: u64) {
        match self.srtp.as_mut().map(|s| s.unprotect_rtcp(datagram)) {
            None => self.on_rtcp(datagram, from, arrival_ms),
            Some(Ok(plain)) => self.on_rtcp(&plain, from, arrival_ms),
            Some(Err(_)) => self.local.rx_unauthentic += 1,
        }
    }

    /// What goes on the wire for a plain packet: itself, or SRTP/SRTCP.
    fn protect(&mut self, packet: Vec<u8>, rtcp: bool) -> Option<Vec<u8>> {
        match self.srtp.as_mut() {
            None => Some(packet),
            Some(s) if rtcp => s.protect_rtcp(&packet).ok(),
            Some(s) => s.protect_rtp(&packet).ok(),
        }
    }

    /// One plain RTP packet; a finished key press comes back.
    fn on_rtp(&mut self, datagram: &[u8], from: SocketAddr, arrival_ms: u64) -> Option<char> {
        let Ok(p) = RtpPacket::parse(datagram) else {
            self.local.rx_malformed += 1;
            return None;
        };
        let event = Some(p.payload_type) == self.params.telephone_event;
        let ours = p.payload_type == self.params.codec || event || p.payload_type == COMFORT_NOISE;
        if !ours || p.ssrc == self.ssrc {
            // Another codec than agreed, or our own packets looped back.
            self.local.rx_malformed += 1;
            return None;
        }
        self.latch(from);
        self.local.rx_packets += 1;
        self.last_heard = Instant::now();
        // Key presses and comfort noise are packets of the stream like any other: counted as
        // received (RFC 3550 loss and jitter), and their slots play silence, not a loss.
        if event {
            self.recv.on_untimed_packet(p.ssrc, p.sequence);
        } else {
            self.recv.on_packet(p.ssrc, p.sequence, p.timestamp, arrival_ms, 8);
        }
        if p.payload_type != self.params.codec {
            self.jitter.push(&RtpPacket { payload: &[], ..p.clone() });
        } else {
            self.jitter.push(&p);
        }
        if event {
            let key = TelephoneEvent::parse(p.payload).and_then(|ev| self.dtmf_in.push(p.timestamp, &ev));
            if key.is_some() {
                self.local.rx_dtmf += 1;
            }
            return key;
        }
        None
    }

    /// Latched once the caller's first packet is in: `local.latched` is where we send.
    fn latched(&self) -> bool {
        self.local.latched.is_some()
    }

    fn latch(&mut self, from: SocketAddr) {
        if from == self.remote || !self.latched() {
            self.set_remote(from);
            return;
        }
        let n = match self.candidate {
            Some((a, n)) if a == from => n + 1,
            _ => 1,
        };
        self.candidate = Some((from, n));
        if n >= RELATCH_AFTER {
            self.set_remote(from);
        }
    }

    fn set_remote(&mut self, to: SocketAddr) {
        self.remote = to;
        self.candidate = None;
        self.local.latched = Some(to);
    }

    fn on_rtcp(&mut self, datagram: &[u8], from: SocketAddr, arrival_ms: u64) {
        let Ok(packets) = rtcp::parse(datagram) else {
            self.local.rx_malformed += 1;
            return;
        };
        self.local.rtcp_rx += 1;
        self.rtcp_remote = from;
        for p in packets {
            if let RtcpPacket::SenderReport { ntp, .. } = p {
                self.recv.on_sender_report(ntp, arrival_ms);
            }
        }
    }

    fn play_slot(&mut self) -> Inbound {
        // A far end sending faster than we play (clock drift) would build up delay: drop one.
        if self.jitter.buffered() > self.params.jitter_depth * 4 + 10 {
            let _ = self.jitter.pop();
        }
        let item = match self.jitter.pop() {
            Some(Playout::Packet { payload, .. }) if payload.is_empty() => Inbound::Silence,
            Some(Playout::Packet { payload, .. }) => Inbound::Audio(payload),
            Some(Playout::Lost { .. }) => Inbound::Lost,
            None => Inbound::Silence,
        };
        self.local.rx_lost = self.jitter.stats.lost;
        self.local.rx_late = self.jitter.stats.late;
        item
    }

    fn queue_dtmf(&mut self, key: char) {
        let Some((pt, event)) = self.params.telephone_event.zip(TelephoneEvent::event_for(key)) else { return };
        let ts = self.ts_base.wrapping_add((self.slot as u32 + 1).wrapping_mul(SAMPLES_PER_SLOT));
        // 100 ms of tone, then the end packet three times (RFC 4733 §2.5.1.4).
        for i in 1..=5u16 {
            let ev = TelephoneEvent { event, end: false, volume: 10, duration: i * SAMPLES_PER_SLOT as u16 };
            self.dtmf_out.push_back(packet_bytes(i == 1, pt, ts, &ev.to_bytes()));
        }
        for _ in 0..3 {
            let ev = TelephoneEvent { event, end: true, volume: 10, duration: 5 * SAMPLES_PER_SLOT as u16 };
            self.dtmf_out.push_back(packet_bytes(false, pt, ts, &ev.to_bytes()));
        }
        self.local.tx_dtmf += 1;
    }

    fn send_slot(&mut self, rtp: &StdUdpSocket, slot_due: Instant, now: Instant) {
        let (frame, late) = next_for_slot(&mut self.queue, |f| f.due, slot_due, now);
        self.local.tx_max_late_ms = self.local.tx_max_late_ms.max(late);
        if late > LATE_MS {
            self.local.tx_late += 1;
        }
        if !self.params.send {
            return;
        }
        let ts = self.ts_base.wrapping_add((self.slot as u32).wrapping_mul(SAMPLES_PER_SLOT));
        let bytes = if let Some(mut bytes) = self.dtmf_out.pop_front() {
            bytes[2..4].copy_from_slice(&self.seq.to_be_bytes());
            bytes[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
            bytes
        } else {
            let silence = if self.params.codec == 0 { 0xff } else { 0xd5 };
            let (payload, marker) = match &frame {
                Some(f) => (f.payload.clone(), !self.talking),
                None => (vec![silence; SAMPLES_PER_SLOT as usize], false),
            };
            self.talking = frame.is_some();
            let p = RtpPacket { marker, payload_type: self.params.codec, sequence: self.seq, timestamp: ts, ssrc: self.ssrc, payload: &payload };
            p.to_bytes()
        };
        self.seq = self.seq.wrapping_add(1);
        let payload_octets = bytes.len().saturating_sub(12) as u32;
        let Some(bytes) = self.protect(bytes, false) else { return };
        if rtp.send_to(&bytes, self.remote).is_ok() {
            self.local.tx_packets += 1;
            self.sent_octets = self.sent_octets.wrapping_add(payload_octets);
        }
    }

    fn send_report(&mut self, rtcp: &StdUdpSocket) {
        let now = self.now_ms();
        let reports: Vec<_> = self.recv.report(now).into_iter().collect();
        let packet = if self.params.send {
            RtcpPacket::SenderReport {
                ssrc: self.ssrc,
                ntp: rtcp::ntp_now(),
                rtp_timestamp: self.ts_base.wrapping_add((self.slot as u32).wrapping_mul(SAMPLES_PER_SLOT)),
                packets: self.local.tx_packets as u32,
                octets: self.sent_octets,
                reports,
            }
        } else {
            RtcpPacket::ReceiverReport { ssrc: self.ssrc, reports }
        };
        let Some(bytes) = self.protect(packet.to_bytes("voicegate"), true) else { return };
        if rtcp.send_to(&bytes, self.rtcp_remote).is_ok() {
            self.local.rtcp_tx += 1;
        }
    }

    fn publish(&mut self) {
        self.local.jitter_ms = self.recv.jitter() as f64 / 8.0;
        if let Ok(mut s) = self.stats.lock() {
            *s = self.local.clone();
        }
    }
}

/// The bot's next frame for the 20 ms slot due at `slot_due`, and how late it leaves `now`:
/// after the frame's own due time, or after its slot. What the call can never catch up on
/// (over 500 ms queued) is dropped, the oldest first. (The WebRTC leg paces the same way.)
pub fn next_for_slot<T>(queue: &mut VecDeque<T>, due: impl Fn(&T) -> Option<Instant>, slot_due: Instant, now: Instant) -> (Option<T>, u64) {
    let frame = queue.pop_front();
    while queue.len() > 25 {
        queue.pop_front();
    }
    let due = frame.as_ref().and_then(&due).unwrap_or(slot_due).max(slot_due.checked_sub(SLOT).unwrap_or(slot_due));
    (frame, now.saturating_duration_since(due).as_millis() as u64)
}

fn packet_bytes(marker: bool, pt: u8, ts: u32, payload: &[u8]) -> Vec<u8> {
    RtpPacket { marker, payload_type: pt, sequence: 0, timestamp: ts, ssrc: 0, payload }.to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pair() -> (MediaSession, UdpSocket, SocketAddr) {
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (rtp, rtcp) = bind_pair("127.0.0.1".parse().unwrap(), (42000, 42999)).await.unwrap();
        let local = rtp.local_addr().unwrap();
        // The SDP names a port nobody listens on: symmetric RTP must answer where packets come from.
        // Three slots of jitter buffer: the swapped packets below arrive 40 ms after their
        // turn, and the test's own 20 ms sleeps slip when other tests load the machine.
        let params = MediaParams { codec: 0, telephone_event: Some(101), remote: "127.0.0.1:9".parse().unwrap(), send: true, jitter_depth: 3, timeout: None, srtp: None, deliver_slots: 1 };
        (start(rtp, rtcp, params, CancellationToken::new()).unwrap(), peer, local)
    }

    #[tokio::test]
    async fn latches_plays_in_order_and_carries_keys_both_ways() {
        let (mut s, peer, local) = pair().await;
        let ssrc = 77;
        for i in 0..20u16 {
            // Two packets swapped in transit.
            let seq = match i { 5 => 6, 6 => 5, x => x };
            let payload = vec![seq as u8; 160];
            let p = RtpPacket { marker: false, payload_type: 0, sequence: seq, timestamp: seq as u32 * 160, ssrc, payload: &payload };
            peer.send_to(&p.to_bytes(), local).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // A key press continues the stream's sequence (RFC 4733): its packets are received
        // packets, not lost audio.
        for (i, end) in [false, true, true, true].into_iter().enumerate() {
            let ev = TelephoneEvent { event: 11, end, volume: 10, duration: 800 };
            let p = RtpPacket { marker: false, payload_type: 101, sequence: 20 + i as u16, timestamp: 9999, ssrc, payload: &ev.to_bytes() };
            peer.send_to(&p.to_bytes(), local).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for seq in 24..30u16 {
            let payload = vec![seq as u8; 160];
            let p = RtpPacket { marker: false, payload_type: 0, sequence: seq, timestamp: seq as u32 * 160, ssrc, payload: &payload };
            peer.send_to(&p.to_bytes(), local).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut audio = Vec::new();
        let mut keys = String::new();
        let deadline = Instant::now() + Duration::from_secs(3);
        while (audio.len() < 26 || keys.is_empty()) && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_millis(500), s.inbound.recv()).await {
                Ok(Some(Inbound::Audio(p))) => audio.push(p[0]),
                Ok(Some(Inbound::Dtmf(k))) => keys.push(k),
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        assert_eq!(audio, (0..20u8).chain(24..30).collect::<Vec<_>>(), "in sequence order");
        assert_eq!(keys, "#");
        // Our packets reach the peer (latched), and a key goes out as RFC 4733.
        s.control.send(Control::SendDtmf('5')).unwrap();
        let mut buf = [0u8; 400];
        let mut events = Vec::new();
        let mut audio_packets = 0;
        while events.len() < 8 {
            let (n, from) = tokio::time::timeout(Duration::from_secs(2), peer.recv_from(&mut buf)).await.unwrap().unwrap();
            assert_eq!(from, local);
            let p = RtpPacket::parse(&buf[..n]).unwrap();
            if p.payload_type == 101 {
                events.push(TelephoneEvent::parse(p.payload).unwrap());
            } else {
                assert_eq!((p.payload_type, p.payload.len()), (0, 160));
                audio_packets += 1;
            }
        }
        assert!(audio_packets > 0);
        assert!(events.iter().all(|e| e.event == 5));
        assert_eq!(events.iter().filter(|e| e.end).count(), 3);
        let stats = s.stats.lock().unwrap().clone();
        assert_eq!(stats.latched, Some(peer.local_addr().unwrap()));
        assert_eq!((stats.rx_packets, stats.rx_lost, stats.rx_dtmf), (30, 0, 1));
        s.cancel.cancel();
    }

    #[tokio::test]
    async fn an_srtp_session_reads_the_peers_srtp_drops_forgeries_and_answers_in_srtp() {
        use crate::sdes::Suite;
        let (theirs, ours) = (crate::srtp::fresh_key().unwrap(), crate::srtp::fresh_key().unwrap());
        let keys = SrtpKeys { tag: 1, suite: Suite::AesCm128HmacSha1_80, remote: theirs, local: ours };
        let mut peer_srtp = SrtpSession::new(&SrtpKeys { remote: ours, local: theirs, ..keys }).unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (rtp, rtcp) = bind_pair("127.0.0.1".parse().unwrap(), (44000, 44999)).await.unwrap();
        let local = rtp.local_addr().unwrap();
        let params = MediaParams { codec: 0, telephone_event: None, remote: "127.0.0.1:9".parse().unwrap(), send: true, jitter_depth: 1, timeout: None, srtp: Some(keys), deliver_slots: 1 };
        let mut s = start(rtp, rtcp, params, CancellationToken::new()).unwrap();
        for seq in 0..10u16 {
            let payload = vec![seq as u8 + 1; 160];
            let plain = RtpPacket { marker: false, payload_type: 0, sequence: seq, timestamp: seq as u32 * 160, ssrc: 5, payload: &payload }.to_bytes();
            // A forged copy and a plain one beside each real packet: both refused.
            let mut forged = peer_srtp.protect_rtp(&plain).unwrap();
            let real = forged.clone();
            forged[30] ^= 0x40;
            peer.send_to(&forged, local).await.unwrap();
            peer.send_to(&plain, local).await.unwrap();
            peer.send_to(&real, local).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut audio = Vec::new();
        while audio.len() < 10 {
            match tokio::time::timeout(Duration::from_secs(2), s.inbound.recv()).await.unwrap() {
                Some(Inbound::Audio(p)) => audio.push(p[0]),
                Some(_) => {}
                None => break,
            }
        }
        assert_eq!(audio, (1..=10u8).collect::<Vec<_>>());
        // What we send is SRTP the peer can read, to where its packets came from.
        s.outbound.send(Outbound { due: None, payload: vec![0x11; 160] }).await.unwrap();
        let mut buf = [0u8; 400];
        let mut heard = false;
        for _ in 0..20 {
            let (n, _) = tokio::time::timeout(Duration::from_secs(2), peer.recv_from(&mut buf)).await.unwrap().unwrap();
            assert_eq!(n, 12 + 160 + 10, "SRTP with an 80-bit tag");
            let plain = peer_srtp.unprotect_rtp(&buf[..n]).unwrap();
            if RtpPacket::parse(&plain).unwrap().payload == [0x11; 160] {
                heard = true;
                break;
            }
        }
        assert!(heard, "our audio did not reach the peer");
        let stats = s.stats.lock().unwrap().clone();
        assert!(stats.srtp);
        assert_eq!((stats.rx_packets, stats.rx_unauthentic, stats.rx_malformed), (10, 20, 0));
        s.cancel.cancel();
    }

    #[tokio::test]
    async fn a_far_end_that_stops_sending_times_out_unless_on_hold() {
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (rtp, rtcp) = bind_pair("127.0.0.1".parse().unwrap(), (43000, 43999)).await.unwrap();
        let local = rtp.local_addr().unwrap();
        let params = MediaParams { codec: 0, telephone_event: None, remote: "127.0.0.1:9".parse().unwrap(), send: true, jitter_depth: 1, timeout: Some(Duration::from_millis(300)), srtp: None, deliver_slots: 1 };
        let mut s = start(rtp, rtcp, params, CancellationToken::new()).unwrap();
        // Held: silence from the far end is fine.
        s.control.send(Control::Update { remote: "127.0.0.1:9".parse().unwrap(), send: false, srtp: None }).unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(!s.stats.lock().unwrap().timed_out);
        // Resumed, one packet, then nothing: the session ends with TimedOut.
        s.control.send(Control::Update { remote: "127.0.0.1:9".parse().unwrap(), send: true, srtp: None }).unwrap();
        let p = RtpPacket { marker: false, payload_type: 0, sequence: 1, timestamp: 0, ssrc: 9, payload: &[0xff; 160] };
        peer.send_to(&p.to_bytes(), local).await.unwrap();
        let t0 = Instant::now();
        let mut last = None;
        while let Ok(Some(i)) = tokio::time::timeout(Duration::from_secs(3), s.inbound.recv()).await {
            last = Some(i);
        }
        assert_eq!(last, Some(Inbound::TimedOut));
        let waited = t0.elapsed();
        assert!(waited >= Duration::from_millis(250) && waited < Duration::from_secs(2), "{waited:?}");
        assert!(s.stats.lock().unwrap().timed_out);
    }

    #[tokio::test]
    async fn bot_audio_is_paced_at_20_ms() {
        let (s, peer, local) = pair().await;
        // Latch first.
        let payload = [0u8; 160];
        let p = RtpPacket { marker: false, payload_type: 0, sequence: 1, timestamp: 0, ssrc: 5, payload: &payload };
        peer.send_to(&p.to_bytes(), local).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        // 25 frames handed over at once leave one per 20 ms.
        for _ in 0..25 {
            s.outbound.send(Outbound { due: None, payload: vec![0x10; 160] }).await.unwrap();
        }
        let mut buf = [0u8; 400];
        let mut times = Vec::new();
        let mut stamps = Vec::new();
        while times.len() < 10 {
            let (n, _) = tokio::time::timeout(Duration::from_secs(2), peer.recv_from(&mut buf)).await.unwrap().unwrap();
            let p = RtpPacket::parse(&buf[..n]).unwrap();
            if p.payload[0] == 0x10 {
                times.push(Instant::now());
                stamps.push(p.timestamp);
            }
        }
        // Not sent in a burst: one packet per slot, timestamps 160 apart.
        let span = times[9].duration_since(times[0]).as_millis();
        assert!(span >= 150, "9 intervals took only {span} ms");
        assert!(stamps.windows(2).all(|w| w[1].wrapping_sub(w[0]) == 160), "{stamps:?}");
        s.cancel.cancel();
    }
}
