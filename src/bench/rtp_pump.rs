//! The bench's callers' RTP, all from one socket on one thread: every 20 ms one packet for each
//! call (its fixture while it speaks, silence while it listens), sent hundreds at a time with
//! `sendmmsg`. A load generator that cost as much per call as the gateway would take half the
//! machine it measures; this one costs a few system calls a tick. The gateway sees what it
//! would see from phones behind one media relay: each call's RTP from the same address, its
//! own SSRC, sequence and timestamps, and it answers (symmetric RTP) to that address. What the
//! bot says is not read: the bench measures the gateway, whose packets leave it either way.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::error::{Error, Result};

const SLOT: Duration = Duration::from_millis(20);
/// Packets per `sendmmsg`.
const SEND_BATCH: usize = 256;

/// One caller's script and where it stands.
struct Caller {
    remote: SocketAddr,
    pt: u8,
    frames: Arc<Vec<Vec<u8>>>,
    /// Slots of silence after the fixture in each turn.
    listen_slots: usize,
    turns: usize,
    slot: usize,
    ssrc: u32,
    seq: u16,
    ts: u32,
    stop: Arc<AtomicBool>,
    done: Option<oneshot::Sender<()>>,
}

impl Caller {
    /// This slot's packet into `buf`; false once the script is over.
    fn next_packet(&mut self, buf: &mut Vec<u8>) -> bool {
        let per_turn = self.frames.len() + self.listen_slots;
        if self.stop.load(Ordering::Relaxed) || self.slot >= per_turn * self.turns {
            return false;
        }
        let at = self.slot % per_turn;
        let silence = [if self.pt == 8 { 0xd5 } else { 0xff }; 160];
        let payload: &[u8] = self.frames.get(at).map(Vec::as_slice).unwrap_or(&silence);
        buf.clear();
        buf.extend_from_slice(&[0x80, self.pt | if at == 0 { 0x80 } else { 0 }]);
        buf.extend_from_slice(&self.seq.to_be_bytes());
        buf.extend_from_slice(&self.ts.to_be_bytes());
        buf.extend_from_slice(&self.ssrc.to_be_bytes());
        buf.extend_from_slice(payload);
        self.slot += 1;
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(160);
        true
    }
}

/// The pump: its address (offered in each call's SDP) and the way in for new calls.
pub struct Pump {
    local: SocketAddr,
    add: mpsc::Sender<Caller>,
}

/// What a call's caller plays: the fixture `turns` times, each followed by `listen` of silence.
pub struct Script {
    pub frames: Arc<Vec<Vec<u8>>>,
    pub listen: Duration,
    pub turns: usize,
}

impl Pump {
    /// Binds an even port and the odd one above it (RTCP, never read, so that the gateway's
    /// reports are not answered with ICMP errors) on `ip`, and starts the thread.
    pub fn start(ip: std::net::IpAddr) -> Result<Self> {
        let (rtp, _rtcp) = (20_000..30_000u16)
            .step_by(2)
            .find_map(|p| Some((UdpSocket::bind((ip, p)).ok()?, UdpSocket::bind((ip, p + 1)).ok()?)))
            .ok_or_else(|| Error::internal("the bench found no free RTP port pair"))?;
        let local = rtp.local_addr().map_err(Error::internal)?;
        let (add, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("bench-rtp".into())
            .spawn(move || {
                let _rtcp = _rtcp;
                run(rtp, rx)
            })
            .map_err(Error::internal)?;
        Ok(Self { local, add })
    }

    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// Starts a call's caller towards `remote` with payload type `pt` (its frames encoded for
    /// it). Fires when the script is over; setting `stop` ends it early.
    pub fn add(&self, remote: SocketAddr, pt: u8, script: &Script, stop: Arc<AtomicBool>) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        let r = voicegate_sip::random_u64() as u32;
        let caller = Caller { remote, pt, frames: script.frames.clone(), listen_slots: (script.listen.as_millis() / 20) as usize, turns: script.turns, slot: 0, ssrc: r, seq: r as u16, ts: r.rotate_left(7), stop, done: Some(tx) };
        let _ = self.add.send(caller);
        rx
    }
}

