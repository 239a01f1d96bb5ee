//! The e-commerce dialog: per-call state, slot filling (the order number from speech or the
//! keypad, read back), confirmation before every change, topic switches in the middle of a task
//! and back, at most two clarifying questions before offering a person, the shop's rules
//! (`orders::rules`) and its knowledge base. Replies are one or two spoken sentences in the
//! caller's language.

use std::sync::Arc;

use crate::dialog::speech::{date, order as say_order, pick};
use crate::dialog::{Action, Dialog, Progress, Reply, Turn};
use crate::kb::Kb;
use crate::nlu::entities::EntityType;
use crate::orders::rules::{self, Refusal, Verdict};
use crate::orders::{Day, Order, OrderError, OrderService, OrderStatus};
use crate::store::Store;

/// What the dialog works with, shared by every call.
#[derive(Clone)]
pub struct ShopServices {
    pub orders: Arc<dyn OrderService>,
    pub kb: Arc<Kb>,
    /// Where questions the bot could not answer are counted.
    pub store: Option<Arc<Store>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Task {
    Track,
    ChangeAddress,
    Cancel,
    Return,
    RefundStatus,
    PriceAdjust,
    Invoice,
}

impl Task {
    fn of_intent(intent: &str) -> Option<Self> {
        Some(match intent {
            "track_order" => Task::Track,
            "change_shipping_address" => Task::ChangeAddress,
            "cancel_order" => Task::Cancel,
            "return_refund" => Task::Return,
            "track_refund" => Task::RefundStatus,
            "price_adjustment" => Task::PriceAdjust,
            "invoice" => Task::Invoice,
            _ => return None,
        })
    }

