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

/// An audio track a participant may hear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    /// The bot's voice (answers, announcements).
    Bot,
    /// Hold audio while the caller waits; the bot's announcements play over it.
    Hold,
    Caller,
    Agent,
    /// The summary spoken to the agent before the caller is put through.
    Whisper,
}

/// Who hears whom: the table call control wants; the IO around it makes it so. The recording
/// is what the caller hears on the right channel, so a whisper to the agent is not in it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hearing {
    pub caller: Vec<Track>,
    pub agent: Vec<Track>,
}

impl Hearing {
    /// The bot has the call.
    pub fn bot() -> Self {
        Self { caller: vec![Track::Bot], agent: vec![] }
    }
    /// Waiting for an agent: hold audio, with the bot's announcements.
    pub fn queue() -> Self {
        Self { caller: vec![Track::Bot, Track::Hold], agent: vec![] }
    }
    /// The agent hears the summary; the caller still hears hold (and the end of what the bot
    /// was saying).
    pub fn whisper() -> Self {
        Self { caller: vec![Track::Bot, Track::Hold], agent: vec![Track::Whisper] }
    }
    /// Caller and agent hear each other.
    pub fn bridged() -> Self {
        Self { caller: vec![Track::Agent], agent: vec![Track::Caller] }
    }
}

/// Why a call leaves the queue before an agent takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftQueue {
    /// The caller hung up.
    Abandoned,
    /// The caller asked to be called back (or waited too long and is called back).
    Callback,
    /// The caller chose to leave a voice message.
    VoiceMessage,
}

/// The key a waiting caller presses to be called back instead.
pub const CALLBACK_KEY: char = '1';
/// The key a waiting caller presses to leave a voice message instead.
pub const VOICE_MESSAGE_KEY: char = '2';
/// The key that ends a voice message (hanging up does too).
pub const MESSAGE_END_KEY: char = '#';
/// Why an agent's leg ended when their desktop vanished (closed, lost its network) rather
/// than hung up.
pub const AGENT_LOST: &str = "agent_lost";

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
    /// The escalation policy handed the call to a person: it goes to the agents' queue.
    HandedOff { reason: String, lang: String, skill: Option<String> },
    /// The caller pressed a key.
    Key(char),
    /// The queue put an agent through (they answered the offer).
    AgentConnected { agent: String },
    /// The whisper to the agent has played.
    WhisperDone,
    /// The agent's leg is gone (`agent_hangup`, `lost`, ...).
    AgentLeft { reason: Reason },
    /// The queue gave up on the call (maximum wait, closed): a callback instead.
    QueueGaveUp,
    /// Nobody pressed a key for the survey in time.
    SurveyTimedOut,
    /// The voice message reached its longest.
    MessageFull,
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
    /// Put the call in the agents' queue.
    Enqueue { reason: String, lang: String, skill: Option<String> },
    /// Take it out of the queue (an offer ringing for it is withdrawn).
    LeaveQueue(LeftQueue),
    /// Make a callback ticket with the call's context, tell the caller, and let the bot end
    /// the call.
    Callback,
    /// Ask the caller for their message and record it (until `MESSAGE_END_KEY`,
    /// `MessageFull` or their hang-up).
    RecordMessage,
    /// The message is over: keep it with a callback ticket; thank the caller (unless they
    /// are gone) and let the bot end the call.
    MessageTaken { caller_gone: bool },
    /// Who hears whom from now on.
    Hear(Hearing),
    /// Speak the call's summary to the agent (then `WhisperDone`).
    PlayWhisper { agent: String },
    /// Hang up the agent's leg.
    HangUpAgent,
    /// The agent is done with this call (wrap-up).
    AgentDone { agent: String },
    /// Ask the caller to rate the call on the keypad (then a key, or `SurveyTimedOut`).
    AskSurvey,
    /// The caller's rating, 1 to 5: store it, thank them, let the bot end the call.
    SurveyAnswered(u8),
    /// No rating came: the bot says goodbye and ends the call.
    SurveyGoodbye,
    /// The call is over: the last event, with the real duration.
    End { reason: Reason, duration_ms: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// The bot has the call.
    Bot { held: bool },
    /// Waiting for an agent (the bot still listens and announces).
    Queued { held: bool, request: (String, String, Option<String>) },
    /// An agent answered and hears the summary.
    Whisper { agent: String, request: (String, String, Option<String>) },
    /// Caller and agent talk.
    Bridged { agent: String, request: (String, String, Option<String>) },
    /// The agent hung up; the caller is asked to rate the call.
    Survey { answered: bool },
    /// The caller leaves a voice message.
    Message,
    Ended { reason: Reason },
}