fn run(socket: UdpSocket, add: mpsc::Receiver<Caller>) {
    let mut callers: Vec<Caller> = Vec::new();
    let mut bufs: Vec<Vec<u8>> = Vec::new();
    let mut due = Instant::now();
    loop {
        loop {
            match add.try_recv() {
                Ok(c) => callers.push(c),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) if callers.is_empty() => return,
                Err(mpsc::TryRecvError::Disconnected) => break,
            }
        }
        bufs.resize_with(callers.len(), || Vec::with_capacity(172));
        let mut out: Vec<(usize, SocketAddr)> = Vec::with_capacity(callers.len());
        callers.retain_mut(|c| {
            let i = out.len();
            if c.next_packet(&mut bufs[i]) {
                out.push((i, c.remote));
                true
            } else {
                if let Some(done) = c.done.take() {
                    let _ = done.send(());
                }
                false
            }
        });
        for chunk in out.chunks(SEND_BATCH) {
            send_many(&socket, chunk, &bufs);
        }
        due += SLOT;
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        } else if now > due + SLOT * 5 {
            due = now;
        }
    }
}

/// One `sendmmsg` for the packets `bufs[i]` to their addresses (IPv4; others one by one).
fn send_many(socket: &UdpSocket, packets: &[(usize, SocketAddr)], bufs: &[Vec<u8>]) {
    let mut names: Vec<libc::sockaddr_in> = Vec::with_capacity(packets.len());
    let mut iovs: Vec<libc::iovec> = Vec::with_capacity(packets.len());
    for (i, to) in packets {
        let SocketAddr::V4(v4) = to else {
            let _ = socket.send_to(&bufs[*i], to);
            continue;
        };
        // SAFETY: sockaddr_in is plain data; all zeroes is valid.
        let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        sa.sin_family = libc::AF_INET as libc::sa_family_t;
        sa.sin_port = v4.port().to_be();
        sa.sin_addr = libc::in_addr { s_addr: u32::from(*v4.ip()).to_be() };
        names.push(sa);
        iovs.push(libc::iovec { iov_base: bufs[*i].as_ptr() as *mut libc::c_void, iov_len: bufs[*i].len() });
    }
    // SAFETY: each header points into `names` and `iovs`, which are not resized from here on
    // and outlive the call.
    let mut msgs: Vec<libc::mmsghdr> = (0..names.len())
        .map(|k| {
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_name = &mut names[k] as *mut _ as *mut libc::c_void;
            m.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            m.msg_hdr.msg_iov = &mut iovs[k];
            m.msg_hdr.msg_iovlen = 1;
            m
        })
        .collect();
    let mut sent = 0;
    while sent < msgs.len() {
        // SAFETY: as above, for the messages not sent yet.
        let n = unsafe { libc::sendmmsg(socket.as_raw_fd(), msgs[sent..].as_mut_ptr(), (msgs.len() - sent) as libc::c_uint, 0) };
        if n <= 0 {
            // A packet the kernel refused (its buffer full, an ICMP error pending): skip it.
            sent += 1;
            continue;
        }
        sent += n as usize;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_call_gets_its_script_paced_with_its_own_stream() {
        let pump = Pump::start("127.0.0.1".parse().unwrap()).unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let script = Script { frames: Arc::new(vec![vec![1u8; 160], vec![2u8; 160]]), listen: Duration::from_millis(40), turns: 2 };
        let mut done_a = pump.add(a.local_addr().unwrap(), 0, &script, Arc::default());
        let stop_b = Arc::new(AtomicBool::new(false));
        let _done_b = pump.add(b.local_addr().unwrap(), 8, &script, stop_b.clone());
        let t0 = Instant::now();
        let mut got = Vec::new();
        let mut buf = [0u8; 400];
        a.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        for _ in 0..8 {
            let (n, from) = a.recv_from(&mut buf).unwrap();
            assert_eq!(from, pump.local());
            got.push(buf[..n].to_vec());
        }
        let span = t0.elapsed();
        assert!(span >= Duration::from_millis(120), "8 packets in {span:?}: not paced");
        assert_eq!(got.iter().map(|p| p[12]).collect::<Vec<_>>(), [1, 2, 0xff, 0xff, 1, 2, 0xff, 0xff], "fixture, silence, twice");
        let seqs: Vec<u16> = got.iter().map(|p| u16::from_be_bytes([p[2], p[3]])).collect();
        assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
        assert!(got.iter().all(|p| p[1] & 0x7f == 0 && p[8..12] == got[0][8..12]));
        std::thread::sleep(Duration::from_millis(60));
        assert!(done_a.try_recv().is_ok(), "the script is over");
        stop_b.store(true, Ordering::Relaxed);
        let (n, _) = b.recv_from(&mut buf).unwrap();
        assert_eq!(buf[1] & 0x7f, 8);
        assert_eq!(buf[12], 1, "payload type 8, the same frames (encoded for it by the caller of add)");
        assert!(n == 172);
    }
}
