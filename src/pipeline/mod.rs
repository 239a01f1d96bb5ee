//! The speech pipeline: processors and the per-call runner.

pub mod asr_pool;
pub mod engines;
pub mod fair_queue;
pub mod history;
pub mod runner;
pub mod utterance;
pub mod vad;
pub mod whisper;

pub use engines::Engines;
pub use runner::{run_call, CallOutcome, CallSpec, EventSink};
