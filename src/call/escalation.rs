//! The escalation policy: when a call goes to a person, and what the agent is told.
//!
//! A state machine without IO or clocks: `handle(input, now_ms)` takes one thing that happened
//! (a caller turn with its NLU, emotion and the dialog's progress, a prosody score while the
//! caller speaks, a key press, a bot line) and returns a `Handoff` at most once per call.
//! Reasons, in the order they are checked: dtmf, caller_request, high_risk, anger,
//! not_understood, unresolved (`../shared/DESIGN.md`).

use serde::{Deserialize, Serialize};

use crate::config::EscalationConfig;
use crate::dialog::Progress;
use crate::nlu::entities::{Entity, EntityType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    CallerRequest,
    Anger,
    NotUnderstood,
    Unresolved,
    HighRisk,
    Dtmf,
}

impl Reason {
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::CallerRequest => "caller_request",
            Reason::Anger => "anger",
            Reason::NotUnderstood => "not_understood",
            Reason::Unresolved => "unresolved",
            Reason::HighRisk => "high_risk",
            Reason::Dtmf => "dtmf",
        }
    }

    /// For the agent's summary line.
    fn explain(&self) -> &'static str {
        match self {
            Reason::CallerRequest => "asked for a person",
            Reason::Anger => "sounds angry",
            Reason::NotUnderstood => "was not understood twice in a row",
            Reason::Unresolved => "still has the request unresolved after several turns",
            Reason::HighRisk => "has a high-risk request",
            Reason::Dtmf => "pressed the key for a person",
        }
    }
}

