//! A scripted SIP caller for the integration tests: a server to call, requests written out
//! as text, and the few header reads the tests need.
#![allow(dead_code)]

use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use voicegate_sip::guard::AllowList;
use voicegate_sip::server::{self, IncomingCall, ServerConfig, SipServer};

/// The server's configuration for tests: 127.0.0.1, answers at once, no guard.
pub fn config(max_calls: usize, invite_rate: f64, rtp_ports: (u16, u16)) -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tcp: false,
        media_ip: "127.0.0.1".parse().unwrap(),
        rtp_ports,
        allow: AllowList::default(),
        auth: None,
        invite_rate,
        invite_burst: 20,
        answer_after: Duration::ZERO,
        max_calls,
        jitter_depth: 3,
        deliver_slots: 1,
        rtp_timeout: None,
        registrar: None,
        tls: None,
    }
}

/// A server whose calls are hung up as soon as they come.
pub async fn serve_and_hang_up(
    max_calls: usize,
    invite_rate: f64,
    rtp_ports: (u16, u16),
) -> SipServer {
    let (server, mut calls) = serve(config(max_calls, invite_rate, rtp_ports)).await;
    tokio::spawn(async move {
        while let Some(call) = calls.recv().await {
            tokio::spawn(async move { call.hangup.hangup().await });
        }
    });
    server
}

pub async fn serve(cfg: ServerConfig) -> (SipServer, mpsc::Receiver<IncomingCall>) {
    let (tx, rx) = mpsc::channel(64);
    (server::start(cfg, tx).await.expect("server starts"), rx)
}

/// The status code of a response, if `msg` is one.
pub fn status(msg: &[u8]) -> Option<u16> {
    let rest = msg.strip_prefix(b"SIP/2.0 ")?;
    std::str::from_utf8(rest.get(..3)?).ok()?.parse().ok()
}

/// The first value of a header (long name), as sent.
pub fn header<'m>(msg: &'m str, name: &str) -> Option<&'m str> {
    msg.split("\r\n")
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
}

/// The body after the empty line.
pub fn body(msg: &str) -> &str {
    msg.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("")
}

/// The first datagram that reaches `sock` within `wait` and that `wanted` accepts.
async fn next_matching(sock: &UdpSocket, wait: Duration, wanted: impl Fn(&[u8]) -> bool) -> Option<String> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = vec![0; 65_535];
    loop {
        let (n, _) = tokio::time::timeout_at(deadline, sock.recv_from(&mut buf))
            .await
            .ok()?
            .ok()?;
        if wanted(&buf[..n]) {
            return Some(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
}

/// The first final response that reaches `sock` within `wait` (1xx skipped).
pub async fn first_final(sock: &UdpSocket, wait: Duration) -> Option<String> {
    next_matching(sock, wait, |m| status(m).is_some_and(|c| c >= 200)).await
}

/// The next request (not a response) that reaches `sock` within `wait`.
pub async fn next_request(sock: &UdpSocket, wait: Duration) -> Option<String> {
    next_matching(sock, wait, |m| !m.starts_with(b"SIP/")).await
}

/// Everything that reaches `sock` within `wait`.
pub async fn collect(sock: &UdpSocket, wait: Duration) -> Vec<String> {
    let mut buf = vec![0; 65_535];
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Ok((n, _))) = tokio::time::timeout_at(deadline, sock.recv_from(&mut buf)).await {
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    got
}

/// An SDP offer of PCMU on `port`, with a direction attribute.
pub fn offer(port: u16, version: u32, direction: &str) -> String {
    format!("v=0\r\no=- 1 {version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na={direction}\r\n")
}

/// One request from the caller at 127.0.0.1:`port`: the call `call`, our tag `f<call>`,
/// branch `z9hG4bK-<call>-<seq>-<method>`, `extra` header lines (each ending in CRLF).
pub struct Req<'a> {
    pub method: &'a str,
    pub port: u16,
    pub call: &'a str,
    pub seq: u32,
    /// The To header value (with the server's tag once there is a dialog).
    pub to: &'a str,
    pub extra: &'a str,
    pub content_type: Option<&'a str>,
    pub body: &'a str,
}

impl Req<'_> {
    pub fn text(&self) -> String {
        let Req {
            method,
            port,
            call,
            seq,
            to,
            extra,
            content_type,
            body,
        } = self;
        let ct = content_type
            .map(|c| format!("Content-Type: {c}\r\n"))
            .unwrap_or_default();
        let branch_method = if *method == "ACK" { "INVITE" } else { method };
        format!(
            "{method} sip:bot@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{call}-{seq}-{branch_method}\r\nMax-Forwards: 70\r\n\
             From: <sip:caller@127.0.0.1>;tag=f{call}\r\nTo: {to}\r\nCall-ID: {call}@127.0.0.1\r\nCSeq: {seq} {method}\r\n\
             Contact: <sip:caller@127.0.0.1:{port}>\r\n{extra}{ct}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }
}

/// The ACK for a final response to an INVITE we sent: same branch for a non-2xx (RFC 3261
/// §17.1.1.3), a new one for a 2xx (§13.2.2.4).
pub fn ack_for(response: &str, port: u16) -> Option<String> {
    let code = status(response.as_bytes())?;
    let via = header(response, "Via")?;
    let branch = via
        .split(';')
        .find_map(|p| p.trim().strip_prefix("branch="))?;
    let branch = if code < 300 {
        format!("{branch}-ack")
    } else {
        branch.to_string()
    };
    let (from, to, call_id) = (
        header(response, "From")?,
        header(response, "To")?,
        header(response, "Call-ID")?,
    );
    let seq = header(response, "CSeq")?.split_whitespace().next()?;
    Some(format!(
        "ACK sip:bot@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch={branch}\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {seq} ACK\r\nContent-Length: 0\r\n\r\n"
    ))
}

/// 200 OK to a request the server sent us (its BYE).
pub fn ok_for(request: &str) -> String {
    let vias: String = request
        .split("\r\n")
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("Via:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let h = |n| header(request, n).unwrap_or("");
    format!("SIP/2.0 200 OK\r\n{vias}From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {}\r\nContent-Length: 0\r\n\r\n", h("From"), h("To"), h("Call-ID"), h("CSeq"))
}
