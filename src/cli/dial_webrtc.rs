//! `voicegate dial ws://HOST:PORT/v1/webrtc --token T --play FILE --record WAV`: an in-app
//! caller without a browser, on the same WebRTC stack as the gateway (the offering side), so
//! that tests and benches can run many in-app calls. It signals over the WebSocket as the
//! caller page does, speaks FILE as Opus, prints the captions the gateway sends, presses keys
//! (RFC 4733), records what it said (left) and heard (right) at 16 kHz, and hangs up.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use voicegate_webrtc::{Candidate, EndpointConfig, Inbound, Outbound, Session, SessionEvent};

use crate::audio::opus::{OpusDecoder, OpusEncoder, FRAME_SAMPLES};
use crate::audio::{self, to_i16};
use crate::error::{Error, InputError, Result};
use crate::phone::recorder::CallRecorder;

use super::dial_cmd::DialArgs;

fn unusable(what: &str, reason: impl Into<String>) -> Error {
    Error::Input(InputError::Unusable { what: what.into(), reason: reason.into() })
}

/// What a call from `dial` heard and saw, for the tests and the bench.
#[derive(Debug, Default)]
pub struct DialOutcome {
    pub call_id: String,
    pub reason: String,
    pub heard_ms: u64,
}

pub fn run(args: DialArgs) -> Result<()> {
    let url = args.uri.clone();
    if url.starts_with("wss://") {
        return Err(unusable(&url, "wss:// is not supported by dial: use ws:// on the gateway's plain HTTP port (http.listen)"));
    }
    let token = args.token.clone().ok_or_else(|| unusable(&url, "a call token is needed: --token T (see `voicegate serve`'s banner or POST /v1/webrtc/tokens)"))?;
    let caller = match &args.play {
        Some(p) => audio::load_for_pipeline(p, None)?.samples,
        None => Vec::new(),
    };
    super::runtime()?.block_on(async move {
        let sep = if url.contains('?') { '&' } else { '?' };
        let full = format!("{url}{sep}token={token}");
        println!("calling {url} over WebRTC ...");
        let wait = Duration::from_secs_f64(args.timeout.max(0.1));
        let (mut ws, _) = match tokio::time::timeout(wait, tokio_tungstenite::connect_async(full.as_str())).await {
            Err(_) => return Err(unusable(&url, format!("no answer within {} s", args.timeout))),
            Ok(Err(tokio_tungstenite::tungstenite::Error::Http(r))) => {
                let body = r.body().as_ref().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
                return Err(unusable(&url, format!("refused: {} {}", r.status(), body.trim())));
            }
            Ok(Err(e)) => return Err(unusable(&url, format!("cannot connect: {e}"))),
            Ok(Ok(x)) => x,
        };
        let ip = voicegate_sip::outward_ip();
        let cfg = EndpointConfig { ips: vec![ip], connect_timeout: wait, ..Default::default() };
        let (session, offer, io) = Session::offer(&cfg).await.map_err(|e| Error::internal(e.to_string()))?;
        let voicegate_webrtc::SessionIo { mut inbound, outbound, keys, mut events, .. } = io;
        let send = |v: serde_json::Value| Message::Text(v.to_string().into());
        ws.send(send(serde_json::json!({"type": "offer", "sdp": offer}))).await.map_err(|e| unusable(&url, e.to_string()))?;
        let mut recorder = match &args.record {
            Some(p) => Some(CallRecorder::create_at(p, audio::SAMPLE_RATE)?),
            None => None,
        };
        let mut enc = OpusEncoder::new()?;
        let mut dec = OpusDecoder::new()?;
        let frames: Vec<Vec<f32>> = caller.chunks(FRAME_SAMPLES).map(<[f32]>::to_vec).collect();
        let mut connected_at: Option<Instant> = None;
        let connect_by = Instant::now() + wait;
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        let (mut slot, mut heard_slot, mut heard_loud, mut sent) = (0u64, 0u64, 0u64, 0usize);
        let mut keys_sent = false;
        let mut outcome = DialOutcome::default();
        let listen = Duration::from_secs_f64(args.listen.max(0.0));
        let reason = loop {
            tokio::select! {
                _ = tick.tick() => {
                    let Some(at) = connected_at else {
                        if Instant::now() > connect_by {
                            break "the call did not connect in time".to_string();
                        }
                        continue;
                    };
                    let ours = frames.get(slot as usize).cloned().unwrap_or_else(|| vec![0.0; FRAME_SAMPLES]);
                    if let Some(r) = recorder.as_mut() {
                        r.caller(slot, &ours.iter().map(|x| to_i16(*x)).collect::<Vec<_>>())?;
                    }
                    slot += 1;
                    if let Some(f) = frames.get(sent) {
                        let mut f = f.clone();
                        f.resize(FRAME_SAMPLES, 0.0);
                        let _ = outbound.send(Outbound { due: None, payload: enc.encode(&f)? }).await;
                        sent += 1;
                    } else if !keys_sent {
                        keys_sent = true;
                        for k in args.dtmf.as_deref().unwrap_or("").chars() {
                            let _ = keys.send(k);
                        }
                    }
                    if at.elapsed() >= Duration::from_millis(frames.len() as u64 * 20) + listen {
                        break "hung up".to_string();
                    }
                }
                item = inbound.recv(), if connected_at.is_some() => match item {
                    Some(i) => {
                        let pcm = match i {
                            Inbound::Audio(p) => dec.decode(&p),
                            Inbound::Lost { next } => dec.conceal(next.as_deref()),
                            Inbound::Silence => vec![0.0; FRAME_SAMPLES],
                            Inbound::Dtmf(k) => {
                                println!("  far end pressed {k}");
                                continue;
                            }
                        };
                        if audio::frame::rms(&pcm) > 0.01 {
                            heard_loud += 1;
                        }
                        if let Some(r) = recorder.as_mut() {
                            r.bot(heard_slot, &pcm.iter().map(|x| to_i16(*x)).collect::<Vec<_>>());
                        }
                        heard_slot += 1;
                    }
                    None => break "media stopped".to_string(),
                },
                ev = events.recv() => match ev {
                    Some(SessionEvent::Connected) if connected_at.is_none() => {
                        connected_at = Some(Instant::now());
                        // What came before the connection is not part of the call.
                        while inbound.try_recv().is_ok() {}
                        println!("answered (Opus over DTLS-SRTP)");
                    }
                    Some(SessionEvent::Ended { reason }) => break format!("the connection ended ({reason})"),
                    Some(_) => {}
                    None => break "the connection ended".to_string(),
                },
                msg = ws.next() => match msg {
                    Some(Ok(Message::Text(t))) => {
                        let v: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
                        match v["type"].as_str().unwrap_or_default() {
                            "hello" => outcome.call_id = v["call_id"].as_str().unwrap_or_default().to_string(),
                            "answer" => {
                                let sdp = v["sdp"].as_str().unwrap_or_default();
                                session.accept_answer(sdp).await.map_err(|e| unusable(&url, e.to_string()))?;
                            }
                            "candidate" => {
                                if let Some(c) = v["candidate"].as_str() {
                                    let cand = Candidate { candidate: c.to_string(), sdp_mid: v["sdpMid"].as_str().map(str::to_string), sdp_mline_index: v["sdpMLineIndex"].as_u64().map(|i| i as u16) };
                                    let _ = session.add_remote_candidate(cand).await;
                                }
                            }
                            "event" => print_caption(&v["event"]),
                            "error" => println!("  gateway: {}", v["reason"].as_str().unwrap_or_default()),
                            "hangup" => break format!("the far end hung up ({})", v["reason"].as_str().unwrap_or_default()),
                            _ => {}
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break "the signalling connection closed".to_string(),
                    Some(Ok(_)) => {}
                },
            }
        };
        let _ = ws.send(send(serde_json::json!({"type": "hangup"}))).await;
        // The gateway's last events (the end of the call) before the socket closes.
        let drain_until = Instant::now() + Duration::from_secs(2);
        while let Ok(Some(Ok(Message::Text(t)))) = tokio::time::timeout(drain_until.saturating_duration_since(Instant::now()), ws.next()).await {
            let v: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
            match v["type"].as_str() {
                Some("event") => print_caption(&v["event"]),
                Some("hangup") => break,
                _ => {}
            }
        }
        let _ = ws.close(None).await;
        session.close().await;
        outcome.reason = reason.clone();
        outcome.heard_ms = heard_loud * 20;
        println!("{reason} after {:.1} s; heard {:.1} s of speech (call {})", connected_at.map(|c| c.elapsed().as_secs_f64()).unwrap_or(0.0), heard_loud as f64 * 0.02, outcome.call_id);
        if let (Some(r), Some(p)) = (recorder, &args.record) {
            r.finish()?;
            println!("wrote {} (what we said left, what we heard right)", p.display());
        }
        if connected_at.is_none() {
            return Err(unusable(&url, reason));
        }
        Ok(())
    })
}

/// A caption line for an event the gateway sent.
fn print_caption(ev: &serde_json::Value) {
    match ev["type"].as_str().unwrap_or_default() {
        "transcript" if ev["final"] == true => println!("  caller: {}", ev["text"].as_str().unwrap_or_default()),
        "bot_reply" => println!("  bot:    {}", ev["text"].as_str().unwrap_or_default()),
        "handoff" => println!("  handoff: {}", ev["reason"].as_str().unwrap_or_default()),
        "dtmf" => println!("  key:    {}", ev["digit"].as_str().unwrap_or_default()),
        _ => {}
    }
}
