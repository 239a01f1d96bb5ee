//! The bounded pool of blocking inference workers shared by all calls. Each worker owns one
//! Whisper state; jobs wait in queues that are fair across calls, and the wait is measured.
//!
//! Under load the pool keeps the calls real time. Its threads run at a lower CPU priority than
//! the media path (`asr.nice`), so bot audio leaves on time while Whisper uses what is left of
//! the cores. Transcripts that end a turn (the caller waits for them) and partial ones (shown
//! while the caller speaks) have their own workers: the partial ones run at the lowest CPU
//! priority, so they use only the CPU that turn-ending transcripts leave idle and never make
//! one wait for a worker.
//!
//! One call alone has its turn-ending decodes on every core (up to `options.threads`: the
//! lowest latency). With more calls each decode takes one core: Whisper's threads wait for one
//! another by spinning, and on a busy machine (RTP, other calls) a thread that loses its core
//! keeps the others spinning; one decode of four seconds of speech took 1.4 s on two threads
//! beside another decode instead of 0.3 s alone, and 0.6 s on one thread.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
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
    cancel: Arc<AtomicBool>,
    enqueued: Instant,
    reply: oneshot::Sender<Result<AsrResult>>,
}

/// Nice steps of the partial-transcript workers under the gateway where idle scheduling is not
/// to be had: the lowest nice priority there is.
const PARTIAL_NICE: i32 = 19;

/// The jobs of one kind and the workers that serve them.
struct Lane {
    queue: Arc<FairQueue<Job>>,
    workers: usize,
}

impl Lane {
    fn new(workers: usize) -> Self {
        Self { queue: Arc::default(), workers: workers.max(1) }
    }
}

pub struct AsrPool {
    /// Transcripts that end a turn.
    urgent: Lane,
    /// Partial transcripts.
    partial: Lane,
    /// Turn-ending workers on a job right now.
    busy: Arc<AtomicUsize>,
    /// Calls using the pool right now.
    callers: Arc<AtomicUsize>,
    handles: Vec<JoinHandle<()>>,
    pub model: Arc<WhisperModel>,
    /// `threads` is the most one decode uses.
    pub options: DecodeOptions,
}

/// A second of very quiet noise: what a worker warms up on.
fn quiet_second() -> Vec<f32> {
    (0..crate::audio::SAMPLE_RATE as usize).map(|i| ((i * 7919 % 1000) as f32 / 1000.0 - 0.5) * 0.002).collect()
}

