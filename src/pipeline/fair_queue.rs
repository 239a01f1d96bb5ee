//! A blocking work queue that is fair across calls: jobs are served round-robin by call, so one
//! call with many queued utterances cannot starve the others.

use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};

pub struct FairQueue<T> {
    inner: Mutex<Inner<T>>,
    ready: Condvar,
}

struct Inner<T> {
    per_key: HashMap<String, VecDeque<T>>,
    /// Keys with queued jobs, in the order they will next be served.
    order: VecDeque<String>,
    len: usize,
    closed: bool,
}

impl<T> Default for FairQueue<T> {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                per_key: HashMap::new(),
                order: VecDeque::new(),
                len: 0,
                closed: false,
            }),
            ready: Condvar::new(),
        }
    }
}

impl<T> Inner<T> {
    fn take(&mut self) -> Option<T> {
        let key = self.order.pop_front()?;
        let q = self.per_key.get_mut(&key)?;
        let item = q.pop_front();
        if q.is_empty() {
            self.per_key.remove(&key);
        } else {
            self.order.push_back(key);
        }
        if item.is_some() {
            self.len -= 1;
        }
        item
    }
}

impl<T> FairQueue<T> {
    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // A worker that panicked while holding the lock leaves consistent data behind.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `item` for `key`; returns it back if the queue is closed.
    pub fn push(&self, key: &str, item: T) -> Result<(), T> {
        let mut g = self.lock();
        if g.closed {
            return Err(item);
        }
        let q = g.per_key.entry(key.to_owned()).or_default();
        q.push_back(item);
        if q.len() == 1 {
            g.order.push_back(key.to_owned());
        }
        g.len += 1;
        drop(g);
        self.ready.notify_one();
        Ok(())
    }

    /// Takes the next job without waiting.
    pub fn try_pop(&self) -> Option<T> {
        self.lock().take()
    }

    /// Waits for the next job; `None` once the queue is closed and has none left.
    pub fn pop(&self) -> Option<T> {
        let mut g = self.lock();
        loop {
            if let Some(item) = g.take() {
                return Some(item);
            }
            if g.closed {
                return None;
            }
            g = self.ready.wait(g).unwrap_or_else(|p| p.into_inner());
        }
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
            q.push("busy", format!("busy{i}")).unwrap();
        }
        q.push("quiet", "quiet0".to_string()).unwrap();
        q.push("other", "other0".to_string()).unwrap();
        assert_eq!(q.len(), 6);
        let order: Vec<_> = std::iter::from_fn(|| q.try_pop()).collect();
        assert_eq!(order, ["busy0", "quiet0", "other0", "busy1", "busy2", "busy3"]);
        assert!(q.is_empty());
    }

    #[test]
    fn keeps_each_calls_jobs_in_order() {
        let q = FairQueue::default();
        for i in 0..3 {
            q.push("a", i).unwrap();
            q.push("b", 10 + i).unwrap();
        }
        let order: Vec<_> = std::iter::from_fn(|| q.try_pop()).collect();
        assert_eq!(order, [0, 10, 1, 11, 2, 12]);
    }

    #[test]
    fn a_waiting_worker_gets_the_next_job() {
        let q = Arc::new(FairQueue::default());
        let worker = {
            let q = q.clone();
            std::thread::spawn(move || q.pop())
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!worker.is_finished(), "returned with nothing queued");
        q.push("a", "a-final").unwrap();
        assert_eq!(worker.join().unwrap(), Some("a-final"));
    }

    #[test]
    fn close_wakes_waiting_workers_and_refuses_new_jobs() {
        let q = Arc::new(FairQueue::<u32>::default());
        let worker = {
            let q = q.clone();
            std::thread::spawn(move || {
                let mut got = vec![];
                while let Some(x) = q.pop() {
                    got.push(x);
                }
                got
            })
        };
        q.push("a", 1).unwrap();
        q.close();
        assert_eq!(q.push("a", 2), Err(2));
        assert_eq!(worker.join().unwrap(), vec![1]);
    }
}
