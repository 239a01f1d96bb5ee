//! A waiting caller's voice message: the caller's frames from the moment the prompt has
//! played until the hash key, the longest message (`agents.voice_message_max_s`) or their
//! hang-up, saved beside the call's recording (16 kHz WAV) for the callback ticket.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::room::Room;
use crate::audio::SAMPLE_RATE;

/// A message being recorded.
pub struct MessageTaker {
    recording: JoinHandle<Vec<f32>>,
}

impl MessageTaker {
    /// Records what the caller says from now on, at most `max_ms`; `full` is called when the
    /// message reaches that.
    pub fn start(room: &Room, max_ms: u64, full: impl FnOnce() + Send + 'static) -> Self {
        let (tx, mut rx) = mpsc::channel::<Vec<f32>>(256);
        room.tap_caller(tx);
        let max = (max_ms * SAMPLE_RATE as u64 / 1000) as usize;
        let recording = tokio::spawn(async move {
            let mut samples = Vec::new();
            while let Some(f) = rx.recv().await {
                samples.extend(f);
                if samples.len() >= max {
                    samples.truncate(max);
                    full();
                    break;
                }
            }
            samples
        });
        Self { recording }
    }

    /// The message as it stands: recording stops.
    pub async fn finish(self, room: &Room) -> Vec<f32> {
        room.untap_caller();
        tokio::time::timeout(Duration::from_secs(2), self.recording).await.ok().and_then(Result::ok).unwrap_or_default()
    }
}

/// Saves the message as `<dir>/<call>-message.wav`.
pub fn save(dir: &Path, call_id: &str, samples: &[f32]) -> crate::error::Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| crate::error::Error::Config(format!("voice messages cannot be saved in {}: {e}", dir.display())))?;
    let path = dir.join(format!("{call_id}-message.wav"));
    crate::audio::wav::write_wav(&path, &[samples], SAMPLE_RATE)?;
    Ok(path)
}
