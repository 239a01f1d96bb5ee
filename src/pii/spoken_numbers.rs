//! Where a recording speaks a phone, card or ID number, so that audio redaction can silence
//! it: runs of digits in a transcript's timed tokens, padded. Pure: the transcript comes with
//! its token times.
//!
//! Whisper writes digits said aloud in many shapes (`1-3-8, 1-2-3-4`, `41-11. 11-11`,
//! `0216543210.9`, `four one one one`, `一三八`, and on a poor line `to 6.5 43 to 1.0`), often
//! ones the text masking must leave alone (it may not hide decimals or dates in what people
//! read). Here any run of tokens that are digits, digit words or numerals, held together by
//! punctuation, with seven digits or more, is a number; a digit's homophone (`to`, `for`,
//! `ate`, `won`) counts beside a digit. The text masking's own finds (written numbers inside
//! longer tokens, Chinese) are added.

use crate::pipeline::whisper::TimedToken;

use super::text::{digit_value, kind_of_digits};
use super::Kind;

/// Whisper's token times are off by up to about 350 ms at a number's edges (measured on
/// espeak-ng speech at 16 and 8 kHz: the first digit placed 350 ms early to 350 ms late, the
/// last up to 380 ms early): each span is widened by this much on both sides.
pub const PAD_MS: u64 = 400;
/// Fewer digits than this are not personal data (order numbers have five).
const MIN_DIGITS: usize = 7;

/// A stretch of a recording to silence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberSpan {
    pub kind: Kind,
    pub start_ms: u64,
    pub end_ms: u64,
}

/// What one token is to a run of digits.
#[derive(Debug, PartialEq)]
enum Piece {
    Digits(Vec<u8>),
    /// A word that sounds like a digit: one only next to digits.
    Homophone(u8),
    /// Punctuation: keeps a run going.
    Separator,
    Other,
}

fn piece(text: &str) -> Piece {
    let t = text.trim();
    let separator = |ch: char| ".,-()+/:、，。：".contains(ch) || ch.is_whitespace();
    if t.chars().all(separator) {
        return Piece::Separator;
    }
    let core = t.trim_matches(separator);
    if core.chars().all(|ch| ch.is_ascii_digit() || separator(ch)) {
        return Piece::Digits(core.chars().filter_map(|ch| ch.to_digit(10).map(|d| d as u8)).collect());
    }
    let numerals: Option<Vec<u8>> = core.chars().filter(|&ch| !separator(ch)).map(|ch| digit_value(&ch.to_string())).collect();
    if let (Some(d), false) = (numerals, core.is_ascii()) {
        return Piece::Digits(d);
    }
    if let Some(d) = digit_value(core) {
        return Piece::Digits(vec![d]);
    }
    match core.to_ascii_lowercase().as_str() {
        "double" | "triple" => Piece::Digits(Vec::new()),
        "to" | "too" => Piece::Homophone(2),
        "for" => Piece::Homophone(4),
        "ate" => Piece::Homophone(8),
        "won" => Piece::Homophone(1),
        _ => Piece::Other,
    }
}

/// A run of digit tokens being read: its first and last token, the digits.
struct Run {
    first: usize,
    last: usize,
    digits: Vec<u8>,
}

/// The numbers said in `tokens` and when, each widened by `pad_ms` on both sides and kept
/// within `0..length_ms`; spans that touch are merged (the first's kind names the merge).
pub fn number_times(tokens: &[TimedToken], pad_ms: u64, length_ms: u64) -> Vec<NumberSpan> {
    let mut found: Vec<(usize, usize, Kind)> = digit_runs(tokens);
    found.extend(masked_numbers(tokens));
    found.sort_by_key(|&(first, ..)| first);
    let mut spans: Vec<NumberSpan> = Vec::new();
    for (first, last, kind) in found {
        let (start, end) = (tokens[first].t0_ms, tokens[first..=last].iter().map(|t| t.t1_ms).max().unwrap_or(0));
        // Whisper's last tokens can be timed past the end of the audio.
        let end_ms = (end + pad_ms).min(length_ms);
        let span = NumberSpan { kind, start_ms: start.saturating_sub(pad_ms).min(end_ms), end_ms };
        match spans.last_mut() {
            Some(last) if span.start_ms <= last.end_ms => last.end_ms = last.end_ms.max(span.end_ms),
            _ => spans.push(span),
        }
    }
    spans
}

