//! One phone call's leg: RTP and G.711 in and out of the live call (`crate::live`), which runs
//! the same per-call pipeline a replay runs; the recording at 8 kHz, as the line carries it.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc;
use tracing::{info, warn};
use voicegate_sip::media::{Inbound, Outbound};
use voicegate_sip::server::{IncomingCall, LegEvent};

use crate::audio::g711;
use crate::audio::rate2x::{Downsampler2x, Upsampler2x};
use crate::audio::{AudioFrame, FRAME_MS};
use crate::live::{CallInfo, Caller, LegIo, LegNote};
use crate::pipeline::playout::BotFrame;

use super::recorder::{CallRecorder, SLOT_SAMPLES};
use super::PhoneContext;

/// A short id for the call: time and a few random hex digits.
pub use crate::live::new_call_id;

/// Runs one answered call to its end.
pub async fn run(ctx: Arc<PhoneContext>, call: IncomingCall) {
    let started = Instant::now();
    let id = new_call_id();
    let recording = ctx.recordings.join(format!("{id}.wav"));
    let source = format!("sip:{}", call.from);
    let live = ctx.live.register(&id, &source);
    info!(call = %id, from = %call.from, transport = %call.transport, codec = call.codec, "call answered");
    let recorder = match CallRecorder::create(&recording) {
        Ok(r) => Some(r),
        Err(e) => {
            warn!(error = %e, "call not recorded");
            None
        }
    };
    let recorder = Arc::new(Mutex::new(recorder));
    let IncomingCall { media, mut events, hangup, codec, from, to, call_id, .. } = call;
    let voicegate_sip::media::MediaSession { inbound, outbound, control: _control, stats, cancel } = media;

    // The SIP leg's events as the call's notes; the end stops the media, which closes the
    // caller's frames (after the note is sent).
    let (note_tx, notes) = mpsc::unbounded_channel();
    let timeout_note = note_tx.clone();
    let leg_events = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                match e {
                    LegEvent::Held => drop(note_tx.send(LegNote::Held)),
                    LegEvent::Resumed => drop(note_tx.send(LegNote::Resumed)),
                    LegEvent::Ended { reason } => {
                        let _ = note_tx.send(LegNote::Ended { reason });
                        cancel.cancel();
                        break;
                    }
                }
            }
        })
    };

    let (frames_tx, frames_rx) = mpsc::channel::<AudioFrame>(64);
    let timed_out = {
        let (note_tx, hangup) = (timeout_note, hangup.clone());
        move || {
            // The far end stopped sending: the call is over for this reason, and it gets a BYE.
            let _ = note_tx.send(LegNote::Ended { reason: "rtp_timeout".into() });
            tokio::spawn(async move { hangup.hangup().await });
        }
    };
    // The caller's frames go on to the call where someone listens: the bot, or an agent.
    let feeder = tokio::spawn(feed(inbound, frames_tx, codec, recorder.clone(), ctx.engines.config.sip.caller_heard(), timed_out));
    let (bot_tx, bot_rx) = mpsc::channel::<BotFrame>(64);
    let speaker = tokio::spawn(speak(bot_rx, outbound, codec, started, recorder.clone()));
    let hangup_leg: crate::live::Hangup = {
        let cancel = cancel.clone();
        Box::new(move || {
            Box::pin(async move {
                hangup.hangup().await;
                cancel.cancel();
            })
        })
    };
    let lang = language_of_number(&ctx.engines.config.sip.languages, &to);
    let info = CallInfo {
        id: id.clone(),
        source,
        caller: from,
        callee: to,
        sip_call_id: Some(call_id),
        recording: Some(recording.display().to_string()),
        who: Caller { lang, ..Caller::default() },
        greet: ctx.greet,
        pipeline: ctx.pipeline,
        to_agents: ctx.to_agents,
    };
    let probe = stats.clone();
    let media = Box::new(move || super::figures(&lock(&probe)));
    let io = LegIo { caller: frames_rx, bot: bot_tx, notes, hangup: hangup_leg, recorder: recorder.clone(), media };
    let ended = crate::live::run(ctx.engines.clone(), live, info, io, started).await;
    cancel.cancel();
    let _ = speaker.await;
    let _ = feeder.await;
    leg_events.abort();
    let s = lock(&stats).clone();
    info!(call = %id, reason = %ended.reason, duration_ms = ended.duration_ms, recorded_ms = ?ended.recorded_ms, rx = s.rx_packets, lost = s.rx_lost, tx = s.tx_packets, late = s.tx_late, "phone call ended");
    ctx.finished(&id, s);
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The caller's side: a 20 ms slot at a time, decoded, recorded, concealed where a packet was
/// lost, up to 16 kHz for the pipeline (when it runs).
async fn feed(mut inbound: mpsc::Receiver<Inbound>, frames: mpsc::Sender<AudioFrame>, codec: u8, recorder: Arc<Mutex<Option<CallRecorder>>>, pipeline: bool, timed_out: impl FnOnce()) {
    let mut up = Upsampler2x::default();
    let mut slot = 0u64;
    let mut last = vec![0i16; SLOT_SAMPLES];
    let mut concealed = 0u32;
    let mut key = None;
    while let Some(item) = inbound.recv().await {
        let pcm = match item {
            Inbound::Dtmf(k) => {
                key = Some(k);
                continue;
            }
            Inbound::Audio(payload) => {
                concealed = 0;
                g711::decode_payload(codec, &payload)
            }
            // Packet loss concealment for the recogniser: the last 20 ms again, fading out.
            Inbound::Lost => {
                concealed += 1;
                let gain = 0.5f32.powi(concealed as i32);
                last.iter().map(|s| (*s as f32 * gain) as i16).collect()
            }
            Inbound::Silence => vec![0; SLOT_SAMPLES],
            Inbound::TimedOut => {
                timed_out();
                return;
            }
        };
        if let Some(r) = lock(&recorder).as_mut() {
            if let Err(e) = r.caller(slot, &pcm) {
                warn!(error = %e, "recording stopped");
                *lock(&recorder) = None;
            }
        }
        // Media and recording only: nobody listens to the frames, and the channel's end alone
        // tells the call the caller is gone.
        if pipeline {
            let f: Vec<f32> = pcm.iter().map(|s| *s as f32 / 32768.0).collect();
            let frame = AudioFrame { t_ms: slot * FRAME_MS, samples: up.process(&f), dtmf: key.take() };
            if frames.send(frame).await.is_err() {
                break;
            }
        } else if frames.is_closed() {
            break;
        }
        last = pcm;
        slot += 1;
    }
}

