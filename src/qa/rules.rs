//! The QA form's rules, each a judgement of a call's events: passed, failed or not applying,
//! with the evidence. The bot's lines and an agent's are judged alike.

use super::{Evidence, QaConfig};
use crate::events::{Event, EventKind};
use crate::pii::Kind;

/// Every rule a form item may name.
pub const RULES: &[&str] = &["greeting", "verified_before_change", "no_improper_promise", "no_pii_read_out", "no_long_silence", "no_talk_over", "apology_after_complaint", "resolved_or_transferred", "anger_lower_at_end"];

/// Anger from which a caller counts as angry.
const ANGRY: f32 = 0.5;

/// A rule's judgement.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Verdict {
    pub passed: Option<bool>,
    pub evidence: Vec<Evidence>,
}

fn verdict(passed: bool, evidence: Vec<Evidence>) -> Verdict {
    Verdict { passed: Some(passed), evidence }
}

fn ev(t_ms: u64, text: impl Into<String>) -> Evidence {
    Evidence { t_ms, text: text.into() }
}

/// The risk category a failed rule raises.
pub fn flag_of(rule: &str) -> Option<&'static str> {
    match rule {
        "no_improper_promise" => Some("improper_promise"),
        "no_pii_read_out" => Some("privacy_leak"),
        _ => None,
    }
}

pub fn judge(rule: &str, cfg: &QaConfig, events: &[Event]) -> Verdict {
    match rule {
        "greeting" => greeting(events),
        "verified_before_change" => verified_before_change(events),
        "no_improper_promise" => no_improper_promise(events, &cfg.promises),
        "no_pii_read_out" => no_pii_read_out(events),
        "no_long_silence" => no_long_silence(events, cfg.max_silence_s * 1000),
        "no_talk_over" => no_talk_over(events),
        "apology_after_complaint" => apology_after_complaint(events, &cfg.apologies),
        "resolved_or_transferred" => resolved_or_transferred(events),
        "anger_lower_at_end" => anger_lower_at_end(events),
        _ => Verdict::default(),
    }
}

/// What the gateway's side said (the bot's replies, an agent's words): (time, who, text).
fn our_lines(events: &[Event]) -> Vec<(u64, &'static str, &str)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::BotReply { text, .. } => Some((e.t_ms, "bot", text.as_str())),
            EventKind::Transcript { is_final: true, text, speaker, start_ms, .. } if speaker == "agent" => Some((*start_ms, "agent", text.as_str())),
            _ => None,
        })
        .collect()
}

fn contains_any(text: &str, words: &[String]) -> Option<String> {
    let lower = text.to_lowercase();
    words.iter().find(|w| lower.contains(&w.to_lowercase())).cloned()
}

const GREETINGS: &[&str] = &["hello", "hi,", "welcome", "thank you for calling", "good morning", "good afternoon", "good evening", "您好", "你好", "欢迎"];

/// Whether the bot's first words greeted the caller. Not judged on a chat: the customer
/// writes first, and the widget that opened it greeted them.
fn greeting(events: &[Event]) -> Verdict {
    let chat = events.iter().any(|e| matches!(&e.kind, EventKind::CallStarted { source } if source.starts_with("chat:")));
    if chat {
        return Verdict::default();
    }
    let first = events.iter().find_map(|e| match &e.kind {
        EventKind::BotReply { text, in_reply_to_ms, .. } => Some((e.t_ms, text, in_reply_to_ms.is_none())),
        _ => None,
    });
    match first {
        None => Verdict::default(),
        Some((t, text, unprompted)) => {
            let lower = text.to_lowercase();
            let greeted = unprompted || GREETINGS.iter().any(|g| lower.contains(g));
            verdict(greeted, vec![ev(t, format!("first words: {text}"))])
        }
    }
}

