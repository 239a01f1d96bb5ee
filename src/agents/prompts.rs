//! What the queue says: to the waiting caller (their place, the wait, the callback key, the
//! callback's confirmation) and to the agent before the caller is put through (the whisper).
//! English and Mandarin.

use crate::call::HandoffContext;
use crate::dialog::{Progress, Reply};
use crate::nlu::entities::EntityType;

fn minutes(wait_ms: u64) -> u64 {
    wait_ms.div_ceil(60_000).max(1)
}

/// The caller's place in the queue and the expected wait, and how to ask for a callback.
pub fn position(lang: &str, position: usize, wait_estimate_ms: u64) -> Reply {
    let m = minutes(wait_estimate_ms);
    let text = if lang == "zh" {
        format!("您目前排在第{position}位，预计等待约{m}分钟。如需客服回电，请按1；如需留言，请按2。")
    } else {
        let unit = if m == 1 { "minute" } else { "minutes" };
        format!("You are number {position} in line. The expected wait is about {m} {unit}. To be called back instead, press 1. To leave a message, press 2.")
    };
    Reply::new(text, lang, Progress::Chat)
}

/// Nobody takes calls now: when they do (a callback is booked next).
pub fn closed(lang: &str, hours: &super::hours::Hours) -> Reply {
    let text = if lang == "zh" { format!("很抱歉，现在不是人工客服的服务时间。服务时间为{}。", hours.spoken("zh")) } else { format!("Sorry, our agents are not available right now. They take calls {}.", hours.spoken("en")) };
    Reply::new(text, lang, Progress::Chat)
}

/// The callback is booked; the bot ends the call after saying so.
pub fn callback_booked(lang: &str) -> Reply {
    let text = if lang == "zh" { "好的，客服会尽快给您回电。再见。" } else { "Thank you. An agent will call you back as soon as possible. Goodbye." };
    let mut r = Reply::new(text, lang, Progress::Chat);
    r.end_call = true;
    r
}

/// The caller chose to leave a message: what to do (recording starts when this has played).
pub fn leave_message(lang: &str) -> Reply {
    let text = if lang == "zh" { "请在本提示结束后留言，说明您的姓名和需要帮助的事项。留言完毕请按井号键，或直接挂机。" } else { "Please leave your message when this prompt ends: your name, and what we can help you with. Press the hash key when you are done, or just hang up." };
    Reply::new(text, lang, Progress::Chat)
}

/// The message is kept; the bot ends the call after saying so.
pub fn message_taken(lang: &str) -> Reply {
    let text = if lang == "zh" { "谢谢，您的留言已记录，客服会尽快给您回电。再见。" } else { "Thank you. Your message is recorded, and an agent will call you back. Goodbye." };
    let mut r = Reply::new(text, lang, Progress::Chat);
    r.end_call = true;
    r
}

/// After the agent hung up: a rating on the keypad.
pub fn survey(lang: &str) -> Reply {
    let text = if lang == "zh" { "感谢您的来电。请为本次服务评分，非常满意请按5，非常不满意请按1。" } else { "Thank you for calling. How satisfied were you with our agent? Press 1 to 5, where 5 is very satisfied." };
    Reply::new(text, lang, Progress::Chat)
}

/// The rating is in (`Some`) or none came: the bot says goodbye and ends the call.
pub fn survey_done(lang: &str, rated: bool) -> Reply {
    let text = match (lang == "zh", rated) {
        (true, true) => "感谢您的评价，再见。",
        (true, false) => "再见。",
        (false, true) => "Thank you for your feedback. Goodbye.",
        (false, false) => "Goodbye.",
    };
    let mut r = Reply::new(text, lang, Progress::Chat);
    r.end_call = true;
    r
}

/// What the agent hears before the caller is put through: why, what about, how long they
/// waited. Digits are spaced so that they are read one by one.
pub fn whisper(reason: &str, ctx: &HandoffContext, waited_ms: u64) -> String {
    let zh = ctx.lang == "zh";
    let wants = ctx.intents.iter().rev().map(|i| i.intent.as_str()).find(|i| !matches!(*i, "human_agent" | "greeting" | "goodbye" | "affirm" | "deny" | "out_of_scope" | "complaint"));
    let order = ctx.entities.iter().find(|e| e.kind == EntityType::OrderNumber).map(|e| e.value.chars().map(String::from).collect::<Vec<_>>().join(" "));
    let secs = (waited_ms + 500) / 1000;
    if zh {
        let why = match reason {
            "anger" => "客户情绪激动",
            "caller_request" => "客户要求转人工",
            "high_risk" => "高风险诉求",
            "not_understood" => "机器人未能理解客户",
            "unresolved" => "问题未解决",
            "dtmf" => "客户按键转人工",
            _ => "转人工",
        };
        let mut t = why.to_string();
        let wants = wants.and_then(|w| match w {
            "return_refund" => Some("退货退款"),
            "track_refund" => Some("查询退款"),
            "refund_policy" => Some("退款政策"),
            "track_order" => Some("查询物流"),
            "delivery_time" => Some("送达时间"),
            "change_shipping_address" => Some("修改地址"),
            "cancel_order" => Some("取消订单"),
            "change_order" => Some("修改订单"),
            "payment_issue" => Some("支付问题"),
            "invoice" => Some("发票"),
            "price_adjustment" => Some("价格保护"),
            _ => None,
        });
        if let Some(w) = wants {
            t += &format!("，{w}");
        }
        if let Some(o) = order {
            t += &format!("，订单{o}");
        }
        t + &format!("，已等待{secs}秒。")
    } else {
        let why = match reason {
            "anger" => "Angry caller",
            "caller_request" => "Caller asked for a person",
            "high_risk" => "High risk request",
            "not_understood" => "The bot could not understand the caller",
            "unresolved" => "Request still unresolved",
            "dtmf" => "Caller pressed zero",
            _ => "Transferred call",
        };
        let mut t = why.to_string();
        if let Some(w) = wants {
            t += &format!(", {}", w.replace('_', " "));
        }
        if let Some(o) = order {
            t += &format!(", order {o}");
        }
        t + &format!(". Waited {secs} seconds.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::escalation::IntentAt;
    use crate::nlu::entities::Entity;

    #[test]
    fn the_whisper_says_why_what_and_how_long() {
        let ctx = HandoffContext {
            summary: String::new(),
            transcript: vec![],
            intents: vec![IntentAt { t_ms: 0, intent: "return_refund".into(), confidence: 0.9 }, IntentAt { t_ms: 1, intent: "human_agent".into(), confidence: 0.9 }],
            entities: vec![Entity { kind: EntityType::OrderNumber, value: "48152".into(), text: "48152".into(), start: 0, end: 5, code: None }],
            emotions: vec![],
            lang: "en".into(),
        };
        assert_eq!(whisper("anger", &ctx, 40_400), "Angry caller, return refund, order 4 8 1 5 2. Waited 40 seconds.");
        let zh = HandoffContext { lang: "zh".into(), ..ctx };
        assert_eq!(whisper("caller_request", &zh, 5_000), "客户要求转人工，退货退款，订单4 8 1 5 2，已等待5秒。");
        assert!(position("en", 2, 61_000).text.starts_with("You are number 2 in line. The expected wait is about 2 minutes."));
        assert!(position("zh", 1, 0).text.contains("第1位") && callback_booked("zh").end_call);
    }
}
