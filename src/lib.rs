//! voicegate: a voice contact-center gateway.
//!
//! Callers' audio streams through voice activity detection, Whisper speech recognition, the
//! shared NLU, the dialog and TTS; every stage reports what it did as [`events::Event`]s.
//! See `../shared/DESIGN.md` for the architecture and the contracts.

pub mod agents;
pub mod alerts;
pub mod audio;
pub mod auth;
pub mod bench;
pub mod call;
pub mod cli;
pub mod config;
pub mod dialog;
pub mod error;
pub mod events;
pub mod http;
pub mod inapp;
pub mod kb;
pub mod live;
pub mod models;
pub mod metrics;
pub mod nlu;
pub mod orders;
pub mod pii;
pub mod phone;
pub mod pipeline;
pub mod prosody;
pub mod qa;
pub mod store;
pub mod tts;

pub use error::{Error, Result};
