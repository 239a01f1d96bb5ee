//! The dialog: what the bot says to what the caller says. Behind a trait, per call.

mod intent_replies;

pub use intent_replies::IntentReplies;

use serde::{Deserialize, Serialize};

use crate::nlu::NluResult;

/// One understood caller turn.
#[derive(Debug, Clone)]
pub struct Turn<'a> {
    pub text: &'a str,
    /// The caller's language: "en" or "zh".
    pub lang: &'a str,
    pub nlu: &'a NluResult,
}

/// What the bot says, in which language, and whether the call should end after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub text: String,
    pub lang: String,
    #[serde(default)]
    pub end_call: bool,
}

/// A conversation's logic; one instance per call.
pub trait Dialog: Send {
    /// What the bot says when the call connects, if anything.
    fn greeting(&mut self, lang: &str) -> Option<Reply>;
    /// The answer to one caller turn.
    fn respond(&mut self, turn: &Turn) -> Reply;
}

/// The caller's language for a reply: Chinese when the words are, else English.
pub fn reply_language(text: &str, asr_lang: &str) -> &'static str {
    if crate::nlu::text::detect_lang(text) == "zh" || asr_lang == "zh" {
        "zh"
    } else {
        "en"
    }
}
