//! The SIP UDP socket rsipstack reads through (`UdpConnection::attach`): every datagram
//! passes [`screen`](crate::screen) before the stack parses it, so malformed requests get
//! their 400/416/420/501/505 here instead of the stack's silent drop, and what cannot be
//! answered costs one rate-limited log line, not one line per datagram.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tracing::{debug, info};

use crate::guard::RateLimiter;
use crate::screen::{self, Policy, Verdict};
use crate::server::ServerStats;

/// The largest UDP payload: read whole, so a datagram longer than the stack's buffer is
/// answered 513 instead of being cut short unnoticed.
const MAX_DATAGRAM: usize = 65_535;

pub struct ScreenedUdp {
    sock: tokio::net::UdpSocket,
    policy: Policy,
    stats: Arc<Mutex<ServerStats>>,
    /// About one log line per second per source (burst 5): junk must not flood the log.
    log_gate: Mutex<RateLimiter>,
    raw: Mutex<Vec<u8>>,
}

enum Screened {
    Reply {
        src: SocketAddr,
        code: u16,
        bytes: Vec<u8>,
        first_line: String,
    },
    Drop {
        src: SocketAddr,
        why: &'static str,
        first_line: String,
    },
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ScreenedUdp {
    pub fn new(
        sock: tokio::net::UdpSocket,
        policy: Policy,
        stats: Arc<Mutex<ServerStats>>,
    ) -> Self {
        Self {
            sock,
            policy,
            stats,
            log_gate: Mutex::new(RateLimiter::new(1.0, 5)),
            raw: Mutex::new(vec![0; MAX_DATAGRAM]),
        }
    }

    /// The next datagram the stack may read, into `buf`; answers or drops the others.
    /// Cancel-safe: nothing is held across an await but the reply being sent.
    async fn next_passed(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        loop {
            self.sock.readable().await?;
            let screened = {
                let mut raw = lock(&self.raw);
                let (n, src) = match self.sock.try_recv_from(&mut raw) {
                    Ok(got) => got,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(e),
                };
                let datagram = &raw[..n];
                match screen::screen_datagram(datagram, &self.policy) {
                    Verdict::Pass(bytes) => {
                        // The screen keeps what it passes within the stack's buffer.
                        let len = bytes.len().min(buf.len());
                        buf[..len].copy_from_slice(&bytes[..len]);
                        return Ok((len, src));
                    }
                    Verdict::Reply { code, bytes } => Screened::Reply {
                        src,
                        code,
                        bytes,
                        first_line: first_line(datagram),
                    },
                    Verdict::Drop(why) => Screened::Drop {
                        src,
                        why,
                        first_line: first_line(datagram),
                    },
                }
            };
            match screened {
                Screened::Reply {
                    src,
                    code,
                    bytes,
                    first_line,
                } => {
                    lock(&self.stats).malformed_answered += 1;
                    if self.may_log(src) {
                        debug!(%src, code, request = %first_line, "malformed SIP request answered");
                    }
                    if let Err(e) = self.sock.send_to(&bytes, src).await {
                        debug!(%src, error = %e, "answer to a malformed request not sent");
                    }
                }
                Screened::Drop {
                    src,
                    why,
                    first_line,
                } => {
                    lock(&self.stats).malformed_dropped += 1;
                    if self.may_log(src) {
                        info!(%src, why, message = %first_line, "SIP datagram dropped");
                    }
                }
            }
        }
    }

    fn may_log(&self, src: SocketAddr) -> bool {
        lock(&self.log_gate).allow(src.ip(), Instant::now())
    }
}

/// The start line, printable and short, for a log line.
fn first_line(datagram: &[u8]) -> String {
    let line = datagram
        .split(|b| *b == b'\n')
        .find(|l| !l.iter().all(u8::is_ascii_whitespace))
        .unwrap_or(&[]);
    let mut s: String = line
        .iter()
        .take(100)
        .map(|b| {
            if b.is_ascii_graphic() || *b == b' ' {
                *b as char
            } else {
                '?'
            }
        })
        .collect();
    if line.len() > 100 {
        s.push_str("...");
    }
    s
}

// rsipstack's trait is declared with `#[async_trait]`; this is its expansion, written out so
// the crate needs no proc-macro dependency of its own.
impl rsipstack::platform::net::UdpSocket for ScreenedUdp {
    fn recv_from<'life0, 'life1, 'async_trait>(
        &'life0 self,
        buf: &'life1 mut [u8],
    ) -> Pin<Box<dyn Future<Output = rsipstack::Result<(usize, SocketAddr)>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move { Ok(self.next_passed(buf).await?) })
    }

    fn send_to<'life0, 'life1, 'async_trait>(
        &'life0 self,
        buf: &'life1 [u8],
        addr: SocketAddr,
    ) -> Pin<Box<dyn Future<Output = rsipstack::Result<usize>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            // The peer gets its RFC 2543 From back without the tag the screen lent it.
            let out = screen::strip_synthetic_tags(buf);
            self.sock.send_to(&out, addr).await?;
            Ok(buf.len())
        })
    }

    fn local_addr(&self) -> rsipstack::Result<SocketAddr> {
        Ok(self.sock.local_addr()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsipstack::platform::net::UdpSocket as _;

    const OPTIONS: &str = "OPTIONS sip:bot@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:bot@127.0.0.1>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

    async fn pair() -> (ScreenedUdp, tokio::net::UdpSocket, Arc<Mutex<ServerStats>>) {
        let stats = Arc::new(Mutex::new(ServerStats::default()));
        let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let peer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        peer.connect(server.local_addr().unwrap()).await.unwrap();
        (
            ScreenedUdp::new(server, Policy::standard(), stats.clone()),
            peer,
            stats,
        )
    }

    #[tokio::test]
    async fn answers_and_drops_malformed_datagrams_and_passes_the_rest() {
        let (sock, peer, stats) = pair().await;
        peer.send(
            OPTIONS
                .replace("SIP/2.0\r\nVia", "SIP/3.0\r\nVia")
                .as_bytes(),
        )
        .await
        .unwrap();
        peer.send(
            OPTIONS
                .replace("Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-1\r\n", "")
                .as_bytes(),
        )
        .await
        .unwrap();
        peer.send(OPTIONS.as_bytes()).await.unwrap();
        let mut buf = vec![0; 8192];
        let (n, from) = sock.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], OPTIONS.as_bytes());
        assert_eq!(from, peer.local_addr().unwrap());
        let mut answer = vec![0; 2048];
        let n = peer.recv(&mut answer).await.unwrap();
        assert!(answer[..n].starts_with(b"SIP/2.0 505 "));
        let s = lock(&stats).clone();
        assert_eq!((s.malformed_answered, s.malformed_dropped), (1, 1));
    }

    #[tokio::test]
    async fn a_datagram_longer_than_the_stacks_buffer_is_513_not_cut() {
        let (sock, peer, _) = pair().await;
        let big =
            OPTIONS.replace("Content-Length: 0", "Content-Length: 10000") + &"x".repeat(10000);
        peer.send(big.as_bytes()).await.unwrap();
        let mut answer = vec![0; 2048];
        let recv = tokio::spawn(async move {
            let n = peer.recv(&mut answer).await.unwrap();
            answer.truncate(n);
            answer
        });
        let _ = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            sock.recv_from(&mut vec![0; 8192]),
        )
        .await;
        assert!(recv.await.unwrap().starts_with(b"SIP/2.0 513 "));
    }

    #[tokio::test]
    async fn lent_from_tags_do_not_go_back_out() {
        let (sock, peer, _) = pair().await;
        let msg = format!(
            "SIP/2.0 200 OK\r\nFrom: <sip:a@b>;tag={}0123456789abcdef\r\n\r\n",
            screen::SYNTHETIC_TAG
        );
        sock.send_to(msg.as_bytes(), peer.local_addr().unwrap())
            .await
            .unwrap();
        let mut answer = vec![0; 2048];
        let n = peer.recv(&mut answer).await.unwrap();
        assert_eq!(&answer[..n], b"SIP/2.0 200 OK\r\nFrom: <sip:a@b>\r\n\r\n");
    }
}
