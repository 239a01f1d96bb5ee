//! Text normalisation shared by the classifiers and the entity extractors: full-width forms to
//! ASCII, traditional Chinese characters to simplified, lower case, one kind of apostrophe,
//! single spaces. Character positions are kept, so entity offsets in the normalised text are
//! offsets in what the caller sent.

/// A CJK ideograph (the characters that carry Chinese words).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

/// Full-width ASCII (Ａ, ０, ？) and the ideographic space to their half-width forms.
fn halfwidth(c: char) -> char {
    match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        0xFFE5 => '¥',
        _ => c,
    }
}

/// The normalised text: one character out for each character in (so offsets carry over).
pub fn normalize(text: &str) -> String {
    // Traditional Chinese in simplified characters, where that keeps every position.
    let simplified = crate::nlu::script::simplified(text);
    let text = if simplified.chars().count() == text.chars().count() { simplified.as_ref() } else { text };
    text.chars()
        .map(|c| {
            let c = halfwidth(c);
            match c {
                '’' | '‘' | '`' | '´' => '\'',
                c if c.is_whitespace() => ' ',
                c => {
                    // Lower-casing that would change the number of characters is skipped.
                    let mut low = c.to_lowercase();
                    match (low.next(), low.next()) {
                        (Some(l), None) => l,
                        _ => c,
                    }
                }
            }
        })
        .collect()
}

/// "zh" when the text has Chinese characters, else "en".
pub fn detect_lang(text: &str) -> &'static str {
    if text.chars().any(is_cjk) {
        "zh"
    } else {
        "en"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_and_case_are_folded_one_char_for_one() {
        let t = "ＡＪ１有货么？ Where’s MY Order";
        let n = normalize(t);
        assert_eq!(n, "aj1有货么? where's my order");
        assert_eq!(n.chars().count(), t.chars().count());
    }

    #[test]
    fn language_follows_the_script() {
        assert_eq!(detect_lang("我的order到哪了"), "zh");
        assert_eq!(detect_lang("where is my order"), "en");
    }
}
