//! Word error rate, on text normalised the way ASR references are compared: lower case, no
//! punctuation, numbers as words. Chinese and other CJK text is scored per character.

/// Edits (substitutions + deletions + insertions) needed to turn `hyp` into `reference`.
pub fn edit_distance<T: PartialEq>(reference: &[T], hyp: &[T]) -> usize {
    let mut prev: Vec<usize> = (0..=hyp.len()).collect();
    let mut cur = vec![0; hyp.len() + 1];
    for (i, r) in reference.iter().enumerate() {
        cur[0] = i + 1;
        for (j, h) in hyp.iter().enumerate() {
            let sub = prev[j] + usize::from(r != h);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[hyp.len()]
}

/// Errors and reference length of one pair of texts, after normalisation.
pub fn word_errors(reference: &str, hyp: &str) -> (usize, usize) {
    let r = normalize(reference);
    let h = normalize(hyp);
    (edit_distance(&r, &h), r.len())
}

/// Word error rate of one pair (1.0 when the reference is empty and the hypothesis is not).
pub fn wer(reference: &str, hyp: &str) -> f64 {
    let (e, n) = word_errors(reference, hyp);
    if n == 0 {
        return if e == 0 { 0.0 } else { 1.0 };
    }
    e as f64 / n as f64
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

/// Contractions written out, so that "I'm" and "I am" score the same.
const CONTRACTIONS: [(&str, &str); 24] = [
    ("i'm", "i am"), ("you're", "you are"), ("we're", "we are"), ("they're", "they are"),
    ("that's", "that is"), ("it's", "it is"), ("what's", "what is"), ("there's", "there is"),
    ("here's", "here is"), ("let's", "let us"), ("i've", "i have"), ("you've", "you have"),
    ("we've", "we have"), ("i'd", "i would"), ("you'd", "you would"), ("i'll", "i will"),
    ("you'll", "you will"), ("we'll", "we will"), ("can't", "cannot"), ("won't", "will not"),
    ("don't", "do not"), ("doesn't", "does not"), ("isn't", "is not"), ("didn't", "did not"),
];

/// Tokens for scoring: lower-case words with numbers and keypad symbols spelled out,
/// contractions expanded, and single CJK characters.
pub fn normalize(text: &str) -> Vec<String> {
    let mut spaced = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '#' {
            spaced.push_str(" pound ");
        } else if c == '*' {
            spaced.push_str(" star ");
        } else if c == '’' {
            spaced.push('\'');
        } else if is_cjk(c) {
            spaced.push(' ');
            spaced.push(c);
            spaced.push(' ');
        } else if c.is_alphanumeric() || c == '\'' {
            spaced.extend(c.to_lowercase());
        } else if c == ',' || c == '.' {
            // Keep separators inside numbers ("1,000", "3.5"); elsewhere they are punctuation.
            spaced.push(c);
        } else {
            spaced.push(' ');
        }
    }
    let mut out = Vec::new();
    for raw in spaced.split_whitespace() {
        let token = raw.trim_matches(|c: char| c == '.' || c == ',' || c == '\'');
        // "1,000" is one number; anywhere else commas and full stops separate words.
        let token = if token.chars().all(|c| c.is_ascii_digit() || c == ',') {
            token.replace(',', "")
        } else {
            token.to_string()
        };
        for part in token.split(['.', ',']).filter(|p| !p.is_empty()) {
            if part.chars().all(|c| c.is_ascii_digit()) {
                out.extend(number_words(part));
            } else if let Some((_, long)) = CONTRACTIONS.iter().find(|(short, _)| *short == part) {
                out.extend(long.split(' ').map(str::to_string));
            } else {
                out.push(part.to_string());
            }
        }
    }
    out
}

const ONES: [&str; 20] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
];
const TENS: [&str; 10] = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

/// A digit string as spoken words: up to four digits as a number ("115" -> one hundred
/// fifteen), longer ones (order and phone numbers) digit by digit.
pub fn number_words(digits: &str) -> Vec<String> {
    let words = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
    if digits.len() > 4 || (digits.len() > 1 && digits.starts_with('0')) {
        return digits.chars().filter_map(|c| c.to_digit(10)).map(|d| ONES[d as usize].to_string()).collect();
    }
    match digits.parse::<u32>() {
        Ok(n) => words(&cardinal(n)),
        Err(_) => vec![digits.to_string()],
    }
}

fn cardinal(n: u32) -> String {
    match n {
        0..=19 => ONES[n as usize].to_string(),
        20..=99 => {
            let t = TENS[(n / 10) as usize];
            if n % 10 == 0 {
                t.to_string()
            } else {
                format!("{t} {}", ONES[(n % 10) as usize])
            }
        }
        100..=999 => {
            let rest = n % 100;
            let h = format!("{} hundred", ONES[(n / 100) as usize]);
            if rest == 0 {
                h
            } else {
                format!("{h} {}", cardinal(rest))
            }
        }
        _ => {
            let rest = n % 1000;
            let t = format!("{} thousand", cardinal(n / 1000));
            if rest == 0 {
                t
            } else {
                format!("{t} {}", cardinal(rest))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_each_kind_of_error() {
        let r = ["a", "b", "c", "d"];
        assert_eq!(edit_distance(&r, &["a", "b", "c", "d"]), 0);
        assert_eq!(edit_distance(&r, &["a", "x", "c", "d"]), 1); // substitution
        assert_eq!(edit_distance(&r, &["a", "c", "d"]), 1); // deletion
        assert_eq!(edit_distance(&r, &["a", "b", "b", "c", "d"]), 1); // insertion
        assert_eq!(edit_distance(&r, &[] as &[&str]), 4);
    }

    #[test]
    fn normalisation_ignores_case_and_punctuation() {
        assert_eq!(wer("HE HOPED THERE WOULD BE STEW", "He hoped there would be stew."), 0.0);
        assert_eq!(wer("don't stop", "Don't stop!"), 0.0);
        assert_eq!(wer("a gold ring", "A gold-ring"), 0.0);
    }

    #[test]
    fn numbers_are_compared_as_words() {
        assert_eq!(wer("one", "1."), 0.0);
        assert_eq!(wer("twenty one", "21"), 0.0);
        assert_eq!(wer("one thousand", "1,000"), 0.0);
        assert_eq!(wer("order four eight one five two", "Order 48152"), 0.0);
        assert_eq!(number_words("115"), ["one", "hundred", "fifteen"]);
    }

    #[test]
    fn contractions_and_keypad_symbols_are_spelled_out() {
        assert_eq!(wer("I am sorry, that is not valid", "I'm sorry, that's not valid."), 0.0);
        assert_eq!(wer("press # or *", "Press pound or star."), 0.0);
    }

    #[test]
    fn chinese_is_scored_per_character() {
        assert_eq!(normalize("换一首歌"), ["换", "一", "首", "歌"]);
        assert!((wer("换一首歌", "换一首哥") - 0.25).abs() < 1e-9);
    }

    #[test]
    fn wer_of_an_empty_hypothesis_is_one() {
        assert_eq!(wer("a b c", ""), 1.0);
        assert_eq!(wer("", ""), 0.0);
    }
}
