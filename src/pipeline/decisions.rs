//! What a call decided, turn by turn (what it heard, understood, answered, handed off), and
//! where two runs of the same call differ: the heart of a QA replay.

use serde::Serialize;

use crate::events::{Event, EventKind};

/// One decision of a call, at its time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub t_ms: u64,
    /// heard | intent | reply | handoff | dtmf
    pub kind: &'static str,
    pub value: String,
}

/// The decisions in a call's events, in order.
pub fn decisions(events: &[Event]) -> Vec<Decision> {
    let mut out = Vec::new();
    for e in events {
        let (kind, value) = match &e.kind {
            // The caller's words: what a replay of the caller's channel hears again.
            EventKind::Transcript { is_final: true, text, speaker, .. } if speaker == "caller" => ("heard", text.trim().to_string()),
            EventKind::Intent { intent, .. } => ("intent", intent.clone()),
            EventKind::BotReply { text, .. } => ("reply", text.clone()),
            EventKind::Handoff { reason, .. } => ("handoff", reason.clone()),
            EventKind::Dtmf { digit, .. } => ("dtmf", digit.clone()),
            _ => continue,
        };
        out.push(Decision { t_ms: e.t_ms, kind, value });
    }
    out
}

/// A line of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "diff", rename_all = "snake_case")]
pub enum Line {
    Same { recorded: Decision },
    /// The recorded call decided this; the replay did not.
    Recorded { recorded: Decision },
    /// The replay decided this; the recorded call did not.
    Now { now: Decision },
    /// The same kind of decision at the same place, with another value.
    Changed { recorded: Decision, now: Decision },
}

impl Line {
    pub fn differs(&self) -> bool {
        !matches!(self, Line::Same { .. })
    }
}

/// Aligns the two runs' decisions (longest common subsequence on kind and value) and pairs a
/// lone recorded decision with a lone new one of the same kind as a change.
pub fn compare(recorded: &[Decision], now: &[Decision]) -> Vec<Line> {
    let (n, m) = (recorded.len(), now.len());
    let same = |i: usize, j: usize| recorded[i].kind == now[j].kind && recorded[i].value == now[j].value;
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if same(i, j) { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut raw = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && same(i, j) {
            raw.push(Line::Same { recorded: recorded[i].clone() });
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            raw.push(Line::Now { now: now[j].clone() });
            j += 1;
        } else {
            raw.push(Line::Recorded { recorded: recorded[i].clone() });
            i += 1;
        }
    }
    // A removal next to an addition of the same kind is one change.
    let mut out: Vec<Line> = Vec::new();
    for line in raw {
        let merged = match (out.last(), &line) {
            (Some(Line::Recorded { recorded }), Line::Now { now }) if recorded.kind == now.kind => Some(Line::Changed { recorded: recorded.clone(), now: now.clone() }),
            (Some(Line::Now { now }), Line::Recorded { recorded }) if recorded.kind == now.kind => Some(Line::Changed { recorded: recorded.clone(), now: now.clone() }),
            _ => None,
        };
        match merged {
            Some(c) => {
                out.pop();
                out.push(c);
            }
            None => out.push(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(kind: &'static str, value: &str) -> Decision {
        Decision { t_ms: 0, kind, value: value.into() }
    }

    #[test]
    fn pairs_changes_and_keeps_what_is_the_same() {
        let rec = [d("heard", "where is my order"), d("intent", "track_order"), d("reply", "Which order?"), d("handoff", "anger")];
        let now = [d("heard", "where is my order"), d("intent", "cancel_order"), d("reply", "Which order?")];
        let lines = compare(&rec, &now);
        assert_eq!(lines.len(), 4);
        assert!(matches!(&lines[0], Line::Same { .. }));
        assert_eq!(lines[1], Line::Changed { recorded: d("intent", "track_order"), now: d("intent", "cancel_order") });
        assert!(matches!(&lines[2], Line::Same { .. }));
        assert_eq!(lines[3], Line::Recorded { recorded: d("handoff", "anger") });
        assert_eq!(lines.iter().filter(|l| l.differs()).count(), 2);
        assert!(compare(&rec, &rec).iter().all(|l| !l.differs()));
        assert!(compare(&[], &[]).is_empty());
    }
}
