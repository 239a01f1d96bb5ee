//! One thread stores every live call's events, in the order each call sent them. A thread per
//! call (as before) held one of the runtime's 512 blocking threads for the whole call: past
//! 512 calls at once the later calls' events, and every other piece of disk work (calls
//! starting and ending, recordings finished), waited for a call to end. The events waiting
//! when the thread comes round are written in one transaction (one commit, the store's lock
//! taken once), so a busy gateway's events do not keep other users of the store waiting.

use std::sync::{mpsc, Arc, OnceLock};

use tokio::sync::oneshot;
use tracing::warn;

use crate::events::Event;
use crate::store::Store;

struct Job {
    store: Arc<Store>,
    seq: u64,
    event: Event,
    stored: oneshot::Sender<()>,
}

/// The most events written in one transaction.
const MAX_BATCH: usize = 512;

/// Stores `jobs` (all for one store) in one transaction; where that fails, one by one, so
/// one bad event costs only itself.
fn write(jobs: &[Job]) {
    let events: Vec<(u64, &Event)> = jobs.iter().map(|j| (j.seq, &j.event)).collect();
    if jobs[0].store.add_events(&events).is_ok() {
        return;
    }
    jobs.iter().for_each(write_one);
}

fn write_one(job: &Job) {
    if let Err(e) = job.store.add_event(job.seq, &job.event) {
        warn!(error = %e, call = %job.event.call_id, "event not stored");
    }
}

fn queue() -> &'static Option<mpsc::Sender<Job>> {
    static QUEUE: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new().name("event-writer".into()).spawn(move || {
            while let Ok(first) = rx.recv() {
                // Whatever else is waiting goes in with it: one commit for many calls' events.
                let mut batch = vec![first];
                batch.extend(std::iter::from_fn(|| rx.try_recv().ok()).take(MAX_BATCH - 1));
                for same_store in batch.chunk_by(|a, b| Arc::ptr_eq(&a.store, &b.store)) {
                    write(same_store);
                }
                for job in batch {
                    let _ = job.stored.send(());
                }
            }
        });
        match spawned {
            Ok(_) => Some(tx),
            Err(e) => {
                warn!(error = %e, "no event-writer thread: events are stored from the blocking pool");
                None
            }
        }
    })
}

/// Stores `event` as the call's event number `seq`; returns once it is stored.
pub async fn store(store: &Arc<Store>, seq: u64, event: &Event) {
    let (stored, done) = oneshot::channel();
    let job = Job { store: store.clone(), seq, event: event.clone(), stored };
    match queue() {
        Some(q) => match q.send(job) {
            Ok(()) => {
                let _ = done.await;
            }
            Err(mpsc::SendError(job)) => write_aside(job).await,
        },
        None => write_aside(job).await,
    }
}

/// Without the thread: the write on the blocking pool.
async fn write_aside(job: Job) {
    let _ = tokio::task::spawn_blocking(move || write_one(&job)).await;
}
