//! The leg of a browser agent: the desktop's WebRTC session (Opus both ways) as the call sees
//! an agent (`AgentLeg`: 16 kHz 20 ms frames, the end, a hang-up). The desktop's page ends it
//! with a reason (`agent_hangup` from its button, `agent_lost` when the page is gone); the
//! call's hang-up closes the session.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tracing::warn;
use voicegate_webrtc::{Outbound, Session, SessionEvent, SessionIo};

use super::leg::AgentLeg;
use crate::audio::opus::{OpusDecoder, OpusEncoder};
use crate::call::control::AGENT_LOST;
use crate::live::Hangup;

/// A desktop's session and why it ended, shared by the page's signalling and the leg.
#[derive(Clone)]
pub struct DesktopLine {
    pub session: Arc<Session>,
    why: Arc<Mutex<Option<String>>>,
}

impl DesktopLine {
    pub fn new(session: Session) -> Self {
        Self { session: Arc::new(session), why: Arc::default() }
    }

    /// Ends the agent's side for `reason` (the first reason given is the one that counts).
    pub async fn end(&self, reason: &str) {
        self.why.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(|| reason.to_string());
        self.session.close().await;
    }

    /// Why it ended: the reason given, or `otherwise`.
    pub fn reason(&self, otherwise: &str) -> String {
        self.why.lock().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or_else(|| otherwise.to_string())
    }
}

/// Waits for the session's media to connect: `Err` with why it did not.
pub async fn connected(io: &mut SessionIo, within: Duration) -> Result<(), String> {
    let wait = async {
        loop {
            match io.events.recv().await {
                Some(SessionEvent::Connected) => return Ok(()),
                Some(SessionEvent::Ended { reason }) => return Err(reason),
                None => return Err("closed".to_string()),
                Some(_) => {}
            }
        }
    };
    tokio::time::timeout(within, wait).await.unwrap_or_else(|_| Err("ice_timeout".into()))
}

/// The leg of a connected desktop session.
pub fn desktop_leg(agent: &str, line: DesktopLine, io: SessionIo) -> AgentLeg {
    let SessionIo { mut inbound, outbound, keys: _, mut events, stats: _ } = io;
    let (voice_tx, voice) = mpsc::channel::<Vec<f32>>(16);
    let (ear, mut ear_rx) = mpsc::channel::<Vec<f32>>(8);
    let (end_tx, ended) = oneshot::channel();
    // The agent's voice: a 20 ms slot at a time, lost packets concealed.
    tokio::spawn(async move {
        let mut dec = match OpusDecoder::new() {
            Ok(d) => d,
            Err(e) => {
                warn!(error = %e, "no Opus decoder: the agent is not heard");
                return;
            }
        };
        while inbound.try_recv().is_ok() {}
        while let Some(item) = inbound.recv().await {
            // An agent's keys mean nothing to the call.
            let Ok(pcm) = crate::inapp::call::slot_pcm(&mut dec, item) else { continue };
            // A call not listening to the agent (yet) loses nothing it needs.
            let _ = voice_tx.try_send(pcm);
        }
    });
    // What the agent hears, to Opus; the session paces it.
    tokio::spawn(async move {
        let mut enc = match OpusEncoder::new() {
            Ok(e) => e,
            Err(e) => {
                warn!(error = %e, "no Opus encoder: the agent hears nothing");
                return;
            }
        };
        while let Some(f) = ear_rx.recv().await {
            match enc.encode(&f) {
                Ok(payload) => {
                    if outbound.send(Outbound { due: None, payload }).await.is_err() {
                        break;
                    }
                }
                Err(e) => warn!(error = %e, "frame to the agent not encoded"),
            }
        }
    });
    // The session's end, with the page's reason when it gave one.
    {
        let line = line.clone();
        tokio::spawn(async move {
            let reason = loop {
                match events.recv().await {
                    Some(SessionEvent::Ended { .. }) | None => break line.reason(AGENT_LOST),
                    Some(_) => {}
                }
            };
            let _ = end_tx.send(reason);
        });
    }
    let hangup: Hangup = Box::new(move || Box::pin(async move { line.end("hung_up").await }));
    AgentLeg { agent: agent.to_string(), voice, ear, ended, hangup }
}
