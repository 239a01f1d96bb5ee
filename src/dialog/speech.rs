//! How the bot says things aloud: order numbers digit by digit, dates as words.

use crate::orders::Day;

const MONTHS: [&str; 12] =
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/// "order 4 8 1 5 2" / "订单48152".
pub fn order(id: &str, lang: &str) -> String {
    if lang == "zh" {
        format!("订单{id}")
    } else {
        format!("order {}", id.chars().map(|c| c.to_string()).collect::<Vec<_>>().join(" "))
    }
}

/// "November 20" / "11月20日"; the text itself when it is not a date.
pub fn date(iso: &str, lang: &str) -> String {
    let Some(day) = Day::parse(iso) else { return iso.to_string() };
    let s = day.iso();
    let (m, d): (usize, u32) = (s[5..7].parse().unwrap_or(1), s[8..10].parse().unwrap_or(1));
    if lang == "zh" {
        format!("{m}月{d}日")
    } else {
        format!("{} {d}", MONTHS[(m.clamp(1, 12)) - 1])
    }
}

/// One of two texts by language.
pub fn pick(lang: &str, en: &str, zh: &str) -> String {
    if lang == "zh" { zh } else { en }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_dates_are_spoken() {
        assert_eq!(order("48152", "en"), "order 4 8 1 5 2");
        assert_eq!(order("48152", "zh"), "订单48152");
        assert_eq!(date("2026-11-20", "en"), "November 20");
        assert_eq!(date("2026-01-05", "zh"), "1月5日");
        assert_eq!(date("soon", "en"), "soon");
    }
}