fn verified_before_change(events: &[Event]) -> Verdict {
    const CHANGES: &[&str] = &["change_address", "cancel_order", "start_return"];
    let mut verified: Option<(u64, String)> = None;
    let mut evidence = Vec::new();
    let mut applies = false;
    for e in events {
        match &e.kind {
            EventKind::Intent { entities, .. } => {
                if let Some(o) = entities.iter().find(|x| x.kind == crate::nlu::entities::EntityType::OrderNumber) {
                    verified.get_or_insert((e.t_ms, format!("order {} given", o.value)));
                }
            }
            EventKind::BotReply { actions, .. } => {
                for a in actions {
                    if a.name == "lookup_order" && a.ok {
                        verified.get_or_insert((e.t_ms, format!("order {} looked up", a.order.clone().unwrap_or_default())));
                    }
                    if CHANGES.contains(&a.name.as_str()) && a.ok {
                        applies = true;
                        match &verified {
                            Some((t, what)) => evidence.push(ev(*t, what.clone())),
                            None => {
                                evidence.push(ev(e.t_ms, format!("{} before any order was verified", a.name)));
                                return verdict(false, evidence);
                            }
                        }
                        evidence.push(ev(e.t_ms, format!("{} on order {}", a.name, a.order.clone().unwrap_or_default())));
                    }
                }
            }
            _ => {}
        }
    }
    if applies {
        verdict(true, evidence)
    } else {
        Verdict::default()
    }
}

fn no_improper_promise(events: &[Event], promises: &[String]) -> Verdict {
    let found: Vec<Evidence> = our_lines(events).into_iter().filter_map(|(t, who, text)| contains_any(text, promises).map(|w| ev(t, format!("{who} promised (\"{w}\"): {text}")))).collect();
    verdict(found.is_empty(), found)
}

fn no_pii_read_out(events: &[Event]) -> Verdict {
    let found: Vec<Evidence> = our_lines(events)
        .into_iter()
        .filter_map(|(t, who, text)| {
            let (masked, kinds) = crate::pii::mask_kinds(text);
            let read_out: Vec<&str> = kinds.iter().filter(|k| matches!(k, Kind::Phone | Kind::Card | Kind::IdNumber | Kind::Email)).map(|k| k.as_str()).collect();
            // The evidence is shown masked: it is about personal data.
            (!read_out.is_empty()).then(|| ev(t, format!("{who} read out a {}: {masked}", read_out.join(", "))))
        })
        .collect();
    verdict(found.is_empty(), found)
}

/// The caller's turns: (start, end) of their speech.
fn caller_turns(events: &[Event]) -> Vec<(u64, u64)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::SpeechEnded { start_ms, end_ms, .. } => Some((*start_ms, *end_ms)),
            _ => None,
        })
        .collect()
}

/// Whether the caller was on hold or waiting for an agent at `t` (no answer expected then).
fn waiting_at(events: &[Event], t: u64) -> bool {
    let mut waiting = false;
    for e in events.iter().filter(|e| e.t_ms <= t) {
        match &e.kind {
            EventKind::Queued { .. } | EventKind::Handoff { .. } => waiting = true,
            EventKind::Bridged { .. } => waiting = false,
            EventKind::Hold { held } => waiting = *held,
            _ => {}
        }
    }
    waiting
}

fn no_long_silence(events: &[Event], max_ms: u64) -> Verdict {
    let turns = caller_turns(events);
    // When the gateway's side began to answer: the bot's audio, an agent's words.
    let answers: Vec<u64> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TtsStarted { .. } => Some(e.t_ms),
            EventKind::Transcript { is_final: true, speaker, start_ms, .. } if speaker == "agent" => Some(*start_ms),
            _ => None,
        })
        .collect();
    let mut judged = false;
    let mut longest: Option<(u64, u64)> = None;
    for (i, &(_, end)) in turns.iter().enumerate() {
        if waiting_at(events, end) {
            continue;
        }
        let next_turn = turns.get(i + 1).map(|t| t.0).unwrap_or(u64::MAX);
        let Some(&answer) = answers.iter().find(|&&a| a >= end) else { continue };
        // The caller went on speaking first: nobody was waiting for an answer.
        if next_turn < answer {
            continue;
        }
        judged = true;
        let gap = answer - end;
        if longest.is_none_or(|(_, g)| gap > g) {
            longest = Some((end, gap));
        }
    }
    match (judged, longest) {
        (true, Some((at, gap))) => verdict(gap <= max_ms, vec![ev(at, format!("longest wait for an answer: {:.1} s", gap as f64 / 1000.0))]),
        _ => Verdict::default(),
    }
}

