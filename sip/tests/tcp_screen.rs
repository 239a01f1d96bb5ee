//! Over TCP rsipstack frames and parses requests itself; the stream screen still answers what
//! the parsed request can be refused for (version, scheme, CSeq, Require) instead of the
//! stack passing it on.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod uac;
use uac::{header, status};

fn options(port: u16, n: u32, version: &str, extra: &str) -> String {
    format!(
        "OPTIONS sip:bot@127.0.0.1 {version}\r\nVia: SIP/2.0/TCP 127.0.0.1:{port};branch=z9hG4bK-tcp-{n}\r\nMax-Forwards: 70\r\n\
         From: <sip:caller@127.0.0.1>;tag=t{n}\r\nTo: <sip:bot@127.0.0.1>\r\nCall-ID: tcp-{n}@127.0.0.1\r\nCSeq: {n} OPTIONS\r\n{extra}Content-Length: 0\r\n\r\n"
    )
}

/// Reads one response off the stream (headers only: these carry no body).
async fn response(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut byte))
            .await
            .expect("an answer in time")
            .unwrap();
        assert_eq!(
            n,
            1,
            "connection closed after {:?}",
            String::from_utf8_lossy(&got)
        );
        got.push(byte[0]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_over_tcp_get_the_screens_answers() {
    let mut cfg = uac::config(2, 0.0, (43900, 43999));
    cfg.tcp = true;
    let (server, _calls) = uac::serve(cfg).await;
    // The stack's TCP listener binds in its own task, a moment after start returns.
    let mut stream = None;
    for _ in 0..50 {
        if let Ok(s) = TcpStream::connect(server.local).await {
            stream = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut stream = stream.expect("the TCP listener is up");
    let port = stream.local_addr().unwrap().port();
    for (n, version, extra, code) in [
        (1, "SIP/7.0", "", 505),
        (2, "SIP/2.0", "Require: 100rel, foo\r\n", 420),
        (3, "SIP/2.0", "Require: timer\r\n", 200),
        (4, "SIP/2.0", "", 200),
    ] {
        stream
            .write_all(options(port, n, version, extra).as_bytes())
            .await
            .unwrap();
        let r = response(&mut stream).await;
        assert_eq!(status(r.as_bytes()), Some(code), "{r}");
        assert!(r.starts_with("SIP/2.0 "), "{r}");
        if code == 420 {
            assert_eq!(header(&r, "Unsupported"), Some("100rel, foo"));
        }
    }
    let stats = server.stats.lock().unwrap().clone();
    assert_eq!(stats.malformed_answered, 2, "{stats:?}");
    server.shutdown();
}
