//! Models: the manifest, the resolver that finds or fetches each file, and downloads.

pub mod download;
pub mod manifest;
pub mod resolve;

pub use manifest::{Manifest, ModelSpec};
pub use resolve::{ModelResolver, Origin, Resolved};
