//! `voicegate bench nlu FILE.tsv`: intent accuracy, macro-F1, a per-intent confusion table,
//! emotion accuracy and latency, over a TSV with the header `lang intent emotion text`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::error::{InputError, Result};
use crate::nlu::{Nlu, INTENTS};

#[derive(Debug, Clone)]
pub struct Row {
    pub lang: String,
    pub intent: String,
    pub emotion: String,
    pub text: String,
}

/// Reads the test file; the header must be `lang intent emotion text` (tab-separated).
pub fn load_tsv(path: &Path) -> Result<Vec<Row>> {
    let text = std::fs::read_to_string(path).map_err(|e| InputError::from_io(path, e))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    if header != ["lang", "intent", "emotion", "text"] {
        return Err(InputError::Invalid(format!(
            "{}: the first line must be the header `lang<TAB>intent<TAB>emotion<TAB>text`",
            path.display()
        ))
        .into());
    }
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let f: Vec<&str> = line.splitn(4, '\t').collect();
        let [lang, intent, emotion, text] = f[..] else {
            return Err(InputError::Invalid(format!("{}:{}: expected 4 tab-separated fields", path.display(), i + 2)).into());
        };
        if !INTENTS.contains(&intent) {
            return Err(InputError::Invalid(format!("{}:{}: unknown intent `{intent}`", path.display(), i + 2)).into());
        }
        rows.push(Row { lang: lang.into(), intent: intent.into(), emotion: emotion.into(), text: text.into() });
    }
    Ok(rows)
}

#[derive(Debug, Clone, Serialize)]
pub struct IntentStats {
    pub intent: String,
    pub support: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// What this intent was taken for, most often first.
    pub confused_with: Vec<(String, usize)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub lang: String,
    pub text: String,
    pub expected: String,
    pub got: String,
    pub confidence: f32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub bench: &'static str,
    pub n: usize,
    pub intent_acc: f64,
    pub macro_f1: f64,
    pub emotion_acc: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Intent accuracy per language.
    pub acc_by_lang: BTreeMap<String, f64>,
}

pub struct Report {
    pub per_intent: Vec<IntentStats>,
    pub misses: Vec<Miss>,
    pub summary: Summary,
}

fn r4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Runs every row through the NLU, one at a time on this thread.
pub fn evaluate(nlu: &Nlu, rows: &[Row]) -> Result<Report> {
    let mut confusion: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut times_us = Vec::with_capacity(rows.len());
    let (mut emo_right, mut misses) = (0usize, Vec::new());
    let mut by_lang: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for row in rows {
        let started = Instant::now();
        let r = nlu.analyze(&row.text, None)?;
        times_us.push(started.elapsed().as_micros() as u64);
        *confusion.entry((row.intent.clone(), r.intent.clone())).or_default() += 1;
        let lang = by_lang.entry(row.lang.clone()).or_default();
        lang.1 += 1;
        if r.intent == row.intent {
            lang.0 += 1;
        } else {
            misses.push(Miss {
                lang: row.lang.clone(),
                text: row.text.clone(),
                expected: row.intent.clone(),
                got: r.intent.clone(),
                confidence: r.confidence,
            });
        }
        emo_right += usize::from(r.emotion == row.emotion);
    }
    let count = |f: &dyn Fn(&(String, String)) -> bool| confusion.iter().filter(|(k, _)| f(k)).map(|(_, v)| v).sum::<usize>();
    let mut per_intent = Vec::new();
    for intent in INTENTS.iter().map(|s| s.to_string()) {
        let support = count(&|(g, _)| *g == intent);
        let predicted = count(&|(_, p)| *p == intent);
        let right = count(&|(g, p)| *g == intent && *p == intent);
        if support == 0 && predicted == 0 {
            continue;
        }
        let precision = if predicted == 0 { 0.0 } else { right as f64 / predicted as f64 };
        let recall = if support == 0 { 0.0 } else { right as f64 / support as f64 };
        let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
        let mut confused: Vec<(String, usize)> = confusion
            .iter()
            .filter(|((g, p), _)| *g == intent && *p != intent)
            .map(|((_, p), n)| (p.clone(), *n))
            .collect();
        confused.sort_by(|a, b| b.1.cmp(&a.1));
        per_intent.push(IntentStats { intent, support, precision: r4(precision), recall: r4(recall), f1: r4(f1), confused_with: confused });
    }
    let with_support: Vec<&IntentStats> = per_intent.iter().filter(|s| s.support > 0).collect();
    let macro_f1 = with_support.iter().map(|s| s.f1).sum::<f64>() / with_support.len().max(1) as f64;
    let right = count(&|(g, p)| g == p);
    times_us.sort_unstable();
    let ms = |q: f64| crate::bench::percentile(&times_us, q) as f64 / 1000.0;
    let n = rows.len().max(1) as f64;
    Ok(Report {
        per_intent,
        misses,
        summary: Summary {
            bench: "nlu",
            n: rows.len(),
            intent_acc: r4(right as f64 / n),
            macro_f1: r4(macro_f1),
            emotion_acc: r4(emo_right as f64 / n),
            p50_ms: ms(0.50),
            p99_ms: ms(0.99),
            acc_by_lang: by_lang.into_iter().map(|(l, (r, t))| (l, r4(r as f64 / t.max(1) as f64))).collect(),
        },
    })
}