/// One caller turn, as the policy sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnFacts {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    pub lang: String,
    pub intent: String,
    pub confidence: f32,
    pub entities: Vec<Entity>,
    /// The NLU's text emotion label.
    pub text_emotion: String,
    /// The fused anger score of the turn (voice and words).
    pub anger: f32,
    /// What the dialog made of the turn.
    pub progress: Progress,
    /// The dialog took the turn as the answer to its question (so it was understood).
    pub in_context: bool,
    /// The caller spoke over the bot's last answer (so they did not hear its question).
    pub interrupted_bot: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PolicyInput {
    Turn(TurnFacts),
    /// The voice's anger score of the utterance in progress (which began at `utterance_start_ms`).
    ProsodyPartial { anger: f32, utterance_start_ms: u64 },
    /// An utterance has just ended, its words not yet heard: whatever they are, the turn's
    /// fused anger will be at least `anger_floor` (the voice's share alone). Where that makes
    /// it the angry turn that completes `anger_turns`, the decision need not wait for the
    /// transcript.
    VoiceEnded { anger_floor: f32 },
    Dtmf { digit: char },
    BotSaid { text: String },
    /// The caller accepted the dialog's offer of a person.
    AgentAccepted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub t_ms: u64,
    /// "caller" or "bot".
    pub speaker: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentAt {
    pub t_ms: u64,
    pub intent: String,
    pub confidence: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmotionAt {
    pub t_ms: u64,
    /// The text emotion of the turn, and its fused anger score.
    pub label: String,
    pub anger: f32,
}

/// What the agent's screen shows when the call arrives.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HandoffContext {
    pub summary: String,
    pub transcript: Vec<Line>,
    pub intents: Vec<IntentAt>,
    /// Every entity the caller gave, latest first per type.
    pub entities: Vec<Entity>,
    pub emotions: Vec<EmotionAt>,
    pub lang: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Handoff {
    pub reason: Reason,
    pub context: HandoffContext,
}

#[derive(Debug)]
pub struct EscalationPolicy {
    cfg: EscalationConfig,
    handed_off: bool,
    transcript: Vec<Line>,
    intents: Vec<IntentAt>,
    entities: Vec<Entity>,
    emotions: Vec<EmotionAt>,
    lang: String,
    angry_turns: u32,
    not_understood: u32,
    /// Turns since the open request began, while it is unresolved.
    unresolved: u32,
    request: Option<String>,
    /// The utterance (its start) whose voice has stayed over `anger_sustained`, and since when.
    sustained_since: Option<(u64, u64)>,
}

/// Intents that are a request (something to get done), not conversation.
fn is_request(intent: &str) -> bool {
    !matches!(intent, "greeting" | "goodbye" | "affirm" | "deny" | "out_of_scope")
}

impl EscalationPolicy {
    pub fn new(cfg: EscalationConfig) -> Self {
        Self {
            cfg,
            handed_off: false,
            transcript: Vec::new(),
            intents: Vec::new(),
            entities: Vec::new(),
            emotions: Vec::new(),
            lang: "en".into(),
            angry_turns: 0,
            not_understood: 0,
            unresolved: 0,
            request: None,
            sustained_since: None,
        }
    }

    pub fn handed_off(&self) -> bool {
        self.handed_off
    }

    /// Takes what happened at `now_ms`; returns the handoff when this input triggers it.
    pub fn handle(&mut self, input: PolicyInput, now_ms: u64) -> Option<Handoff> {
        let reason = match input {
            PolicyInput::BotSaid { text } => {
                self.transcript.push(Line { t_ms: now_ms, speaker: "bot".into(), text });
                None
            }
            PolicyInput::AgentAccepted => self.cfg.caller_request.then_some(Reason::CallerRequest),
            PolicyInput::Dtmf { digit } => {
                let wanted = self.cfg.dtmf_digit.chars().next();
                (wanted == Some(digit)).then_some(Reason::Dtmf)
            }
            PolicyInput::ProsodyPartial { anger, utterance_start_ms } => {
                if anger >= self.cfg.anger_sustained && self.cfg.anger_sustained_ms > 0 {
                    // A pause between utterances is a break too.
                    let since = match self.sustained_since {
                        Some((utterance, since)) if utterance == utterance_start_ms => since,
                        _ => {
                            self.sustained_since = Some((utterance_start_ms, now_ms));
                            now_ms
                        }
                    };
                    (now_ms.saturating_sub(since) >= self.cfg.anger_sustained_ms).then_some(Reason::Anger)
                } else {
                    self.sustained_since = None;
                    None
                }
            }
            PolicyInput::VoiceEnded { anger_floor } => {
                let c = &self.cfg;
                (c.anger_turns > 0 && anger_floor >= c.anger_enter && self.angry_turns + 1 >= c.anger_turns).then_some(Reason::Anger)
            }
            PolicyInput::Turn(t) => self.turn(t, now_ms),
        };
        let reason = reason.filter(|_| !self.handed_off)?;
        self.handed_off = true;
        Some(Handoff { reason, context: self.context(reason) })
    }

    fn turn(&mut self, t: TurnFacts, now_ms: u64) -> Option<Reason> {
        self.sustained_since = None;
        self.lang = t.lang.clone();
        self.transcript.push(Line { t_ms: now_ms, speaker: "caller".into(), text: t.text.clone() });
        self.intents.push(IntentAt { t_ms: now_ms, intent: t.intent.clone(), confidence: t.confidence });
        self.emotions.push(EmotionAt { t_ms: now_ms, label: t.text_emotion.clone(), anger: round3(t.anger) });
        for e in &t.entities {
            self.entities.retain(|k| !(k.kind == e.kind && k.value == e.value));
            self.entities.insert(0, e.clone());
        }

        // Anger with hysteresis: counted over turns in a row, kept between the two thresholds.
        if t.anger >= self.cfg.anger_enter {
            self.angry_turns += 1;
        } else if t.anger < self.cfg.anger_leave {
            self.angry_turns = 0;
        }
        let understood = t.in_context || (t.intent != "out_of_scope" && t.confidence >= self.cfg.not_understood_confidence);
        self.not_understood = if understood { 0 } else { self.not_understood + 1 };
        match t.progress {
            Progress::Resolved => {
                self.unresolved = 0;
                self.request = None;
            }
            // A turn that gave what the bot asked for (a number, an address) is progress.
            Progress::Open if t.in_context && self.request.is_some() => {}
            // Nor is one said over the bot's question, which the caller did not hear out.
            Progress::Open if t.interrupted_bot && self.request.is_some() => {}
            Progress::Open => {
                self.unresolved += 1;
                if is_request(&t.intent) {
                    self.request = Some(t.intent.clone());
                }
            }
            // Small talk or a turn not understood: no progress on an open request.
            Progress::Chat if self.request.is_some() => self.unresolved += 1,
            Progress::Chat => {}
        }

        let c = &self.cfg;
        if c.caller_request && t.intent == "human_agent" && understood && !t.in_context {
            return Some(Reason::CallerRequest);
        }
        let dispute = c.refund_dispute
            && matches!(t.intent.as_str(), "return_refund" | "track_refund" | "price_adjustment")
            && (t.text_emotion == "angry" || t.anger >= c.anger_enter);
        if understood && (c.high_risk_intents.contains(&t.intent) || dispute) {
            return Some(Reason::HighRisk);
        }
        if c.anger_turns > 0 && self.angry_turns >= c.anger_turns {
            return Some(Reason::Anger);
        }
        if c.not_understood_turns > 0 && self.not_understood >= c.not_understood_turns {
            return Some(Reason::NotUnderstood);
        }
        if c.unresolved_turns > 0 && self.unresolved >= c.unresolved_turns {
            return Some(Reason::Unresolved);
        }
        None
    }

    fn context(&self, reason: Reason) -> HandoffContext {
        let caller_turns = self.transcript.iter().filter(|l| l.speaker == "caller").count();
        let wants = self
            .request
            .clone()
            .or_else(|| self.intents.iter().rev().find(|i| is_request(&i.intent)).map(|i| i.intent.clone()));
        let order = self.entities.iter().find(|e| e.kind == EntityType::OrderNumber).map(|e| e.value.clone());
        let peak = self.emotions.iter().map(|e| e.anger).fold(0.0f32, f32::max);
        let last = self.transcript.iter().rev().find(|l| l.speaker == "caller").map(|l| l.text.trim().to_string());
        let mut summary = format!("Caller {}", reason.explain());
        if let Some(w) = wants {
            summary += &format!("; wants {}", w.replace('_', " "));
        }
        if let Some(o) = order {
            summary += &format!(" (order {o})");
        }
        summary += &format!("; {caller_turns} turn(s), language {}, peak anger {:.2}", self.lang, peak);
        if let Some(l) = last.filter(|l| !l.is_empty()) {
            summary += &format!("; last said: \"{l}\"");
        }
        HandoffContext {
            summary,
            transcript: self.transcript.clone(),
            intents: self.intents.clone(),
            entities: self.entities.clone(),
            emotions: self.emotions.clone(),
            lang: self.lang.clone(),
        }
    }
}

fn round3(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn policy() -> EscalationPolicy {
        EscalationPolicy::new(Config::default().escalation)
    }

    fn turn(intent: &str, anger: f32, progress: Progress) -> PolicyInput {
        PolicyInput::Turn(TurnFacts {
            start_ms: 0,
            end_ms: 1000,
            text: format!("({intent})"),
            lang: "en".into(),
            intent: intent.into(),
            confidence: if intent == "out_of_scope" { 0.3 } else { 0.9 },
            entities: vec![],
            text_emotion: "neutral".into(),
            anger,
            progress,
            in_context: false,
            interrupted_bot: false,
        })
    }

    /// Feeds inputs one second apart on a virtual clock; returns the first handoff and when.
    fn run(p: &mut EscalationPolicy, inputs: Vec<PolicyInput>) -> Option<(Reason, u64)> {
        let mut now = 0;
        for i in inputs {
            now += 1000;
            if let Some(h) = p.handle(i, now) {
                return Some((h.reason, now));
            }
        }
        None
    }

    #[test]
    fn asking_for_a_person_hands_off_at_once() {
        let mut p = policy();
        let got = run(&mut p, vec![turn("track_order", 0.1, Progress::Open), turn("human_agent", 0.1, Progress::Chat)]);
        assert_eq!(got, Some((Reason::CallerRequest, 2000)));
    }

    #[test]
    fn one_angry_turn_among_calm_ones_is_not_enough() {
        let mut p = policy();
        let calm = |a| turn("track_order", a, Progress::Resolved);
        assert_eq!(run(&mut p, vec![calm(0.1), calm(0.9), calm(0.2), calm(0.95), calm(0.1)]), None);
    }

    #[test]
    fn anger_on_two_turns_in_a_row_hands_off_and_the_middle_band_keeps_the_count() {
        let mut p = policy();
        let t = |a| turn("track_order", a, Progress::Resolved);
        assert_eq!(run(&mut p, vec![t(0.1), t(0.7), t(0.8)]), Some((Reason::Anger, 3000)));
        // 0.42 is between leave (0.35) and enter (0.5): the count is kept, not reset.
        let mut p = policy();
        assert_eq!(run(&mut p, vec![t(0.7), t(0.42), t(0.65)]), Some((Reason::Anger, 3000)));
        let mut p = policy();
        assert_eq!(run(&mut p, vec![t(0.7), t(0.3), t(0.65)]), None);
    }

    #[test]
    fn sustained_shouting_hands_off_mid_utterance_on_the_clock() {
        let mut p = policy();
        let mut now = 0;
        let mut got = None;
        // Scores every 500 ms; a dip resets the clock.
        for (i, a) in [0.9, 0.9, 0.9, 0.5, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9].iter().enumerate() {
            now = 500 * (i as u64 + 1);
            if let Some(h) = p.handle(PolicyInput::ProsodyPartial { anger: *a, utterance_start_ms: 0 }, now) {
                got = Some((h.reason, now));
                break;
            }
        }
        // Over the threshold again from 2500 ms: 4000 ms later.
        assert_eq!(got, Some((Reason::Anger, 6500)), "at {now}");
    }

    #[test]
    fn the_voice_alone_decides_the_last_angry_turn_as_soon_as_it_ends() {
        // Two angry turns in a row hand off (the default); the first is counted from its words.
        let mut p = policy();
        assert_eq!(p.handle(PolicyInput::VoiceEnded { anger_floor: 0.9 }, 900), None, "one angry turn is not enough");
        assert_eq!(p.handle(turn("track_order", 0.9, Progress::Open), 1000), None);
        // The second: a voice whose share alone keeps the fused score over anger_enter.
        assert_eq!(p.handle(PolicyInput::VoiceEnded { anger_floor: 0.4 }, 2900), None, "the words may still calm it");
        let h = p.handle(PolicyInput::VoiceEnded { anger_floor: 0.55 }, 3000).map(|h| h.reason);
        assert_eq!(h, Some(Reason::Anger));
        // Its words, heard later, add nothing: the call is handed off once.
        assert_eq!(p.handle(turn("complaint", 0.9, Progress::Open), 3400), None);
    }

    #[test]
    fn shouting_in_short_utterances_is_not_sustained_anger() {
        // Angry scores for 6 s, but over three utterances of 2 s (their turns not yet heard):
        // the pause between them is a break.
        let mut p = policy();
        for k in 0..12u64 {
            let now = 500 * (k + 1);
            let input = PolicyInput::ProsodyPartial { anger: 0.95, utterance_start_ms: 2000 * (k / 4) };
            assert_eq!(p.handle(input, now).map(|h| h.reason), None, "at {now}");
        }
    }

    #[test]
    fn two_turns_not_understood_in_a_row() {
        let mut p = policy();
        let oos = || turn("out_of_scope", 0.1, Progress::Chat);
        assert_eq!(
            run(&mut p, vec![oos(), turn("greeting", 0.1, Progress::Chat), oos(), oos()]),
            Some((Reason::NotUnderstood, 4000))
        );
    }

    #[test]
    fn three_turns_without_resolving_the_request() {
        let mut p = policy();
        let got = run(
            &mut p,
            vec![
                turn("greeting", 0.1, Progress::Chat),
                turn("change_shipping_address", 0.1, Progress::Open),
                turn("deny", 0.1, Progress::Chat),
                turn("change_shipping_address", 0.1, Progress::Open),
            ],
        );
        assert_eq!(got, Some((Reason::Unresolved, 4000)));
        // Resolving it starts the count again.
        let mut p = policy();
        let open = || turn("track_order", 0.1, Progress::Open);
        assert_eq!(run(&mut p, vec![open(), open(), turn("track_order", 0.1, Progress::Resolved), open(), open()]), None);
    }

    #[test]
    fn answers_to_the_bots_questions_are_progress_not_unresolved_turns() {
        let mut p = policy();
        let answer = |intent: &str| {
            let mut t = turn(intent, 0.1, Progress::Open);
            if let PolicyInput::Turn(f) = &mut t {
                f.in_context = true;
                f.confidence = 0.2;
            }
            t
        };
        let got = run(
            &mut p,
            vec![
                turn("change_shipping_address", 0.1, Progress::Open),
                answer("out_of_scope"),
                answer("out_of_scope"),
                answer("change_order"),
                turn("affirm", 0.1, Progress::Resolved),
            ],
        );
        assert_eq!(got, None);
    }

    #[test]
    fn complaints_and_angry_refunds_are_high_risk() {
        let mut p = policy();
        assert_eq!(run(&mut p, vec![turn("complaint", 0.1, Progress::Chat)]), Some((Reason::HighRisk, 1000)));
        let mut p = policy();
        let mut refund = turn("return_refund", 0.1, Progress::Open);
        assert_eq!(run(&mut p, vec![refund.clone()]), None);
        if let PolicyInput::Turn(t) = &mut refund {
            t.text_emotion = "angry".into();
        }
        assert_eq!(run(&mut p, vec![refund]), Some((Reason::HighRisk, 1000)));
    }

    #[test]
    fn the_configured_key_hands_off_and_others_do_not() {
        let mut p = policy();
        assert_eq!(run(&mut p, vec![PolicyInput::Dtmf { digit: '5' }, PolicyInput::Dtmf { digit: '0' }]), Some((Reason::Dtmf, 2000)));
        let mut cfg = Config::default().escalation;
        cfg.dtmf_digit = String::new();
        let mut p = EscalationPolicy::new(cfg);
        assert_eq!(run(&mut p, vec![PolicyInput::Dtmf { digit: '0' }]), None);
    }

    #[test]
    fn switched_off_rules_do_not_fire() {
        let mut cfg = Config::default().escalation;
        cfg.caller_request = false;
        cfg.not_understood_turns = 0;
        let mut p = EscalationPolicy::new(cfg);
        let oos = || turn("out_of_scope", 0.1, Progress::Chat);
        assert_eq!(run(&mut p, vec![turn("human_agent", 0.1, Progress::Chat), oos(), oos(), oos()]), None);
    }

    #[test]
    fn hands_off_once_with_the_context_for_the_agent() {
        let mut p = policy();
        p.handle(PolicyInput::BotSaid { text: "Hello, how can I help?".into() }, 500);
        let mut first = turn("track_order", 0.7, Progress::Open);
        if let PolicyInput::Turn(t) = &mut first {
            t.text = "where is my order 4815".into();
            t.entities = vec![Entity {
                kind: EntityType::OrderNumber,
                value: "4815".into(),
                text: "4815".into(),
                start: 18,
                end: 22,
                code: None,
            }];
        }
        assert!(p.handle(first, 2000).is_none());
        let h = p.handle(turn("track_order", 0.9, Progress::Open), 4000).expect("anger on the second turn");
        assert_eq!(h.reason, Reason::Anger);
        let c = &h.context;
        assert_eq!(c.transcript.len(), 3);
        assert_eq!(c.transcript[0].speaker, "bot");
        assert_eq!(c.intents.len(), 2);
        assert_eq!(c.entities[0].value, "4815");
        assert_eq!(c.emotions.iter().map(|e| e.anger).collect::<Vec<_>>(), vec![0.7, 0.9]);
        assert!(c.summary.contains("angry") && c.summary.contains("4815") && c.summary.contains("track order"), "{}", c.summary);
        assert!(p.handed_off());
        assert_eq!(p.handle(turn("human_agent", 0.9, Progress::Chat), 5000), None);
    }
}