fn no_talk_over(events: &[Event]) -> Verdict {
    let turns = caller_turns(events);
    let starts: Vec<u64> = events.iter().filter(|e| matches!(e.kind, EventKind::TtsStarted { .. })).map(|e| e.t_ms).collect();
    if starts.is_empty() {
        return Verdict::default();
    }
    // The bot began to speak while the caller was speaking (well inside their turn).
    let over: Vec<Evidence> = starts.iter().filter_map(|&t| turns.iter().find(|(s, e)| t > s + 200 && t + 200 < *e).map(|(s, e)| ev(t, format!("the bot spoke over the caller (their turn {:.1}-{:.1} s)", *s as f64 / 1000.0, *e as f64 / 1000.0)))).collect();
    verdict(over.is_empty(), over)
}

fn apology_after_complaint(events: &[Event], apologies: &[String]) -> Verdict {
    let complaint = events.iter().find_map(|e| match &e.kind {
        EventKind::Intent { intent, .. } if intent == "complaint" => Some((e.t_ms, "the caller complained".to_string())),
        EventKind::Emotion { source, anger: Some(a), is_final: true, .. } if source == "fused" && *a >= ANGRY => Some((e.t_ms, format!("the caller was angry ({:.0}%)", a * 100.0))),
        _ => None,
    });
    let Some((t, what)) = complaint else { return Verdict::default() };
    let apology = our_lines(events).into_iter().find(|(at, _, text)| *at >= t && contains_any(text, apologies).is_some());
    match apology {
        Some((at, who, text)) => verdict(true, vec![ev(t, what), ev(at, format!("{who}: {text}"))]),
        None => verdict(false, vec![ev(t, format!("{what}; no apology after it"))]),
    }
}

fn resolved_or_transferred(events: &[Event]) -> Verdict {
    if let Some((t, reason)) = events.iter().find_map(|e| match &e.kind {
        EventKind::Handoff { reason, .. } => Some((e.t_ms, reason.clone())),
        _ => None,
    }) {
        return verdict(!reason.is_empty(), vec![ev(t, format!("transferred to a person ({reason})"))]);
    }
    let last_turn = events.iter().rev().find_map(|e| match &e.kind {
        EventKind::Transcript { is_final: true, speaker, start_ms, text, .. } if speaker == "caller" => Some((*start_ms, text.clone())),
        _ => None,
    });
    let Some((start, said)) = last_turn else { return Verdict::default() };
    let answer = events.iter().find_map(|e| match &e.kind {
        EventKind::BotReply { in_reply_to_ms: Some(r), text, .. } if *r == start => Some((e.t_ms, text.clone())),
        _ => None,
    });
    match answer {
        Some((t, text)) => verdict(true, vec![ev(t, format!("the caller's last words answered: {text}"))]),
        None => verdict(false, vec![ev(start, format!("the caller's last words went unanswered: {said}"))]),
    }
}

