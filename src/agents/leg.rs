//! An agent's leg as a call sees it, whatever reaches the agent (a SIP phone called by the
//! gateway, later the browser desktop): 16 kHz 20 ms frames both ways, the end, a hang-up.
//! `sip_leg` adapts a call placed to a SIP agent: G.711 in and out, 8 kHz to and from 16 kHz.

use tokio::sync::{mpsc, oneshot};
use voicegate_sip::client::OutgoingCall;
use voicegate_sip::media::{Inbound, Outbound};

use crate::audio::g711;
use crate::audio::rate2x::{Downsampler2x, Upsampler2x};
use crate::live::Hangup;

pub struct AgentLeg {
    pub agent: String,
    /// The agent's voice, 16 kHz 20 ms frames, as they arrive.
    pub voice: mpsc::Receiver<Vec<f32>>,
    /// What the agent hears, 16 kHz 20 ms frames; the leg sends one per 20 ms.
    pub ear: mpsc::Sender<Vec<f32>>,
    /// Fires with a reason when the agent's side ends (`agent_hangup`, `rtp_timeout`).
    pub ended: oneshot::Receiver<String>,
    pub hangup: Hangup,
}

/// The leg of an answered call to a SIP agent.
pub fn sip_leg(agent: &str, call: OutgoingCall) -> AgentLeg {
    let (media, codec, hangup, far_end) = call.into_parts();
    let voicegate_sip::media::MediaSession { mut inbound, outbound, control, stats: _, cancel } = media;
    let (voice_tx, voice) = mpsc::channel::<Vec<f32>>(16);
    let (ear, mut ear_rx) = mpsc::channel::<Vec<f32>>(8);
    let (end_tx, ended) = oneshot::channel();
    let (gone_tx, gone_rx) = oneshot::channel::<String>();
    // The agent's voice up to 16 kHz; a media timeout ends the leg.
    tokio::spawn(async move {
        let mut up = Upsampler2x::default();
        let _control = control;
        while let Some(item) = inbound.recv().await {
            let pcm: Vec<f32> = match item {
                Inbound::Audio(p) => g711::decode_payload(codec, &p).iter().map(|s| *s as f32 / 32768.0).collect(),
                Inbound::Lost | Inbound::Silence => vec![0.0; 160],
                Inbound::Dtmf(_) => continue,
                Inbound::TimedOut => {
                    let _ = gone_tx.send("rtp_timeout".into());
                    return;
                }
            };
            // A call not listening to the agent (yet) loses nothing it needs.
            let _ = voice_tx.try_send(up.process(&pcm));
        }
    });
    // What the agent hears, down to 8 kHz; the media session paces it.
    tokio::spawn(async move {
        let mut down = Downsampler2x::default();
        while let Some(f) = ear_rx.recv().await {
            let narrow = down.process(&f);
            if outbound.send(Outbound { due: None, payload: g711::encode_payload(codec, &narrow) }).await.is_err() {
                break;
            }
        }
    });
    // Whichever comes first: their BYE or their media stopping.
    tokio::spawn(async move {
        let reason = tokio::select! {
            r = far_end => r.map(|_| "agent_hangup".to_string()).unwrap_or_else(|_| "lost".into()),
            r = gone_rx => r.unwrap_or_else(|_| "lost".into()),
        };
        cancel.cancel();
        let _ = end_tx.send(reason);
    });
    let hangup: Hangup = Box::new(move || Box::pin(async move { hangup.hangup().await }));
    AgentLeg { agent: agent.to_string(), voice, ear, ended, hangup }
}