/// Runs of seven digits or more: (first token, last token, kind).
fn digit_runs(tokens: &[TimedToken]) -> Vec<(usize, usize, Kind)> {
    let mut out = Vec::new();
    let mut run: Option<Run> = None;
    // A homophone just before, that a digit after it would take into its run.
    let mut maybe: Option<(usize, u8)> = None;
    let mut close = |run: &mut Option<Run>| {
        if let Some(r) = run.take().filter(|r| r.digits.len() >= MIN_DIGITS) {
            out.push((r.first, r.last, kind_of_digits(&r.digits)));
        }
    };
    for (i, t) in tokens.iter().enumerate() {
        match piece(&t.text) {
            Piece::Digits(d) => {
                let r = run.get_or_insert_with(|| match maybe {
                    Some((at, h)) => Run { first: at, last: at, digits: vec![h] },
                    None => Run { first: i, last: i, digits: Vec::new() },
                });
                r.digits.extend(d);
                r.last = i;
                maybe = None;
            }
            Piece::Homophone(h) => match run.as_mut() {
                Some(r) if !r.digits.is_empty() => {
                    r.digits.push(h);
                    r.last = i;
                }
                _ => maybe = Some((i, h)),
            },
            Piece::Separator => {}
            Piece::Other => {
                close(&mut run);
                maybe = None;
            }
        }
    }
    close(&mut run);
    out
}

/// The numbers the text masking finds in the tokens joined: (first token, last token, kind).
fn masked_numbers(tokens: &[TimedToken]) -> Vec<(usize, usize, Kind)> {
    let mut text = String::new();
    let mut ranges = Vec::with_capacity(tokens.len());
    for t in tokens {
        let start = text.len();
        text.push_str(&t.text);
        ranges.push(start..text.len());
    }
    let mut out = Vec::new();
    for (bytes, kind) in super::number_spans(&text) {
        let mut said = ranges.iter().enumerate().filter(|(_, r)| r.start < bytes.end && bytes.start < r.end).map(|(i, _)| i);
        if let Some(first) = said.next() {
            out.push((first, said.last().unwrap_or(first), kind));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(text: &str, t0_ms: u64, t1_ms: u64) -> TimedToken {
        TimedToken { text: text.into(), t0_ms, t1_ms }
    }

    /// Tokens 100 ms apart from `texts` split at `|`.
    fn toks(texts: &str) -> Vec<TimedToken> {
        texts.split('|').enumerate().map(|(i, t)| tok(t, i as u64 * 100, i as u64 * 100 + 100)).collect()
    }

    /// Each found span as (first token, last token), with no padding.
    fn found(texts: &str) -> Vec<(u64, u64)> {
        number_times(&toks(texts), 0, u64::MAX).iter().map(|s| (s.start_ms / 100, s.end_ms / 100 - 1)).collect()
    }

    #[test]
    fn digits_in_whatever_shape_whisper_wrote_them_are_found() {
        // What Whisper tiny.en wrote for numbers espeak-ng said, at 16 and 8 kHz.
        assert_eq!(found(" My| phone| number| is| 1|-|3|-|8|,| 1|-|2|-|3|-|4|,| 5|-|6|-|7|-|8|.| Please"), [(4, 24)]);
        assert_eq!(found(" card| is| 41|-|11|.| 11|-|11|,| 11|-|11|.| 11|-|11|,| 11|-|11|.| And"), [(2, 20)]);
        assert_eq!(found(" is| 0|21|65|43|21|0|.|9| Thank"), [(1, 8)]);
        assert_eq!(found(" card| number| four| one| one| one| one| one| one| one| one| and"), [(2, 10)]);
        assert_eq!(found(" very| low| to| 6|.|5|43| to| 1|.|0|.| Thank"), [(2, 10)]);
        assert_eq!(found("我的电话是|一三八|一二三四|五六七八|，谢谢"), [(1, 3)]);
        assert_eq!(found(" call| 138 1234 5678| now"), [(1, 1)]);
    }

    #[test]
    fn order_numbers_prices_and_counts_are_not_numbers_to_silence() {
        assert!(found(" order| 48152| is| late").is_empty());
        assert!(found(" order| four| eight| one| five| two| please").is_empty());
        assert!(found(" it| cost| 1|,|299|.|99| dollars").is_empty());
        assert!(found(" for| 2| to| 3| days").is_empty());
        assert!(found("订单|10001|到哪了").is_empty());
    }

    #[test]
    fn kinds_and_padding() {
        let spans = number_times(&toks(" 4111| 1111| 1111| 1111| ok"), 50, 10_000);
        assert_eq!(spans, [NumberSpan { kind: Kind::Card, start_ms: 0, end_ms: 450 }]);
        let spans = number_times(&toks(" 13812345678| and| 13987654321"), 250, 250);
        assert_eq!(spans, [NumberSpan { kind: Kind::Phone, start_ms: 0, end_ms: 250 }]);
        assert!(number_times(&toks(" hello"), 250, 2_000).is_empty());
        // Timed past the end of the audio: an empty span at its end, never one that ends first.
        let late = number_times(&toks(" a| b| c| d| e| f| g| h| i| j| k| l| m| n| o| p| 13812345678"), 100, 1_000);
        assert!(late.iter().all(|s| s.start_ms <= s.end_ms && s.end_ms <= 1_000), "{late:?}");
    }
}
