//! The dialog: what the bot says to what the caller says. Behind a trait, per call.

mod intent_replies;
mod shop;
mod speech;

pub use intent_replies::IntentReplies;
pub use shop::{ShopDialog, ShopServices};

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

/// What a turn did for the caller's request: the escalation policy counts unresolved turns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    /// The request is answered or done.
    Resolved,
    /// A request is open: the bot asked for more or could not finish it.
    Open,
    /// Conversation (a greeting, a thank-you, a turn not understood): no request moved.
    #[default]
    Chat,
}

/// What the bot says, in which language, and whether the call should end after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub text: String,
    pub lang: String,
    #[serde(default)]
    pub end_call: bool,
    #[serde(default)]
    pub progress: Progress,
    /// What the bot did on the shop's systems for this turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    /// The knowledge-base entry the answer came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kb: Option<String>,
    /// The caller accepted the offer of a person.
    #[serde(default)]
    pub handoff: bool,
    /// The turn answered what the bot had asked (an order number, an address, a yes): it was
    /// understood, whatever the NLU made of it alone.
    #[serde(default)]
    pub in_context: bool,
}

impl Reply {
    pub fn new(text: impl Into<String>, lang: &str, progress: Progress) -> Self {
        Self { text: text.into(), lang: lang.into(), end_call: false, progress, actions: Vec::new(), kb: None, handoff: false, in_context: false }
    }
}

/// One thing done (or tried) on the shop's systems.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// lookup_order, change_address, cancel_order, start_return, request_invoice, ...
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    pub ok: bool,
    /// The outcome: a status, a refusal code (already_shipped, ...) or an error code.
    pub detail: String,
}

/// What the bot says when the call goes to a person.
pub fn transfer_prompt(lang: &str) -> Reply {
    let text = if lang == "zh" {
        "我马上为您转接人工客服，请稍候。"
    } else {
        "I'm transferring you to a colleague who can help. Please hold."
    };
    Reply::new(text, lang, Progress::Chat)
}

/// A conversation's logic; one instance per call.
pub trait Dialog: Send {
    /// What the bot says when the call connects, if anything.
    fn greeting(&mut self, lang: &str) -> Option<Reply>;
    /// The answer to one caller turn.
    fn respond(&mut self, turn: &Turn) -> Reply;
    /// Whether keypad digits are for the dialog now (an order number being typed), not for
    /// call control.
    fn wants_digits(&self) -> bool {
        false
    }
    /// A keypad digit; the answer once the digits make something (an order number and #).
    fn on_digit(&mut self, _digit: char) -> Option<Reply> {
        None
    }
    /// What the call knows of the caller before a word is said: the order the call is about
    /// (from the shop's app; not asked for again) and the language it starts in.
    fn know_caller(&mut self, _order: Option<&str>, _lang: Option<&str>) {}
}

/// The caller's language for a reply: Chinese when the words are, else English.
pub fn reply_language(text: &str, asr_lang: &str) -> &'static str {
    if crate::nlu::text::detect_lang(text) == "zh" || asr_lang == "zh" {
        "zh"
    } else {
        "en"
    }
}
