//! Splitting a reply into the pieces that are synthesised one after the other, so that the
//! first audio leaves before the whole reply is synthesised.

/// Longest first piece, in characters: a long opening sentence is cut at a comma so that the
/// caller hears the bot sooner.
const FIRST_PIECE_MAX: usize = 60;

fn ends_sentence(chars: &[char], i: usize) -> bool {
    match chars[i] {
        '。' | '！' | '？' | '；' | '!' | '?' | ';' => true,
        // A full stop ends a sentence before a space or the end, not inside "3.5" or "e.g".
        '.' => chars.get(i + 1).is_none_or(|c| c.is_whitespace()) && !chars[..i].ends_with(&['e', '.', 'g']),
        _ => false,
    }
}

/// The sentences of `text`, trimmed, none empty; the first one cut at a comma if long.
pub fn split(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..chars.len() {
        if ends_sentence(&chars, i) {
            out.push(chars[start..=i].iter().collect::<String>());
            start = i + 1;
        }
    }
    out.push(chars[start..].iter().collect());
    let mut out: Vec<String> = out.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    if let Some(first) = out.first().cloned() {
        let fc: Vec<char> = first.chars().collect();
        if fc.len() > FIRST_PIECE_MAX {
            if let Some(cut) = (10..fc.len() - 10).rev().find(|&i| matches!(fc[i], ',' | '，' | '、')) {
                let head: String = fc[..=cut].iter().collect();
                let tail: String = fc[cut + 1..].iter().collect();
                out.splice(0..1, [head.trim().to_string(), tail.trim().to_string()]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_and_chinese_sentences() {
        assert_eq!(split("Sure. Your order ships today! Anything else?"), ["Sure.", "Your order ships today!", "Anything else?"]);
        assert_eq!(split("好的。订单今天发货！还有别的吗？"), ["好的。", "订单今天发货！", "还有别的吗？"]);
        assert_eq!(split("It costs 3.5 dollars, e.g. today"), ["It costs 3.5 dollars, e.g. today"]);
        assert_eq!(split("no punctuation at all"), ["no punctuation at all"]);
        assert!(split("   ").is_empty());
    }

    #[test]
    fn a_long_first_sentence_is_cut_at_a_comma() {
        let s = split("I have checked order four eight one five two for you, and it left our warehouse yesterday morning. Bye.");
        assert_eq!(s[0], "I have checked order four eight one five two for you,");
        assert_eq!(s[1], "and it left our warehouse yesterday morning.");
        assert_eq!(s.len(), 3);
    }
}
