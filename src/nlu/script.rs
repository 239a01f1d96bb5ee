//! Chinese in one script: Whisper sometimes writes Mandarin in traditional characters (換一首歌),
//! and a chat message may come in either; the NLU's models, the dialog's keywords and the people
//! who read transcripts expect simplified characters. OpenCC's traditional-to-simplified rules
//! (the `ferrous-opencc` crate, its dictionaries built in) do the conversion.

use std::borrow::Cow;
use std::sync::OnceLock;

use ferrous_opencc::config::BuiltinConfig;
use ferrous_opencc::OpenCC;

use crate::nlu::text::is_cjk;

fn converter() -> Option<&'static OpenCC> {
    static T2S: OnceLock<Option<OpenCC>> = OnceLock::new();
    T2S.get_or_init(|| match OpenCC::from_config(BuiltinConfig::T2s) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(error = %e, "OpenCC t2s dictionaries did not load: Chinese is left in the script it came in");
            None
        }
    })
    .as_ref()
}

/// `text` with traditional Chinese characters in their simplified forms; text without Chinese
/// is returned as it is, without touching the dictionaries.
pub fn simplified(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_cjk) {
        return Cow::Borrowed(text);
    }
    match converter() {
        Some(c) => {
            let s = c.convert(text);
            if s == text {
                Cow::Borrowed(text)
            } else {
                Cow::Owned(s)
            }
        }
        None => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_becomes_simplified_and_the_rest_is_left_alone() {
        assert_eq!(simplified("換一首歌"), "换一首歌");
        assert_eq!(simplified("我的訂單到哪裡了？請幫我查一下"), "我的订单到哪里了？请帮我查一下");
        assert_eq!(simplified("我想改一下订单10001的收货地址"), "我想改一下订单10001的收货地址");
        assert!(matches!(simplified("where is order 48152"), Cow::Borrowed(_)));
    }
}
