//! Numbers in what callers say and what ASR writes: digits ("48152", "4 8 1 5 2"), English
//! words read digit by digit ("four eight one five two", "oh", "double five") or as amounts
//! ("twenty five", "one hundred and twenty"), and Chinese numerals read digit by digit
//! ("四八一五二", "幺三八") or positionally ("一百二十", "三千五", "两百").

/// A number found in normalised text; `start..end` are character positions.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberSpan {
    pub start: usize,
    pub end: usize,
    /// The digits as said: a digit-by-digit reading keeps leading zeros.
    pub digits: String,
    /// The value, for amounts.
    pub value: f64,
    /// Read digit by digit (an order or phone number) rather than as an amount.
    pub digit_by_digit: bool,
}

const DIGIT_WORDS: [&str; 10] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
const TEENS: [&str; 10] = [
    "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
];
const TENS: [&str; 8] = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

/// Chinese characters that follow an amount: currency, sizes, counts, days.
const CN_MEASURES: &str = "元块美毛角码个件天号双台位";

fn cn_digit(c: char) -> Option<u32> {
    Some(match c {
        '零' | '〇' => 0,
        '一' | '幺' | '壹' => 1,
        '二' | '两' | '贰' => 2,
        '三' | '叁' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陆' => 6,
        '七' | '柒' => 7,
        '八' | '捌' => 8,
        '九' | '玖' => 9,
        _ => return None,
    })
}

fn cn_unit(c: char) -> Option<u64> {
    Some(match c {
        '十' | '拾' => 10,
        '百' | '佰' => 100,
        '千' | '仟' => 1000,
        '万' => 10_000,
        '亿' => 100_000_000,
        _ => return None,
    })
}

/// A Chinese numeral written with units ("一百零五", "三千五", "十二", "两万").
pub fn parse_cn_positional(s: &[char]) -> Option<u64> {
    let (mut total, mut section, mut number) = (0u64, 0u64, None::<u64>);
    let mut last_unit = 1u64;
    // "零" after a unit means the next digit is a plain one ("一百零五" is 105).
    let mut zero = false;
    for &c in s {
        if let Some(d) = cn_digit(c) {
            zero |= d == 0;
            number = Some(d as u64);
        } else if let Some(u) = cn_unit(c) {
            match u {
                10_000 | 100_000_000 => {
                    total = (total + section + number.unwrap_or(0)) * u;
                    section = 0;
                }
                _ => section += number.unwrap_or(if u == 10 { 1 } else { 0 }) * u,
            }
            number = None;
            last_unit = u;
            zero = false;
        } else {
            return None;
        }
    }
    // "三千五" is 3500: a last digit after a unit counts in the next unit down.
    let tail = match number {
        Some(d) if !zero && (100..10_000).contains(&last_unit) => d * (last_unit / 10),
        Some(d) => d,
        None => 0,
    };
    Some(total + section + tail)
}

/// An English cardinal made of number words ("twenty five", "a hundred and twenty").
fn parse_en_cardinal(words: &[&str]) -> Option<u64> {
    let (mut total, mut current) = (0u64, 0u64);
    let mut seen = false;
    for (i, w) in words.iter().enumerate() {
        if let Some(d) = DIGIT_WORDS.iter().position(|x| x == w) {
            current += d as u64;
        } else if let Some(t) = TEENS.iter().position(|x| x == w) {
            current += 10 + t as u64;
        } else if let Some(t) = TENS.iter().position(|x| x == w) {
            current += 20 + 10 * t as u64;
        } else if *w == "hundred" {
            current = current.max(1) * 100;
        } else if *w == "thousand" || *w == "million" {
            let m = if *w == "thousand" { 1000 } else { 1_000_000 };
            total += current.max(1) * m;
            current = 0;
        } else if *w == "and" || (*w == "a" && i == 0) {
            continue;
        } else {
            return None;
        }
        seen = true;
    }
    seen.then_some(total + current)
}

fn is_number_word(w: &str) -> bool {
    DIGIT_WORDS.contains(&w)
        || TEENS.contains(&w)
        || TENS.contains(&w)
        || matches!(w, "hundred" | "thousand" | "million" | "oh" | "double" | "triple")
}

/// A token of the text: an ASCII word or digit run, or one CJK character.
#[derive(Debug, Clone)]
struct Token {
    start: usize,
    end: usize,
    text: String,
}

fn tokens(chars: &[char]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphanumeric() {
            let s = i;
            while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                i += 1;
            }
            out.push(Token { start: s, end: i, text: chars[s..i].iter().collect() });
        } else if !c.is_whitespace() && !c.is_ascii_punctuation() && !c.is_ascii() {
            out.push(Token { start: i, end: i + 1, text: c.to_string() });
            i += 1;
        } else {
            i += 1;
        }
    }
    out
}

