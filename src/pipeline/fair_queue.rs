//! A blocking work queue that is fair across calls: jobs are served round-robin by call, so one
//! call with many queued utterances cannot starve the others, and urgent jobs (transcripts that
//! end a turn) go before background ones (partial transcripts).

use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Which lane a job waits in: every urgent job is served before any background one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Work a caller is waiting for (the transcript that ends a turn).
    Urgent,
    /// Work that can be late or dropped (a partial transcript while the caller speaks).
    Background,
}

pub struct FairQueue<T> {
    inner: Mutex<Inner<T>>,
    ready: Condvar,
}

struct Inner<T> {
    /// Urgent, then background.
    lanes: [Lane<T>; 2],
    len: usize,
    closed: bool,
}

struct Lane<T> {
    per_key: HashMap<String, VecDeque<T>>,
    /// Keys with queued jobs, in the order they will next be served.
    order: VecDeque<String>,
}

impl<T> Default for Lane<T> {
    fn default() -> Self {
        Self {
            per_key: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<T> Lane<T> {
    fn push(&mut self, key: &str, item: T) {
        let q = self.per_key.entry(key.to_owned()).or_default();
        q.push_back(item);
        if q.len() == 1 {
            self.order.push_back(key.to_owned());
        }
    }

    fn take(&mut self) -> Option<T> {
        let key = self.order.pop_front()?;
        let q = self.per_key.get_mut(&key)?;
        let item = q.pop_front();
        if q.is_empty() {
            self.per_key.remove(&key);
        } else {
            self.order.push_back(key);
        }
        item
    }
}

impl<T> Default for FairQueue<T> {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                lanes: [Lane::default(), Lane::default()],
                len: 0,
                closed: false,
            }),
            ready: Condvar::new(),
        }
    }
}

impl<T> FairQueue<T> {
    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // A worker that panicked while holding the lock leaves consistent data behind.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `item` for `key` in the lane of `priority`; returns it back if the queue is closed.
    pub fn push(&self, key: &str, priority: Priority, item: T) -> Result<(), T> {
        let mut g = self.lock();
        if g.closed {
            return Err(item);
        }
        g.lanes[priority as usize].push(key, item);
        g.len += 1;
        drop(g);
        // Every waiter: one that may not take a background job must not be the only one woken.
        self.ready.notify_all();
        Ok(())
    }

    /// Takes the next job without waiting.
    pub fn try_pop(&self) -> Option<T> {
        Self::take(&mut self.lock(), true)
    }

    /// Waits for the next job: an urgent one, or a background one when `background_ok` says
    /// so (call [`FairQueue::wake`] when its answer may have changed). Both `background_ok` and
    /// `taken` (told of the job taken) run with the queue locked, so that workers see one
    /// another's choices. `None` once the queue is closed and has none left.
    pub fn pop(&self, background_ok: &dyn Fn() -> bool, taken: &dyn Fn(&T)) -> Option<T> {
        let mut g = self.lock();
        loop {
            let background = !g.lanes[Priority::Background as usize].order.is_empty() && background_ok();
            if let Some(item) = Self::take(&mut g, background) {
                taken(&item);
                return Some(item);
            }
            if g.closed {
                return None;
            }
            g = self.ready.wait(g).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Wakes every waiting worker to look again.
    pub fn wake(&self) {
        let _g = self.lock();
        self.ready.notify_all();
    }

    fn take(g: &mut Inner<T>, background: bool) -> Option<T> {
        let lanes = if background { 2 } else { 1 };
        let item = g.lanes[..lanes].iter_mut().find_map(|lane| lane.take());
        if item.is_some() {
            g.len -= 1;
        }
        item
    }

    pub fn len(&self) -> usize {
        self.lock().len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Refuses new jobs and wakes every waiting worker; queued jobs are still served.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn serves_calls_round_robin() {
        let q = FairQueue::default();
        for i in 0..4 {
            q.push("busy", Priority::Urgent, format!("busy{i}")).unwrap();
        }
        q.push("quiet", Priority::Urgent, "quiet0".to_string()).unwrap();
        q.push("other", Priority::Urgent, "other0".to_string()).unwrap();
        let order: Vec<_> = std::iter::from_fn(|| q.try_pop()).collect();
        assert_eq!(order, ["busy0", "quiet0", "other0", "busy1", "busy2", "busy3"]);
        assert!(q.is_empty());
    }

    #[test]
    fn keeps_each_calls_jobs_in_order() {
        let q = FairQueue::default();
        for i in 0..3 {
            q.push("a", Priority::Urgent, i).unwrap();
            q.push("b", Priority::Urgent, 10 + i).unwrap();
        }
        let order: Vec<_> = std::iter::from_fn(|| q.try_pop()).collect();
        assert_eq!(order, [0, 10, 1, 11, 2, 12]);
    }

    #[test]
    fn urgent_jobs_go_before_background_ones() {
        let q = FairQueue::default();
        q.push("a", Priority::Background, "a-partial").unwrap();
        q.push("b", Priority::Background, "b-partial").unwrap();
        q.push("c", Priority::Urgent, "c-final").unwrap();
        q.push("a", Priority::Urgent, "a-final").unwrap();
        assert_eq!(q.len(), 4);
        let order: Vec<_> = std::iter::from_fn(|| q.try_pop()).collect();
        assert_eq!(order, ["c-final", "a-final", "a-partial", "b-partial"]);
    }

    #[test]
    fn background_jobs_wait_until_they_may_start() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let q = Arc::new(FairQueue::default());
        let allowed = Arc::new(AtomicBool::new(false));
        q.push("a", Priority::Background, "a-partial").unwrap();
        let worker = {
            let (q, allowed) = (q.clone(), allowed.clone());
            let ok = move || allowed.load(Ordering::SeqCst);
            std::thread::spawn(move || [q.pop(&ok, &|_| {}), q.pop(&ok, &|_| {})])
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!worker.is_finished(), "took a background job it may not");
        // An urgent job is taken at once; the background one once allowed and woken.
        q.push("b", Priority::Urgent, "b-final").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        allowed.store(true, Ordering::SeqCst);
        q.wake();
        assert_eq!(worker.join().unwrap(), [Some("b-final"), Some("a-partial")]);
    }

    #[test]
    fn close_wakes_waiting_workers_and_refuses_new_jobs() {
        let q = Arc::new(FairQueue::<u32>::default());
        let worker = {
            let q = q.clone();
            std::thread::spawn(move || {
                let mut got = vec![];
                while let Some(x) = q.pop(&|| true, &|_| {}) {
                    got.push(x);
                }
                got
            })
        };
        q.push("a", Priority::Urgent, 1).unwrap();
        q.close();
        assert_eq!(q.push("a", Priority::Urgent, 2), Err(2));
        assert_eq!(worker.join().unwrap(), vec![1]);
    }
}
