//! voicegate: a voice contact-center gateway.

pub mod audio;
pub mod config;
pub mod error;

pub use error::{Error, Result};
