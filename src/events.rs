//! Events: the one record of a call. Every stage emits them; `voicegate replay --json` prints
//! them as JSON lines, the store keeps them, the agent desktop and the metrics read them.

use serde::{Deserialize, Serialize};

/// One thing that happened in a call, at call-relative time `t_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub call_id: String,
    pub t_ms: u64,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened; serialized with its name in the `type` field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A call (or a replay) began. `source` says which leg: `file:<path>`, `sip:<uri>`, ...
    CallStarted { source: String },
    /// The caller started speaking; `start_ms` is where the speech begins in the audio.
    SpeechStarted { start_ms: u64 },
    /// The caller's turn ended: `reason` is `silence` (the hangover passed), `complete` (a
    /// complete sentence and a shorter silence) or `end_of_audio`.
    SpeechEnded { start_ms: u64, end_ms: u64, reason: String },
    /// Recognised speech. `final: false` marks a partial transcript of an utterance in progress.
    Transcript {
        #[serde(rename = "final")]
        is_final: bool,
        text: String,
        lang: String,
        start_ms: u64,
        end_ms: u64,
        /// Time the utterance waited for a free inference worker.
        queue_ms: u64,
        /// Inference time.
        asr_ms: u64,
        /// Who spoke: `caller`, or `agent` once a live agent is on the call.
        #[serde(default = "caller")]
        speaker: String,
    },
    /// What the caller wants, from the NLU on a final transcript.
    Intent {
        intent: String,
        confidence: f32,
        /// The three likeliest intents.
        top: Vec<crate::nlu::Scored>,
        entities: Vec<crate::nlu::entities::Entity>,
        /// The utterance it was read from.
        utterance_start_ms: u64,
    },
    /// The caller's mood. `source` is `text` (the NLU on words), `prosody` (the voice) or
    /// `fused` (both, once per turn). `score` is the confidence of `label`; `anger` the
    /// probability that the caller is angry. Prosody scores come while the caller speaks
    /// (`final: false`) and once per utterance.
    Emotion {
        source: String,
        label: String,
        score: f32,
        /// From -1 (angry) to 1 (satisfied), where the source gives one.
        #[serde(skip_serializing_if = "Option::is_none")]
        sentiment: Option<f32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        anger: Option<f32>,
        #[serde(rename = "final", default = "yes")]
        is_final: bool,
        /// The utterance it describes (its start).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        utterance_start_ms: Option<u64>,
    },
    /// The caller pressed a key (in-band tone, or RFC 4733 on an RTP leg).
    Dtmf {
        digit: String,
        /// Sent as an RFC 4733 event rather than heard as a tone in the audio.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        out_of_band: bool,
    },
    /// The call goes to a person: why, and what the agent is shown.
    Handoff { reason: String, context: crate::call::HandoffContext },
    /// What the bot is going to say, and to which caller turn (its start).
    BotReply {
        reply_id: u64,
        text: String,
        lang: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        in_reply_to_ms: Option<u64>,
        /// The knowledge-base entry the answer came from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kb: Option<String>,
        /// What the bot did on the shop's systems (order lookups, changes, refusals, errors).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        actions: Vec<crate::dialog::Action>,
    },
    /// The first frame of a reply went out.
    TtsStarted { reply_id: u64 },
    /// The last frame of a reply went out.
    TtsFinished { reply_id: u64, played_ms: u64 },
    /// The caller spoke over the bot: its audio stopped here and the rest was dropped.
    TtsInterrupted { reply_id: u64, played_ms: u64, dropped_ms: u64 },
    /// The caller put the call on hold (`held: true`) or took it off hold.
    Hold { held: bool },
    /// The handed-off call waits for an agent: its place in the queue (1 = next) and the wait
    /// expected, as the caller is told.
    Queued { position: usize, wait_estimate_ms: u64 },
    /// An agent is offered the call (their phone rings, their desktop shows the context).
    AgentOffered { agent: String },
    AgentAnswered { agent: String },
    /// The agent refused the offer (a 486/603, the desktop's decline).
    AgentDeclined { agent: String, #[serde(default, skip_serializing_if = "String::is_empty")] why: String },
    /// The offer rang out, or the agent could not be reached.
    AgentNoAnswer { agent: String },
    /// The summary the agent heard before the caller was put through (the caller did not).
    WhisperPlayed { agent: String, text: String, played_ms: u64 },
    /// Caller and agent hear each other.
    Bridged { agent: String, waited_ms: u64 },
    /// The agent's leg is gone: `agent_hangup`, `caller_hangup` (we hung them up), `lost`.
    AgentLeft { agent: String, reason: String },
    /// A handoff outside the agents' hours (`agents.hours`, as told to the caller): a
    /// callback instead of the queue.
    AfterHours { hours: String },
    /// The caller hung up while waiting for an agent.
    Abandoned { waited_ms: u64 },
    /// A waiting caller left a voice message (saved at `path`, kept with a callback ticket).
    VoiceMessage { path: String, duration_ms: u64 },
    /// The caller asked to be called back instead of waiting; the ticket keeps the context.
    CallbackRequested { ticket: i64, number: String },
    /// The agent's state after the call.
    WrapUp { agent: String },
    /// The caller's keypad rating of the call after the agent hung up, 1 (poor) to 5.
    Survey { score: u8 },
    /// A supervisor joined the call with an agent: `listen` (nobody hears them), `coach` (the
    /// agent hears them) or `barge` (the caller and the agent do).
    MonitorStarted { supervisor: String, mode: String },
    /// The supervisor on the call changed how they are on it.
    MonitorChanged { supervisor: String, mode: String },
    /// The supervisor left: `stopped`, `left` (their page closed), `agent_left`, `call_ended`.
    MonitorEnded { supervisor: String, reason: String },
    /// The call's recording had its spoken numbers silenced after the call
    /// (`privacy.redact_audio`); `spans` is empty when it held none.
    AudioRedacted { spans: Vec<crate::pii::redact_audio::Redaction> },
    /// The call is over.
    CallEnded {
        reason: String,
        duration_ms: u64,
        /// The caller leg's media figures (live calls).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media: Option<crate::live::MediaFigures>,
    },
}