#[derive(Debug)]
pub struct CallControl {
    phase: Phase,
    /// When the call was answered, on the call's clock.
    started_ms: u64,
    /// After the agent hangs up, the caller is asked for a rating.
    survey: bool,
}

impl CallControl {
    pub fn new(started_ms: u64) -> Self {
        Self { phase: Phase::Bot { held: false }, started_ms, survey: false }
    }

    /// With the keypad survey after the agent's part of the call.
    pub fn with_survey(mut self, survey: bool) -> Self {
        self.survey = survey;
        self
    }

    /// Why the call ended, once it has.
    pub fn ended(&self) -> Option<&str> {
        match &self.phase {
            Phase::Ended { reason } => Some(reason),
            _ => None,
        }
    }

    /// The agent the call is with (whisper or bridged).
    pub fn agent(&self) -> Option<&str> {
        match &self.phase {
            Phase::Whisper { agent, .. } | Phase::Bridged { agent, .. } => Some(agent),
            _ => None,
        }
    }

    /// Whether the call waits in the agents' queue.
    pub fn queued(&self) -> bool {
        matches!(self.phase, Phase::Queued { .. })
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
        match (self.phase.clone(), input) {
            // Over: nothing happens to a call after its end.
            (Phase::Ended { .. }, _) => Vec::new(),
            (_, CallInput::PipelineFailed) => {
                let mut a = self.let_agent_go();
                a.extend(self.end("error", now_ms, true));
                a
            }
            (Phase::Bot { .. }, CallInput::LegEnded { reason }) => self.end(&reason, now_ms, false),
            (Phase::Bot { .. }, CallInput::BotDone) => self.end("bot_hangup", now_ms, true),
            (Phase::Bot { held }, CallInput::Held(h)) if h != held => {
                self.phase = Phase::Bot { held: h };
                vec![CallAction::Hold(h)]
            }
            (Phase::Bot { held }, CallInput::HandedOff { reason, lang, skill }) => {
                self.phase = Phase::Queued { held, request: (reason.clone(), lang.clone(), skill.clone()) };
                vec![CallAction::Enqueue { reason, lang, skill }, CallAction::Hear(Hearing::queue())]
            }
            (Phase::Queued { held, request }, CallInput::Held(h)) if h != held => {
                self.phase = Phase::Queued { held: h, request };
                vec![CallAction::Hold(h)]
            }
            (Phase::Queued { .. }, CallInput::Key(CALLBACK_KEY)) | (Phase::Queued { .. }, CallInput::QueueGaveUp) => {
                self.phase = Phase::Bot { held: false };
                vec![CallAction::LeaveQueue(LeftQueue::Callback), CallAction::Hear(Hearing::bot()), CallAction::Callback]
            }
            (Phase::Queued { .. }, CallInput::Key(VOICE_MESSAGE_KEY)) => {
                self.phase = Phase::Message;
                vec![CallAction::LeaveQueue(LeftQueue::VoiceMessage), CallAction::Hear(Hearing::bot()), CallAction::RecordMessage]
            }
            (Phase::Message, CallInput::Key(MESSAGE_END_KEY)) | (Phase::Message, CallInput::MessageFull) => {
                self.phase = Phase::Bot { held: false };
                vec![CallAction::MessageTaken { caller_gone: false }]
            }
            (Phase::Message, CallInput::LegEnded { reason }) => {
                let mut a = vec![CallAction::MessageTaken { caller_gone: true }];
                a.extend(self.end(&reason, now_ms, false));
                a
            }
            (Phase::Message, CallInput::BotDone) => {
                let mut a = vec![CallAction::MessageTaken { caller_gone: true }];
                a.extend(self.end("closed", now_ms, true));
                a
            }
            (Phase::Queued { .. }, CallInput::LegEnded { reason }) => {
                let mut a = vec![CallAction::LeaveQueue(LeftQueue::Abandoned)];
                a.extend(self.end(&reason, now_ms, false));
                a
            }
            (Phase::Queued { request, .. }, CallInput::AgentConnected { agent }) => {
                self.phase = Phase::Whisper { agent: agent.clone(), request };
                vec![CallAction::Hear(Hearing::whisper()), CallAction::PlayWhisper { agent }]
            }
            (Phase::Whisper { agent, request }, CallInput::WhisperDone) => {
                self.phase = Phase::Bridged { agent, request };
                vec![CallAction::Hear(Hearing::bridged())]
            }
            // The agent went before the caller was put through: the caller waits for the next.
            (Phase::Whisper { agent, request }, CallInput::AgentLeft { .. }) => {
                let (reason, lang, skill) = request.clone();
                self.phase = Phase::Queued { held: false, request };
                vec![CallAction::AgentDone { agent }, CallAction::Enqueue { reason, lang, skill }, CallAction::Hear(Hearing::queue())]
            }
            // The agent's desktop vanished mid-call (not a hang-up): the caller is not dropped
            // but waits for the next agent.
            (Phase::Bridged { agent, request }, CallInput::AgentLeft { reason }) if reason == AGENT_LOST => {
                let (reason, lang, skill) = request;
                self.phase = Phase::Queued { held: false, request: (reason.clone(), lang.clone(), skill.clone()) };
                vec![CallAction::AgentDone { agent }, CallAction::Enqueue { reason, lang, skill }, CallAction::Hear(Hearing::queue())]
            }
            (Phase::Bridged { agent, .. }, CallInput::AgentLeft { .. }) => {
                let mut a = vec![CallAction::AgentDone { agent }];
                if self.survey {
                    self.phase = Phase::Survey { answered: false };
                    a.extend([CallAction::Hear(Hearing::bot()), CallAction::AskSurvey]);
                } else {
                    a.extend(self.end("agent_hangup", now_ms, true));
                }
                a
            }
            (Phase::Survey { answered: false }, CallInput::Key(k)) if ('1'..='5').contains(&k) => {
                self.phase = Phase::Survey { answered: true };
                vec![CallAction::SurveyAnswered(k as u8 - b'0')]
            }
            (Phase::Survey { answered: false }, CallInput::SurveyTimedOut) => {
                self.phase = Phase::Survey { answered: true };
                vec![CallAction::SurveyGoodbye]
            }
            // The bot's thanks or goodbye has played.
            (Phase::Survey { .. }, CallInput::BotDone) => self.end("agent_hangup", now_ms, true),
            (Phase::Survey { .. }, CallInput::LegEnded { reason }) => self.end(&reason, now_ms, false),
            (Phase::Whisper { .. } | Phase::Bridged { .. }, CallInput::LegEnded { reason }) => {
                let mut a = self.let_agent_go();
                a.extend(self.end(&reason, now_ms, false));
                a
            }
            (Phase::Whisper { .. } | Phase::Bridged { .. }, CallInput::Held(h)) => vec![CallAction::Hold(h)],
            // An agent answered as the caller left the queue (a callback, the survey): they
            // are let go at once.
            (Phase::Bot { .. } | Phase::Survey { .. } | Phase::Message, CallInput::AgentConnected { agent }) => vec![CallAction::HangUpAgent, CallAction::AgentDone { agent }],
            // The pipeline stopped without the leg's end (its audio closed): over.
            (Phase::Queued { .. } | Phase::Whisper { .. } | Phase::Bridged { .. }, CallInput::BotDone) => {
                let mut a = self.let_agent_go();
                a.extend(self.end("closed", now_ms, true));
                a
            }
            _ => Vec::new(),
        }
    }