impl AsrPool {
    /// Starts `workers` threads for turn-ending transcripts, `nice` steps under the gateway's
    /// CPU priority, sharing `cores` CPU cores (one decode uses up to `options.threads`), and one
    /// partial-transcript worker per four of them at the lowest priority.
    pub fn start(model: Arc<WhisperModel>, workers: usize, cores: usize, nice: i32, options: DecodeOptions) -> Result<Self> {
        let urgent = Lane::new(workers);
        let partial = Lane::new(workers.div_ceil(4));
        let in_use = Arc::new(Cores::new(cores));
        let callers = Arc::new(AtomicUsize::new(0));
        let busy = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for (name, lane, turn_ending) in [("asr-worker", &urgent, true), ("asr-partial", &partial, false)] {
            for i in 0..lane.workers {
                let mut state = model.new_state()?;
                let (q, busy, m, o, in_use, callers) = (lane.queue.clone(), busy.clone(), model.clone(), options.clone(), in_use.clone(), callers.clone());
                let h = std::thread::Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || {
                        // Whisper's compute threads are started from this one and inherit it.
                        if turn_ending {
                            lower_thread_priority(nice);
                        } else {
                            run_only_when_idle();
                        }
                        while let Some(job) = q.pop() {
                            let result = if job.cancel.load(Ordering::Relaxed) {
                                Err(Error::internal(crate::pipeline::whisper::CANCELLED))
                            } else {
                                if turn_ending {
                                    busy.fetch_add(1, Ordering::SeqCst);
                                }
                                // A partial transcript runs at a priority that leaves it only what
                                // turn-ending ones do not use: on every core for a call alone (a
                                // long turn's partials then keep up), else on one.
                                let one_call = callers.load(Ordering::SeqCst) <= 1;
                                let threads = match turn_ending {
                                    true => in_use.claim(o.threads, one_call && q.is_empty()),
                                    false if one_call => o.threads.max(1),
                                    false => 1,
                                };
                                let queue_ms = job.enqueued.elapsed().as_millis() as u64;
                                let opts = DecodeOptions { threads, ..o.clone() };
                                let started = Instant::now();
                                let r = m.transcribe(&mut state, &job.samples, job.mode, &opts, Some(&job.cancel));
                                if turn_ending {
                                    in_use.release(threads);
                                    busy.fetch_sub(1, Ordering::SeqCst);
                                }
                                let decode_ms = started.elapsed().as_millis() as u64;
                                tracing::debug!(worker = i, mode = ?job.mode, queue_ms, decode_ms, threads, ok = r.is_ok(), "ASR job done");
                                r.map(|transcription| AsrResult { transcription, queue_ms })
                            };
                            // The caller may have hung up meanwhile; nothing to do then.
                            let _ = job.reply.send(result);
                        }
                    })
                    .map_err(|e| Error::internal(format!("cannot start ASR worker: {e}")))?;
                handles.push(h);
            }
        }
        Ok(Self { urgent, partial, busy, callers, handles, model, options })
    }

    /// A decode of a second of quiet on each turn-ending worker that is free: a Whisper
    /// state's first decode is slow (whisper-base here: 3.1 s on 4 s of speech, then 1.2 s; one
    /// on another state does not help), and after this it is not a caller's.
    pub async fn warm_up(&self) {
        let names: Vec<String> = (0..self.urgent.workers).map(|i| format!("warm-up-{i}")).collect();
        let jobs = names.iter().map(|name| self.transcribe_cancellable(name, quiet_second(), DecodeMode::Utterance, None, false));
        futures_util::future::join_all(jobs).await;
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

    /// Counts a call as using the pool until the seat is dropped.
    pub fn seat(&self) -> CallerSeat {
        self.callers.fetch_add(1, Ordering::SeqCst);
        CallerSeat(self.callers.clone())
    }

    /// Workers for turn-ending transcripts.
    pub fn workers(&self) -> usize {
        self.urgent.workers
    }

    /// Workers for partial transcripts.
    pub fn partial_workers(&self) -> usize {
        self.partial.workers
    }

    /// Jobs waiting for a worker right now.
    pub fn queued(&self) -> usize {
        self.urgent.queue.len() + self.partial.queue.len()
    }

    /// Turn-ending workers without a job right now.
    pub fn idle_workers(&self) -> usize {
        self.urgent.workers.saturating_sub(self.busy.load(Ordering::SeqCst))
    }

    /// Whether a partial transcript asked for now would come too late to be worth making:
    /// turn-ending transcripts are waiting (they take the CPU), or every partial worker has
    /// one waiting already.
    pub fn partials_backlogged(&self) -> bool {
        !self.urgent.queue.is_empty() || self.partial.queue.len() >= self.partial.workers
    }

    /// Transcribes on the pool, queued fairly under `call_id`.
    pub async fn transcribe(&self, call_id: &str, samples: Vec<f32>, mode: DecodeMode) -> Result<AsrResult> {
        self.transcribe_cancellable(call_id, samples, mode, None, false).await
    }

    /// As `transcribe`; setting `cancel` drops the job if it waits and stops it if it runs
    /// (whisper.cpp stops once its encoder is done). A `Preview` of a `live` call goes to the
    /// partial workers; a replay's, whose turn-taking runs on decode times, keeps to the
    /// turn-ending ones, so that other work on the machine cannot starve it.
    pub async fn transcribe_cancellable(
        &self,
        call_id: &str,
        samples: Vec<f32>,
        mode: DecodeMode,
        cancel: Option<Arc<AtomicBool>>,
        live: bool,
    ) -> Result<AsrResult> {
        let (tx, rx) = oneshot::channel();
        let job = Job {
            samples,
            mode,
            cancel: cancel.unwrap_or_default(),
            enqueued: Instant::now(),
            reply: tx,
        };
        let lane = if mode == DecodeMode::Preview && live { &self.partial } else { &self.urgent };
        tracing::debug!(call = call_id, ?mode, queued = lane.queue.len(), "ASR job queued");
        if lane.queue.push(call_id, job).is_err() {
            return Err(Error::internal("ASR pool is shut down"));
        }
        rx.await.map_err(|_| Error::internal("ASR worker stopped"))?
    }
}

