//! The bounded pool of blocking inference workers shared by all calls. Each worker owns one
//! Whisper state; jobs wait in a queue that is fair across calls, and the wait is measured.
//!
//! Under load the pool keeps the calls real time: its threads run at a lower CPU priority than
//! the media path (`asr.nice`), so bot audio leaves on time while Whisper uses what is left of
//! the cores; transcripts that end a turn go before partial ones, a partial one starts only
//! while another worker stays idle for them, and one that is running when such a transcript
//! arrives and no worker is free is stopped (whisper.cpp stops once its encoder is done).
//!
//! A decode takes the cores no other decode is using (up to `options.threads`, at least one):
//! one call alone gets all of them (lowest latency), many calls get one each (most throughput,
//! no waiting behind one another).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::pipeline::fair_queue::{FairQueue, Priority};
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
    cancel: Arc<AtomicBool>,
    enqueued: Instant,
    reply: oneshot::Sender<Result<AsrResult>>,
}

/// What one worker is doing.
#[derive(Clone)]
enum Slot {
    Idle,
    /// A partial transcript, stopped by setting its flag.
    Preview(Arc<AtomicBool>),
    Busy,
}

impl Slot {
    fn stopped(&self) -> bool {
        matches!(self, Slot::Preview(f) if f.load(Ordering::Relaxed))
    }
}

/// What every worker is doing, and a signal when that changes.
struct Slots {
    slots: Mutex<Vec<Slot>>,
    changed: Condvar,
}

impl Slots {
    fn new(workers: usize) -> Self {
        Self { slots: Mutex::new(vec![Slot::Idle; workers]), changed: Condvar::new() }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Slot>> {
        // A worker that panicked while holding the lock leaves consistent data behind.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, i: usize, slot: Slot) {
        if let Some(s) = self.lock().get_mut(i) {
            *s = slot;
        }
        self.changed.notify_all();
    }

    /// Whether a worker other than `me` is idle.
    fn other_idle(&self, me: usize) -> bool {
        self.lock().iter().enumerate().any(|(j, s)| j != me && matches!(s, Slot::Idle))
    }

    /// A partial transcript is stopped when its call's turn ends, just before the transcript
    /// the caller waits for is queued; whisper.cpp notices only once its encoder is done (up to
    /// a few hundred ms). Waiting for that (at most 400 ms), then decoding on all cores, is
    /// sooner than decoding on one core beside it. Only when nothing else runs: beside other
    /// decodes, waiting would not free the cores.
    fn wait_for_stopped_decodes(&self, me: usize) {
        let stopping = |slots: &mut Vec<Slot>| {
            let others = || slots.iter().enumerate().filter(|(j, _)| *j != me).map(|(_, s)| s);
            others().any(Slot::stopped) && others().all(|s| matches!(s, Slot::Idle) || s.stopped())
        };
        let guard = self.lock();
        let _ = self.changed.wait_timeout_while(guard, Duration::from_millis(400), stopping);
    }
}

pub struct AsrPool {
    queue: Arc<FairQueue<Job>>,
    slots: Arc<Slots>,
    workers: Vec<JoinHandle<()>>,
    pub model: Arc<WhisperModel>,
    /// `threads` is the most one decode uses.
    pub options: DecodeOptions,
}

impl AsrPool {
    /// Starts `workers` threads, `nice` steps under the gateway's CPU priority, sharing `cores`
    /// CPU cores; one decode uses up to `options.threads` of them.
    pub fn start(model: Arc<WhisperModel>, workers: usize, cores: usize, nice: i32, options: DecodeOptions) -> Result<Self> {
        let queue = Arc::new(FairQueue::<Job>::default());
        let slots = Arc::new(Slots::new(workers.max(1)));
        let in_use = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for i in 0..workers.max(1) {
            let mut state = model.new_state()?;
            let (q, m, o, slots, in_use) = (queue.clone(), model.clone(), options.clone(), slots.clone(), in_use.clone());
            let h = std::thread::Builder::new()
                .name(format!("asr-worker-{i}"))
                .spawn(move || {
                    // Whisper's compute threads are started from this one and inherit it.
                    lower_thread_priority(nice);
                    // A partial transcript starts only while another worker stays idle for
                    // transcripts that end a turn (whisper.cpp cannot stop one mid-encoder).
                    let others_idle = || workers < 2 || slots.other_idle(i);
                    let taken = |job: &Job| slots.set(i, if job.mode == DecodeMode::Preview { Slot::Preview(job.cancel.clone()) } else { Slot::Busy });
                    while let Some(job) = q.pop(&others_idle, &taken) {
                        let result = if job.cancel.load(Ordering::Relaxed) {
                            Err(Error::internal(crate::pipeline::whisper::CANCELLED))
                        } else {
                            // Nobody else waiting: let a stopped decode hand its cores back.
                            if q.is_empty() {
                                slots.wait_for_stopped_decodes(i);
                            }
                            let threads = claim_cores(&in_use, cores, o.threads);
                            let queue_ms = job.enqueued.elapsed().as_millis() as u64;
                            let opts = DecodeOptions { threads, ..o.clone() };
                            let r = m.transcribe(&mut state, &job.samples, job.mode, &opts, Some(&job.cancel));
                            in_use.fetch_sub(threads, Ordering::SeqCst);
                            tracing::debug!(worker = i, mode = ?job.mode, queue_ms, threads, ok = r.is_ok(), "ASR job done");
                            r.map(|transcription| AsrResult { transcription, queue_ms })
                        };
                        slots.set(i, Slot::Idle);
                        q.wake();
                        // The caller may have hung up meanwhile; nothing to do then.
                        let _ = job.reply.send(result);
                    }
                })
                .map_err(|e| Error::internal(format!("cannot start ASR worker: {e}")))?;
            handles.push(h);
        }
        Ok(Self {
            queue,
            slots,
            workers: handles,
            model,
            options,
        })
    }