/// What separates two tokens: `Some(c)` for a single space, hyphen or comma, `None` otherwise.
fn gap(chars: &[char], a: &Token, b: &Token) -> Option<char> {
    match &chars[a.end..b.start] {
        [] => Some('\0'),
        [c] if matches!(c, ' ' | '-' | ',' | '.') => Some(*c),
        _ => None,
    }
}

/// Every number in normalised text, left to right, without overlaps.
pub fn find_numbers(text: &str) -> Vec<NumberSpan> {
    let chars: Vec<char> = text.chars().collect();
    let toks = tokens(&chars);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if let Some((span, next)) = digits_at(&chars, &toks, i)
            .or_else(|| english_words_at(&chars, &toks, i))
            .or_else(|| chinese_at(&chars, &toks, i))
        {
            out.push(span);
            i = next;
        } else {
            i += 1;
        }
    }
    out
}

/// ASCII digits: "48152", "4 8 1 5 2", "138-1234-5678", "1,000", "3.5", "2万".
fn digits_at(chars: &[char], toks: &[Token], i: usize) -> Option<(NumberSpan, usize)> {
    let all_digits = |t: &Token| t.text.chars().all(|c| c.is_ascii_digit());
    if !all_digits(&toks[i]) {
        return None;
    }
    let mut j = i;
    let mut digits = toks[i].text.clone();
    let mut decimal = None;
    while j + 1 < toks.len() && all_digits(&toks[j + 1]) {
        let short = toks[j].text.len() <= 4 && toks[j + 1].text.len() <= 4;
        // Digits said in groups, as Whisper writes them: "1-3-8, 1-2-3-4, 5-6-7-8".
        let grouped = short && chars[toks[j].end..toks[j + 1].start] == [',', ' '] && chars[toks[i].end..toks[j].end].contains(&'-');
        if grouped {
            j += 1;
            digits.push_str(&toks[j].text);
            continue;
        }
        match gap(chars, &toks[j], &toks[j + 1]) {
            Some(' ') | Some('-') if short => {}
            Some(',') if toks[j + 1].text.len() == 3 => {}
            Some('.') if decimal.is_none() => decimal = Some(digits.len()),
            _ => break,
        }
        j += 1;
        digits.push_str(&toks[j].text);
    }
    let mut value = match decimal {
        Some(d) => format!("{}.{}", &digits[..d], &digits[d..]).parse().ok()?,
        None => digits.parse::<f64>().ok()?,
    };
    let mut end = toks[j].end;
    // "2万", "3千": a Chinese unit right after the digits multiplies them.
    if let Some(u) = chars.get(end).copied().and_then(cn_unit) {
        if u >= 100 {
            value *= u as f64;
            end += 1;
        }
    }
    let digit_by_digit = decimal.is_none() && digits.len() >= 5;
    let digits = match decimal {
        Some(_) => value.to_string(),
        None if end > toks[j].end => format!("{value}"),
        None => digits,
    };
    Some((NumberSpan { start: toks[i].start, end, digits, value, digit_by_digit }, j + 1))
}

/// English number words, read digit by digit or as an amount.
fn english_words_at(chars: &[char], toks: &[Token], i: usize) -> Option<(NumberSpan, usize)> {
    if !is_number_word(&toks[i].text) && !(toks[i].text == "a" && toks.get(i + 1).is_some_and(|t| matches!(t.text.as_str(), "hundred" | "thousand"))) {
        return None;
    }
    let mut j = i;
    while j + 1 < toks.len()
        && matches!(gap(chars, &toks[j], &toks[j + 1]), Some(' ') | Some('-'))
        && (is_number_word(&toks[j + 1].text)
            || (toks[j + 1].text == "and" && toks.get(j + 2).is_some_and(|t| is_number_word(&t.text))))
    {
        j += 1;
    }
    let words: Vec<&str> = toks[i..=j].iter().map(|t| t.text.as_str()).collect();
    // Digit by digit: "four eight one five two", "oh", "double five".
    let mut seq = String::new();
    let mut repeat = 1;
    let mut sequence = true;
    for w in &words {
        match *w {
            "double" => repeat = 2,
            "triple" => repeat = 3,
            "oh" | "zero" => {
                seq.push_str(&"0".repeat(repeat));
                repeat = 1;
            }
            w => match DIGIT_WORDS.iter().position(|x| *x == w) {
                Some(d) => {
                    seq.push_str(&d.to_string().repeat(repeat));
                    repeat = 1;
                }
                None => sequence = false,
            },
        }
    }
    let (start, end) = (toks[i].start, toks[j].end);
    if sequence && seq.len() >= 3 {
        let value = seq.parse().unwrap_or(0.0);
        return Some((NumberSpan { start, end, digits: seq, value, digit_by_digit: true }, j + 1));
    }
    // An amount; a lone small word ("one", "two") is only a number before a currency word.
    let value = parse_en_cardinal(&words)?;
    let lone = words.len() == 1;
    if lone && !toks.get(j + 1).is_some_and(|t| crate::nlu::entities::is_currency_word(&t.text)) {
        return None;
    }
    Some((NumberSpan { start, end, digits: value.to_string(), value: value as f64, digit_by_digit: false }, j + 1))
}

