//! Entities: order numbers, phone numbers, amounts of money and products from the catalogue.
//! Offsets are character positions in the text as sent.

use serde::{Deserialize, Serialize};

use crate::nlu::catalogue::Catalogue;
use crate::nlu::numbers::{find_numbers, NumberSpan};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    OrderNumber,
    PhoneNumber,
    Money,
    Product,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    #[serde(rename = "type")]
    pub kind: EntityType,
    /// Canonical value: digits for order and phone numbers, "25.00 USD" for money, the
    /// catalogue name for products.
    pub value: String,
    /// The words as said.
    pub text: String,
    pub start: usize,
    pub end: usize,
    /// Product SKU, or the ISO currency of money.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// Currency words after an amount, and the currency they name.
const CURRENCY_AFTER: [(&str, &str); 16] = [
    ("dollars", "USD"), ("dollar", "USD"), ("bucks", "USD"), ("buck", "USD"), ("usd", "USD"),
    ("euros", "EUR"), ("euro", "EUR"), ("pounds", "GBP"), ("yuan", "CNY"), ("rmb", "CNY"),
    ("块钱", "CNY"), ("美元", "USD"), ("人民币", "CNY"), ("元", "CNY"), ("块", "CNY"), ("欧元", "EUR"),
];
const CURRENCY_BEFORE: [(char, &str); 4] = [('$', "USD"), ('¥', "CNY"), ('€', "EUR"), ('£', "GBP")];

pub fn is_currency_word(w: &str) -> bool {
    CURRENCY_AFTER.iter().any(|(c, _)| *c == w)
}

/// Words just before a number that make it an order number or a phone number.
const ORDER_CUES: [&str; 8] = ["order", "订单", "单号", "订单号", "#", "no", "number", "purchase"];
const PHONE_CUES: [&str; 9] = ["phone", "mobile", "cell", "call", "电话", "手机", "号码", "联系", "tel"];

/// Whether `cue` holds the phone cue `c`: "call" and "tel" as whole words ("calling about",
/// "tell me" and "hotel" are not about a phone), the others anywhere ("telephone").
fn has_cue(cue: &str, c: &str) -> bool {
    match c {
        "call" | "tel" => cue.split(|ch: char| !ch.is_alphanumeric()).any(|w| w == c),
        _ => cue.contains(c),
    }
}

/// The text of the `n` characters before position `at`.
fn before(chars: &[char], at: usize, n: usize) -> String {
    chars[at.saturating_sub(n)..at].iter().collect()
}

fn money(chars: &[char], n: &NumberSpan) -> Option<(usize, usize, &'static str)> {
    // A currency sign right before ("$25", "¥ 100")…
    let mut s = n.start;
    while s > 0 && chars[s - 1] == ' ' {
        s -= 1;
    }
    if s > 0 {
        if let Some((_, code)) = CURRENCY_BEFORE.iter().find(|(c, _)| *c == chars[s - 1]) {
            return Some((s - 1, n.end, code));
        }
    }
    // …or a currency word right after ("25 dollars", "两百块钱").
    let rest: String = chars[n.end..].iter().take(8).collect();
    let rest = rest.trim_start();
    let skipped = chars[n.end..].iter().take_while(|c| **c == ' ').count();
    for (word, code) in CURRENCY_AFTER {
        if let Some(after) = rest.strip_prefix(word) {
            let ascii = word.is_ascii();
            if !ascii || !after.starts_with(|c: char| c.is_ascii_alphanumeric()) {
                return Some((n.start, n.end + skipped + word.chars().count(), code));
            }
        }
    }
    None
}

fn is_cn_mobile(d: &str) -> bool {
    d.len() == 11 && d.starts_with('1') && matches!(d.as_bytes()[1], b'3'..=b'9')
}