    /// The call is ending with an agent on it or waiting for one: the agent's leg is hung
    /// up and they are done with the call, or the call leaves the queue.
    fn let_agent_go(&self) -> Vec<CallAction> {
        match &self.phase {
            Phase::Whisper { agent, .. } | Phase::Bridged { agent, .. } => vec![CallAction::HangUpAgent, CallAction::AgentDone { agent: agent.clone() }],
            Phase::Queued { .. } => vec![CallAction::LeaveQueue(LeftQueue::Abandoned)],
            _ => Vec::new(),
        }
    }

    /// The next time call control wants to be asked again (none: the queue keeps the clock).
    pub fn poll_timeout(&self) -> Option<u64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiting_caller_leaves_a_voice_message_ended_by_the_hash_key_or_by_hanging_up() {
        let queued = || {
            let mut c = CallControl::new(0);
            c.handle(CallInput::HandedOff { reason: "caller_request".into(), lang: "en".into(), skill: None }, 1_000);
            c
        };
        let mut c = queued();
        assert_eq!(c.handle(CallInput::Key(VOICE_MESSAGE_KEY), 5_000), vec![CallAction::LeaveQueue(LeftQueue::VoiceMessage), CallAction::Hear(Hearing::bot()), CallAction::RecordMessage]);
        // Keys other than the end are part of the message; an agent answering now is let go.
        assert!(c.handle(CallInput::Key('1'), 6_000).is_empty());
        assert_eq!(c.handle(CallInput::AgentConnected { agent: "ann".into() }, 6_500), vec![CallAction::HangUpAgent, CallAction::AgentDone { agent: "ann".into() }]);
        assert_eq!(c.handle(CallInput::Key(MESSAGE_END_KEY), 20_000), vec![CallAction::MessageTaken { caller_gone: false }]);
        // The bot thanks them and ends the call.
        assert_eq!(c.handle(CallInput::BotDone, 24_000).last(), Some(&CallAction::End { reason: "bot_hangup".into(), duration_ms: 24_000 }));
        // Hanging up ends the message and the call; so does the longest message.
        let mut c = queued();
        c.handle(CallInput::Key(VOICE_MESSAGE_KEY), 5_000);
        let a = c.handle(CallInput::LegEnded { reason: "caller_hangup".into() }, 15_000);
        assert_eq!(a[0], CallAction::MessageTaken { caller_gone: true });
        assert_eq!(c.ended(), Some("caller_hangup"));
        let mut c = queued();
        c.handle(CallInput::Key(VOICE_MESSAGE_KEY), 5_000);
        assert_eq!(c.handle(CallInput::MessageFull, 65_000), vec![CallAction::MessageTaken { caller_gone: false }]);
    }

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