/// The bot's side: each 16 kHz frame down to 8 kHz, encoded, recorded on its slot and handed
/// to the paced sender.
async fn speak(mut bot: mpsc::Receiver<BotFrame>, out: mpsc::Sender<Outbound>, codec: u8, started: Instant, recorder: Arc<Mutex<Option<CallRecorder>>>) {
    let mut down = Downsampler2x::default();
    while let Some(f) = bot.recv().await {
        let narrow = down.process(&f.samples);
        if let Some(r) = lock(&recorder).as_mut() {
            let pcm: Vec<i16> = narrow.iter().map(|x| crate::audio::to_i16(*x)).collect();
            r.bot(f.t_ms / FRAME_MS, &pcm);
        }
        let due = started + std::time::Duration::from_millis(f.t_ms);
        if out.send(Outbound { due: Some(due), payload: g711::encode_payload(codec, &narrow) }).await.is_err() {
            break;
        }
    }
}

/// The language calls to the number in `to` (a To header or URI) start in, by its user part.
fn language_of_number(languages: &std::collections::BTreeMap<String, String>, to: &str) -> Option<String> {
    let uri = to.split_once("sip:").or_else(|| to.split_once("sips:")).map(|(_, r)| r)?;
    let user = uri.split(['@', ';', '>']).next()?;
    languages.get(user).cloned()
}

#[cfg(test)]
mod language_tests {
    use super::language_of_number;

    #[test]
    fn the_number_dialled_names_the_language() {
        let map = std::collections::BTreeMap::from([("4008".to_string(), "zh".to_string())]);
        assert_eq!(language_of_number(&map, "<sip:4008@10.0.0.1>;tag=x").as_deref(), Some("zh"));
        assert_eq!(language_of_number(&map, "sip:4008@10.0.0.1:5060;user=phone").as_deref(), Some("zh"));
        assert_eq!(language_of_number(&map, "<sip:bot@10.0.0.1>"), None);
        assert_eq!(language_of_number(&map, "garbage"), None);
    }
}
