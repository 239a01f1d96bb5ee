//! One phone call: the RTP leg into the same per-call pipeline a replay runs, the bot's audio
//! back out, the recording, and every event into the store as it happens.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc;
use tracing::{info, warn};
use voicegate_sip::media::{Inbound, Outbound};
use voicegate_sip::server::{IncomingCall, LegEvent};

use crate::audio::g711;
use crate::audio::rate2x::{Downsampler2x, Upsampler2x};
use crate::audio::{AudioFrame, FRAME_MS};
use crate::events::{Event, EventKind};
use crate::pipeline::playout::BotFrame;
use crate::pipeline::{run_call, CallSpec, Pacing};
use crate::store::Store;

use super::recorder::{CallRecorder, SLOT_SAMPLES};
use super::PhoneContext;

/// A short id for the call: time and a few random hex digits.
pub fn new_call_id() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("c{}-{:05x}", now.as_secs(), voicegate_sip::random_u64() & 0xfffff)
}

/// Writes a call's events to the store in order, numbering them; keeps the leg's own reason
/// for the end of the call.
struct EventLog {
    store: Arc<Store>,
    seq: u64,
}

impl EventLog {
    fn write(&mut self, ev: &Event) {
        if let Err(e) = self.store.add_event(self.seq, ev) {
            warn!(error = %e, call = %ev.call_id, "event not stored");
        }
        self.seq += 1;
    }
}

/// Runs one answered call to its end.
pub async fn run(ctx: Arc<PhoneContext>, call: IncomingCall) {
    let started = Instant::now();
    let id = new_call_id();
    let recording = ctx.recordings.join(format!("{id}.wav"));
    let rec_name = recording.display().to_string();
    let store = ctx.engines.store.clone();
    let source = format!("sip:{}", call.from);
    if let Err(e) = store.start_call(&id, &source, &call.from, &call.to, Some(&call.call_id), Some(&rec_name)) {
        warn!(error = %e, "call not stored");
    }
    info!(call = %id, from = %call.from, transport = %call.transport, codec = call.codec, "call answered");
    let recorder = match CallRecorder::create(&recording) {
        Ok(r) => Some(r),
        Err(e) => {
            warn!(error = %e, "call not recorded");
            None
        }
    };
    let recorder = Arc::new(Mutex::new(recorder));
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<Event>();
    let end_reason = Arc::new(Mutex::new(String::from("caller_hangup")));

    // Events: to the store as they come, on a blocking thread (a write may wait for the disk,
    // which the threads pacing call audio must not); the leg's reason replaces the pipeline's
    // at the end.
    let writer = {
        let store = store.clone();
        let end_reason = end_reason.clone();
        tokio::task::spawn_blocking(move || {
            let mut log = EventLog { store, seq: 0 };
            let mut ended = None;
            while let Some(mut ev) = ev_rx.blocking_recv() {
                if let EventKind::CallEnded { reason, duration_ms } = &mut ev.kind {
                    *reason = lock(&end_reason).clone();
                    ended = Some(*duration_ms);
                }
                log.write(&ev);
            }
            ended
        })
    };

    let IncomingCall { media, mut events, hangup, codec, .. } = call;
    let voicegate_sip::media::MediaSession { inbound, outbound, control: _control, stats, cancel } = media;

    // The leg's own events: hold, resume, the end.
    let leg_events = {
        let ev_tx = ev_tx.clone();
        let id = id.clone();
        let end_reason = end_reason.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                let t = started.elapsed().as_millis() as u64;
                match e {
                    LegEvent::Held => drop(ev_tx.send(Event::new(&id, t, EventKind::Hold { held: true }))),
                    LegEvent::Resumed => drop(ev_tx.send(Event::new(&id, t, EventKind::Hold { held: false }))),
                    LegEvent::Ended { reason } => {
                        *lock(&end_reason) = reason;
                        cancel.cancel();
                        break;
                    }
                }
            }
        })
    };

    let (frames_tx, frames_rx) = mpsc::channel::<AudioFrame>(64);
    let feeder = tokio::spawn(feed(inbound, frames_tx, codec, recorder.clone(), ctx.pipeline));
    let duration_ms = if ctx.pipeline {
        let (bot_tx, bot_rx) = mpsc::channel::<BotFrame>(64);
        let speaker = tokio::spawn(speak(bot_rx, outbound, codec, started, recorder.clone()));
        let spec = CallSpec { call_id: id.clone(), source: source.clone(), pacing: Pacing::RealTime, respond: true, greet: ctx.greet };
        let dialog = ctx.engines.new_dialog(false);
        let result = run_call(ctx.engines.clone(), spec, dialog, frames_rx, Some(bot_tx), ev_tx.clone(), started).await;
        let _ = speaker.await;
        match result {
            Ok(r) => r.duration_ms,
            Err(e) => {
                warn!(error = %e, call = %id, "call pipeline failed");
                *lock(&end_reason) = "error".into();
                started.elapsed().as_millis() as u64
            }
        }
    } else {
        // Media and recording only: the caller is heard and recorded, nobody answers.
        let _ = ev_tx.send(Event::new(&id, 0, EventKind::CallStarted { source: source.clone() }));
        let mut frames_rx = frames_rx;
        while frames_rx.recv().await.is_some() {}
        drop(outbound);
        let d = started.elapsed().as_millis() as u64;
        let _ = ev_tx.send(Event::new(&id, d, EventKind::CallEnded { reason: String::new(), duration_ms: d }));
        d
    };
    // The pipeline ends when the caller's audio does; if it ended first, hang up ourselves.
    if !cancel.is_cancelled() {
        *lock(&end_reason) = "bot_hangup".into();
        hangup.hangup().await;
        cancel.cancel();
    }
    let _ = feeder.await;
    leg_events.abort();
    drop(ev_tx);
    let _ = writer.await;
    let recorded_ms = lock(&recorder).take().map(|r| r.finish());
    let reason = lock(&end_reason).clone();
    if let Err(e) = store.end_call(&id, &reason, duration_ms) {
        warn!(error = %e, "call end not stored");
    }
    let s = lock(&stats).clone();
    info!(call = %id, %reason, duration_ms, recorded_ms = ?recorded_ms.and_then(|r| r.ok()), rx = s.rx_packets, lost = s.rx_lost, tx = s.tx_packets, late = s.tx_late, "call ended");
    ctx.finished(&id, s);
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The caller's side: a 20 ms slot at a time, decoded, recorded, concealed where a packet was
/// lost, up to 16 kHz for the pipeline (when it runs).
async fn feed(mut inbound: mpsc::Receiver<Inbound>, frames: mpsc::Sender<AudioFrame>, codec: u8, recorder: Arc<Mutex<Option<CallRecorder>>>, pipeline: bool) {
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
        };
        if let Some(r) = lock(&recorder).as_mut() {
            if let Err(e) = r.caller(slot, &pcm) {
                warn!(error = %e, "recording stopped");
                *lock(&recorder) = None;
            }
        }
        if pipeline {
            let f: Vec<f32> = pcm.iter().map(|s| *s as f32 / 32768.0).collect();
            let frame = AudioFrame { t_ms: slot * FRAME_MS, samples: up.process(&f), dtmf: key.take() };
            if frames.send(frame).await.is_err() {
                break;
            }
        } else if frames.send(AudioFrame { t_ms: slot * FRAME_MS, samples: Vec::new(), dtmf: None }).await.is_err() {
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