impl EventKind {
    /// The intent the NLU read from an utterance (which began at `utterance_start_ms`).
    pub fn intent_of(r: &crate::nlu::NluResult, utterance_start_ms: u64) -> Self {
        EventKind::Intent { intent: r.intent.clone(), confidence: r.confidence, top: r.top.clone(), entities: r.entities.clone(), utterance_start_ms }
    }

    /// The emotion the NLU read from an utterance's words.
    pub fn text_emotion_of(r: &crate::nlu::NluResult, utterance_start_ms: u64) -> Self {
        EventKind::Emotion { source: "text".into(), label: r.emotion.clone(), score: r.emotion_confidence, sentiment: Some(r.sentiment), anger: Some(r.anger), is_final: true, utterance_start_ms: Some(utterance_start_ms) }
    }

    /// The `type` name of this event.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::CallStarted { .. } => "call_started",
            EventKind::SpeechStarted { .. } => "speech_started",
            EventKind::SpeechEnded { .. } => "speech_ended",
            EventKind::Transcript { .. } => "transcript",
            EventKind::Intent { .. } => "intent",
            EventKind::Emotion { .. } => "emotion",
            EventKind::BotReply { .. } => "bot_reply",
            EventKind::TtsStarted { .. } => "tts_started",
            EventKind::TtsFinished { .. } => "tts_finished",
            EventKind::TtsInterrupted { .. } => "tts_interrupted",
            EventKind::CallEnded { .. } => "call_ended",
            EventKind::Dtmf { .. } => "dtmf",
            EventKind::Handoff { .. } => "handoff",
            EventKind::Hold { .. } => "hold",
            EventKind::Queued { .. } => "queued",
            EventKind::AgentOffered { .. } => "agent_offered",
            EventKind::AgentAnswered { .. } => "agent_answered",
            EventKind::AgentDeclined { .. } => "agent_declined",
            EventKind::AgentNoAnswer { .. } => "agent_no_answer",
            EventKind::WhisperPlayed { .. } => "whisper_played",
            EventKind::Bridged { .. } => "bridged",
            EventKind::AgentLeft { .. } => "agent_left",
            EventKind::AfterHours { .. } => "after_hours",
            EventKind::Abandoned { .. } => "abandoned",
            EventKind::VoiceMessage { .. } => "voice_message",
            EventKind::CallbackRequested { .. } => "callback_requested",
            EventKind::WrapUp { .. } => "wrap_up",
            EventKind::Survey { .. } => "survey",
            EventKind::AudioRedacted { .. } => "audio_redacted",
            EventKind::MonitorStarted { .. } => "monitor_started",
            EventKind::MonitorChanged { .. } => "monitor_changed",
            EventKind::MonitorEnded { .. } => "monitor_ended",
        }
    }
}

fn yes() -> bool {
    true
}

fn caller() -> String {
    "caller".into()
}

impl Event {
    pub fn new(call_id: &str, t_ms: u64, kind: EventKind) -> Self {
        Self {
            call_id: call_id.to_owned(),
            t_ms,
            kind,
        }
    }

    /// One JSON line.
    pub fn to_json(&self) -> String {
        // Serializing plain strings and numbers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcript_serializes_to_the_design_contract() {
        let e = Event::new(
            "c1",
            1500,
            EventKind::Transcript {
                is_final: true,
                text: "where is my order".into(),
                lang: "en".into(),
                start_ms: 200,
                end_ms: 1400,
                queue_ms: 0,
                asr_ms: 90,
                speaker: "caller".into(),
            },
        );
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["type"], "transcript");
        assert_eq!(v["call_id"], "c1");
        assert_eq!(v["t_ms"], 1500);
        assert_eq!(v["final"], true);
        assert_eq!(v["text"], "where is my order");
        assert_eq!(v["lang"], "en");
        assert_eq!(v["start_ms"], 200);
        assert_eq!(v["end_ms"], 1400);
        assert_eq!(v["speaker"], "caller");
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.kind.name(), "transcript");
    }
}
