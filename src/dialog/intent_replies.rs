//! The minimal dialog: one reply per intent, in the caller's language, with the order number
//! read back when the caller gave one. (The e-commerce dialog replaces it.)

use crate::dialog::{Dialog, Progress, Reply, Turn};
use crate::nlu::entities::EntityType;

#[derive(Debug, Default)]
pub struct IntentReplies;

/// (intent, English, Chinese); `{order}` is the caller's order number, or "your order".
const REPLIES: &[(&str, &str, &str)] = &[
    ("track_order", "Let me check {order} for you. It left our warehouse yesterday and is on its way with the courier. It should reach you within two to three days.", "好的，我帮您查一下{order}。包裹昨天已经从仓库发出，正在配送中，预计两到三天送达。"),
    ("delivery_time", "Most orders arrive within two to three business days. Express delivery takes one day.", "一般两到三个工作日送达，加急配送一天到。"),
    ("change_shipping_address", "I can help you change the delivery address of {order}. What is the new address?", "可以帮您修改{order}的收货地址，请问新地址是什么？"),
    ("cancel_order", "I can cancel {order} for you as long as it has not shipped yet. Shall I go ahead?", "只要还没发货，我可以帮您取消{order}。需要现在取消吗？"),
    ("change_order", "I can change the size, colour or quantity before the order ships. What would you like to change?", "发货前可以修改尺码、颜色或数量，您想改什么？"),
    ("return_refund", "I'm sorry it didn't work out. You can return it within seven days of delivery for a full refund. Shall I start the return?", "很抱歉给您带来不便。签收后七天内可以退货并全额退款，需要我帮您申请退货吗？"),
    ("track_refund", "Refunds reach your account three to five business days after we receive the return.", "我们收到退货后，退款会在三到五个工作日内到账。"),
    ("refund_policy", "You can return items within seven days of delivery, unused and in their original packaging. Return shipping is free.", "商品签收后七天内、未使用且包装完好即可退货，退货运费由我们承担。"),
    ("price_adjustment", "If the price drops within seven days of your purchase, we refund the difference.", "购买后七天内降价，我们会退还差价。"),
    ("payment_issue", "I'm sorry about the payment trouble. A double charge is refunded automatically within three days. We accept cards, PayPal, Alipay and WeChat Pay.", "很抱歉支付出了问题。重复扣款会在三天内自动退回。我们支持银行卡、支付宝和微信支付。"),
    ("invoice", "I'll send the invoice to the email address on your account.", "发票会发送到您账户绑定的邮箱。"),
    ("product_availability", "Let me check the stock for you. That item is available and ships within a day.", "我帮您查一下库存，这款有货，一天内发货。"),
    ("product_info", "You'll find the full details on the product page. Is there something specific you'd like to know?", "商品页面上有详细信息，您具体想了解哪一方面？"),
    ("promotion", "Right now there is ten percent off your first order, and free shipping on orders over fifty dollars.", "目前新用户首单九折，满一百元包邮。"),
    ("account_issue", "You can reset your password from the sign-in page. I can also send a reset link to your email.", "您可以在登录页面重置密码，我也可以给您的邮箱发送重置链接。"),
    ("human_agent", "Of course. I'm connecting you to one of my colleagues now.", "好的，马上为您转接人工客服。"),
    ("complaint", "I'm very sorry about your experience. I'm passing you to a colleague who can help right away.", "非常抱歉给您带来不好的体验，我马上为您转接专人处理。"),
    ("greeting", "Hello! How can I help you today?", "您好！请问有什么可以帮您？"),
    ("goodbye", "Thank you for calling. Goodbye!", "感谢您的来电，再见！"),
    ("affirm", "Great, it's done. Is there anything else I can help you with?", "好的，已经为您处理。还有其他可以帮您的吗？"),
    ("deny", "All right. What else can I do for you?", "好的，还有什么可以帮您？"),
    ("out_of_scope", "Sorry, I can only help with orders, deliveries, returns and refunds. Could you say that another way?", "抱歉，我只能处理订单、物流和退换货相关的问题，您能换个说法吗？"),
];

impl Dialog for IntentReplies {
    fn greeting(&mut self, lang: &str) -> Option<Reply> {
        let text = if lang == "zh" { "您好，欢迎致电。请问有什么可以帮您？" } else { "Hello, thanks for calling. How can I help you?" };
        Some(Reply::new(text, lang, Progress::Chat))
    }

    fn respond(&mut self, turn: &Turn) -> Reply {
        let zh = turn.lang == "zh";
        let row = REPLIES
            .iter()
            .find(|(i, _, _)| *i == turn.nlu.intent)
            .or_else(|| REPLIES.last())
            .copied()
            .unwrap_or(("out_of_scope", "Sorry?", "抱歉？"));
        let order = turn.nlu.entities.iter().find(|e| e.kind == EntityType::OrderNumber).map(|e| e.value.clone());
        let progress = match row.0 {
            "track_order" if order.is_some() => Progress::Resolved,
            "track_order" | "change_shipping_address" | "cancel_order" | "change_order" | "return_refund" | "product_info" => {
                Progress::Open
            }
            "greeting" | "goodbye" | "deny" | "out_of_scope" | "human_agent" | "complaint" => Progress::Chat,
            _ => Progress::Resolved,
        };
        let order_words = match (zh, order) {
            (false, Some(n)) => format!("order {}", n.chars().map(|c| c.to_string()).collect::<Vec<_>>().join(" ")),
            (false, None) => "your order".into(),
            (true, Some(n)) => format!("订单{n}"),
            (true, None) => "您的订单".into(),
        };
        let text = if zh { row.2 } else { row.1 }.replace("{order}", &order_words);
        Reply { end_call: row.0 == "goodbye", ..Reply::new(text, turn.lang, progress) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nlu::{Nlu, INTENTS};

    #[test]
    fn every_intent_has_a_reply_in_both_languages() {
        for intent in INTENTS {
            let row = REPLIES.iter().find(|(i, _, _)| i == intent).unwrap_or_else(|| panic!("{intent}"));
            assert!(row.1.is_ascii(), "{intent}");
            assert!(crate::nlu::text::detect_lang(row.2) == "zh", "{intent}");
        }
    }

    #[test]
    fn replies_follow_the_caller_and_read_back_the_order_number() {
        let nlu = Nlu::load(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/nlu").as_path()).unwrap();
        let mut d = IntentReplies;
        for (text, lang, wants) in [
            ("where is order 48152", "en", "order 4 8 1 5 2"),
            ("订单四八一五二到哪了", "zh", "订单48152"),
        ] {
            let r = nlu.analyze(text, None).unwrap();
            let reply = d.respond(&Turn { text, lang, nlu: &r });
            assert_eq!(reply.lang, lang);
            assert!(reply.text.contains(wants), "{}", reply.text);
        }
    }
}
