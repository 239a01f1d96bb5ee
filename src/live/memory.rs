//! Memory back to the system after a busy spell. The C allocator keeps what calls freed in its
//! arenas for reuse, so after a thousand calls end the gateway would stay at its peak size;
//! once no call is up after some were, `malloc_trim` hands the free pages back. Not earlier:
//! it holds the arenas' locks while it walks them, 61-795 ms after 3,000 calls with 350-455
//! still up, and the threads that pace those calls' audio, which allocate a packet's buffer,
//! waited behind it (tens of thousands of frames sent over 40 ms late).

use std::sync::Arc;
use std::time::Duration;

use super::LiveCalls;

/// How often the number of live calls is looked at.
const EVERY: Duration = Duration::from_secs(5);

/// Whether to trim now, given the live calls now and the most seen since the last trim.
pub fn should_trim(now: usize, peak: usize) -> bool {
    peak > 0 && now == 0
}

pub fn start_returning(live: Arc<LiveCalls>) {
    tokio::spawn(async move {
        let mut peak = 0;
        loop {
            tokio::time::sleep(EVERY).await;
            let now = live.count();
            peak = peak.max(now);
            if should_trim(now, peak) {
                let took = std::time::Instant::now();
                // SAFETY: malloc_trim only releases free memory of the C allocator's arenas.
                let _ = tokio::task::spawn_blocking(|| unsafe { libc::malloc_trim(0) }).await;
                tracing::debug!(calls = now, peak, took_ms = took.elapsed().as_millis() as u64, "freed memory returned to the system");
                peak = now;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::should_trim;

    #[test]
    fn trims_once_the_calls_are_all_gone() {
        assert!(!should_trim(0, 0), "nothing happened");
        assert!(!should_trim(600, 1000));
        assert!(!should_trim(1, 1000), "a call still up would wait behind the trim");
        assert!(should_trim(0, 1000));
        assert!(should_trim(0, 1));
    }
}
