//! The agent's words, transcribed like the caller's: the agent's voice (16 kHz frames, as
//! the caller hears it) through the same VAD, turn-taking and Whisper as a caller's, without
//! a dialog answering. Its transcripts join the call's events with `speaker: agent`, on the
//! call's clock; nothing else it finds (intents, moods) is the agent's business here.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tracing::warn;

use crate::audio::AudioFrame;
use crate::events::{Event, EventKind};
use crate::pipeline::{run_call, CallSpec, Engines, Pacing};

/// Transcribes `voice` until it closes; transcripts go to `out` for `call_id`, their times
/// moved by `offset_ms` (when the agent joined, on the call's clock).
pub fn transcribe(engines: Arc<Engines>, call_id: &str, lang: &str, offset_ms: u64, mut voice: mpsc::Receiver<Vec<f32>>, out: mpsc::UnboundedSender<Event>) -> tokio::task::JoinHandle<()> {
    let (frames_tx, frames_rx) = mpsc::channel::<AudioFrame>(64);
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<Event>();
    let spec = CallSpec { call_id: call_id.to_string(), source: "agent".into(), pacing: Pacing::RealTime, respond: false, greet: false, live: false, lang: Some(lang.to_string()), recorded_early_ends: None };
    let id = call_id.to_string();
    tokio::spawn(async move {
        let feed = tokio::spawn(async move {
            let mut t_ms = 0u64;
            while let Some(samples) = voice.recv().await {
                if frames_tx.send(AudioFrame { t_ms, samples, dtmf: None }).await.is_err() {
                    break;
                }
                t_ms += crate::audio::FRAME_MS;
            }
        });
        let forward = tokio::spawn(async move {
            while let Some(ev) = ev_rx.recv().await {
                if let EventKind::Transcript { is_final, text, lang, start_ms, end_ms, queue_ms, asr_ms, .. } = ev.kind {
                    let kind = EventKind::Transcript { is_final, text, lang, start_ms: start_ms + offset_ms, end_ms: end_ms + offset_ms, queue_ms, asr_ms, speaker: "agent".into() };
                    let _ = out.send(Event::new(&ev.call_id, ev.t_ms + offset_ms, kind));
                }
            }
        });
        let dialog = engines.new_dialog(true);
        if let Err(e) = run_call(engines, spec, dialog, frames_rx, None, ev_tx, Instant::now(), None).await {
            warn!(call = %id, error = %e, "the agent's words are not transcribed");
        }
        let _ = feed.await;
        let _ = forward.await;
    })
}