fn anger_lower_at_end(events: &[Event]) -> Verdict {
    let series: Vec<(u64, f32)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Emotion { source, anger: Some(a), is_final: true, .. } if source == "fused" => Some((e.t_ms, *a)),
            _ => None,
        })
        .collect();
    let Some(&(peak_t, peak)) = series.iter().max_by(|a, b| a.1.total_cmp(&b.1)) else { return Verdict::default() };
    if peak < ANGRY {
        return Verdict::default();
    }
    let (last_t, last) = series[series.len() - 1];
    let calmer = last_t > peak_t && last < peak - 0.05;
    verdict(calmer, vec![ev(peak_t, format!("peak anger {:.0}%", peak * 100.0)), ev(last_t, format!("anger at the end {:.0}%", last * 100.0))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialog::Action;

    fn cfg() -> QaConfig {
        let c = crate::config::Config::from_toml_str("").unwrap();
        c.qa
    }

    fn e(t: u64, kind: EventKind) -> Event {
        Event::new("c", t, kind)
    }

    /// The caller's turn: speech from `start` to `end`, its words.
    fn caller(start: u64, end: u64, text: &str) -> Vec<Event> {
        vec![
            e(end, EventKind::SpeechEnded { start_ms: start, end_ms: end, reason: "silence".into() }),
            e(end + 300, EventKind::Transcript { is_final: true, text: text.into(), lang: "en".into(), start_ms: start, end_ms: end, queue_ms: 0, asr_ms: 300, speaker: "caller".into() }),
        ]
    }

    /// The bot's answer to the turn at `to`, spoken from `t`.
    fn bot(t: u64, to: Option<u64>, text: &str, actions: Vec<Action>) -> Vec<Event> {
        vec![e(t, EventKind::BotReply { reply_id: t, text: text.into(), lang: "en".into(), in_reply_to_ms: to, kb: None, actions }), e(t + 100, EventKind::TtsStarted { reply_id: t })]
    }

    fn intent(t: u64, name: &str, order: Option<&str>) -> Event {
        let entities = order.map(|o| vec![serde_json::from_value(serde_json::json!({ "type": "order_number", "value": o, "text": o, "start": 0, "end": 5 })).unwrap()]).unwrap_or_default();
        e(t, EventKind::Intent { intent: name.into(), confidence: 0.9, top: Vec::new(), entities, utterance_start_ms: t })
    }

    fn anger(t: u64, a: f32) -> Event {
        e(t, EventKind::Emotion { source: "fused".into(), label: if a > 0.5 { "anger" } else { "neutral" }.into(), score: 0.9, sentiment: None, anger: Some(a), is_final: true, utterance_start_ms: None })
    }

    fn action(name: &str, order: &str) -> Action {
        Action { name: name.into(), order: Some(order.into()), ok: true, detail: "ok".into() }
    }

    fn call(parts: Vec<Vec<Event>>) -> Vec<Event> {
        let mut all: Vec<Event> = parts.into_iter().flatten().collect();
        all.sort_by_key(|e| e.t_ms);
        all
    }

    #[test]
    fn greeting_is_the_bot_speaking_first_or_a_greeting_word() {
        let greeted = call(vec![bot(0, None, "Thanks for calling the shop.", vec![])]);
        assert_eq!(greeting(&greeted).passed, Some(true));
        let hello = call(vec![caller(500, 2000, "where is my order"), bot(3000, Some(500), "Hello! Which order?", vec![])]);
        assert_eq!(greeting(&hello).passed, Some(true));
        let curt = call(vec![caller(500, 2000, "where is my order"), bot(3000, Some(500), "Which order?", vec![])]);
        assert_eq!(greeting(&curt).passed, Some(false));
        assert_eq!(greeting(&caller(0, 100, "hi")).passed, None);
        let chat: Vec<Event> = [Event::new("c", 0, EventKind::CallStarted { source: "chat:web-1".into() })].into_iter().chain(curt.iter().cloned()).collect();
        assert_eq!(greeting(&chat).passed, None, "a chat is not judged on a greeting");
    }

    #[test]
    fn a_change_needs_the_order_verified_first() {
        let ok = call(vec![vec![intent(2000, "change_shipping_address", Some("10001"))], bot(3000, Some(500), "Changed.", vec![action("change_address", "10001")])]);
        let v = verified_before_change(&ok);
        assert_eq!(v.passed, Some(true));
        assert_eq!(v.evidence[0].text, "order 10001 given");
        let blind = call(vec![bot(3000, Some(500), "Cancelled.", vec![action("cancel_order", "10001")])]);
        assert_eq!(verified_before_change(&blind).passed, Some(false));
        let no_change = call(vec![bot(3000, Some(500), "It is on its way.", vec![action("lookup_order", "10001")])]);
        assert_eq!(verified_before_change(&no_change).passed, None);
    }

    #[test]
    fn promises_and_personal_data_read_out_fail_and_raise_flags() {
        let c = cfg();
        let promised = call(vec![bot(1000, None, "I guarantee it arrives tomorrow.", vec![])]);
        assert_eq!(no_improper_promise(&promised, &c.promises).passed, Some(false));
        let zh = call(vec![bot(1000, None, "我们一定给您退款。", vec![])]);
        assert_eq!(no_improper_promise(&zh, &c.promises).passed, Some(false));
        let fine = call(vec![bot(1000, None, "Refunds usually take five days.", vec![])]);
        assert_eq!(no_improper_promise(&fine, &c.promises).passed, Some(true));
        let leak = call(vec![bot(1000, None, "Your phone is 13812345678.", vec![])]);
        let v = no_pii_read_out(&leak);
        assert_eq!(v.passed, Some(false));
        assert!(v.evidence[0].text.contains("138****5678") && !v.evidence[0].text.contains("13812345678"), "{:?}", v.evidence);
        assert_eq!(no_pii_read_out(&call(vec![bot(1000, None, "Order 48152 is shipped.", vec![])])).passed, Some(true));
        let mut form = c.clone();
        form.items.retain(|i| i.id == "no_improper_promise" || i.id == "greeting");
        let r = crate::qa::score(&form, &promised);
        assert_eq!(r.flags, ["improper_promise"]);
        assert_eq!(r.score, Some(25), "greeting (5) passed of 5 + 15");
    }

    #[test]
    fn a_long_wait_for_an_answer_fails_unless_the_caller_is_waiting_for_an_agent() {
        let quick = call(vec![caller(0, 2000, "where is my order"), bot(3000, Some(0), "Which order?", vec![])]);
        assert_eq!(no_long_silence(&quick, 8000).passed, Some(true));
        let slow = call(vec![caller(0, 2000, "where is my order"), bot(12_000, Some(0), "Which order?", vec![])]);
        let v = no_long_silence(&slow, 8000);
        assert_eq!(v.passed, Some(false));
        assert_eq!(v.evidence[0].text, "longest wait for an answer: 10.1 s");
        let queued = call(vec![caller(0, 2000, "a person please"), vec![e(2500, EventKind::Queued { position: 1, wait_estimate_ms: 0 })], caller(5000, 6000, "hello?"), bot(30_000, None, "Thanks for waiting.", vec![])]);
        assert_eq!(no_long_silence(&queued, 8000).passed, None);
    }

    #[test]
    fn the_bot_starting_inside_the_callers_turn_is_talking_over_them() {
        let polite = call(vec![caller(0, 2000, "where is my order"), bot(2500, Some(0), "Which order?", vec![])]);
        assert_eq!(no_talk_over(&polite).passed, Some(true));
        let rude = call(vec![caller(0, 4000, "where is my order"), bot(1500, None, "Which order?", vec![])]);
        assert_eq!(no_talk_over(&rude).passed, Some(false));
    }

    #[test]
    fn a_complaint_or_anger_wants_an_apology_after_it() {
        let c = cfg();
        let sorry = call(vec![vec![intent(2000, "complaint", None)], bot(3000, Some(0), "I'm sorry to hear that.", vec![])]);
        assert_eq!(apology_after_complaint(&sorry, &c.apologies).passed, Some(true));
        let cold = call(vec![vec![anger(2000, 0.8)], bot(3000, Some(0), "Which order?", vec![])]);
        assert_eq!(apology_after_complaint(&cold, &c.apologies).passed, Some(false));
        let zh = call(vec![vec![intent(2000, "complaint", None)], bot(3000, Some(0), "非常抱歉给您带来不便。", vec![])]);
        assert_eq!(apology_after_complaint(&zh, &c.apologies).passed, Some(true));
        assert_eq!(apology_after_complaint(&call(vec![vec![anger(2000, 0.2)]]), &c.apologies).passed, None);
    }

    #[test]
    fn a_call_is_resolved_when_the_last_words_were_answered_or_transferred_with_a_reason() {
        let answered = call(vec![caller(0, 2000, "where is my order"), bot(3000, Some(0), "It is on its way.", vec![])]);
        assert_eq!(resolved_or_transferred(&answered).passed, Some(true));
        let left = call(vec![caller(0, 2000, "where is my order"), bot(3000, Some(0), "Which order?", vec![]), caller(5000, 6000, "forget it")]);
        assert_eq!(resolved_or_transferred(&left).passed, Some(false));
        let moved = call(vec![caller(0, 2000, "a person please"), vec![e(2500, EventKind::Handoff { reason: "caller_request".into(), context: Default::default() })]]);
        assert_eq!(resolved_or_transferred(&moved).passed, Some(true));
    }

    #[test]
    fn an_angry_caller_should_be_calmer_at_the_end() {
        assert_eq!(anger_lower_at_end(&call(vec![vec![anger(1000, 0.2), anger(5000, 0.9), anger(9000, 0.3)]])).passed, Some(true));
        assert_eq!(anger_lower_at_end(&call(vec![vec![anger(1000, 0.2), anger(9000, 0.9)]])).passed, Some(false));
        assert_eq!(anger_lower_at_end(&call(vec![vec![anger(1000, 0.2), anger(9000, 0.3)]])).passed, None);
    }

    #[test]
    fn the_default_form_names_only_known_rules() {
        assert!(cfg().check().is_ok());
        let mut bad = cfg();
        bad.items[0].id = "smile".into();
        assert!(bad.check().unwrap_err().contains("unknown rule \"smile\""));
    }
}
