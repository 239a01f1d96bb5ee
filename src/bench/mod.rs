//! Benchmarks behind `voicegate bench ...`. Each ends its output with one JSON summary line.

pub mod agent_phones;
pub mod anger;
pub mod asr;
pub mod asr_live;
pub mod calls;
pub mod dataset;
pub mod latency;
pub mod machine_speed;
pub mod nlu;
pub mod rtp_pump;
pub mod transfer;
pub mod wer;

/// The `q` quantile (0..=1) of sorted values, nearest rank; 0 for no values.
pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 50);
        assert_eq!(percentile(&v, 0.95), 95);
        assert_eq!(percentile(&[7], 0.99), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }
}
