//! The agents of `bench calls --bridged`: SIP phones in the bench's process, one user agent
//! for all of them, that answer every call at once and send back what they hear (so the
//! bridge carries audio both ways). Each notes when its call was answered and when the audio
//! it heard was loud: the bench tells the whisper (the first seconds) from the caller's voice
//! by the whisper's length in the call's events.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use voicegate_sip::guard::AllowList;
use voicegate_sip::media::{Inbound, Outbound};
use voicegate_sip::server::{self, IncomingCall, ServerConfig, SipServer};

use crate::agents::Agent;
use crate::audio::g711;
use crate::error::{Error, Result};

/// What one agent's phone heard on one call.
#[derive(Debug, Clone)]
pub struct Heard {
    /// Milliseconds after the answer of each loud 20 ms packet.
    pub loud_ms: Vec<u64>,
}

pub struct AgentPhones {
    pub at: SocketAddr,
    heard: Arc<Mutex<HashMap<String, Vec<Heard>>>>,
    _server: SipServer,
}

/// A SIP user agent for the bench's agents' phones (here and in `bench transfer`): on loopback,
/// UDP, no limits, answering at once with a one-packet jitter buffer; the caller's audio handed
/// over `deliver_slots` packets at a time.
pub(crate) fn phone_config(rtp_ports: (u16, u16), max_calls: usize, deliver_slots: usize) -> Result<ServerConfig> {
    Ok(ServerConfig {
        listen: "127.0.0.1:0".parse().map_err(Error::internal)?,
        tcp: false,
        media_ip: [127, 0, 0, 1].into(),
        rtp_ports,
        allow: AllowList::parse(&[]).map_err(Error::Config)?,
        auth: None,
        invite_rate: 0.0,
        invite_burst: 0,
        answer_after: Duration::ZERO,
        max_calls,
        jitter_depth: 1,
        deliver_slots,
        rtp_timeout: None,
        registrar: None,
        tls: None,
    })
}

impl AgentPhones {
    pub async fn start() -> Result<Self> {
        // RTP above the bench gateway's own ports.
        let cfg = phone_config((60002, 65000), 10_000, 5)?;
        let (tx, mut rx) = mpsc::channel(256);
        let server = server::start(cfg, tx).await.map_err(Error::Config)?;
        let heard: Arc<Mutex<HashMap<String, Vec<Heard>>>> = Arc::default();
        let notes = heard.clone();
        tokio::spawn(async move {
            while let Some(call) = rx.recv().await {
                tokio::spawn(answer(call, notes.clone()));
            }
        });
        Ok(Self { at: server.local, heard, _server: server })
    }

    /// `n` agents, `bench-1` to `bench-N`, each reached at its own URI on these phones.
    pub fn agents(&self, n: usize) -> Vec<Agent> {
        (1..=n)
            .map(|k| Agent { id: format!("bench-{k}"), name: format!("Bench agent {k}"), languages: vec!["en".into()], skills: vec![], sip: Some(format!("sip:bench-{k}@{}", self.at)) })
            .collect()
    }

    /// What each agent heard since the last call of this, by agent id.
    pub fn take(&self) -> HashMap<String, Vec<Heard>> {
        std::mem::take(&mut *self.heard.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Whether `agent` heard its caller once the whisper (`whisper_ms` long) was over: half a
/// second of loud audio after it, on one of its calls.
pub fn heard_after(heard: &HashMap<String, Vec<Heard>>, agent: &str, whisper_ms: u64) -> bool {
    // The whisper starts a moment after the answer; what comes after it is the caller.
    let from = whisper_ms + 500;
    heard.get(agent).is_some_and(|calls| calls.iter().any(|h| h.loud_ms.iter().filter(|t| **t > from).count() >= 25))
}

/// Loud: speech, not silence or comfort noise (RMS over 1% of full scale).
fn loud(codec: u8, payload: &[u8]) -> bool {
    let pcm = g711::decode_payload(codec, payload);
    let power = pcm.iter().map(|s| (*s as f64) * (*s as f64)).sum::<f64>() / pcm.len().max(1) as f64;
    power.sqrt() > 327.0
}

/// Answers: hears and echoes the call's audio until it ends, then files what it heard.
async fn answer(call: IncomingCall, heard: Arc<Mutex<HashMap<String, Vec<Heard>>>>) {
    let agent = crate::agents::card::display_caller(&call.to);
    let IncomingCall { mut media, codec, .. } = call;
    let answered = Instant::now();
    let mut loud_ms = Vec::new();
    while let Some(item) = media.inbound.recv().await {
        if let Inbound::Audio(p) = item {
            if loud(codec, &p) {
                loud_ms.push(answered.elapsed().as_millis() as u64);
            }
            let _ = media.outbound.try_send(Outbound { due: None, payload: p });
        }
    }
    heard.lock().unwrap_or_else(|p| p.into_inner()).entry(agent).or_default().push(Heard { loud_ms });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speech_is_loud_and_silence_is_not() {
        let tone: Vec<f32> = (0..160).map(|i| 0.2 * (i as f32 * 0.3).sin()).collect();
        assert!(loud(0, &g711::encode_payload(0, &tone)));
        assert!(!loud(0, &[0xff; 160]));
        assert!(!loud(8, &[0xd5; 160]));
    }

    #[test]
    fn only_loud_audio_after_the_whisper_counts_as_the_caller() {
        // Two seconds of whisper heard, then half a second of the caller.
        let whisper_only = Heard { loud_ms: (0..100).map(|i| 100 + i * 20).collect() };
        let both = Heard { loud_ms: (0..100).map(|i| 100 + i * 20).chain((0..25).map(|i| 4000 + i * 20)).collect() };
        let heard = HashMap::from([("a".to_string(), vec![whisper_only.clone()]), ("b".to_string(), vec![whisper_only, both])]);
        assert!(!heard_after(&heard, "a", 2000));
        assert!(heard_after(&heard, "b", 2000));
        assert!(!heard_after(&heard, "nobody", 2000));
    }
}
