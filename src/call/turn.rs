//! One understood caller turn through the dialog and the escalation policy: the part a call
//! and a chat session share.

use crate::call::{EscalationPolicy, Handoff, PolicyInput, TurnFacts};
use crate::dialog::{Dialog, Progress, Reply, Turn};
use crate::nlu::NluResult;

/// What was heard, and how it sounded.
#[derive(Debug, Clone, Copy)]
pub struct CallerTurn<'a> {
    pub text: &'a str,
    /// The language to answer in.
    pub lang: &'a str,
    pub nlu: &'a NluResult,
    pub start_ms: u64,
    pub end_ms: u64,
    /// The turn's fused anger (voice and words; the words alone in chat).
    pub anger: f32,
    /// The caller spoke over the bot's last answer.
    pub interrupted_bot: bool,
}

impl CallerTurn<'_> {
    /// The policy's view of the turn, with what the dialog made of it if it answered.
    pub fn facts(&self, reply: Option<&Reply>) -> TurnFacts {
        TurnFacts {
            start_ms: self.start_ms,
            end_ms: self.end_ms,
            text: self.text.to_string(),
            lang: self.lang.to_string(),
            intent: self.nlu.intent.clone(),
            confidence: self.nlu.confidence,
            entities: self.nlu.entities.clone(),
            text_emotion: self.nlu.emotion.clone(),
            anger: self.anger,
            progress: reply.map(|r| r.progress).unwrap_or(Progress::Chat),
            in_context: reply.is_some_and(|r| r.in_context),
            interrupted_bot: self.interrupted_bot,
        }
    }
}

#[derive(Debug)]
pub struct TurnOutcome {
    pub reply: Reply,
    pub handoff: Option<Handoff>,
    /// The reply itself says the caller is being passed to a person (a request for one, a
    /// complaint, an accepted offer), so it needs no transfer prompt in its place.
    pub says_transfer: bool,
}

/// The dialog answers; the policy decides on the turn and, if the caller accepted the dialog's
/// offer of a person, on that.
pub fn take_turn(dialog: &mut dyn Dialog, policy: &mut EscalationPolicy, heard: &CallerTurn, now_ms: u64) -> TurnOutcome {
    let reply = dialog.respond(&Turn { text: heard.text, lang: heard.lang, nlu: heard.nlu });
    let mut handoff = policy.handle(PolicyInput::Turn(heard.facts(Some(&reply))), now_ms);
    if reply.handoff && handoff.is_none() {
        handoff = policy.handle(PolicyInput::AgentAccepted, now_ms);
    }
    let says_transfer = reply.handoff || matches!(heard.nlu.intent.as_str(), "human_agent" | "complaint");
    TurnOutcome { reply, handoff, says_transfer }
}