    fn name(&self, lang: &str) -> String {
        let (en, zh) = match self {
            Task::Track => ("your order status", "查询订单"),
            Task::ChangeAddress => ("the address change", "修改地址"),
            Task::Cancel => ("the cancellation", "取消订单"),
            Task::Return => ("the return", "退货"),
            Task::RefundStatus => ("your refund", "查询退款"),
            Task::PriceAdjust => ("the price adjustment", "价格保护"),
            Task::Invoice => ("the invoice", "开发票"),
        };
        pick(lang, en, zh)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Awaiting {
    OrderNumber,
    NewAddress,
    Confirm,
    OfferAgent,
}

pub struct ShopDialog {
    services: ShopServices,
    today: Day,
    task: Option<Task>,
    order: Option<String>,
    new_address: Option<String>,
    awaiting: Option<Awaiting>,
    /// Clarifying questions asked for what is awaited now.
    asks: u32,
    digits: String,
    /// This turn gave what the bot had asked for.
    answered: bool,
    /// The caller's language so far (for answers to keypad input).
    lang: String,
    /// The order the call is about, given by the leg (the shop's app): used when a task needs
    /// an order and the caller names none.
    given_order: Option<String>,
}

/// Intents the knowledge base answers (when no task needs an order).
const KB_INTENTS: &[&str] =
    &["refund_policy", "delivery_time", "promotion", "payment_issue", "product_info", "account_issue", "change_order", "price_adjustment", "invoice", "track_refund"];
const MAX_ASKS: u32 = 2;

/// A reply starts with a capital ("Order 4 8 1 5 2 ..."), for the voice and the chat.
fn capitalised(mut r: Reply) -> Reply {
    if let Some(first) = r.text.chars().next().filter(|c| c.is_ascii_lowercase()) {
        r.text.replace_range(..1, &first.to_ascii_uppercase().to_string());
    }
    r
}

fn action(name: &str, order: Option<&str>, ok: bool, detail: &str) -> Action {
    Action { name: name.into(), order: order.map(str::to_string), ok, detail: detail.into() }
}

impl ShopDialog {
    pub fn new(services: ShopServices) -> Self {
        Self::with_today(services, Day::today())
    }

    pub fn with_today(services: ShopServices, today: Day) -> Self {
        Self { services, today, task: None, order: None, new_address: None, awaiting: None, asks: 0, digits: String::new(), answered: false, lang: "en".into(), given_order: None }
    }

    fn reset(&mut self) {
        self.task = None;
        self.order = None;
        self.new_address = None;
        self.awaiting = None;
        self.asks = 0;
    }

    fn ask_order_number(&mut self, lang: &str, lead: &str) -> Reply {
        self.awaiting = Some(Awaiting::OrderNumber);
        let q = pick(lang, "What's your order number? You can also type it on the keypad and press hash.", "请问订单号是多少？也可以在按键上输入，以井号结束。");
        Reply::new(format!("{lead}{q}"), lang, Progress::Open)
    }

    /// Two clarifying questions at most; then a person is offered.
    fn clarify(&mut self, lang: &str, again: Reply) -> Reply {
        self.asks += 1;
        if self.asks > MAX_ASKS {
            return self.offer_agent(lang, &pick(lang, "I'm sorry, I can't get this sorted. ", "抱歉，我这边没能帮您处理好。"));
        }
        again
    }

    fn offer_agent(&mut self, lang: &str, lead: &str) -> Reply {
        self.awaiting = Some(Awaiting::OfferAgent);
        let q = pick(lang, "Shall I connect you to a colleague?", "需要为您转接人工客服吗？");
        Reply::new(format!("{lead}{q}"), lang, Progress::Open)
    }

    /// The order, or the reply that says why not.
    fn lookup(&mut self, id: &str, lang: &str, actions: &mut Vec<Action>) -> Result<Order, Reply> {
        match self.services.orders.order(id) {
            Ok(o) => {
                actions.push(action("lookup_order", Some(id), true, o.status.as_str()));
                Ok(o)
            }
            Err(e) => {
                actions.push(action("lookup_order", Some(id), false, e.code()));
                Err(self.order_error(e, id, lang))
            }
        }
    }

    fn order_error(&mut self, e: OrderError, id: &str, lang: &str) -> Reply {
        match e {
            OrderError::NotFound(_) => {
                self.order = None;
                self.awaiting = Some(Awaiting::OrderNumber);
                let again = Reply::new(
                    format!(
                        "{}{}",
                        pick(lang, "I couldn't find ", "没有找到"),
                        pick(lang, &format!("{}. Could you check the number?", say_order(id, lang)), &format!("{}，请您再核对一下订单号。", say_order(id, lang)))
                    ),
                    lang,
                    Progress::Open,
                );
                self.clarify(lang, again)
            }
            OrderError::Unavailable(_) | OrderError::BadResponse(_) => self.offer_agent(
                lang,
                &pick(lang, "Sorry, I can't reach our order system right now. ", "抱歉，订单系统暂时无法访问。"),
            ),
        }
    }

    /// Carries the task on, now that the order number is known.
    fn proceed(&mut self, lang: &str, actions: &mut Vec<Action>) -> Reply {
        let (Some(task), Some(id)) = (self.task, self.order.clone()) else {
            return self.ask_order_number(lang, "");
        };
        let o = match self.lookup(&id, lang, actions) {
            Ok(o) => o,
            Err(r) => return r,
        };
        self.asks = 0;
        let on = say_order(&id, lang);
        let done = |this: &mut Self, text: String| {
            this.reset();
            Reply::new(text, lang, Progress::Resolved)
        };
        match task {
            Task::Track => {
                let eta = o.eta.as_deref().map(|e| date(e, lang)).unwrap_or_default();
                let text = match o.status {
                    OrderStatus::Processing => pick(lang, &format!("{on} is being packed and should reach you by {eta}."), &format!("{on}正在打包，预计{eta}送达。")),
                    OrderStatus::Shipped => {
                        let carrier = o.carrier.clone().unwrap_or_default();
                        let shipped = o.shipped_on.as_deref().map(|d| date(d, lang)).unwrap_or_default();
                        pick(lang, &format!("{on} left our warehouse on {shipped} with {carrier} and should arrive by {eta}."), &format!("{on}已于{shipped}由{carrier}发出，预计{eta}送达。"))
                    }
                    OrderStatus::Delivered => {
                        let d = o.delivered_on.as_deref().map(|d| date(d, lang)).unwrap_or_default();
                        pick(lang, &format!("{on} was delivered on {d}."), &format!("{on}已于{d}签收。"))
                    }
                    OrderStatus::Cancelled => pick(lang, &format!("{on} was cancelled."), &format!("{on}已取消。")),
                    OrderStatus::Returned => pick(lang, &format!("{on} was returned."), &format!("{on}已退货。")),
                };
                done(self, text)
            }
            Task::ChangeAddress => match rules::change_address(&o) {
                Verdict::Allowed => match self.new_address.clone() {
                    Some(a) => self.confirm(lang, &format!("{}{a}", pick(lang, &format!("I'll change the delivery address of {on} to "), &format!("我将把{on}的收货地址改为"))), &pick(lang, ". Shall I go ahead?", "，确认修改吗？")),
                    None => {
                        self.awaiting = Some(Awaiting::NewAddress);
                        Reply::new(pick(lang, &format!("{on} hasn't shipped yet, so I can change it. What's the new address?"), &format!("{on}还没发货，可以修改。请问新地址是什么？")), lang, Progress::Open)
                    }
                },
                Verdict::Refused(r) => {
                    actions.push(action("change_address", Some(&id), false, r.code()));
                    let lead = pick(lang, &format!("{on} has already shipped, so I can't change its address. "), &format!("{on}已经发货，无法修改地址。"));
                    self.offer_agent(lang, &lead)
                }
            },
            Task::Cancel => match rules::cancel(&o) {
                Verdict::Allowed => self.confirm(lang, &pick(lang, &format!("Shall I cancel {on}, the {}", o.items), &format!("确认要取消{on}（{}）", o.items)), &pick(lang, "?", "吗？")),
                Verdict::Refused(r) => {
                    actions.push(action("cancel_order", Some(&id), false, r.code()));
                    let text = if r == Refusal::AlreadyShipped {
                        pick(lang, &format!("{on} has already shipped, so it can't be cancelled. You can return it within seven days of delivery."), &format!("{on}已经发货，无法取消，签收后七天内可以退货。"))
                    } else {
                        pick(lang, &format!("{on} is already closed."), &format!("{on}已经关闭。"))
                    };
                    done(self, text)
                }
            },
            Task::Return => match rules::start_return(&o, self.today) {
                Verdict::Allowed => {
                    let d = o.delivered_on.as_deref().map(|d| date(d, lang)).unwrap_or_default();
                    self.confirm(lang, &pick(lang, &format!("{on} was delivered on {d}, so it can be returned for a full refund. Shall I start the return"), &format!("{on}于{d}签收，可以退货全额退款。需要现在为您申请退货")), &pick(lang, "?", "吗？"))
                }
                Verdict::Refused(r) => {
                    actions.push(action("start_return", Some(&id), false, r.code()));
                    match r {
                        Refusal::AmountOverLimit => self.offer_agent(lang, &pick(lang, "Returns over one thousand dollars are handled by a colleague. ", "超过一千元的退货需要专人处理。")),
                        Refusal::ReturnWindowOver => done(self, pick(lang, &format!("{on} was delivered more than seven days ago, so it can't be returned, but it's still under warranty."), &format!("{on}签收已超过七天，无法退货，但仍在保修期内。"))),
                        Refusal::NotDelivered => done(self, pick(lang, &format!("{on} hasn't been delivered yet. You can return it once it arrives."), &format!("{on}还没有签收，收到后就可以申请退货。"))),
                        _ => done(self, pick(lang, &format!("{on} has already been returned."), &format!("{on}已经退货了。"))),
                    }
                }
            },
            Task::RefundStatus => {
                let text = match &o.refund_status {
                    Some(s) => pick(lang, &format!("For {on}: {s}."), &format!("{on}的退款状态：{s}。")),
                    None => pick(lang, &format!("There's no refund on {on} yet. You can start a return within seven days of delivery."), &format!("{on}目前没有退款，签收后七天内可以申请退货。")),
                };
                done(self, text)
            }
            Task::PriceAdjust => {
                let text = match rules::price_adjustment(&o, self.today) {
                    Verdict::Allowed => pick(lang, &format!("{on} is within seven days of purchase, so if the price has dropped we refund the difference to your card."), &format!("{on}购买未满七天，如果降价我们会把差价退回原支付方式。")),
                    Verdict::Refused(_) => pick(lang, &format!("{on} was bought more than seven days ago, so it's outside price protection."), &format!("{on}购买已超过七天，不在价格保护范围内。")),
                };
                done(self, text)
            }
            Task::Invoice => match self.services.orders.request_invoice(&id) {
                Ok(()) => {
                    actions.push(action("request_invoice", Some(&id), true, "requested"));
                    done(self, pick(lang, &format!("Done: the invoice for {on} will be emailed to you today."), &format!("已为{on}申请发票，今天会发送到您的邮箱。")))
                }
                Err(e) => {
                    actions.push(action("request_invoice", Some(&id), false, e.code()));
                    self.order_error(e, &id, lang)
                }
            },
        }
    }

    fn confirm(&mut self, lang: &str, question: &str, end: &str) -> Reply {
        self.awaiting = Some(Awaiting::Confirm);
        Reply::new(format!("{question}{end}"), lang, Progress::Open)
    }

    /// The caller said yes to a change: it is made.
    fn execute(&mut self, lang: &str, actions: &mut Vec<Action>) -> Reply {
        let (Some(task), Some(id)) = (self.task, self.order.clone()) else {
            self.reset();
            return Reply::new(pick(lang, "All right. What else can I do for you?", "好的，还有什么可以帮您？"), lang, Progress::Chat);
        };
        let on = say_order(&id, lang);
        let result = match task {
            Task::ChangeAddress => {
                let a = self.new_address.clone().unwrap_or_default();
                self.services.orders.change_address(&id, &a).map(|_| {
                    (action("change_address", Some(&id), true, &a), pick(lang, &format!("Done: {on} will now go to {a}."), &format!("已修改，{on}将寄往{a}。")))
                })
            }
            Task::Cancel => self.services.orders.cancel(&id).map(|_| {
                (action("cancel_order", Some(&id), true, "cancelled"), pick(lang, &format!("Done: {on} is cancelled, and the refund reaches your card in three to five days."), &format!("已取消{on}，退款将在三到五个工作日内退回。")))
            }),
            Task::Return => self.services.orders.start_return(&id).map(|_| {
                (action("start_return", Some(&id), true, "return_started"), pick(lang, "Done: the return is started. You'll get a free return label by email, and the refund follows when the parcel is back.", "已为您申请退货，免费退货面单会发到您的邮箱，我们收到退货后即退款。"))
            }),
            _ => return self.proceed(lang, actions),
        };
        match result {
            Ok((a, text)) => {
                actions.push(a);
                self.reset();
                Reply::new(text, lang, Progress::Resolved)
            }
            Err(e) => {
                actions.push(action("change", Some(&id), false, e.code()));
                self.order_error(e, &id, lang)
            }
        }
    }

    /// A question the knowledge base answers, or a recorded gap.
    fn kb_answer(&self, turn: &Turn, lang: &str) -> Option<Reply> {
        let a = self.services.kb.answer(turn.text, &turn.nlu.intent, lang)?;
        let mut r = Reply::new(a.text, lang, Progress::Resolved);
        r.kb = Some(a.id);
        Some(r)
    }

    fn gap(&self, turn: &Turn, lang: &str) -> Reply {
        if let Some(store) = &self.services.store {
            if let Err(e) = store.record_gap(turn.text, lang) {
                tracing::warn!("knowledge gap not recorded: {e}");
            }
        }
        let mut r = Reply::new(
            pick(lang, "Sorry, I don't know that one yet. I can help with orders, deliveries, returns and refunds.", "抱歉，这个问题我暂时回答不了。我可以帮您处理订单、物流和退换货。"),
            lang,
            Progress::Chat,
        );
        r.actions.push(action("knowledge_gap", None, false, "recorded"));
        r
    }

    /// Where the task stands, asked again after a side question.
    fn resume(&mut self, lang: &str) -> Option<String> {
        let task = self.task?;
        let q = match self.awaiting.as_ref()? {
            Awaiting::OrderNumber => pick(lang, "what's your order number?", "请问订单号是多少？"),
            Awaiting::NewAddress => pick(lang, "what's the new address?", "请问新地址是什么？"),
            Awaiting::Confirm => pick(lang, "shall I go ahead?", "确认办理吗？"),
            Awaiting::OfferAgent => return None,
        };
        Some(pick(lang, &format!(" Now, back to {}: {q}", task.name(lang)), &format!("我们继续{}：{q}", task.name(lang))))
    }

    /// The address in an answer, without its lead-in ("新地址是…", "the new address is …").
    fn address_in(text: &str) -> String {
        let t = text.trim().trim_end_matches(['.', '。', '！', '!']);
        const LEAD_INS: &[&str] = &["新的收货地址是", "新收货地址是", "新的地址是", "新地址是", "收货地址是", "地址是", "改成", "改到", "the new address is ", "my new address is ", "new address is ", "the address is ", "it's ", "it is "];
        let lower = t.to_lowercase();
        for lead in LEAD_INS {
            // Lower-casing leaves these positions alone: the lead-ins are ASCII or Chinese.
            if lower.starts_with(lead) && t.is_char_boundary(lead.len()) {
                let rest = t[lead.len()..].trim_start_matches([':', '：', ' ', ',', '，']).trim();
                if !rest.is_empty() {
                    return rest.to_string();
                }
            }
        }
        t.to_string()
    }

    fn looks_like_address(text: &str) -> bool {
        let t = text.to_lowercase();
        let words = t.split_whitespace().count();
        let has_digit = t.chars().any(|c| c.is_ascii_digit())
            || ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve", "twenty"].iter().any(|w| t.split_whitespace().any(|x| x.trim_matches(|c: char| !c.is_alphanumeric()) == *w));
        let street = ["street", "road", "avenue", "lane", "drive", "way", "路", "街", "号", "区", "市", "巷"].iter().any(|w| t.contains(w));
        street || (has_digit && words >= 2)
    }
}

impl Dialog for ShopDialog {
    fn greeting(&mut self, lang: &str) -> Option<Reply> {
        Some(Reply::new(pick(lang, "Hello, thanks for calling. How can I help you?", "您好，欢迎致电。请问有什么可以帮您？"), lang, Progress::Chat))
    }

    fn wants_digits(&self) -> bool {
        self.awaiting == Some(Awaiting::OrderNumber)
    }

    fn know_caller(&mut self, order: Option<&str>, lang: Option<&str>) {
        self.given_order = order.map(str::trim).filter(|o| !o.is_empty()).map(str::to_string);
        if let Some(l) = lang.filter(|l| matches!(*l, "en" | "zh")) {
            self.lang = l.to_string();
        }
    }

    fn on_digit(&mut self, digit: char) -> Option<Reply> {
        match digit {
            '0'..='9' => {
                self.digits.push(digit);
                None
            }
            '#' if !self.digits.is_empty() => {
                let id = std::mem::take(&mut self.digits);
                self.order = Some(id);
                let mut actions = Vec::new();
                let lang = self.lang.clone();
                let mut r = self.proceed(&lang, &mut actions);
                r.actions = actions;
                r.in_context = true;
                Some(capitalised(r))
            }
            _ => {
                self.digits.clear();
                None
            }
        }
    }

    fn respond(&mut self, turn: &Turn) -> Reply {
        let lang = turn.lang;
        let intent = turn.nlu.intent.as_str();
        let mut actions = Vec::new();
        let spoken_order = turn.nlu.entities.iter().find(|e| e.kind == EntityType::OrderNumber).map(|e| e.value.clone());
        self.answered = false;
        self.lang = lang.to_string();
        let mut reply = self.respond_inner(turn, lang, intent, spoken_order, &mut actions);
        reply.actions.extend(actions);
        reply.in_context = self.answered;
        capitalised(reply)
    }
}

impl ShopDialog {
    fn respond_inner(&mut self, turn: &Turn, lang: &str, intent: &str, spoken_order: Option<String>, actions: &mut Vec<Action>) -> Reply {
        // Whatever the state: a person, a complaint, goodbye.
        match intent {
            "human_agent" => {
                self.reset();
                return Reply::new(pick(lang, "Of course. I'm connecting you to one of my colleagues now.", "好的，马上为您转接人工客服。"), lang, Progress::Chat);
            }
            "complaint" => {
                self.reset();
                return Reply::new(pick(lang, "I'm very sorry about your experience. I'm passing you to a colleague who can help right away.", "非常抱歉给您带来不好的体验，我马上为您转接专人处理。"), lang, Progress::Chat);
            }
            "goodbye" => {
                self.reset();
                return Reply { end_call: true, ..Reply::new(pick(lang, "Thank you for calling. Goodbye!", "感谢您的来电，再见！"), lang, Progress::Chat) };
            }
            _ => {}
        }
        match self.awaiting.clone() {
            Some(Awaiting::OfferAgent) => {
                self.awaiting = None;
                self.answered = matches!(intent, "affirm" | "deny");
                if intent == "affirm" {
                    self.reset();
                    return Reply { handoff: true, ..Reply::new(pick(lang, "I'm connecting you to a colleague now.", "正在为您转接人工客服。"), lang, Progress::Chat) };
                }
                if intent == "deny" {
                    self.reset();
                    return Reply::new(pick(lang, "All right. What else can I do for you?", "好的，还有什么可以帮您？"), lang, Progress::Chat);
                }
            }
            Some(Awaiting::Confirm) => {
                self.answered = matches!(intent, "affirm" | "deny");
                if intent == "affirm" {
                    return self.execute(lang, actions);
                }
                if intent == "deny" {
                    self.reset();
                    return Reply::new(pick(lang, "All right, I've left it as it is. What else can I do for you?", "好的，没有做任何修改。还有什么可以帮您？"), lang, Progress::Resolved);
                }
            }
            Some(Awaiting::NewAddress) if Task::of_intent(intent).is_none() && !KB_INTENTS.contains(&intent) || Self::looks_like_address(turn.text) => {
                if Self::looks_like_address(turn.text) {
                    self.answered = true;
                    self.new_address = Some(Self::address_in(turn.text));
                    return self.proceed(lang, actions);
                }
                let again = Reply::new(pick(lang, "Sorry, what's the new address, with the street and number?", "抱歉，请告诉我新地址，包括街道和门牌号。"), lang, Progress::Open);
                return self.clarify(lang, again);
            }
            Some(Awaiting::OrderNumber) => {
                // The number as the NLU found it, or the digits however they were written
                // ("1-0-0-0-1").
                let digits: String = turn.text.chars().filter(|c| c.is_ascii_digit()).collect();
                let id = spoken_order.clone().or_else(|| (4..=12).contains(&digits.len()).then_some(digits));
                if let Some(id) = id {
                    self.answered = true;
                    self.order = Some(id);
                    return self.proceed(lang, actions);
                }
                // "The order number is ..." that came through without digits is a failed
                // answer, not a new request.
                let t = turn.text.to_lowercase();
                if t.contains("number") || t.contains("订单号") {
                    let again = self.ask_order_number(lang, &pick(lang, "Sorry, I didn't catch the number. ", "抱歉，没有听清订单号。"));
                    return self.clarify(lang, again);
                }
            }
            _ => {}
        }

        // A new task, or the same one with more said.
        if let Some(task) = Task::of_intent(intent) {
            // While another task waits for its address or its confirmation, a policy question
            // names no order of its own ("对了，退款一般多久到账？") and is a side question.
            let other_task_waits = self.task.is_some_and(|t| t != task) && matches!(self.awaiting, Some(Awaiting::NewAddress | Awaiting::Confirm));
            let knows_order = spoken_order.is_some() || (!other_task_waits && (self.order.is_some() || self.given_order.is_some()));
            // Policy questions without an order are for the knowledge base.
            let general = matches!(task, Task::RefundStatus | Task::PriceAdjust | Task::Invoice) && !knows_order && self.task != Some(task);
            if !general {
                if self.task != Some(task) {
                    self.task = Some(task);
                    self.asks = 0;
                    self.new_address = None;
                }
                if let Some(id) = spoken_order {
                    self.order = Some(id);
                }
                if self.order.is_none() {
                    self.order = self.given_order.clone();
                }
                return match self.order.clone() {
                    Some(_) => self.proceed(lang, actions),
                    None => self.ask_order_number(lang, &pick(lang, "Sure. ", "好的。")),
                };
            }
        }

        // A side question: answered, then back to the task.
        if let Some(mut r) = self.kb_answer(turn, lang) {
            if let Some(back) = self.resume(lang) {
                r.text.push_str(&back);
                r.progress = Progress::Open;
            }
            return r;
        }
        match intent {
            "greeting" => Reply::new(pick(lang, "Hello! How can I help you today?", "您好！请问有什么可以帮您？"), lang, Progress::Chat),
            "affirm" | "deny" => {
                let text = pick(lang, "All right. What else can I do for you?", "好的，还有什么可以帮您？");
                match self.resume(lang) {
                    Some(back) => Reply::new(back.trim().to_string(), lang, Progress::Open),
                    None => Reply::new(text, lang, Progress::Chat),
                }
            }
            "product_availability" => Reply::new(pick(lang, "Let me check the stock for you. That item is available and ships within a day.", "我帮您查了一下库存，这款有货，一天内发货。"), lang, Progress::Resolved),
            _ if self.awaiting == Some(Awaiting::OrderNumber) => {
                let again = self.ask_order_number(lang, &pick(lang, "Sorry, I didn't catch the number. ", "抱歉，没有听清订单号。"));
                self.clarify(lang, again)
            }
            _ => {
                let mut r = self.gap(turn, lang);
                if let Some(back) = self.resume(lang) {
                    r.text = format!("{}{back}", pick(lang, "Sorry, I don't know that one yet.", "抱歉，这个问题我暂时回答不了。"));
                    r.progress = Progress::Open;
                }
                r
            }
        }
    }
}

#[cfg(test)]
mod address_tests {
    use super::ShopDialog;

    #[test]
    fn the_address_is_kept_without_its_lead_in() {
        assert_eq!(ShopDialog::address_in("新地址是北京市海淀区中关村大街1号"), "北京市海淀区中关村大街1号");
        assert_eq!(ShopDialog::address_in("北京市朝阳区建国路88号。"), "北京市朝阳区建国路88号");
        assert_eq!(ShopDialog::address_in("The new address is 12 Baker Street."), "12 Baker Street");
        assert_eq!(ShopDialog::address_in("12 Baker Street"), "12 Baker Street");
    }
}
