//! voicegate: a voice contact-center gateway.

pub mod audio;
pub mod config;
pub mod error;
pub mod models;

pub use error::{Error, Result};
