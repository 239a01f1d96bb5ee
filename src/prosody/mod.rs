//! Prosody: how the caller speaks. Pitch, loudness, spectrum and tempo every 10 ms on the
//! telephone band, per-utterance statistics, and the anger model that reads them against the
//! caller's own calm turns.

pub mod band;
pub mod corpus;
pub mod evaluate;
pub mod extract;
pub mod frames;
pub mod logistic;
pub mod model;
pub mod pitch;
pub mod stats;
pub mod tracker;
pub mod train;

pub use model::{AngerModel, Baseline};
pub use stats::UtteranceStats;
pub use tracker::{AngerTracker, ProsodyScore};

/// The statistics of a whole 16 kHz clip.
pub fn utterance_stats(samples: &[f32]) -> Option<UtteranceStats> {
    let narrow = band::TelephoneBand::filter(samples);
    let mut frames = Vec::with_capacity(narrow.len() / frames::HOP + 1);
    frames::FrameAnalyzer::new(0).push(&narrow, &mut frames);
    UtteranceStats::from_frames(&frames)
}