/// All entities in normalised text, in order.
pub fn extract(text: &str, catalogue: &Catalogue) -> Vec<Entity> {
    let chars: Vec<char> = text.chars().collect();
    let slice = |s: usize, e: usize| chars[s..e].iter().collect::<String>();
    let mut out = Vec::new();

    for m in catalogue.find(text) {
        let p = &catalogue.products[m.product];
        out.push(Entity {
            kind: EntityType::Product,
            value: p.name.clone(),
            text: slice(m.start, m.end),
            start: m.start,
            end: m.end,
            code: Some(p.sku.clone()),
        });
    }
    let inside_product = |s: usize| out.iter().any(|e: &Entity| e.start <= s && s < e.end);
    let mut found = Vec::new();
    for n in find_numbers(text) {
        if inside_product(n.start) {
            continue; // the "15" of "iphone 15"
        }
        if let Some((s, e, code)) = money(&chars, &n) {
            found.push(Entity {
                kind: EntityType::Money,
                value: format!("{:.2} {code}", n.value),
                text: slice(s, e),
                start: s,
                end: e,
                code: Some(code.to_string()),
            });
            continue;
        }
        let cue = before(&chars, n.start, 24);
        let phone_cue = PHONE_CUES.iter().any(|c| has_cue(&cue, c));
        let order_cue = ORDER_CUES.iter().any(|c| cue.contains(c));
        // "my phone number is 555 0123": a phone cue outweighs the weak order cue "number"
        // for a number too long to be an order, unless the order is named.
        let explicit_order = ["order", "订单", "单号"].iter().any(|c| cue.contains(c));
        let d = &n.digits;
        let kind = if is_cn_mobile(d) || (phone_cue && (10..=13).contains(&d.len())) || (phone_cue && !explicit_order && d.len() >= 7) {
            EntityType::PhoneNumber
        } else if (d.len() >= 4 && (n.digit_by_digit || order_cue)) || (d.len() >= 3 && order_cue) {
            EntityType::OrderNumber
        } else {
            continue;
        };
        found.push(Entity { kind, value: d.clone(), text: slice(n.start, n.end), start: n.start, end: n.end, code: None });
    }
    out.extend(found);
    out.sort_by_key(|e| e.start);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ents(text: &str) -> Vec<(EntityType, String)> {
        let c = Catalogue::embedded().unwrap();
        extract(&crate::nlu::text::normalize(text), &c).into_iter().map(|e| (e.kind, e.value)).collect()
    }

    use EntityType::*;

    #[test]
    fn order_numbers_in_every_spoken_form() {
        assert_eq!(ents("where is order 48152"), [(OrderNumber, "48152".into())]);
        assert_eq!(ents("my order number is four eight one five two"), [(OrderNumber, "48152".into())]);
        assert_eq!(ents("订单四八一五二到哪了"), [(OrderNumber, "48152".into())]);
        assert_eq!(ents("单号幺三五七九"), [(OrderNumber, "13579".into())]);
        assert_eq!(ents("order 4 8 1 5 2 please"), [(OrderNumber, "48152".into())]);
        assert_eq!(ents("cancel order 7781"), [(OrderNumber, "7781".into())]);
        assert_eq!(ents("my phone number is 1-3-8, 1-2-3-4, 5-6-7-8"), [(PhoneNumber, "13812345678".into())]);
        assert_eq!(ents("my phone number is 555 0123"), [(PhoneNumber, "5550123".into())]);
        assert_eq!(ents("I'm calling about four eight one five two"), [(OrderNumber, "48152".into())]);
        assert_eq!(ents("can you tell me about number 48152"), [(OrderNumber, "48152".into())]);
        assert_eq!(ents("call me about order 48152, my phone is 13812345678"), [(OrderNumber, "48152".into()), (PhoneNumber, "13812345678".into())]);
    }

    #[test]
    fn phone_numbers() {
        assert_eq!(ents("我的手机是13812345678"), [(PhoneNumber, "13812345678".into())]);
        assert_eq!(ents("call me at 138-1234-5678"), [(PhoneNumber, "13812345678".into())]);
        assert_eq!(ents("my phone number is 415 555 0134"), [(PhoneNumber, "4155550134".into())]);
        assert_eq!(ents("电话幺三八一二三四五六七八"), [(PhoneNumber, "13812345678".into())]);
    }

    #[test]
    fn amounts_of_money() {
        assert_eq!(ents("i paid $25.99"), [(Money, "25.99 USD".into())]);
        assert_eq!(ents("it was twenty five dollars"), [(Money, "25.00 USD".into())]);
        assert_eq!(ents("便宜了一百块"), [(Money, "100.00 CNY".into())]);
        assert_eq!(ents("花了两百块钱"), [(Money, "200.00 CNY".into())]);
        assert_eq!(ents("99元"), [(Money, "99.00 CNY".into())]);
        assert_eq!(ents("¥ 350 for it"), [(Money, "350.00 CNY".into())]);
    }

    #[test]
    fn products_and_numbers_together() {
        assert_eq!(
            ents("is the iphone 15 in stock for order 48152"),
            [(Product, "iPhone 15".into()), (OrderNumber, "48152".into())]
        );
        assert_eq!(ents("AJ1有货么"), [(Product, "Air Jordan 1".into())]);
    }

    #[test]
    fn small_numbers_are_not_entities() {
        assert!(ents("size 9 please").is_empty());
        assert!(ents("七天无理由退货吗").is_empty());
    }

    #[test]
    fn offsets_point_at_the_words() {
        let c = Catalogue::embedded().unwrap();
        let text = crate::nlu::text::normalize("Order FOUR eight one five two");
        let e = extract(&text, &c);
        let said: String = text.chars().skip(e[0].start).take(e[0].end - e[0].start).collect();
        assert_eq!(said, "four eight one five two");
    }
}
