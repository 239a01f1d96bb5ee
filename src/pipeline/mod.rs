//! The speech pipeline: processors and the per-call runner.

pub mod asr_pool;
pub mod conversation;
pub mod decisions;
pub mod engines;
pub mod fair_queue;
pub mod history;
pub mod playout;
pub mod qa_replay;
pub mod turns;
pub mod runner;
pub mod utterance;
pub mod vad;
pub mod whisper;

pub use engines::Engines;
pub use conversation::CallRecord;
pub use runner::{run_audio_call, run_call, run_file_call, CallSpec, EventSink, Pacing, PipelineControl};
