//! Call control: what happens to a live call as a whole, as a state machine without IO (the
//! escalation policy's habit): inputs from the legs and the pipeline, actions out, each at a
//! time on the call's clock. The IO around it (`crate::live`) carries the actions out.
//!
//! The end of a call is decided here, not left to side effects: whoever ends it (the caller's
//! BYE or hang-up, a media timeout, a failed leg, the bot after its goodbye), the call ends at
//! that moment: the pipeline stops (queued and running transcription and synthesis are
//! cancelled), the recording stops, the leg is hung up if it is still there, and the end is
//! the last event. Whatever comes after is ignored.

/// Why a call ends, as the store and the events name it.
pub type Reason = String;

/// Something that happened to the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallInput {
    /// The caller's leg is gone: `caller_hangup` (BYE, hang-up, CANCEL), `rtp_timeout`,
    /// `connection_lost`, `error`, ... The leg is already down.
    LegEnded { reason: Reason },
    /// The caller's leg is held or resumed.
    Held(bool),
    /// The bot is done with the call (its goodbye has played).
    BotDone,
    /// The pipeline failed.
    PipelineFailed,
}

/// What the IO around call control must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallAction {
    /// Stop the call's pipeline now: cancel its transcription and synthesis, stop the bot's
    /// audio where it got to.
    StopPipeline,
    /// Stop recording.
    StopRecording,
    /// Hang up the caller's leg (a BYE, a hangup message).
    HangUpCaller,
    /// The call is on hold (true) or off it.
    Hold(bool),
    /// The call is over: the last event, with the real duration.
    End { reason: Reason, duration_ms: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// The bot has the call.
    Bot { held: bool },
    Ended { reason: Reason },
}

#[derive(Debug)]
pub struct CallControl {
    phase: Phase,
    /// When the call was answered, on the call's clock.
    started_ms: u64,
}

impl CallControl {
    pub fn new(started_ms: u64) -> Self {
        Self { phase: Phase::Bot { held: false }, started_ms }
    }

    /// Why the call ended, once it has.
    pub fn ended(&self) -> Option<&str> {
        match &self.phase {
            Phase::Ended { reason } => Some(reason),
            _ => None,
        }
    }

    fn end(&mut self, reason: &str, now_ms: u64, hang_up: bool) -> Vec<CallAction> {
        self.phase = Phase::Ended { reason: reason.to_owned() };
        let mut actions = vec![CallAction::StopPipeline, CallAction::StopRecording];
        if hang_up {
            actions.push(CallAction::HangUpCaller);
        }
        actions.push(CallAction::End { reason: reason.to_owned(), duration_ms: now_ms.saturating_sub(self.started_ms) });
        actions
    }

    /// What to do about `input`, at `now_ms`.
    pub fn handle(&mut self, input: CallInput, now_ms: u64) -> Vec<CallAction> {
        let Phase::Bot { held } = self.phase.clone() else {
            // Over: nothing happens to a call after its end.
            return Vec::new();
        };
        match input {
            CallInput::LegEnded { reason } => self.end(&reason, now_ms, false),
            CallInput::BotDone => self.end("bot_hangup", now_ms, true),
            CallInput::PipelineFailed => self.end("error", now_ms, true),
            CallInput::Held(h) if h != held => {
                self.phase = Phase::Bot { held: h };
                vec![CallAction::Hold(h)]
            }
            CallInput::Held(_) => Vec::new(),
        }
    }

    /// The next time call control wants to be asked again (no timers yet: the queue and the
    /// agents bring them).
    pub fn poll_timeout(&self) -> Option<u64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_hanging_up_ends_the_call_at_that_moment_and_nothing_comes_after() {
        let mut c = CallControl::new(1_000);
        assert_eq!(c.handle(CallInput::Held(true), 2_000), vec![CallAction::Hold(true)]);
        assert!(c.handle(CallInput::Held(true), 2_100).is_empty());
        // The BYE at 6 s (5 s into the call): stop everything, the end is the last event, with
        // the real duration, and the leg is not hung up again.
        let a = c.handle(CallInput::LegEnded { reason: "caller_hangup".into() }, 6_000);
        assert_eq!(a, vec![CallAction::StopPipeline, CallAction::StopRecording, CallAction::End { reason: "caller_hangup".into(), duration_ms: 5_000 }]);
        assert_eq!(c.ended(), Some("caller_hangup"));
        // The pipeline finishing later, the bot's goodbye, another end: nothing.
        assert!(c.handle(CallInput::BotDone, 9_800).is_empty());
        assert!(c.handle(CallInput::LegEnded { reason: "rtp_timeout".into() }, 12_000).is_empty());
        assert!(c.handle(CallInput::Held(false), 12_500).is_empty());
        assert_eq!(c.ended(), Some("caller_hangup"));
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn the_bot_ending_the_call_hangs_up_the_caller() {
        let mut c = CallControl::new(0);
        let a = c.handle(CallInput::BotDone, 42_000);
        assert_eq!(a, vec![CallAction::StopPipeline, CallAction::StopRecording, CallAction::HangUpCaller, CallAction::End { reason: "bot_hangup".into(), duration_ms: 42_000 }]);
        let mut c = CallControl::new(0);
        assert!(c.handle(CallInput::PipelineFailed, 10).contains(&CallAction::HangUpCaller));
        assert_eq!(c.ended(), Some("error"));
    }

    #[test]
    fn a_media_timeout_is_the_legs_end_with_its_reason() {
        let mut c = CallControl::new(0);
        let a = c.handle(CallInput::LegEnded { reason: "rtp_timeout".into() }, 31_000);
        assert_eq!(a.last(), Some(&CallAction::End { reason: "rtp_timeout".into(), duration_ms: 31_000 }));
    }
}
