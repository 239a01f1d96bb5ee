//! Session timers (RFC 4028) and UPDATE over UDP against the running server: negotiation in
//! the INVITE, refreshes by UPDATE and re-INVITE, 422 for short intervals, and a call whose
//! caller stops refreshing ending with a BYE and `session_expired`.

use std::time::Duration;

use tokio::net::UdpSocket;
use voicegate_sip::server::LegEvent;

mod uac;
use uac::{ack_for, body, first_final, header, next_request, offer, ok_for, status, Req};

const WAIT: Duration = Duration::from_secs(2);

async fn send(sock: &UdpSocket, to: std::net::SocketAddr, msg: &str) {
    sock.send_to(msg.as_bytes(), to).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_asks_for_a_timer_gets_it_and_refreshes_with_update_or_reinvite() {
    let (server, mut calls) = uac::serve(uac::config(4, 0.0, (43600, 43699))).await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = sock.local_addr().unwrap().port();
    let to0 = "<sip:bot@127.0.0.1>";
    let invite = |seq, extra, call| Req {
        method: "INVITE",
        port,
        call,
        seq,
        to: to0,
        extra,
        content_type: Some("application/sdp"),
        body: "",
    };

    // Too short an interval: 422 with our Min-SE.
    let sdp = offer(30000, 1, "sendrecv");
    let short = Req {
        body: &sdp,
        ..invite(1, "Supported: timer\r\nSession-Expires: 60\r\n", "st-short")
    };
    send(&sock, server.local, &short.text()).await;
    let r = first_final(&sock, WAIT).await.expect("an answer");
    assert_eq!(status(r.as_bytes()), Some(422), "{r}");
    assert_eq!(header(&r, "Min-SE"), Some("90"));
    send(&sock, server.local, &ack_for(&r, port).unwrap()).await;

    // Require: timer is supported now: 200 naming the caller as refresher.
    let asks = Req { body: &sdp, ..invite(1, "Supported: timer\r\nRequire: timer\r\nSession-Expires: 1800;refresher=uac\r\nMin-SE: 90\r\n", "st-1") };
    send(&sock, server.local, &asks.text()).await;
    let ok = first_final(&sock, WAIT).await.expect("an answer");
    assert_eq!(status(ok.as_bytes()), Some(200), "{ok}");
    assert_eq!(header(&ok, "Session-Expires"), Some("1800;refresher=uac"));
    assert_eq!(header(&ok, "Require"), Some("timer"));
    assert!(
        header(&ok, "Allow").is_some_and(|a| a.contains("UPDATE")),
        "{ok}"
    );
    assert!(
        header(&ok, "Supported").is_some_and(|a| a.contains("timer")),
        "{ok}"
    );
    send(&sock, server.local, &ack_for(&ok, port).unwrap()).await;
    let mut call = tokio::time::timeout(WAIT, calls.recv())
        .await
        .unwrap()
        .expect("the call");
    let to = header(&ok, "To").unwrap().to_string();
    let in_dialog = |method, seq, extra, content_type, body| Req {
        method,
        port,
        call: "st-1",
        seq,
        to: &to,
        extra,
        content_type,
        body,
    };

    // UPDATE without a body: a refresh, answered without SDP.
    send(
        &sock,
        server.local,
        &in_dialog(
            "UPDATE",
            2,
            "Supported: timer\r\nSession-Expires: 1200;refresher=uac\r\n",
            None,
            "",
        )
        .text(),
    )
    .await;
    let r = first_final(&sock, WAIT).await.expect("an answer");
    assert_eq!(status(r.as_bytes()), Some(200), "{r}");
    assert_eq!(header(&r, "Session-Expires"), Some("1200;refresher=uac"));
    assert_eq!(body(&r), "");

    // UPDATE with a hold offer: answered with SDP, the call is held.
    let hold = offer(30000, 2, "sendonly");
    send(
        &sock,
        server.local,
        &in_dialog(
            "UPDATE",
            3,
            "Supported: timer\r\nSession-Expires: 1200\r\n",
            Some("application/sdp"),
            &hold,
        )
        .text(),
    )
    .await;
    let r = first_final(&sock, WAIT).await.expect("an answer");
    assert_eq!(status(r.as_bytes()), Some(200), "{r}");
    assert!(body(&r).contains("a=recvonly"), "{r}");
    assert_eq!(
        tokio::time::timeout(WAIT, call.events.recv())
            .await
            .unwrap(),
        Some(LegEvent::Held)
    );

    // Too short a refresh: 422, the session goes on.
    send(
        &sock,
        server.local,
        &in_dialog(
            "UPDATE",
            4,
            "Supported: timer\r\nSession-Expires: 30\r\n",
            None,
            "",
        )
        .text(),
    )
    .await;
    let r = first_final(&sock, WAIT).await.expect("an answer");
    assert_eq!(status(r.as_bytes()), Some(422), "{r}");

    // re-INVITE resuming, with the timer: 200 with SDP and Session-Expires.
    let resume = offer(30000, 3, "sendrecv");
    send(
        &sock,
        server.local,
        &in_dialog(
            "INVITE",
            5,
            "Supported: timer\r\nSession-Expires: 900;refresher=uac\r\n",
            Some("application/sdp"),
            &resume,
        )
        .text(),
    )
    .await;
    let r = first_final(&sock, WAIT).await.expect("an answer");
    assert_eq!(status(r.as_bytes()), Some(200), "{r}");
    assert_eq!(header(&r, "Session-Expires"), Some("900;refresher=uac"));
    assert!(body(&r).contains("a=sendrecv"), "{r}");
    send(&sock, server.local, &ack_for(&r, port).unwrap()).await;
    assert_eq!(
        tokio::time::timeout(WAIT, call.events.recv())
            .await
            .unwrap(),
        Some(LegEvent::Resumed)
    );

    // An UPDATE whose body is no SDP: 415 with Accept.
    send(
        &sock,
        server.local,
        &in_dialog("UPDATE", 6, "", Some("text/plain"), "hello").text(),
    )
    .await;
    let r = first_final(&sock, WAIT).await.expect("an answer");
    assert_eq!(status(r.as_bytes()), Some(415), "{r}");
    assert_eq!(header(&r, "Accept"), Some("application/sdp"));

    // A method we do not serve, inside the call: 405 with Allow.
    send(
        &sock,
        server.local,
        &in_dialog("MESSAGE", 7, "", Some("text/plain"), "hi").text(),
    )
    .await;
    let r = first_final(&sock, WAIT).await.expect("an answer");
    assert_eq!(status(r.as_bytes()), Some(405), "{r}");
    assert!(header(&r, "Allow").is_some_and(|a| a.contains("UPDATE")));

    send(
        &sock,
        server.local,
        &in_dialog("BYE", 8, "", None, "").text(),
    )
    .await;
    assert_eq!(
        first_final(&sock, WAIT)
            .await
            .as_deref()
            .and_then(|r| status(r.as_bytes())),
        Some(200)
    );
    assert_eq!(
        tokio::time::timeout(WAIT, call.events.recv())
            .await
            .unwrap(),
        Some(LegEvent::Ended {
            reason: "caller_hangup".into()
        })
    );
    server.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_and_invites_we_cannot_take_are_answered_with_what_we_can() {
    let server = uac::serve_and_hang_up(4, 0.0, (43700, 43799)).await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = sock.local_addr().unwrap().port();
    let to = "<sip:bot@127.0.0.1>";
    send(
        &sock,
        server.local,
        &Req {
            method: "OPTIONS",
            port,
            call: "caps",
            seq: 1,
            to,
            extra: "",
            content_type: None,
            body: "",
        }
        .text(),
    )
    .await;
    let r = first_final(&sock, WAIT).await.expect("an answer");
    assert_eq!(status(r.as_bytes()), Some(200));
    assert_eq!(
        header(&r, "Allow"),
        Some("INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE")
    );
    assert_eq!(header(&r, "Accept"), Some("application/sdp"));
    assert_eq!(header(&r, "Supported"), Some("timer"));

    send(
        &sock,
        server.local,
        &Req {
            method: "SUBSCRIBE",
            port,
            call: "sub",
            seq: 1,
            to,
            extra: "Event: presence\r\n",
            content_type: None,
            body: "",
        }
        .text(),
    )
    .await;
    let r = first_final(&sock, WAIT).await.expect("an answer");
    assert_eq!(status(r.as_bytes()), Some(405));
    assert_eq!(
        header(&r, "Allow"),
        Some("INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE")
    );

    let xml = "<audio/>";
    send(
        &sock,
        server.local,
        &Req {
            method: "INVITE",
            port,
            call: "xml",
            seq: 1,
            to,
            extra: "",
            content_type: Some("application/xml"),
            body: xml,
        }
        .text(),
    )
    .await;
    let r = first_final(&sock, WAIT).await.expect("an answer");
    assert_eq!(status(r.as_bytes()), Some(415));
    assert_eq!(header(&r, "Accept"), Some("application/sdp"));
    send(&sock, server.local, &ack_for(&r, port).unwrap()).await;

    let sdp = offer(30002, 1, "sendrecv");
    send(
        &sock,
        server.local,
        &Req {
            method: "INVITE",
            port,
            call: "acc",
            seq: 1,
            to,
            extra: "Accept: text/html\r\n",
            content_type: Some("application/sdp"),
            body: &sdp,
        }
        .text(),
    )
    .await;
    let r = first_final(&sock, WAIT).await.expect("an answer");
    assert_eq!(status(r.as_bytes()), Some(406));
    assert!(header(&r, "Warning").is_some_and(|w| w.starts_with("399 voicegate ")));
    send(&sock, server.local, &ack_for(&r, port).unwrap()).await;
    server.shutdown();
}

/// On tokio's paused clock the 60 s until the end of a 90 s session pass at once.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_caller_that_stops_refreshing_is_hung_up_with_session_expired() {
    let (server, mut calls) = uac::serve(uac::config(4, 0.0, (43800, 43899))).await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = sock.local_addr().unwrap().port();
    let sdp = offer(30004, 1, "sendrecv");
    let invite = Req {
        method: "INVITE",
        port,
        call: "st-exp",
        seq: 1,
        to: "<sip:bot@127.0.0.1>",
        extra: "Supported: timer\r\nSession-Expires: 90;refresher=uac\r\n",
        content_type: Some("application/sdp"),
        body: &sdp,
    };
    send(&sock, server.local, &invite.text()).await;
    let ok = first_final(&sock, WAIT).await.expect("an answer");
    assert_eq!(
        header(&ok, "Session-Expires"),
        Some("90;refresher=uac"),
        "{ok}"
    );
    send(&sock, server.local, &ack_for(&ok, port).unwrap()).await;
    let mut call = calls.recv().await.expect("the call");
    let answered = tokio::time::Instant::now();
    // No refresh: the server gives up 90 - 30 s after its 2xx and says BYE.
    let bye = loop {
        let msg = next_request(&sock, Duration::from_secs(120))
            .await
            .expect("a BYE");
        if msg.starts_with("BYE ") {
            break msg;
        }
    };
    let waited = answered.elapsed();
    assert!(
        waited >= Duration::from_secs(59) && waited <= Duration::from_secs(62),
        "BYE after {waited:?}"
    );
    assert!(
        header(&bye, "Reason").is_some_and(|r| r.contains("Session expired")),
        "{bye}"
    );
    send(&sock, server.local, &ok_for(&bye)).await;
    let ended = loop {
        match call.events.recv().await {
            Some(LegEvent::Ended { reason }) => break reason,
            Some(_) => continue,
            None => panic!("no end"),
        }
    };
    assert_eq!(ended, "session_expired");
    assert_eq!(server.stats.lock().unwrap().session_expired, 1);
    server.shutdown();
}
