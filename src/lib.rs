//! voicegate: a voice contact-center gateway.

pub mod audio;
pub mod config;
pub mod error;
pub mod events;
pub mod models;
pub mod pipeline;

pub use error::{Error, Result};
