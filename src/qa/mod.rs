//! Automatic QA scoring: every ended call scored on the evaluation form in the config
//! (`[qa]`: items with weights, each a rule from `rules`), for the bot's turns and an agent's
//! alike. Each item passes, fails or does not apply, with the evidence (the event and time that
//! justify it); failed items of the seeds' risk categories are raised as flags. The score is
//! the weight passed over the weight that applies, 0-100.

pub mod rules;

use serde::{Deserialize, Serialize};

use crate::events::Event;

/// `[qa]` in the config.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QaConfig {
    /// Longest wait for an answer after the caller stops speaking.
    pub max_silence_s: u64,
    /// Words that promise what nobody may promise.
    pub promises: Vec<String>,
    /// Words that apologise.
    pub apologies: Vec<String>,
    pub items: Vec<FormItem>,
}

/// One item of the form: a rule (`rules::RULES`) with a name people read and a weight.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormItem {
    pub id: String,
    pub name: String,
    pub weight: u32,
}

impl QaConfig {
    /// Why the form cannot be used, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.items.is_empty() {
            return Err("the form needs at least one item".into());
        }
        for i in &self.items {
            if !rules::RULES.contains(&i.id.as_str()) {
                return Err(format!("unknown rule {:?}: one of {}", i.id, rules::RULES.join(", ")));
            }
        }
        Ok(())
    }
}

/// A piece of evidence: when, and what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub t_ms: u64,
    pub text: String,
}

/// How one item came out; `passed: None` when it does not apply to the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemResult {
    pub id: String,
    pub name: String,
    pub weight: u32,
    pub passed: Option<bool>,
    pub evidence: Vec<Evidence>,
}

/// A call's QA result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaResult {
    /// 0-100; None when no item applies.
    pub score: Option<u32>,
    pub items: Vec<ItemResult>,
    /// Risk categories raised: `improper_promise`, `privacy_leak`.
    pub flags: Vec<String>,
}

/// Scores a call's events on the form.
pub fn score(cfg: &QaConfig, events: &[Event]) -> QaResult {
    let mut items = Vec::new();
    let mut flags = Vec::new();
    for item in &cfg.items {
        let v = rules::judge(&item.id, cfg, events);
        if v.passed == Some(false) {
            if let Some(flag) = rules::flag_of(&item.id) {
                flags.push(flag.to_string());
            }
        }
        items.push(ItemResult { id: item.id.clone(), name: item.name.clone(), weight: item.weight, passed: v.passed, evidence: v.evidence });
    }
    let applies: u32 = items.iter().filter(|i| i.passed.is_some()).map(|i| i.weight).sum();
    let passed: u32 = items.iter().filter(|i| i.passed == Some(true)).map(|i| i.weight).sum();
    let score = (applies > 0).then(|| ((passed as f64 / applies as f64) * 100.0).round() as u32);
    QaResult { score, items, flags }
}
