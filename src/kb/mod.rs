//! The knowledge base: FAQ entries in human-editable TOML files (kb/*.toml), both languages,
//! retrieved by the NLU's intent and by the question's similarity to each entry's samples.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, InputError, Result};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub id: String,
    #[serde(default)]
    pub intents: Vec<String>,
    #[serde(default)]
    pub questions_en: Vec<String>,
    #[serde(default)]
    pub questions_zh: Vec<String>,
    pub answer_en: String,
    pub answer_zh: String,
}

#[derive(Debug, Deserialize)]
struct File {
    entry: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub id: String,
    pub text: String,
    pub score: f32,
}

#[derive(Debug, Default)]
pub struct Kb {
    pub entries: Vec<Entry>,
    /// Each entry's sample questions as n-grams, made once at load.
    samples: Vec<Vec<Vec<String>>>,
    min_similarity: f32,
}

/// Character n-grams of a normalised text: trigrams of Latin text (within words), bigrams of
/// Chinese characters.
fn grams(text: &str) -> Vec<String> {
    let norm: String = text
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    const STOP: &[&str] = &["the", "a", "an", "is", "are", "was", "what", "how", "do", "does", "i", "you", "your", "my", "can", "to", "of", "it", "for", "on", "in", "me", "we", "there", "any", "have", "with", "and", "or", "will", "be", "s", "what's", "its", "please"];
    let mut out = Vec::new();
    for word in norm.split_whitespace().filter(|w| !STOP.contains(w)) {
        let chars: Vec<char> = word.chars().collect();
        let cjk = chars.iter().any(|c| ('\u{4e00}'..='\u{9fff}').contains(c));
        let n = if cjk { 2 } else { 3 };
        if chars.len() <= n {
            out.push(word.to_string());
            continue;
        }
        let padded: Vec<char> = if cjk { chars } else { std::iter::once(' ').chain(chars).chain(std::iter::once(' ')).collect() };
        out.extend(padded.windows(n).map(|w| w.iter().collect::<String>()));
    }
    out.sort();
    out
}

/// Dice similarity of two sorted gram lists.
fn similarity(a: &[String], b: &[String]) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
        }
    }
    2.0 * common as f32 / (a.len() + b.len()) as f32
}

impl Kb {
    /// Every *.toml in `dir`, checked: ids unique, intents known, both answers present.
    pub fn load(dir: &Path, min_similarity: f32) -> Result<Self> {
        let read = std::fs::read_dir(dir).map_err(|e| Error::Config(format!("kb.dir {}: {e}", dir.display())))?;
        let mut files: Vec<_> = read.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
        files.sort();
        let mut entries: Vec<Entry> = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(|e| InputError::from_io(&f, e))?;
            let parsed: File = toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {}", f.display(), e.message())))?;
            for e in parsed.entry {
                let bad = |why: String| Error::Config(format!("{}: entry `{}`: {why}", f.display(), e.id));
                if entries.iter().any(|x| x.id == e.id) {
                    return Err(bad("id used twice".into()));
                }
                if let Some(i) = e.intents.iter().find(|i| !crate::nlu::INTENTS.contains(&i.as_str())) {
                    return Err(bad(format!("unknown intent `{i}`")));
                }
                if e.answer_en.trim().is_empty() || e.answer_zh.trim().is_empty() {
                    return Err(bad("needs answer_en and answer_zh".into()));
                }
                entries.push(e);
            }
        }
        if entries.is_empty() {
            return Err(Error::Config(format!("kb.dir {}: no FAQ entries (*.toml with [[entry]])", dir.display())));
        }
        let samples = entries.iter().map(|e| e.questions_en.iter().chain(&e.questions_zh).map(|q| grams(q)).collect()).collect();
        Ok(Self { entries, samples, min_similarity })
    }

    /// The best entry for a question: similarity to its sample questions, with a bonus when
    /// the NLU's intent is one the entry answers. None under the threshold.
    pub fn answer(&self, question: &str, intent: &str, lang: &str) -> Option<Answer> {
        let q = grams(question);
        let mut best: Option<Answer> = None;
        for (e, samples) in self.entries.iter().zip(&self.samples) {
            let sim = samples.iter().map(|s| similarity(&q, s)).fold(0.0f32, f32::max);
            let score = sim + if e.intents.iter().any(|i| i == intent) { 0.3 } else { 0.0 };
            if score >= self.min_similarity && best.as_ref().is_none_or(|b| score > b.score) {
                let text = if lang == "zh" { &e.answer_zh } else { &e.answer_en };
                best = Some(Answer { id: e.id.clone(), text: text.clone(), score });
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kb() -> Kb {
        Kb::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("kb"), 0.35).unwrap()
    }

    #[test]
    fn answers_by_intent_and_by_similar_words_in_both_languages() {
        let kb = kb();
        assert_eq!(kb.answer("what's your return policy?", "refund_policy", "en").unwrap().id, "return_policy");
        assert_eq!(kb.answer("do you ship to other countries abroad", "out_of_scope", "en").unwrap().id, "international");
        let zh = kb.answer("保修期多长时间", "product_info", "zh").unwrap();
        assert_eq!(zh.id, "warranty");
        assert!(zh.text.contains("质保"));
        assert_eq!(kb.answer("can you recommend a good restaurant nearby", "out_of_scope", "en"), None);
        assert_eq!(kb.answer("what is the weather like on mars tonight", "out_of_scope", "en"), None);
    }

    #[test]
    fn a_broken_entry_is_a_config_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "[[entry]]\nid = \"x\"\nintents = [\"nope\"]\nanswer_en = \"a\"\nanswer_zh = \"b\"\n").unwrap();
        let e = Kb::load(dir.path(), 0.3).unwrap_err().to_string();
        assert!(e.contains("`x`") && e.contains("nope"), "{e}");
    }
}
