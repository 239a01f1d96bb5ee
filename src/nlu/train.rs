//! `voicegate train nlu`: rebuilds the intent and emotion models from the project's own
//! templates (models/nlu/data) and the English Bitext sample, reproducibly (fixed seed, fixed
//! order, deterministic arithmetic).
//!
//! Every template line is expanded, slots are filled with numbers, products and amounts in the
//! forms callers say them, and each example may get a noisy copy (an English typo, a Chinese
//! homophone). Classes are balanced per language.
//!
//! Confidence must mean the same on phrasings the templates never saw, so the softmax
//! temperature and the out-of-scope threshold are fitted on a fifth of the template lines
//! (with all their expansions) held out from a first fit; the final model is then fitted on
//! everything with those settings. models/nlu/dev.tsv is scored for the report; the held-out
//! test set in tests/data is never read here.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use pinyin::ToPinyin;
use serde::{Deserialize, Serialize};

use crate::error::{Error, InputError, Result};
use crate::nlu::catalogue::Catalogue;
use crate::nlu::linear::{Example, FitOptions, LinearModel, Rng};
use crate::nlu::templates::{expand, sections};
use crate::nlu::text::is_cjk;
use crate::nlu::{featurize, EMOTIONS, INTENTS};

/// Expansions kept per template line.
const PER_LINE: usize = 40;
/// Chance that an example also appears with a typo or a homophone.
const NOISE: f64 = 0.5;

#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Folder of the template files (intents.en.txt, intents.zh.txt, emotion.en.txt, emotion.zh.txt).
    pub data_dir: PathBuf,
    /// The Bitext CSV and the map of its intents onto ours; left out when `None`.
    pub bitext: Option<(PathBuf, PathBuf)>,
    pub out_dir: PathBuf,
    /// Development set (`lang intent emotion text`) for calibration.
    pub dev: PathBuf,
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    pub intent_examples: usize,
    pub bitext_examples: usize,
    pub emotion_examples: usize,
    /// Accuracy on the development set.
    pub intent_dev_acc: f64,
    pub emotion_dev_acc: f64,
    pub intent_temperature: f32,
    pub oos_threshold: f32,
    pub intent_model_bytes: usize,
    pub emotion_model_bytes: usize,
}

/// A labelled text before featurisation.
#[derive(Debug, Clone)]
struct Sample {
    label: String,
    text: String,
    lang: &'static str,
    weight: f32,
    /// The template line (or Bitext row) it came from: lines are held out whole.
    source: u64,
}

fn fnv(parts: &[&str]) -> u64 {
    parts.iter().flat_map(|p| p.bytes().chain([0x1f])).fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| InputError::from_io(path, e).into())
}

/// Fills the NUM, PRODUCT and MONEY slots in the forms callers use.
struct Slots<'a> {
    catalogue: &'a Catalogue,
}

const EN_DIGITS: [&str; 10] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
const ZH_DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

impl Slots<'_> {
    fn number(&self, lang: &str, rng: &mut Rng) -> String {
        let digits: Vec<usize> = (0..4 + rng.below(5)).map(|_| rng.below(10)).collect();
        let plain: String = digits.iter().map(|d| d.to_string()).collect();
        match (lang, rng.below(4)) {
            ("zh", 0) => digits.iter().map(|d| ZH_DIGITS[*d]).collect(),
            ("zh", 1) => digits.iter().map(|d| if *d == 1 { '幺' } else { ZH_DIGITS[*d] }).collect(),
            (_, 0) => digits.iter().map(|d| EN_DIGITS[*d]).collect::<Vec<_>>().join(" "),
            (_, 1) => digits.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(" "),
            (_, 2) => (1 + rng.below(12)).to_string(),
            _ => plain,
        }
    }

    fn product(&self, lang: &str, rng: &mut Rng) -> String {
        let p = &self.catalogue.products[rng.below(self.catalogue.products.len())];
        let mut names: Vec<&String> = p.aliases.iter().chain([&p.name]).collect();
        if lang == "zh" {
            names.push(&p.name_zh);
            names.extend(p.aliases_in_chinese.iter());
        }
        names[rng.below(names.len())].clone()
    }

    fn money(&self, lang: &str, rng: &mut Rng) -> String {
        let amount = [5, 9, 20, 25, 49, 99, 100, 120, 199, 200, 350, 1200][rng.below(12)];
        match (lang, rng.below(4)) {
            ("zh", 0) => format!("{amount}元"),
            ("zh", 1) => format!("{}块", ["五", "二十", "一百", "两百", "三百五"][rng.below(5)]),
            ("zh", 2) => format!("{amount}块钱"),
            ("zh", _) => format!("¥{amount}"),
            (_, 0) => format!("${amount}"),
            (_, 1) => format!("{amount} dollars"),
            (_, 2) => format!("{} bucks", ["twenty", "fifty", "a hundred", "ninety nine"][rng.below(4)]),
            _ => format!("${amount}.99"),
        }
    }

    fn fill(&self, line: &str, lang: &str, rng: &mut Rng) -> String {
        let mut out = String::new();
        let mut rest = line;
        while let Some(pos) = ["NUM", "PRODUCT", "MONEY"].iter().filter_map(|s| rest.find(s).map(|p| (p, *s))).min() {
            out.push_str(&rest[..pos.0]);
            let value = match pos.1 {
                "NUM" => self.number(lang, rng),
                "PRODUCT" => self.product(lang, rng),
                _ => self.money(lang, rng),
            };
            // Chinese lines join slots without spaces; English ones keep their own.
            out.push_str(&value);
            rest = &rest[pos.0 + pos.1.len()..];
        }
        out.push_str(rest);
        out
    }
}

