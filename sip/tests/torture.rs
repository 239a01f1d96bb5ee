//! RFC 4475 torture messages (tests/torture/*.sip, the answers in expected.tsv) through the
//! screen alone, and over UDP through the running server; plus Timer G for rejected INVITEs
//! and an INVITE flood that must leave nothing behind.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use voicegate_sip::screen::{self, Policy, Verdict};
use voicegate_sip::server::LiveCounts;

mod uac;
use uac::{ack_for, collect, first_final, header, ok_for, serve_and_hang_up as serve, status};

/// One line of expected.tsv.
struct Case {
    file: String,
    bytes: Vec<u8>,
    /// Acceptable final status codes, preferred first; empty: nothing may be sent.
    expected: Vec<u16>,
}

fn cases() -> Vec<Case> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/torture");
    let tsv = std::fs::read_to_string(dir.join("expected.tsv")).expect("expected.tsv");
    let cases: Vec<Case> = tsv
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let expected = if cols[2] == "none" {
                vec![]
            } else {
                cols[2]
                    .split('|')
                    .map(|c| c.parse().expect("status code"))
                    .collect()
            };
            Case {
                file: cols[0].to_string(),
                bytes: std::fs::read(dir.join(cols[0])).expect("fixture"),
                expected,
            }
        })
        .collect();
    assert_eq!(cases.len(), 49, "one line per RFC 4475 message");
    cases
}

/// Codes the screen gives itself; the others are the server's (the request passes).
const SCREEN_CODES: &[u16] = &[400, 416, 420, 501, 505, 513];