/// Chinese numerals: three or more digits read one by one, a numeral with units, or a short
/// numeral before a measure word ("两百块", "七天", "四十二码").
fn chinese_at(chars: &[char], toks: &[Token], i: usize) -> Option<(NumberSpan, usize)> {
    let is_num = |t: &Token| t.text.chars().next().is_some_and(|c| cn_digit(c).is_some() || cn_unit(c).is_some());
    if !is_num(&toks[i]) {
        return None;
    }
    let mut j = i;
    while j + 1 < toks.len() && is_num(&toks[j + 1]) && toks[j + 1].start == toks[j].end {
        j += 1;
    }
    let run: Vec<char> = toks[i..=j].iter().filter_map(|t| t.text.chars().next()).collect();
    let (start, end) = (toks[i].start, toks[j].end);
    let has_unit = run.iter().any(|c| cn_unit(*c).is_some());
    let next = chars.get(end).copied();
    let before_measure = next.is_some_and(|c| CN_MEASURES.contains(c));
    if has_unit {
        // "十" alone is a word only before a measure ("十天"); "一万" etc. always count.
        if run.len() == 1 && !before_measure {
            return None;
        }
        let v = parse_cn_positional(&run)?;
        return Some((NumberSpan { start, end, digits: v.to_string(), value: v as f64, digit_by_digit: false }, j + 1));
    }
    let digits: String = run.iter().filter_map(|c| cn_digit(*c)).map(|d| char::from(b'0' + d as u8)).collect();
    if run.len() >= 3 {
        let value = digits.parse().unwrap_or(0.0);
        return Some((NumberSpan { start, end, digits, value, digit_by_digit: true }, j + 1));
    }
    if before_measure {
        let value = digits.parse().unwrap_or(0.0);
        return Some((NumberSpan { start, end, digits, value, digit_by_digit: false }, j + 1));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> (String, f64, bool) {
        let n = find_numbers(text);
        assert_eq!(n.len(), 1, "{text}: {n:?}");
        (n[0].digits.clone(), n[0].value, n[0].digit_by_digit)
    }

    #[test]
    fn digits_in_their_written_forms() {
        assert_eq!(one("order 48152 please").0, "48152");
        assert_eq!(one("order 4 8 1 5 2").0, "48152");
        assert_eq!(one("call 138-1234-5678").0, "13812345678");
        assert_eq!(one("it was 1,000 dollars").1, 1000.0);
        assert_eq!(one("paid 3.5 yuan").1, 3.5);
        assert_eq!(one("降价2万").1, 20000.0);
    }

    #[test]
    fn english_words_digit_by_digit_and_as_amounts() {
        assert_eq!(one("order four eight one five two"), ("48152".into(), 48152.0, true));
        assert_eq!(one("it's oh seven double five one").0, "07551");
        assert_eq!(one("twenty five dollars").1, 25.0);
        assert_eq!(one("a hundred and twenty bucks").1, 120.0);
        assert_eq!(one("two thousand three hundred").1, 2300.0);
        // A lone small word is a word, not a number.
        assert!(find_numbers("i'd like the black one").is_empty());
        assert_eq!(one("one dollar").1, 1.0);
    }

    #[test]
    fn chinese_numerals_both_ways() {
        assert_eq!(one("订单四八一五二到哪了"), ("48152".into(), 48152.0, true));
        assert_eq!(one("电话幺三八"), ("138".into(), 138.0, true));
        assert_eq!(one("降了一百二十块").1, 120.0);
        assert_eq!(one("花了三千五").1, 3500.0);
        assert_eq!(one("两百块").1, 200.0);
        assert_eq!(one("一百零五元").1, 105.0);
        assert_eq!(one("十二号").1, 12.0);
        assert_eq!(one("四十二码").1, 42.0);
        assert_eq!(one("七天无理由").1, 7.0);
        assert_eq!(one("两万").1, 20000.0);
        // "一下", "一个" and friends are words.
        assert!(find_numbers("帮我查一下").is_empty());
        assert_eq!(parse_cn_positional(&"十".chars().collect::<Vec<_>>()), Some(10));
    }

    #[test]
    fn spans_are_character_positions() {
        let n = find_numbers("订单四八一五二");
        assert_eq!((n[0].start, n[0].end), (2, 7));
    }
}