/// The samples of one template file.
fn from_templates(path: &Path, lang: &'static str, labels: &[&str], slots: &Slots, rng: &mut Rng) -> Result<Vec<Sample>> {
    let text = read(path)?;
    let mut out = Vec::new();
    for (label, line) in sections(&text) {
        if !labels.contains(&label.as_str()) {
            return Err(InputError::Invalid(format!("{}: unknown label `{label}`", path.display())).into());
        }
        let lines = expand(&line, PER_LINE, rng)
            .map_err(|e| InputError::Invalid(format!("{}: {e} in `{line}`", path.display())))?;
        let source = fnv(&[&label, &line]);
        for l in lines {
            out.push(Sample { label: label.clone(), text: slots.fill(&l, lang, rng), lang, weight: 1.0, source });
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct BitextMap {
    intents: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct BitextRow {
    instruction: String,
    intent: String,
}

/// Bitext's English utterances, relabelled with our intents; its `{{placeholders}}` become an
/// order number or nothing.
fn from_bitext(csv_path: &Path, map_path: &Path, slots: &Slots, rng: &mut Rng) -> Result<Vec<Sample>> {
    let map: BitextMap = toml::from_str(&read(map_path)?)
        .map_err(|e| InputError::Invalid(format!("{}: {e}", map_path.display())))?;
    let mut reader = csv::Reader::from_path(csv_path).map_err(|e| InputError::Unreadable {
        path: csv_path.to_owned(),
        reason: e.to_string(),
    })?;
    let mut out = Vec::new();
    for row in reader.deserialize::<BitextRow>() {
        let row = row.map_err(|e| InputError::Invalid(format!("{}: {e}", csv_path.display())))?;
        let Some(ours) = map.intents.get(&row.intent) else {
            return Err(InputError::Invalid(format!("{}: Bitext intent `{}` is not mapped", map_path.display(), row.intent)).into());
        };
        if ours.is_empty() {
            continue;
        }
        let mut text = String::new();
        let mut rest = row.instruction.as_str();
        while let (Some(a), Some(b)) = (rest.find("{{"), rest.find("}}")) {
            if b < a {
                break;
            }
            text.push_str(&rest[..a]);
            if rest[a..b].to_lowercase().contains("number") || rest[a..b].to_lowercase().contains("id") {
                text.push_str(&slots.number("en", rng));
            }
            rest = &rest[b + 2..];
        }
        text.push_str(rest);
        let source = fnv(&[&text]);
        out.push(Sample { label: ours.clone(), text, lang: "en", weight: 1.0, source });
    }
    Ok(out)
}

/// Characters that sound alike (same toneless pinyin), from the training texts themselves.
fn homophones(samples: &[Sample]) -> HashMap<char, Vec<char>> {
    let mut by_sound: BTreeMap<&'static str, Vec<char>> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for s in samples {
        for c in s.text.chars().filter(|c| is_cjk(*c)) {
            if seen.insert(c) {
                if let Some(p) = c.to_pinyin() {
                    by_sound.entry(p.plain()).or_default().push(c);
                }
            }
        }
    }
    let mut out = HashMap::new();
    for group in by_sound.values().filter(|g| g.len() > 1) {
        for &c in group {
            out.insert(c, group.iter().copied().filter(|x| *x != c).collect());
        }
    }
    out
}

/// A copy with one typo (English) or one homophone (Chinese), if the text allows one.
fn noisy(text: &str, sounds: &HashMap<char, Vec<char>>, rng: &mut Rng) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let swappable: Vec<usize> = (0..chars.len()).filter(|i| sounds.contains_key(&chars[*i])).collect();
    if !swappable.is_empty() {
        let i = swappable[rng.below(swappable.len())];
        let alts = &sounds[&chars[i]];
        let mut out = chars.clone();
        out[i] = alts[rng.below(alts.len())];
        return Some(out.into_iter().collect());
    }
    let words: Vec<&str> = text.split(' ').collect();
    let long: Vec<usize> = (0..words.len()).filter(|i| words[*i].len() >= 4 && words[*i].is_ascii()).collect();
    if long.is_empty() {
        return None;
    }
    let w = long[rng.below(long.len())];
    let mut b: Vec<char> = words[w].chars().collect();
    let p = 1 + rng.below(b.len() - 2);
    match rng.below(3) {
        0 => {
            b.remove(p);
        }
        1 => b.swap(p, p + 1),
        _ => b.insert(p, b[p]),
    }
    let mut out: Vec<String> = words.iter().map(|s| s.to_string()).collect();
    out[w] = b.into_iter().collect();
    Some(out.join(" "))
}

fn add_noise(samples: &mut Vec<Sample>, rng: &mut Rng) {
    let sounds = homophones(samples);
    let extra: Vec<Sample> = samples
        .iter()
        .filter_map(|s| {
            if !rng.chance(NOISE) {
                return None;
            }
            noisy(&s.text, &sounds, rng).map(|text| Sample { text, ..s.clone() })
        })
        .collect();
    samples.extend(extra);
}

/// Examples weighted so that each label has the same total weight in each language, each with
/// the source it came from.
fn examples(samples: &[Sample], classes: &[&str], catalogue: &Catalogue) -> Vec<(Example, u64)> {
    let mut totals: HashMap<(&str, &str), f32> = HashMap::new();
    for s in samples {
        *totals.entry((s.label.as_str(), s.lang)).or_default() += s.weight;
    }
    let mean = totals.values().sum::<f32>() / totals.len().max(1) as f32;
    samples
        .iter()
        .filter_map(|s| {
            let y = classes.iter().position(|c| *c == s.label)?;
            let w = s.weight * mean / totals[&(s.label.as_str(), s.lang)];
            Some((Example { x: featurize(&s.text, catalogue).1, y, weight: w }, s.source))
        })
        .collect()
}

fn accuracy(model: &LinearModel, dev: &[Example], fallback: Option<usize>) -> f64 {
    let right = dev
        .iter()
        .filter(|e| {
            let p = model.probs(&e.x);
            let (best, top) = p.iter().enumerate().fold((0, 0.0f32), |a, (i, v)| if *v > a.1 { (i, *v) } else { a });
            let pick = match fallback {
                Some(f) if top < model.threshold => f,
                _ => best,
            };
            pick == e.y
        })
        .count();
    right as f64 / dev.len().max(1) as f64
}

/// Fits without a fifth of the sources, calibrates the temperature (and, with a fallback
/// class, the threshold below which the answer is that class) on them, then fits on
/// everything with those settings.
fn fit_calibrated(classes: &[&str], all: &[(Example, u64)], opts: FitOptions, fallback: Option<usize>) -> LinearModel {
    let names: Vec<String> = classes.iter().map(|c| c.to_string()).collect();
    let held_out = |source: u64| source % 5 == 0;
    let train: Vec<Example> = all.iter().filter(|(_, s)| !held_out(*s)).map(|(e, _)| e.clone()).collect();
    let calib: Vec<Example> = all.iter().filter(|(_, s)| held_out(*s)).map(|(e, _)| e.clone()).collect();
    let mut first = LinearModel::fit(names.clone(), &train, opts);
    first.fit_temperature(&calib);
    if fallback.is_some() {
        // The largest threshold that costs at most a tenth of a point on the held-out lines:
        // it sends unsure answers to the fallback class without losing answers that were right.
        let curve: Vec<(f32, f64)> = (0..=30)
            .map(|i| i as f32 * 0.02)
            .map(|t| {
                first.threshold = t;
                (t, accuracy(&first, &calib, fallback))
            })
            .collect();
        let best = curve.iter().map(|c| c.1).fold(0.0, f64::max);
        first.threshold = curve.iter().filter(|c| c.1 >= best - 0.001).map(|c| c.0).fold(0.0, f32::max);
    }
    let everything: Vec<Example> = all.iter().map(|(e, _)| e.clone()).collect();
    let mut model = LinearModel::fit(names, &everything, opts);
    model.temperature = first.temperature;
    model.threshold = first.threshold;
    model
}

/// The development set as intent and emotion examples (scored for the report only).
fn dev_examples(path: &Path, catalogue: &Catalogue) -> Result<(Vec<Example>, Vec<Example>)> {
    let rows = crate::bench::nlu::load_tsv(path)?;
    let mut intents = Vec::new();
    let mut emotions = Vec::new();
    for r in rows {
        let x = featurize(&r.text, catalogue).1;
        if let Some(y) = INTENTS.iter().position(|i| *i == r.intent) {
            intents.push(Example { x: x.clone(), y, weight: 1.0 });
        }
        if let Some(y) = EMOTIONS.iter().position(|e| *e == r.emotion) {
            emotions.push(Example { x, y, weight: 1.0 });
        }
    }
    Ok((intents, emotions))
}

pub fn train(opts: &TrainOptions, catalogue: &Catalogue) -> Result<TrainReport> {
    let mut rng = Rng::new(opts.seed);
    let slots = Slots { catalogue };
    let d = &opts.data_dir;
    let mut intents = from_templates(&d.join("intents.en.txt"), "en", INTENTS, &slots, &mut rng)?;
    intents.extend(from_templates(&d.join("intents.zh.txt"), "zh", INTENTS, &slots, &mut rng)?);
    let bitext = match &opts.bitext {
        Some((csv, map)) => from_bitext(csv, map, &slots, &mut rng)?,
        None => Vec::new(),
    };
    let bitext_examples = bitext.len();
    intents.extend(bitext);
    for intent in INTENTS {
        for lang in ["en", "zh"] {
            if !intents.iter().any(|s| s.label == *intent && s.lang == lang) {
                return Err(InputError::Invalid(format!("no {lang} training data for intent `{intent}`")).into());
            }
        }
    }

    let mut emotions = from_templates(&d.join("emotion.en.txt"), "en", EMOTIONS, &slots, &mut rng)?;
    emotions.extend(from_templates(&d.join("emotion.zh.txt"), "zh", EMOTIONS, &slots, &mut rng)?);
    // The intent phrasings teach the emotion model that shop words alone are neutral, and that
    // complaints are angry; lightly, as their tone was not labelled one by one. Greetings,
    // thanks and yes/no carry their own tone and are left to the emotion templates.
    let social = ["greeting", "goodbye", "affirm", "deny"];
    emotions.extend(intents.iter().filter(|s| !social.contains(&s.label.as_str())).map(|s| Sample {
        label: if s.label == "complaint" { "angry" } else { "neutral" }.to_string(),
        weight: 0.15,
        ..s.clone()
    }));

    add_noise(&mut intents, &mut rng);
    add_noise(&mut emotions, &mut rng);

    let (dev_intents, dev_emotions) = dev_examples(&opts.dev, catalogue)?;
    let fit = FitOptions { epochs: 12, learning_rate: 0.3, l2: 1e-6, seed: opts.seed };
    let oos = INTENTS.iter().position(|i| *i == "out_of_scope");
    let intent_n = intents.len();
    let intent_model = fit_calibrated(INTENTS, &examples(&intents, INTENTS, catalogue), fit, oos);
    let intent_dev_acc = accuracy(&intent_model, &dev_intents, oos);
    let emotion_n = emotions.len();
    let emotion_model = fit_calibrated(EMOTIONS, &examples(&emotions, EMOTIONS, catalogue), fit, None);
    let emotion_dev_acc = accuracy(&emotion_model, &dev_emotions, None);

    std::fs::create_dir_all(&opts.out_dir)
        .map_err(|e| Error::internal(format!("cannot create {}: {e}", opts.out_dir.display())))?;
    let write = |name: &str, m: &LinearModel| -> Result<usize> {
        let bytes = m.to_bytes();
        let path = opts.out_dir.join(name);
        std::fs::write(&path, &bytes).map_err(|e| Error::internal(format!("cannot write {}: {e}", path.display())))?;
        Ok(bytes.len())
    };
    Ok(TrainReport {
        intent_examples: intent_n,
        bitext_examples,
        emotion_examples: emotion_n,
        intent_dev_acc,
        emotion_dev_acc,
        intent_temperature: intent_model.temperature,
        oos_threshold: intent_model.threshold,
        intent_model_bytes: write(crate::nlu::INTENT_FILE, &intent_model)?,
        emotion_model_bytes: write(crate::nlu::EMOTION_FILE, &emotion_model)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_filled_in_forms_the_entity_finder_reads() {
        let c = Catalogue::embedded().unwrap();
        let s = Slots { catalogue: &c };
        let mut rng = Rng::new(5);
        for _ in 0..50 {
            for lang in ["en", "zh"] {
                let t = s.fill("order NUM for PRODUCT at MONEY", lang, &mut rng);
                let (masked, _) = featurize(&t, &c);
                assert!(masked.contains("<product>"), "{t} -> {masked}");
                assert!(masked.contains("<money>"), "{t} -> {masked}");
            }
        }
    }

    #[test]
    fn noise_changes_one_character_or_word() {
        let mut rng = Rng::new(9);
        let sounds: HashMap<char, Vec<char>> = [('退', vec!['腿'])].into_iter().collect();
        assert_eq!(noisy("我要退款", &sounds, &mut rng).unwrap(), "我要腿款");
        let typo = noisy("where is my order", &HashMap::new(), &mut rng).unwrap();
        assert_ne!(typo, "where is my order");
        assert_eq!(typo.split(' ').count(), 4);
    }
}