    fn handed_off(c: &mut CallControl) {
        let a = c.handle(CallInput::HandedOff { reason: "anger".into(), lang: "en".into(), skill: Some("returns".into()) }, 5_000);
        assert_eq!(a, vec![CallAction::Enqueue { reason: "anger".into(), lang: "en".into(), skill: Some("returns".into()) }, CallAction::Hear(Hearing::queue())]);
        assert!(c.queued());
    }

    #[test]
    fn a_handed_off_call_waits_then_the_agent_hears_the_whisper_then_both_talk() {
        let mut c = CallControl::new(0);
        handed_off(&mut c);
        // Keys other than the callback key are not call control.
        assert!(c.handle(CallInput::Key('5'), 6_000).is_empty());
        let a = c.handle(CallInput::AgentConnected { agent: "alice".into() }, 20_000);
        assert_eq!(a, vec![CallAction::Hear(Hearing::whisper()), CallAction::PlayWhisper { agent: "alice".into() }]);
        assert!(Hearing::whisper().caller.contains(&Track::Hold) && !Hearing::whisper().caller.contains(&Track::Whisper), "the caller does not hear the whisper");
        assert_eq!(c.handle(CallInput::WhisperDone, 23_000), vec![CallAction::Hear(Hearing::bridged())]);
        assert_eq!(c.agent(), Some("alice"));
        // The agent hangs up: the call is over, the caller hung up by us, the agent wraps up.
        let a = c.handle(CallInput::AgentLeft { reason: "agent_hangup".into() }, 60_000);
        assert_eq!(a[0], CallAction::AgentDone { agent: "alice".into() });
        assert!(a.contains(&CallAction::HangUpCaller));
        assert_eq!(a.last(), Some(&CallAction::End { reason: "agent_hangup".into(), duration_ms: 60_000 }));
    }

    #[test]
    fn the_caller_hanging_up_lets_the_agent_go_or_abandons_the_queue() {
        let mut c = CallControl::new(0);
        handed_off(&mut c);
        let a = c.handle(CallInput::LegEnded { reason: "caller_hangup".into() }, 9_000);
        assert_eq!(a[0], CallAction::LeaveQueue(LeftQueue::Abandoned));
        assert!(!a.contains(&CallAction::HangUpCaller));
        let mut c = CallControl::new(0);
        handed_off(&mut c);
        c.handle(CallInput::AgentConnected { agent: "bob".into() }, 10_000);
        c.handle(CallInput::WhisperDone, 12_000);
        let a = c.handle(CallInput::LegEnded { reason: "caller_hangup".into() }, 30_000);
        assert_eq!(&a[..2], &[CallAction::HangUpAgent, CallAction::AgentDone { agent: "bob".into() }]);
        assert_eq!(a.last(), Some(&CallAction::End { reason: "caller_hangup".into(), duration_ms: 30_000 }));
        assert!(c.handle(CallInput::AgentLeft { reason: "agent_hangup".into() }, 30_100).is_empty(), "nothing after the end");
    }

