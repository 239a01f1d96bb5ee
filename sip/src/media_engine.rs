//! One pacing clock for every call's media: a few worker threads (one per core), each waking
//! every 20 ms and serving all of its sessions in turn (read what arrived, play a slot, send a
//! packet), instead of a task, two timers and a socket wake-up per call and per packet. A
//! session's slots fall on its worker's ticks; the workers' ticks are spread over the 20 ms so
//! that their bursts do not coincide.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant};

pub const SLOT: Duration = Duration::from_millis(20);

/// A session the engine paces.
pub trait Paced: Send {
    /// Called on each of its worker's ticks; false ends the session (it is dropped).
    fn tick(&mut self, now: Instant) -> bool;
}

struct Worker {
    add: mpsc::Sender<Box<dyn Paced>>,
    sessions: Arc<AtomicUsize>,
    /// The instant of this worker's tick 0.
    phase: Instant,
}

pub struct Engine {
    workers: Vec<Worker>,
}

/// The process's engine, started on first use with one worker per core (at most 8).
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
        Engine::start(n)
    })
}

impl Engine {
    fn start(n: usize) -> Self {
        let base = Instant::now();
        let workers = (0..n)
            .filter_map(|i| {
                let (add, rx) = mpsc::channel();
                let sessions = Arc::new(AtomicUsize::new(0));
                let phase = base + SLOT * i as u32 / n as u32;
                let count = sessions.clone();
                std::thread::Builder::new().name(format!("media-{i}")).spawn(move || run_worker(rx, count, phase)).ok().map(|_| Worker { add, sessions, phase })
            })
            .collect();
        Self { workers }
    }

    /// Adds a session to the least busy worker. `make` gets that worker's next tick, the
    /// session's clock origin: its slot k is due (and sent) on the tick at origin + (k+1)·20 ms.
    /// False when no worker could be started.
    pub fn add(&self, make: impl FnOnce(Instant) -> Box<dyn Paced>) -> bool {
        let Some(w) = self.workers.iter().min_by_key(|w| w.sessions.load(Ordering::Relaxed)) else { return false };
        let origin = next_tick(w.phase, Instant::now());
        w.sessions.fetch_add(1, Ordering::Relaxed);
        if w.add.send(make(origin)).is_err() {
            w.sessions.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Sessions now paced, all workers together.
    pub fn sessions(&self) -> usize {
        self.workers.iter().map(|w| w.sessions.load(Ordering::Relaxed)).sum()
    }
}

/// The first tick of a clock started at `phase` that is not before `now`.
fn next_tick(phase: Instant, now: Instant) -> Instant {
    let since = now.saturating_duration_since(phase).as_nanos();
    let slot = SLOT.as_nanos();
    phase + Duration::from_nanos((since.div_ceil(slot) * slot) as u64)
}

/// Nice steps above the rest of the process that the pacing threads ask for, where the process
/// may raise them (root, or CAP_SYS_NICE): they then preempt everything else in the gateway
/// (speech recognition, the calls' tasks, SQLite) when a packet is due. Under 16 AI calls on two
/// cores a bot frame now and then left 51 ms after due with them at the process's priority.
/// Where it may not, they keep that priority.
const MEDIA_PRIORITY_STEPS: i32 = 10;

fn run_worker(add: mpsc::Receiver<Box<dyn Paced>>, count: Arc<AtomicUsize>, phase: Instant) {
    crate::thread_priority::shift(-MEDIA_PRIORITY_STEPS);
    let mut sessions: Vec<Box<dyn Paced>> = Vec::new();
    let mut due = next_tick(phase, Instant::now());
    loop {
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        while let Ok(s) = add.try_recv() {
            sessions.push(s);
        }
        let now = Instant::now();
        let before = sessions.len();
        sessions.retain_mut(|s| s.tick(now));
        count.fetch_sub(before - sessions.len(), Ordering::Relaxed);
        // Behind by more than a few ticks (the machine stalled): go on from now, not in a burst.
        due = if now > due + SLOT * 5 { next_tick(phase, now) } else { due + SLOT };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Counter(Arc<Mutex<Vec<Instant>>>, usize);

    impl Paced for Counter {
        fn tick(&mut self, now: Instant) -> bool {
            let mut v = self.0.lock().unwrap();
            v.push(now);
            v.len() < self.1
        }
    }

    #[test]
    fn next_tick_is_on_the_grid_and_not_before_now() {
        let phase = Instant::now();
        assert_eq!(next_tick(phase, phase), phase);
        assert_eq!(next_tick(phase, phase + Duration::from_millis(1)), phase + SLOT);
        assert_eq!(next_tick(phase, phase + Duration::from_millis(41)), phase + SLOT * 3);
    }

    #[test]
    fn sessions_tick_every_20_ms_until_they_end() {
        let e = Engine::start(2);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let origin = Arc::new(Mutex::new(None));
        let (s, o) = (seen.clone(), origin.clone());
        assert!(e.add(move |t| {
            *o.lock().unwrap() = Some(t);
            Box::new(Counter(s, 10))
        }));
        std::thread::sleep(Duration::from_millis(400));
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 10, "a session ends when it says so");
        let origin = origin.lock().unwrap().unwrap();
        assert!(seen[0] >= origin);
        let span = seen[9].duration_since(seen[0]).as_millis();
        assert!(span >= 160, "9 ticks took only {span} ms: a burst, not a clock");
        assert_eq!(e.sessions(), 0);
    }
}
