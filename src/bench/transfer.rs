//! `voicegate bench transfer`: how fast a handed-off phone call reaches a SIP agent, and the
//! delay the bridge adds. It starts a gateway of its own with one SIP agent, an agent's phone
//! of its own (a SIP user agent in this process that answers at once), and calls the gateway
//! with the built-in SIP caller, who presses 0 for a person. Once the two are bridged, each
//! side sends a 2.5 kHz beep every second; the other side's arrival time of each beep, against
//! its sending time on the same clock, is the mouth-to-ear delay through the gateway (both
//! test phones keep a one-frame jitter buffer). The handoff, offer, answer, whisper and
//! bridge times come from the call's events.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc;
use voicegate_sip::client::SipClient;
use voicegate_sip::media::{Control, Inbound, MediaSession, Outbound};
use voicegate_sip::server;

use super::calls::{get, start_gateway_with};
use crate::audio::g711;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::events::{Event, EventKind};

/// The beep's frequency: far from the hold chime's notes.
const BEEP_HZ: f32 = 2500.0;
const BEEP_FRAMES: usize = 5;
/// How long each side of a call stays on after the call was answered.
const CALL_S: u64 = 16;
/// Beeps start this long after a side's call began (the whisper is over by then).
const CALLER_BEEPS_FROM_S: u64 = 9;
const AGENT_BEEPS_FROM_S: u64 = 8;