/// A call using the pool; see [`AsrPool::seat`].
pub struct CallerSeat(Arc<AtomicUsize>);

impl Drop for CallerSeat {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The cores turn-ending decodes use. Whisper's threads wait for one another by spinning, so a
/// decode with more threads than it has cores spends them waiting: decodes never share a core.
struct Cores {
    used: Mutex<usize>,
    freed: Condvar,
    total: usize,
}

impl Cores {
    fn new(total: usize) -> Self {
        Self { used: Mutex::new(0), freed: Condvar::new(), total: total.max(1) }
    }

    /// Waits for a free core, then takes every free one (up to `most`) when this decode is
    /// `alone` and no other runs (the lowest latency), else one. Returns how many.
    fn claim(&self, most: usize, alone: bool) -> usize {
        let used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let mut used = self.freed.wait_while(used, |u| *u >= self.total).unwrap_or_else(|p| p.into_inner());
        let got = if *used == 0 && alone { self.total.min(most.max(1)) } else { 1 };
        *used += got;
        got
    }

    fn release(&self, n: usize) {
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        *used = used.saturating_sub(n);
        drop(used);
        self.freed.notify_all();
    }
}

/// Lowers the calling thread's CPU priority by `steps` nice steps (Linux keeps one per thread,
/// and threads it starts inherit it). Failing to is not an error: the thread then runs at the
/// gateway's priority. (The ASR workers and the voice-detector maker use it.)
pub(crate) fn lower_thread_priority(steps: i32) {
    if steps > 0 {
        voicegate_sip::thread_priority::shift(steps);
    }
}

/// Puts the calling thread in Linux's idle scheduling class (`SCHED_IDLE`): it runs only on a
/// core that nothing else wants, and threads it starts inherit that. A nice-19 thread still gets
/// an eighth of a core beside a nice-10 one; a partial transcript took that from turn-ending
/// ones under load. Where the class is not to be had, the thread gets the lowest nice priority.
pub(crate) fn run_only_when_idle() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sched_setscheduler reads the sched_param it is given and nothing else; pid 0
        // is the calling thread.
        let param = libc::sched_param { sched_priority: 0 };
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } == 0 {
            return;
        }
        tracing::debug!("cannot run the thread in the idle scheduling class: {}", std::io::Error::last_os_error());
    }
    lower_thread_priority(PARTIAL_NICE);
}

impl Drop for AsrPool {
    fn drop(&mut self) {
        self.urgent.queue.close();
        self.partial.queue.close();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sizing_shares_cores() {
        assert_eq!(AsrPool::sizing(2, 0, 0), (2, 2));
        assert_eq!(AsrPool::sizing(16, 0, 0), (16, 4));
        assert_eq!(AsrPool::sizing(1, 0, 0), (1, 1));
        assert_eq!(AsrPool::sizing(8, 2, 0), (2, 4));
        assert_eq!(AsrPool::sizing(8, 3, 1), (3, 1));
    }

    #[test]
    fn a_decode_alone_takes_every_core_and_none_shares_one() {
        let cores = Arc::new(Cores::new(2));
        // Alone: every core, up to the most allowed.
        assert_eq!(cores.claim(4, true), 2);
        cores.release(2);
        // With others waiting, or beside another decode: one.
        assert_eq!(cores.claim(4, false), 1);
        assert_eq!(cores.claim(4, true), 1);
        // Every core taken: the next decode waits for one to be given back.
        let waiting = {
            let cores = cores.clone();
            std::thread::spawn(move || cores.claim(4, true))
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!waiting.is_finished(), "a decode started on a core in use");
        cores.release(1);
        assert_eq!(waiting.join().unwrap(), 1);
        let eight = Cores::new(8);
        assert_eq!(eight.claim(4, true), 4);
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
