//! What the classifiers see of a text: entities masked by their type, then hashed sparse
//! features. Words and word pairs; character n-grams inside English words (typos keep most of
//! them); Chinese characters, pairs and triples; and the toneless pinyin of Chinese characters
//! (a homophone typo, 腿款 for 退款, keeps the pinyin "tui kuan").

use pinyin::ToPinyin;

use crate::nlu::entities::{Entity, EntityType};
use crate::nlu::numbers::NumberSpan;
use crate::nlu::text::is_cjk;

/// Feature buckets: 2^20. Collisions are rare at this size and only used buckets are stored.
pub const BUCKET_BITS: u32 = 20;

/// A sparse feature vector: (bucket, value), buckets unique.
pub type Features = Vec<(u32, f32)>;

/// The text with entities and other numbers replaced by `<product>`, `<money>`, `<num>`.
pub fn masked(text: &str, entities: &[Entity], numbers: &[NumberSpan]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut marks: Vec<(usize, usize, &str)> = entities
        .iter()
        .map(|e| {
            let tag = match e.kind {
                EntityType::Product => "<product>",
                EntityType::Money => "<money>",
                EntityType::OrderNumber | EntityType::PhoneNumber => "<num>",
            };
            (e.start, e.end, tag)
        })
        .collect();
    for n in numbers {
        if !marks.iter().any(|(s, e, _)| n.start < *e && *s < n.end) {
            marks.push((n.start, n.end, "<num>"));
        }
    }
    marks.sort_by_key(|m| m.0);
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    for (s, e, tag) in marks {
        if s < i {
            continue;
        }
        out.extend(&chars[i..s]);
        out.push(' ');
        out.push_str(tag);
        out.push(' ');
        i = e;
    }
    out.extend(&chars[i.min(chars.len())..]);
    out
}

/// The units of a masked text: placeholders, ASCII words and single CJK characters.
pub fn tokens(masked: &str) -> Vec<String> {
    let chars: Vec<char> = masked.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '<' {
            if let Some(len) = chars[i..].iter().position(|c| *c == '>') {
                let tag: String = chars[i..=i + len].iter().collect();
                if matches!(tag.as_str(), "<num>" | "<money>" | "<product>") {
                    out.push(tag);
                    i += len + 1;
                    continue;
                }
            }
            i += 1;
        } else if c.is_ascii_alphanumeric() || (c == '\'' && i > 0 && chars[i - 1].is_ascii_alphanumeric()) {
            let s = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '\'') {
                i += 1;
            }
            let w: String = chars[s..i].iter().collect();
            out.push(w.trim_end_matches('\'').to_string());
        } else if is_cjk(c) {
            out.push(c.to_string());
            i += 1;
        } else {
            i += 1;
        }
    }
    out
}

fn hash(kind: u8, parts: &[&str]) -> u32 {
    // FNV-1a, 64 bit: stable across platforms and versions, which the model files rely on.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    eat(kind);
    for p in parts {
        p.bytes().for_each(&mut eat);
        eat(0x1f);
    }
    ((h ^ (h >> 32)) as u32) & ((1 << BUCKET_BITS) - 1)
}

fn pinyin_of(token: &str) -> Option<&'static str> {
    token.chars().next().and_then(|c| c.to_pinyin()).map(|p| p.plain())
}

/// The hashed features of a masked text, scaled to unit length.
pub fn features(masked: &str) -> Features {
    let toks = tokens(masked);
    let mut ids = vec![hash(b'_', &[])];
    let cjk = |t: &str| t.chars().next().is_some_and(is_cjk);
    for (i, t) in toks.iter().enumerate() {
        ids.push(hash(b'w', &[t]));
        let prev = if i == 0 { "^" } else { toks[i - 1].as_str() };
        ids.push(hash(b'b', &[prev, t]));
        if cjk(t) {
            if let Some(p) = pinyin_of(t) {
                ids.push(hash(b'p', &[p]));
                if i > 0 && cjk(&toks[i - 1]) {
                    if let Some(q) = pinyin_of(&toks[i - 1]) {
                        ids.push(hash(b'q', &[q, p]));
                    }
                }
            }
            if i >= 2 && cjk(&toks[i - 1]) && cjk(&toks[i - 2]) {
                ids.push(hash(b't', &[&toks[i - 2], &toks[i - 1], t]));
            }
        } else if !t.starts_with('<') && t.len() >= 3 {
            let w: Vec<char> = format!("<{t}>").chars().collect();
            for n in 3..=5 {
                for g in w.windows(n) {
                    let gram: String = g.iter().collect();
                    ids.push(hash(b'c', &[&gram]));
                }
            }
        }
    }
    if let Some(last) = toks.last() {
        ids.push(hash(b'b', &[last, "$"]));
    }
    ids.sort_unstable();
    ids.dedup();
    let v = 1.0 / (ids.len() as f32).sqrt();
    ids.into_iter().map(|id| (id, v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nlu::catalogue::Catalogue;
    use crate::nlu::{entities, numbers, text};

    fn mask(t: &str) -> String {
        let n = text::normalize(t);
        let c = Catalogue::embedded().unwrap();
        let e = entities::extract(&n, &c);
        masked(&n, &e, &numbers::find_numbers(&n))
    }

    #[test]
    fn entities_are_masked_by_type() {
        assert_eq!(tokens(&mask("AJ1有货么")), ["<product>", "有", "货", "么"]);
        assert_eq!(tokens(&mask("where is order four eight one five two")), ["where", "is", "order", "<num>"]);
        assert_eq!(tokens(&mask("我花了两百块钱")), ["我", "花", "了", "<money>"]);
        assert_eq!(tokens(&mask("where's my order?")), ["where's", "my", "order"]);
    }

    #[test]
    fn homophone_typos_share_their_pinyin_features() {
        let a: std::collections::HashSet<u32> = features("我要退款").into_iter().map(|f| f.0).collect();
        let b: std::collections::HashSet<u32> = features("我要腿款").into_iter().map(|f| f.0).collect();
        let shared = a.intersection(&b).count();
        assert!(shared * 2 > a.len(), "{shared} of {} shared", a.len());
    }

    #[test]
    fn features_are_unit_length_and_stable() {
        let f = features("where is my order");
        let norm: f32 = f.iter().map(|(_, v)| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        assert_eq!(f, features("where is my order"));
        assert_eq!(hash(b'w', &["order"]), hash(b'w', &["order"]));
    }
}