pub struct TransferBench {
    pub config: Config,
    pub calls: usize,
    pub json: bool,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct TransferFigures {
    pub handoff_to_offer_ms: u64,
    pub offer_to_answer_ms: u64,
    pub whisper_ms: u64,
    /// From the agent's answer to caller and agent hearing each other (the whisper included).
    pub answer_to_bridged_ms: u64,
    /// Mouth-to-ear through the gateway, each beep.
    pub caller_to_agent_ms: Vec<u64>,
    pub agent_to_caller_ms: Vec<u64>,
}

/// A side of a call sending beeps and noting when the other side's beeps arrive.
#[derive(Default)]
struct Beeps {
    sent: Vec<Instant>,
    heard: Vec<Instant>,
}

impl Beeps {
    /// Each beep heard, matched with the latest beep sent before it: the delays.
    fn delays(from: &Beeps, to: &Beeps) -> Vec<u64> {
        to.heard.iter().filter_map(|h| from.sent.iter().rev().find(|s| *s <= h).map(|s| h.duration_since(*s).as_millis() as u64)).filter(|d| *d < 900).collect()
    }
}

/// The beep's share of the frame's energy, 0 to 1 (0 for a frame too quiet to tell).
fn beep_share(x: &[f32]) -> f32 {
    let mean_power = x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32;
    if mean_power < 1e-4 { 0.0 } else { crate::audio::dtmf::tone_share(x, BEEP_HZ, 8000.0).min(1.0) }
}

/// Sends silence and a beep every second from `beeps_from`, and notes the other side's beeps,
/// for `CALL_S` seconds after `started`.
async fn beep_and_listen(media: &mut MediaSession, codec: u8, started: Instant, beeps_from: Duration, log: Arc<Mutex<Beeps>>) {
    let beep: Vec<f32> = (0..160 * BEEP_FRAMES).map(|i| 0.3 * (2.0 * std::f32::consts::PI * BEEP_HZ * i as f32 / 8000.0).sin()).collect();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut slot = 0u64;
    let mut quiet = 10u32;
    let end = started + Duration::from_secs(CALL_S);
    while Instant::now() < end {
        tokio::select! {
            _ = tick.tick() => {
                let t = Duration::from_millis(slot * 20);
                let in_second = (slot % 50) as usize;
                let frame: Vec<f32> = if t >= beeps_from && in_second < BEEP_FRAMES {
                    if in_second == 0 {
                        lock(&log).sent.push(Instant::now());
                    }
                    beep[in_second * 160..(in_second + 1) * 160].to_vec()
                } else {
                    vec![0.0; 160]
                };
                let _ = media.outbound.send(Outbound { due: None, payload: g711::encode_payload(codec, &frame) }).await;
                slot += 1;
            }
            item = media.inbound.recv() => match item {
                Some(Inbound::Audio(p)) => {
                    let x: Vec<f32> = g711::decode_payload(codec, &p).iter().map(|s| *s as f32 / 32768.0).collect();
                    if beep_share(&x) > 0.6 {
                        if quiet >= 10 {
                            lock(&log).heard.push(Instant::now());
                        }
                        quiet = 0;
                    } else {
                        quiet += 1;
                    }
                }
                Some(_) => quiet += 1,
                None => break,
            },
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The agent's phone: answers every call at once and beeps.
async fn agent_phone(agent_log: Arc<Mutex<Beeps>>) -> Result<SocketAddr> {
    let cfg = super::agent_phones::phone_config((40000, 50000), 100, 1)?;
    let (tx, mut rx) = mpsc::channel(8);
    let phone = server::start(cfg, tx).await.map_err(Error::Config)?;
    let at = phone.local;
    tokio::spawn(async move {
        let _phone = phone;
        while let Some(mut call) = rx.recv().await {
            let log = agent_log.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                beep_and_listen(&mut call.media, call.codec, started, Duration::from_secs(AGENT_BEEPS_FROM_S), log).await;
            });
        }
    });
    Ok(at)
}

fn at(events: &[Event], ty: &str) -> Option<u64> {
    events.iter().find(|e| e.kind.name() == ty).map(|e| e.t_ms)
}

async fn one_transfer(gateway: &super::calls::Gateway, client: &SipClient, agent_log: &Arc<Mutex<Beeps>>) -> Result<TransferFigures> {
    *lock(agent_log) = Beeps::default();
    let caller_log = Arc::new(Mutex::new(Beeps::default()));
    let target = format!("sip:bot@{}", gateway.sip);
    let mut call = client.call(&target, None, (40000, 50000), 1).await.map_err(Error::Config)?;
    let started = Instant::now();
    // 0 for a person, once the call is up.
    let control = call.media.control.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = control.send(Control::SendDtmf('0'));
    });
    beep_and_listen(&mut call.media, call.codec, started, Duration::from_secs(CALLER_BEEPS_FROM_S), caller_log.clone()).await;
    call.hangup().await;
    // The call's events, once it has ended.
    let deadline = Instant::now() + Duration::from_secs(20);
    let events: Vec<Event> = loop {
        let list = get(&format!("{}/v1/calls?limit=1", gateway.http))?;
        if let Some(id) = list["calls"][0]["id"].as_str() {
            let one = get(&format!("{}/v1/calls/{id}", gateway.http))?;
            if !one["call"]["ended_at"].is_null() {
                break serde_json::from_value(one["events"].clone()).map_err(Error::internal)?;
            }
        }
        if Instant::now() > deadline {
            return Err(Error::internal("the call did not end"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let need = |ty: &str| at(&events, ty).ok_or_else(|| Error::internal(format!("no {ty} event: the transfer did not happen")));
    let (handoff, offered, answered, bridged) = (need("handoff")?, need("agent_offered")?, need("agent_answered")?, need("bridged")?);
    let whisper_ms = events.iter().find_map(|e| if let EventKind::WhisperPlayed { played_ms, .. } = e.kind { Some(played_ms) } else { None }).unwrap_or(0);
    let (caller, agent) = (lock(&caller_log), lock(agent_log));
    Ok(TransferFigures {
        handoff_to_offer_ms: offered.saturating_sub(handoff),
        offer_to_answer_ms: answered.saturating_sub(offered),
        whisper_ms,
        answer_to_bridged_ms: bridged.saturating_sub(answered),
        caller_to_agent_ms: Beeps::delays(&caller, &agent),
        agent_to_caller_ms: Beeps::delays(&agent, &caller),
    })
}

fn p50_max(mut v: Vec<u64>) -> (Option<u64>, Option<u64>) {
    v.sort_unstable();
    (if v.is_empty() { None } else { Some(super::percentile(&v, 0.5)) }, v.last().copied())
}

pub fn run(b: TransferBench) -> Result<()> {
    let rt = crate::cli::runtime()?;
    rt.block_on(async move {
        println!("bench transfer: {} call(s) handed to a SIP agent (the caller presses 0), beeps both ways once bridged", b.calls);
        let agent_log = Arc::new(Mutex::new(Beeps::default()));
        let phone = agent_phone(agent_log.clone()).await?;
        let agent = crate::agents::Agent { id: "bench".into(), name: "Bench agent".into(), languages: vec!["en".into(), "zh".into()], skills: vec![], sip: Some(format!("sip:bench@{phone}")) };
        let mut config = b.config.clone();
        config.agents.wrap_up_s = 0;
        let gateway = start_gateway_with(&config, true, &[agent])?;
        // The desk reads its agents at start; give it a moment.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let client = SipClient::new("127.0.0.1:0".parse().map_err(Error::internal)?).await.map_err(Error::Config)?;
        let mut all = Vec::new();
        for i in 0..b.calls.max(1) {
            let f = one_transfer(&gateway, &client, &agent_log).await?;
            if b.json {
                println!("{}", serde_json::to_string(&f).unwrap_or_default());
            } else {
                println!(
                    "  call {}: handoff -> offer {} ms, offer -> answer {} ms, answer -> bridged {} ms (whisper {} ms), mouth-to-ear caller->agent {:?} ms, agent->caller {:?} ms",
                    i + 1, f.handoff_to_offer_ms, f.offer_to_answer_ms, f.answer_to_bridged_ms, f.whisper_ms, f.caller_to_agent_ms, f.agent_to_caller_ms
                );
            }
            all.push(f);
        }
        let (h50, hmax) = p50_max(all.iter().map(|f| f.handoff_to_offer_ms).collect());
        let (a50, amax) = p50_max(all.iter().map(|f| f.answer_to_bridged_ms).collect());
        let (w50, _) = p50_max(all.iter().map(|f| f.whisper_ms).collect());
        let (c50, cmax) = p50_max(all.iter().flat_map(|f| f.caller_to_agent_ms.clone()).collect());
        let (g50, gmax) = p50_max(all.iter().flat_map(|f| f.agent_to_caller_ms.clone()).collect());
        let summary = serde_json::json!({
            "bench": "transfer",
            "calls": all.len(),
            "handoff_to_offer_ms_p50": h50, "handoff_to_offer_ms_max": hmax,
            "answer_to_bridged_ms_p50": a50, "answer_to_bridged_ms_max": amax,
            "whisper_ms_p50": w50,
            "bridge_mouth_to_ear_caller_to_agent_ms_p50": c50, "bridge_mouth_to_ear_caller_to_agent_ms_max": cmax,
            "bridge_mouth_to_ear_agent_to_caller_ms_p50": g50, "bridge_mouth_to_ear_agent_to_caller_ms_max": gmax,
            "beeps_heard": all.iter().map(|f| f.caller_to_agent_ms.len() + f.agent_to_caller_ms.len()).sum::<usize>(),
        });
        println!("{summary}");
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_beep_is_told_from_silence_speech_like_noise_and_the_chime() {
        let beep: Vec<f32> = (0..160).map(|i| 0.3 * (2.0 * std::f32::consts::PI * BEEP_HZ * i as f32 / 8000.0).sin()).collect();
        assert!(beep_share(&beep) > 0.9, "{}", beep_share(&beep));
        let chime: Vec<f32> = (0..160).map(|i| 0.2 * (2.0 * std::f32::consts::PI * 523.25 * i as f32 / 8000.0).sin()).collect();
        assert!(beep_share(&chime) < 0.1);
        assert_eq!(beep_share(&[0.0; 160]), 0.0);
        let t0 = Instant::now();
        let sent = Beeps { sent: vec![t0, t0 + Duration::from_secs(1)], heard: vec![] };
        let heard = Beeps { sent: vec![], heard: vec![t0 + Duration::from_millis(70), t0 + Duration::from_millis(1065)] };
        assert_eq!(Beeps::delays(&sent, &heard), [70, 65]);
    }
}
