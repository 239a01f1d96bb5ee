//! The agents' desktops as the desk sees them: one open desktop per agent (the newest wins),
//! and what the desk tells it (an offer ringing, an offer withdrawn, the agent's state). The
//! page's signalling is `http::agent_desk`; the messages both ways are here.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::AgentState;

/// What the desk tells an agent's desktop.
#[derive(Debug, Clone, PartialEq)]
pub enum DesktopNote {
    /// A call rings for the agent; it has waited this long.
    Offer { call: String, waited_ms: u64 },
    /// The offer is off (the caller left, it rang out, it went to someone else).
    Withdrawn { call: String, why: String },
    State { state: AgentState },
    /// Another desktop of the same agent opened: this one is closed.
    Replaced,
}

/// The open desktops, by agent id.
#[derive(Default)]
pub struct Desktops {
    open: Mutex<HashMap<String, (u64, mpsc::UnboundedSender<DesktopNote>)>>,
    next: Mutex<u64>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Desktops {
    /// A desktop opened for `agent`: its number (to close it by) and what it will be told. An
    /// older desktop of the same agent is told it was replaced.
    pub fn open(&self, agent: &str) -> (u64, mpsc::UnboundedReceiver<DesktopNote>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let n = {
            let mut next = lock(&self.next);
            *next += 1;
            *next
        };
        if let Some((_, old)) = lock(&self.open).insert(agent.to_string(), (n, tx)) {
            let _ = old.send(DesktopNote::Replaced);
        }
        (n, rx)
    }

    /// The desktop `n` of `agent` closed; false when a newer one had replaced it already.
    pub fn close(&self, agent: &str, n: u64) -> bool {
        let mut open = lock(&self.open);
        if open.get(agent).is_some_and(|(m, _)| *m == n) {
            open.remove(agent);
            true
        } else {
            false
        }
    }

    /// Tells the agent's desktop; false when none is open.
    pub fn tell(&self, agent: &str, note: DesktopNote) -> bool {
        lock(&self.open).get(agent).is_some_and(|(_, tx)| tx.send(note).is_ok())
    }

    pub fn is_open(&self, agent: &str) -> bool {
        lock(&self.open).contains_key(agent)
    }
}

/// What the page sends on its socket.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromPage {
    State { state: String },
    /// Accepts the offer with the page's SDP offer (every candidate in it: no trickle).
    Accept { call: String, sdp: String },
    Decline { call: String },
    Hangup { call: String },
    Hold { call: String, on: bool },
    Mute { call: String, on: bool },
    Wrapup { call: String, disposition: String, #[serde(default)] notes: String },
}

/// Largest message a page may send (an SDP offer fits many times over).
pub const MAX_PAGE_MESSAGE_BYTES: usize = 64 * 1024;

/// What the page is told on its socket (besides `hello`, `offer` and `event`, which carry
/// JSON built where they are made).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToPage {
    State { state: AgentState, since: String },
    Withdrawn { call: String, why: String },
    Answer { call: String, sdp: String },
    Connected { call: String },
    Ended { call: String, reason: String },
    WrapupSaved { call: String },
    Error { message: String },
}

impl ToPage {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{\"type\":\"error\",\"message\":\"unserialisable\"}".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_desktop_of_an_agent_is_told_and_the_older_replaced() {
        let d = Desktops::default();
        assert!(!d.tell("ann", DesktopNote::State { state: AgentState::Available }));
        let (first, mut rx1) = d.open("ann");
        let (second, mut rx2) = d.open("ann");
        assert_eq!(rx1.try_recv().unwrap(), DesktopNote::Replaced);
        assert!(d.tell("ann", DesktopNote::Offer { call: "c1".into(), waited_ms: 5 }));
        assert_eq!(rx2.try_recv().unwrap(), DesktopNote::Offer { call: "c1".into(), waited_ms: 5 });
        assert!(!d.close("ann", first), "the old one no longer counts");
        assert!(d.is_open("ann"));
        assert!(d.close("ann", second));
        assert!(!d.is_open("ann"));
    }

    #[test]
    fn page_messages_parse_and_bad_ones_are_refused() {
        let m: FromPage = serde_json::from_str(r#"{"type":"accept","call":"c1","sdp":"v=0"}"#).unwrap();
        assert_eq!(m, FromPage::Accept { call: "c1".into(), sdp: "v=0".into() });
        let m: FromPage = serde_json::from_str(r#"{"type":"wrapup","call":"c1","disposition":"resolved"}"#).unwrap();
        assert_eq!(m, FromPage::Wrapup { call: "c1".into(), disposition: "resolved".into(), notes: String::new() });
        assert!(serde_json::from_str::<FromPage>(r#"{"type":"accept","call":"c1"}"#).is_err());
        assert!(serde_json::from_str::<FromPage>(r#"{"type":"dance"}"#).is_err());
        let out = ToPage::Answer { call: "c1".into(), sdp: "v=0".into() }.to_json();
        assert_eq!(out, r#"{"type":"answer","call":"c1","sdp":"v=0"}"#);
    }
}
