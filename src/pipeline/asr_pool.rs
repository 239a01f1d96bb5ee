//! The bounded pool of blocking inference workers shared by all calls. Each worker owns one
//! Whisper state; jobs wait in a queue that is fair across calls, and the wait is measured.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::pipeline::fair_queue::FairQueue;
use crate::pipeline::whisper::{DecodeMode, DecodeOptions, Transcription, WhisperModel};

/// A transcription and how long it waited for a worker.
#[derive(Debug, Clone)]
pub struct AsrResult {
    pub transcription: Transcription,
    pub queue_ms: u64,
}

struct Job {
    samples: Vec<f32>,
    mode: DecodeMode,
    cancel: Option<Arc<AtomicBool>>,
    enqueued: Instant,
    reply: oneshot::Sender<Result<AsrResult>>,
}

pub struct AsrPool {
    queue: Arc<FairQueue<Job>>,
    workers: Vec<JoinHandle<()>>,
    pub model: Arc<WhisperModel>,
    pub options: DecodeOptions,
}

impl AsrPool {
    /// Starts `workers` threads, each decoding with `options.threads` CPU threads.
    pub fn start(model: Arc<WhisperModel>, workers: usize, options: DecodeOptions) -> Result<Self> {
        let queue = Arc::new(FairQueue::<Job>::default());
        let mut handles = Vec::new();
        for i in 0..workers.max(1) {
            let mut state = model.new_state()?;
            let (q, m, o) = (queue.clone(), model.clone(), options.clone());
            let h = std::thread::Builder::new()
                .name(format!("asr-worker-{i}"))
                .spawn(move || {
                    while let Some(job) = q.pop() {
                        let queue_ms = job.enqueued.elapsed().as_millis() as u64;
                        let cancel = job.cancel.as_deref();
                        let result = if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                            Err(Error::internal(crate::pipeline::whisper::CANCELLED))
                        } else {
                            m.transcribe(&mut state, &job.samples, job.mode, &o, cancel)
                                .map(|transcription| AsrResult { transcription, queue_ms })
                        };
                        // The caller may have hung up meanwhile; nothing to do then.
                        let _ = job.reply.send(result);
                    }
                })
                .map_err(|e| Error::internal(format!("cannot start ASR worker: {e}")))?;
            handles.push(h);
        }
        Ok(Self {
            queue,
            workers: handles,
            model,
            options,
        })
    }

    /// Worker count and threads per worker for a machine with `cores` cores, unless configured:
    /// one worker per two cores, the cores shared out among them.
    pub fn sizing(cores: usize, workers: usize, threads: usize) -> (usize, usize) {
        let cores = cores.max(1);
        let w = if workers > 0 { workers } else { (cores / 2).max(1) };
        let t = if threads > 0 { threads } else { (cores / w).max(1) };
        (w, t)
    }

    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// Jobs waiting for a worker right now.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Transcribes on the pool, queued fairly under `call_id`.
    pub async fn transcribe(&self, call_id: &str, samples: Vec<f32>, mode: DecodeMode) -> Result<AsrResult> {
        self.transcribe_cancellable(call_id, samples, mode, None).await
    }

    /// As `transcribe`; setting `cancel` drops the job if it waits and stops it if it runs.
    pub async fn transcribe_cancellable(
        &self,
        call_id: &str,
        samples: Vec<f32>,
        mode: DecodeMode,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Result<AsrResult> {
        let (tx, rx) = oneshot::channel();
        let job = Job {
            samples,
            mode,
            cancel,
            enqueued: Instant::now(),
            reply: tx,
        };
        if self.queue.push(call_id, job).is_err() {
            return Err(Error::internal("ASR pool is shut down"));
        }
        rx.await.map_err(|_| Error::internal("ASR worker stopped"))?
    }
}

impl Drop for AsrPool {
    fn drop(&mut self) {
        self.queue.close();
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizing_shares_cores() {
        assert_eq!(AsrPool::sizing(2, 0, 0), (1, 2));
        assert_eq!(AsrPool::sizing(16, 0, 0), (8, 2));
        assert_eq!(AsrPool::sizing(1, 0, 0), (1, 1));
        assert_eq!(AsrPool::sizing(8, 2, 0), (2, 4));
        assert_eq!(AsrPool::sizing(8, 3, 1), (3, 1));
    }
}