    #[test]
    fn a_desktop_vanishing_mid_call_puts_the_caller_back_in_the_queue() {
        let mut c = CallControl::new(0).with_survey(true);
        handed_off(&mut c);
        c.handle(CallInput::AgentConnected { agent: "alice".into() }, 10_000);
        c.handle(CallInput::WhisperDone, 13_000);
        let a = c.handle(CallInput::AgentLeft { reason: AGENT_LOST.into() }, 40_000);
        assert_eq!(a, vec![CallAction::AgentDone { agent: "alice".into() }, CallAction::Enqueue { reason: "anger".into(), lang: "en".into(), skill: Some("returns".into()) }, CallAction::Hear(Hearing::queue())]);
        assert!(c.queued() && c.ended().is_none());
        // The next agent takes it as the first did.
        assert_eq!(c.handle(CallInput::AgentConnected { agent: "bo".into() }, 50_000), vec![CallAction::Hear(Hearing::whisper()), CallAction::PlayWhisper { agent: "bo".into() }]);
    }

    #[test]
    fn an_agent_gone_during_the_whisper_puts_the_caller_back_in_the_queue() {
        let mut c = CallControl::new(0);
        handed_off(&mut c);
        c.handle(CallInput::AgentConnected { agent: "alice".into() }, 10_000);
        let a = c.handle(CallInput::AgentLeft { reason: "agent_hangup".into() }, 11_000);
        assert_eq!(a, vec![CallAction::AgentDone { agent: "alice".into() }, CallAction::Enqueue { reason: "anger".into(), lang: "en".into(), skill: Some("returns".into()) }, CallAction::Hear(Hearing::queue())]);
        assert!(c.queued() && c.ended().is_none());
    }

    #[test]
    fn the_callback_key_or_a_queue_giving_up_leaves_the_queue_for_a_callback() {
        for input in [CallInput::Key(CALLBACK_KEY), CallInput::QueueGaveUp] {
            let mut c = CallControl::new(0);
            handed_off(&mut c);
            let a = c.handle(input, 15_000);
            assert_eq!(a, vec![CallAction::LeaveQueue(LeftQueue::Callback), CallAction::Hear(Hearing::bot()), CallAction::Callback]);
            // An agent who answered just then is let go.
            assert_eq!(c.handle(CallInput::AgentConnected { agent: "ann".into() }, 15_100), vec![CallAction::HangUpAgent, CallAction::AgentDone { agent: "ann".into() }]);
            // The bot says so and ends the call.
            assert!(c.handle(CallInput::BotDone, 20_000).contains(&CallAction::HangUpCaller));
        }
    }

    #[test]
    fn with_the_survey_the_caller_rates_the_call_after_the_agent_hangs_up() {
        let mut c = CallControl::new(0).with_survey(true);
        handed_off(&mut c);
        c.handle(CallInput::AgentConnected { agent: "ann".into() }, 10_000);
        c.handle(CallInput::WhisperDone, 12_000);
        let a = c.handle(CallInput::AgentLeft { reason: "agent_hangup".into() }, 60_000);
        assert_eq!(a, vec![CallAction::AgentDone { agent: "ann".into() }, CallAction::Hear(Hearing::bot()), CallAction::AskSurvey]);
        assert!(c.handle(CallInput::Key('9'), 61_000).is_empty(), "not a rating");
        assert_eq!(c.handle(CallInput::Key('4'), 62_000), vec![CallAction::SurveyAnswered(4)]);
        assert!(c.handle(CallInput::Key('5'), 62_500).is_empty(), "one rating");
        assert!(c.handle(CallInput::SurveyTimedOut, 70_000).is_empty());
        assert_eq!(c.handle(CallInput::BotDone, 64_000).last(), Some(&CallAction::End { reason: "agent_hangup".into(), duration_ms: 64_000 }));
        // No key: goodbye.
        let mut c = CallControl::new(0).with_survey(true);
        handed_off(&mut c);
        c.handle(CallInput::AgentConnected { agent: "ann".into() }, 10_000);
        c.handle(CallInput::WhisperDone, 12_000);
        c.handle(CallInput::AgentLeft { reason: "agent_hangup".into() }, 20_000);
        assert_eq!(c.handle(CallInput::SurveyTimedOut, 30_000), vec![CallAction::SurveyGoodbye]);
    }
}