    /// Worker count and the most threads one decode uses, for a machine with `cores` cores,
    /// unless configured: one worker per core, and up to four threads (Whisper gains little
    /// from more on short utterances).
    pub fn sizing(cores: usize, workers: usize, threads: usize) -> (usize, usize) {
        let cores = cores.max(1);
        let w = if workers > 0 { workers } else { cores };
        let t = if threads > 0 { threads } else { cores.min(4) };
        (w, t)
    }

    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// Jobs waiting for a worker right now.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Workers not on an urgent job right now (idle, or on a partial transcript).
    pub fn workers_free_for_urgent(&self) -> usize {
        self.slots.lock().iter().filter(|s| !matches!(s, Slot::Busy)).count()
    }

    /// Transcribes on the pool, queued fairly under `call_id`.
    pub async fn transcribe(&self, call_id: &str, samples: Vec<f32>, mode: DecodeMode) -> Result<AsrResult> {
        self.transcribe_cancellable(call_id, samples, mode, None).await
    }

    /// As `transcribe`; setting `cancel` drops the job if it waits and stops it if it runs.
    /// A `Preview` waits behind every other kind, and is stopped when one arrives and finds no
    /// free worker.
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
            cancel: cancel.unwrap_or_default(),
            enqueued: Instant::now(),
            reply: tx,
        };
        let priority = if mode == DecodeMode::Preview { Priority::Background } else { Priority::Urgent };
        tracing::debug!(call = call_id, ?mode, queued = self.queue.len(), "ASR job queued");
        if priority == Priority::Urgent {
            self.make_room();
        }
        if self.queue.push(call_id, priority, job).is_err() {
            return Err(Error::internal("ASR pool is shut down"));
        }
        rx.await.map_err(|_| Error::internal("ASR worker stopped"))?
    }

    /// For an urgent job: when no worker is idle, stops one running partial transcript.
    fn make_room(&self) {
        let slots = self.slots.lock();
        if slots.iter().any(|s| matches!(s, Slot::Idle)) {
            return;
        }
        if let Some(Slot::Preview(flag)) = slots.iter().find(|s| matches!(s, Slot::Preview(f) if !f.load(Ordering::Relaxed))) {
            flag.store(true, Ordering::Relaxed);
        }
    }
}

/// Claims the cores no running decode uses, between one and `most`; returns how many.
fn claim_cores(in_use: &AtomicUsize, cores: usize, most: usize) -> usize {
    let mut got = 1;
    let _ = in_use.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
        got = cores.saturating_sub(used).clamp(1, most.max(1));
        Some(used + got)
    });
    got
}

/// Lowers the calling thread's CPU priority by `steps` nice steps (Linux keeps one per thread,
/// and threads it starts inherit it). Failing to is not an error: the pool then runs at the
/// gateway's priority.
fn lower_thread_priority(steps: i32) {
    if steps <= 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid, getpriority and setpriority take plain integers and touch no memory.
        let tid = unsafe { libc::syscall(libc::SYS_gettid) } as libc::id_t;
        let now = unsafe { libc::getpriority(libc::PRIO_PROCESS, tid) };
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, (now + steps).min(19)) } != 0 {
            tracing::debug!("cannot lower the ASR worker's priority: {}", std::io::Error::last_os_error());
        }
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
        assert_eq!(AsrPool::sizing(2, 0, 0), (2, 2));
        assert_eq!(AsrPool::sizing(16, 0, 0), (16, 4));
        assert_eq!(AsrPool::sizing(1, 0, 0), (1, 1));
        assert_eq!(AsrPool::sizing(8, 2, 0), (2, 4));
        assert_eq!(AsrPool::sizing(8, 3, 1), (3, 1));
    }

    #[test]
    fn a_decode_takes_the_cores_left_free() {
        let in_use = AtomicUsize::new(0);
        // Alone: every core, up to the most allowed.
        assert_eq!(claim_cores(&in_use, 2, 2), 2);
        // A second decode meanwhile still gets one.
        assert_eq!(claim_cores(&in_use, 2, 2), 1);
        assert_eq!(in_use.load(Ordering::SeqCst), 3);
        in_use.fetch_sub(3, Ordering::SeqCst);
        assert_eq!(claim_cores(&in_use, 8, 4), 4);
        assert_eq!(claim_cores(&in_use, 8, 4), 4);
        assert_eq!(claim_cores(&in_use, 8, 4), 1);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn workers_run_at_the_lower_priority() {
        fn nice() -> i32 {
            unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::syscall(libc::SYS_gettid) as libc::id_t) }
        }
        let before = nice();
        let (lowered, inherited) = std::thread::spawn(move || {
            lower_thread_priority(3);
            // A thread started from a lowered one (as Whisper's compute threads are) inherits it.
            (nice(), std::thread::spawn(nice).join().unwrap())
        })
        .join()
        .unwrap();
        assert_eq!(lowered, (before + 3).min(19));
        assert_eq!(inherited, lowered);
        assert_eq!(nice(), before, "only the worker's own thread is lowered");
    }
}
