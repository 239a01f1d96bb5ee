//! voicegate's WebRTC edge, and the only crate that imports the WebRTC stack (webrtc-rs 0.21):
//! one peer connection per in-app call, as the answerer for callers' browsers and apps or as
//! the offerer for `voicegate dial ws://...`. Codecs stay outside, as in the phone leg: payloads
//! in and out are Opus packets, one 20 ms slot at a time.
//!
//! - `sdp`: what an offer must have, and the repairs the stack needs (without IO).
//! - `session`: the peer connection: offer/answer, trickled ICE, its state, the end.
//! - `signal`: the signalling messages between the caller's page and the gateway (JSON).
//! - `media`: the caller's packets through a jitter buffer into 20 ms slots (RFC 4733 keys
//!   apart), the bot's packets out paced at 20 ms.

pub mod media;
pub mod sdp;
pub mod session;
pub mod signal;

pub use media::{Inbound, MediaStats, Outbound};
pub use session::{Candidate, EndpointConfig, IceServer, Session, SessionError, SessionEvent, SessionIo};
