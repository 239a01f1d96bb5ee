//! The signalling messages of an in-app call on `/v1/webrtc`, JSON text over a WebSocket:
//!
//! - page → gateway: `offer {sdp}`, `candidate {candidate, sdpMid?, sdpMLineIndex?}` (a null
//!   candidate ends the page's gathering), `hangup`.
//! - gateway → page: `hello {call_id, ice_servers, customer}`, `answer {sdp}`, `candidate`,
//!   `event {event}` (the call's events as they happen: captions), `state {state}`,
//!   `error {reason}`, `hangup {reason}`.
//!
//! Parsing is strict and bounded: a message that is not JSON, not one of these, or too large
//! is answered with an `error` naming the fault, never a panic.

use serde::{Deserialize, Serialize};

/// Largest signalling message accepted (an SDP offer from a browser is 3-6 kB).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Largest SDP accepted in an offer.
pub const MAX_SDP_BYTES: usize = 32 * 1024;

/// A trickled ICE candidate, as the browser's RTCIceCandidateInit has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// `candidate:...`; None ends the gathering.
    pub candidate: Option<String>,
    #[serde(rename = "sdpMid", default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    #[serde(rename = "sdpMLineIndex", default, skip_serializing_if = "Option::is_none")]
    pub sdp_mline_index: Option<u16>,
}

/// From the page.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromPage {
    Offer { sdp: String },
    Candidate(Candidate),
    Hangup,
}

/// An ICE server for the page's RTCPeerConnection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// To the page.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToPage {
    Hello { call_id: String, ice_servers: Vec<IceServer>, customer: String },
    Answer { sdp: String },
    Candidate(Candidate),
    /// One of the call's events, as the gateway records it.
    Event { event: serde_json::Value },
    State { state: String },
    Error { reason: String },
    Hangup { reason: String },
}

impl ToPage {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn error(reason: impl Into<String>) -> Self {
        ToPage::Error { reason: reason.into() }
    }
}

/// Reads one message from the page; the reason it cannot be used otherwise.
pub fn parse(text: &str) -> Result<FromPage, String> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(format!("message of {} bytes is over the limit of {MAX_MESSAGE_BYTES}", text.len()));
    }
    let msg: FromPage = serde_json::from_str(text).map_err(|e| format!("not a signalling message ({e})"))?;
    match &msg {
        FromPage::Offer { sdp } if sdp.len() > MAX_SDP_BYTES => Err(format!("SDP of {} bytes is over the limit of {MAX_SDP_BYTES}", sdp.len())),
        FromPage::Offer { sdp } if !sdp.trim_start().starts_with("v=0") => Err("the offer's sdp is not an SDP (it must start with v=0)".into()),
        FromPage::Candidate(Candidate { candidate: Some(c), .. }) if c.len() > 1024 => Err("candidate is over 1024 bytes".into()),
        _ => Ok(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_messages_parse() {
        assert_eq!(parse(r#"{"type":"offer","sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"}"#).unwrap(), FromPage::Offer { sdp: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n".into() });
        assert_eq!(
            parse(r#"{"type":"candidate","candidate":"candidate:1 1 udp 2122260223 192.0.2.2 50000 typ host","sdpMid":"0","sdpMLineIndex":0}"#).unwrap(),
            FromPage::Candidate(Candidate { candidate: Some("candidate:1 1 udp 2122260223 192.0.2.2 50000 typ host".into()), sdp_mid: Some("0".into()), sdp_mline_index: Some(0) })
        );
        assert_eq!(parse(r#"{"type":"candidate","candidate":null}"#).unwrap(), FromPage::Candidate(Candidate { candidate: None, sdp_mid: None, sdp_mline_index: None }));
        assert_eq!(parse(r#"{"type":"hangup"}"#).unwrap(), FromPage::Hangup);
    }

    #[test]
    fn garbage_and_oversized_messages_get_a_reason() {
        for bad in ["", "hello", "{}", "[1,2]", r#"{"type":"dance"}"#, r#"{"type":"offer"}"#, r#"{"type":"offer","sdp":"hello"}"#, "\u{0}\u{1}"] {
            let e = parse(bad).unwrap_err();
            assert!(!e.is_empty(), "{bad:?}");
        }
        let huge = format!(r#"{{"type":"offer","sdp":"v=0{}"}}"#, "a".repeat(MAX_SDP_BYTES));
        assert!(parse(&huge).unwrap_err().contains("over the limit"));
        let huger = "x".repeat(MAX_MESSAGE_BYTES + 1);
        assert!(parse(&huger).unwrap_err().contains("over the limit"));
    }

    #[test]
    fn messages_to_the_page_are_tagged_json() {
        let v: serde_json::Value = serde_json::from_str(&ToPage::Answer { sdp: "v=0".into() }.to_json()).unwrap();
        assert_eq!((v["type"].as_str(), v["sdp"].as_str()), (Some("answer"), Some("v=0")));
        let v: serde_json::Value = serde_json::from_str(&ToPage::error("bad").to_json()).unwrap();
        assert_eq!((v["type"].as_str(), v["reason"].as_str()), (Some("error"), Some("bad")));
    }
}
