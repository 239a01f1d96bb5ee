//! Memory back to the system after a busy spell. The C allocator keeps what calls freed in its
//! arenas for reuse, so after a thousand calls end the gateway would stay at its peak size;
//! once the live calls have fallen to half of the most seen since the last return (all gone
//! included), `malloc_trim` hands the free pages back.

use std::sync::Arc;
use std::time::Duration;

use super::LiveCalls;

/// How often the number of live calls is looked at.
const EVERY: Duration = Duration::from_secs(5);

/// Whether to trim now, given the live calls now and the most seen since the last trim.
pub fn should_trim(now: usize, peak: usize) -> bool {
    peak > 0 && now * 2 <= peak
}

pub fn start_returning(live: Arc<LiveCalls>) {
    tokio::spawn(async move {
        let mut peak = 0;
        loop {
            tokio::time::sleep(EVERY).await;
            let now = live.count();
            peak = peak.max(now);
            if should_trim(now, peak) {
                // SAFETY: malloc_trim only releases free memory of the C allocator's arenas.
                let _ = tokio::task::spawn_blocking(|| unsafe { libc::malloc_trim(0) }).await;
                tracing::debug!(calls = now, peak, "freed memory returned to the system");
                peak = now;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::should_trim;

    #[test]
    fn trims_once_calls_fall_to_half_of_the_peak() {
        assert!(!should_trim(0, 0), "nothing happened");
        assert!(!should_trim(600, 1000));
        assert!(should_trim(500, 1000));
        assert!(should_trim(0, 1));
    }
}