#[test]
fn the_screen_gives_each_torture_message_its_expected_answer() {
    let policy = Policy::standard();
    let mut wrong = Vec::new();
    let mut preferred = 0;
    for c in cases() {
        let verdict = screen::screen_datagram(&c.bytes, &policy);
        let ok = match &verdict {
            Verdict::Reply { code, .. } => {
                preferred += usize::from(c.expected.first() == Some(code));
                c.expected.contains(code)
            }
            // A stray response passed on: the stack finds no transaction for it and drops it.
            Verdict::Pass(bytes) if c.bytes.starts_with(b"SIP/") => {
                passes_the_stack(bytes, &c.file);
                preferred += usize::from(c.expected.is_empty());
                c.expected.is_empty()
            }
            // A request passed on: the server must have an answer that is not the screen's.
            Verdict::Pass(bytes) => {
                passes_the_stack(bytes, &c.file);
                preferred += usize::from(
                    c.expected
                        .first()
                        .is_some_and(|e| !SCREEN_CODES.contains(e)),
                );
                c.expected.iter().any(|e| !SCREEN_CODES.contains(e))
            }
            Verdict::Drop(_) => {
                preferred += usize::from(c.expected.is_empty());
                c.expected.is_empty()
            }
        };
        if !ok {
            wrong.push(format!(
                "{}: {:?}, expected {:?}",
                c.file,
                short(&verdict),
                c.expected
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of 49 wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    println!("screen: 49/49 acceptable, {preferred} preferred");
}

fn short(v: &Verdict<'_>) -> String {
    match v {
        Verdict::Pass(_) => "pass".into(),
        Verdict::Reply { code, bytes } => format!(
            "{code} {:?}",
            String::from_utf8_lossy(bytes)
                .lines()
                .find(|l| l.starts_with("Warning"))
                .unwrap_or("")
        ),
        Verdict::Drop(why) => format!("drop ({why})"),
    }
}

/// What the screen passes, the stack takes: it parses, its Via takes the received address,
/// and a request has a transaction key (From tag, Call-ID, CSeq).
fn passes_the_stack(bytes: &[u8], file: &str) {
    use rsipstack::sip::SipMessage;
    use rsipstack::transaction::key::{TransactionKey, TransactionRole};
    let msg = SipMessage::try_from(bytes)
        .unwrap_or_else(|e| panic!("{file}: the stack cannot parse what the screen passed: {e}"));
    let src: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let msg = rsipstack::transport::SipConnection::update_msg_received(
        msg,
        src,
        rsipstack::sip::Transport::Udp,
    )
    .unwrap_or_else(|e| panic!("{file}: Via: {e}"));
    if let SipMessage::Request(req) = msg {
        TransactionKey::from_request(&req, TransactionRole::Server)
            .unwrap_or_else(|e| panic!("{file}: no transaction key: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn over_udp_each_torture_message_gets_its_expected_answer() {
    let server = serve(16, 0.0, (43000, 43199)).await;
    let mut wrong = Vec::new();
    let mut preferred = 0;
    let cases = cases();
    for c in &cases {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sock.send_to(&c.bytes, server.local).await.unwrap();
        let answer = first_final(&sock, Duration::from_secs(1)).await;
        let got = answer.as_deref().and_then(|a| status(a.as_bytes()));
        let mut ok = match got {
            Some(code) => c.expected.contains(&code),
            None => c.expected.is_empty(),
        };
        // The headers each answer must carry (RFC 3261 §8.2.1, §8.2.2.3, §21.4.13, §21.5.2).
        if let (Some(code), Some(a)) = (got, answer.as_deref()) {
            let needs = match code {
                405 | 501 => Some("Allow"),
                415 => Some("Accept"),
                420 => Some("Unsupported"),
                _ => None,
            };
            if let Some(h) = needs {
                ok &= header(a, h).is_some();
            }
        }
        preferred += usize::from(got == c.expected.first().copied());
        if !ok {
            wrong.push(format!(
                "{}: {:?}, expected {:?}",
                c.file, answer, c.expected
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} wrong over UDP:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
    println!(
        "UDP: {}/{} acceptable, {preferred} preferred",
        cases.len(),
        cases.len()
    );
    let stats = server.stats.lock().unwrap().clone();
    assert!(stats.malformed_answered >= 20, "{stats:?}");
    server.shutdown();
}

/// A flood INVITE, each its own call; without SDP when `sdp` is false.
fn invite(port: u16, n: usize, sdp: bool) -> String {
    let body = if sdp {
        format!("v=0\r\no=- {n} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP 0\r\n", 20000 + (n % 10000) * 2)
    } else {
        String::new()
    };
    let ct = if sdp {
        "Content-Type: application/sdp\r\n"
    } else {
        ""
    };
    format!(
        "INVITE sip:bot@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-flood-{n}\r\nMax-Forwards: 70\r\n\
         From: <sip:caller@127.0.0.1>;tag=f{n}\r\nTo: <sip:bot@127.0.0.1>\r\nCall-ID: flood-{n}@127.0.0.1\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:caller@127.0.0.1:{port}>\r\n{ct}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rejected_invite_is_retransmitted_over_udp_until_the_ack() {
    let server = serve(4, 0.0, (43200, 43299)).await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = sock.local_addr().unwrap().port();
    // No SDP offer: 488 Not Acceptable Here.
    sock.send_to(invite(port, 1, false).as_bytes(), server.local)
        .await
        .unwrap();
    let first = collect(&sock, Duration::from_millis(2000)).await;
    let codes: Vec<u16> = first.iter().filter_map(|m| status(m.as_bytes())).collect();
    assert_eq!(codes.first(), Some(&100), "100 Trying first: {codes:?}");
    let finals = codes.iter().filter(|c| **c == 488).count();
    // Timer G: T1 = 500 ms, doubling: the 488 again at 0.5 s and 1.5 s.
    assert!(
        finals >= 3,
        "the 488 and at least two retransmissions in 2 s, got {codes:?}"
    );
    let last = first
        .iter()
        .rev()
        .find(|m| status(m.as_bytes()) == Some(488))
        .unwrap();
    sock.send_to(ack_for(last, port).unwrap().as_bytes(), server.local)
        .await
        .unwrap();
    // The next retransmission was due 3.5 s after the first 488.
    let after = collect(&sock, Duration::from_millis(3000)).await;
    assert!(
        after.is_empty(),
        "no retransmission after the ACK: {after:?}"
    );
    server.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_invite_flood_from_one_source_leaves_nothing_behind() {
    const FLOOD: usize = 2000;
    // Rate-limited as a trunk would be: most get 503, a few are answered, then 486.
    let server = serve(4, 20.0, (43300, 43499)).await;
    let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let port = sock.local_addr().unwrap().port();
    let finals = Arc::new(AtomicUsize::new(0));
    // The caller's side: ACK every final answer to an INVITE, answer the server's BYEs.
    let peer = {
        let (sock, finals, to) = (sock.clone(), finals.clone(), server.local);
        tokio::spawn(async move {
            let mut buf = vec![0; 65_535];
            let mut seen = std::collections::HashSet::new();
            while let Ok((n, _)) = sock.recv_from(&mut buf).await {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                if msg.starts_with("BYE ") {
                    let _ = sock.send_to(ok_for(&msg).as_bytes(), to).await;
                    continue;
                }
                let is_invite_final = status(msg.as_bytes()).is_some_and(|c| c >= 200)
                    && header(&msg, "CSeq").is_some_and(|c| c.ends_with("INVITE"));
                if is_invite_final {
                    if seen.insert(header(&msg, "Call-ID").unwrap_or("").to_string()) {
                        finals.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Some(ack) = ack_for(&msg, port) {
                        let _ = sock.send_to(ack.as_bytes(), to).await;
                    }
                }
            }
        })
    };
    for n in 0..FLOOD {
        sock.send_to(invite(port, n, true).as_bytes(), server.local)
            .await
            .unwrap();
        if n % 10 == 9 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let start = Instant::now();
    let mut live = server.live();
    while start.elapsed() < Duration::from_secs(60) {
        live = server.live();
        if live == LiveCounts::default() && finals.load(Ordering::Relaxed) >= FLOOD * 95 / 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let stats = server.stats.lock().unwrap().clone();
    assert!(
        finals.load(Ordering::Relaxed) >= FLOOD * 95 / 100,
        "{} of {FLOOD} INVITEs answered; {stats:?}",
        finals.load(Ordering::Relaxed)
    );
    assert_eq!(
        live,
        LiveCounts::default(),
        "after {:?}; {stats:?}",
        start.elapsed()
    );
    assert!(
        stats.rejected_rate > 1000 && stats.answered >= 1,
        "{stats:?}"
    );
    assert_eq!(stats.active, 0);
    peer.abort();
    server.shutdown();
}

/// Characters that matter to SIP framing and header syntax.
const MANGLE: &[u8] = b"\n\r :;,\"<>=\xff";

/// The fuzz target's properties (fuzz/fuzz_targets/sip_message.rs) over every fixture cut
/// short at each octet of its header section and with each of those octets replaced by
/// characters that matter to SIP.
#[test]
fn mangled_torture_messages_never_panic_and_what_passes_is_screened_already() {
    let policy = Policy::standard();
    let check = |data: &[u8]| match screen::screen_datagram(data, &policy) {
        Verdict::Pass(bytes) => {
            if !data.iter().all(u8::is_ascii_whitespace) {
                assert!(bytes.len() <= policy.max_datagram);
                let again = screen::screen_datagram(&bytes, &policy);
                assert_eq!(
                    again,
                    Verdict::Pass(bytes.clone()),
                    "not a fixpoint: {:?}",
                    String::from_utf8_lossy(data)
                );
            }
        }
        Verdict::Reply { code, bytes } => {
            assert!(SCREEN_CODES.contains(&code));
            assert!(bytes.starts_with(format!("SIP/2.0 {code} ").as_bytes()));
            assert!(bytes.ends_with(b"Content-Length: 0\r\n\r\n"));
        }
        Verdict::Drop(_) => {}
    };
    let mut screened = 0;
    for c in cases() {
        let head_end = c
            .bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(c.bytes.len(), |p| p + 4);
        for cut in (0..=head_end).chain([c.bytes.len() - 1]) {
            check(&c.bytes[..cut]);
            screened += 1;
        }
        for at in 0..head_end {
            let mut m = c.bytes.clone();
            m[at] = MANGLE[at % MANGLE.len()];
            check(&m);
            m[at] = MANGLE[(at + 5) % MANGLE.len()];
            check(&m);
            screened += 2;
        }
    }
    assert!(screened > 40_000, "{screened}");
}
