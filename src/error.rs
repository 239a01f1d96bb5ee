//! Errors grouped by who is at fault (the rustls habit): bad input from a file or the network,
//! bad configuration, a model that is not available, or a fault of ours. The CLI maps the first
//! three to exit code 2 with a one-line reason, and only our own faults to exit code 1.

use std::path::{Path, PathBuf};

/// Every error voicegate reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller's data is at fault: an unreadable or malformed file, a bad argument.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The configuration is at fault.
    #[error("config: {0}")]
    Config(String),
    /// A model file could not be found or fetched.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Our fault: a bug or an environment we cannot work in.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The process exit code for this error: 2 for anything the user can fix, 1 for our faults.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Internal(_) => 1,
            _ => 2,
        }
    }

    pub fn internal(msg: impl std::fmt::Display) -> Self {
        Error::Internal(msg.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Bad input: what a user or a peer handed us.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{}: no such file", .path.display())]
    NotFound { path: PathBuf },
    #[error("{}: cannot read: {reason}", .path.display())]
    Unreadable { path: PathBuf, reason: String },
    /// Something named on the command line or in a request that is not usable (a call id, a
    /// SIP URI that does not answer).
    #[error("{what}: {reason}")]
    Unusable { what: String, reason: String },
    #[error("{}: empty file", .path.display())]
    Empty { path: PathBuf },
    #[error("{}: not an audio file ({reason})", .path.display())]
    NotAudio { path: PathBuf, reason: String },
    #[error("{}: truncated or corrupt audio ({reason})", .path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("{}: has {channels} channel(s); channel {requested} does not exist (channels count from 0)", .path.display())]
    NoSuchChannel {
        path: PathBuf,
        channels: usize,
        requested: usize,
    },
    #[error("{}: contains no audio samples", .path.display())]
    NoSamples { path: PathBuf },
    #[error("{0}")]
    Invalid(String),
}

impl InputError {
    /// Maps an I/O error on opening `path` to the input error a user understands.
    pub fn from_io(path: &Path, err: std::io::Error) -> Self {
        match err.kind() {
            std::io::ErrorKind::NotFound => InputError::NotFound { path: path.to_owned() },
            _ => InputError::Unreadable {
                path: path.to_owned(),
                reason: err.to_string(),
            },
        }
    }
}

/// A model that is not where we looked and could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("unknown model `{name}` (known: {known})")]
    Unknown { name: String, known: String },
    #[error(
        "model file {file} not found (looked in: {looked}); downloads are off. \
         Fetch it from {url} and put it in models/ or in the folder named by $VOICEGATE_MODELS"
    )]
    Missing {
        file: String,
        url: String,
        looked: String,
    },
    #[error(
        "model file {file} not found (looked in: {looked}) and the download from {url} failed: {reason}. \
         Put the file in models/ or in the folder named by $VOICEGATE_MODELS"
    )]
    DownloadFailed {
        file: String,
        url: String,
        looked: String,
        reason: String,
    },
    #[error("model file {} does not match the manifest checksum (got {got}); delete it and fetch it again from {url}", .path.display())]
    ChecksumMismatch { path: PathBuf, got: String, url: String },
    #[error("model file {} could not be loaded: {reason}", .path.display())]
    Load { path: PathBuf, reason: String },
}
