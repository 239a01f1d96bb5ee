//! `voicegate bench anger`: the anger model, leave-one-speaker-out over one corpus, across
//! corpora, and as heard over a phone line; or an existing model scored on a folder.

use std::path::Path;

use serde_json::json;

use crate::error::Result;
use crate::prosody::corpus;
use crate::prosody::model::AngerModel;
use crate::prosody::train::{extract, items, metrics, score, train, Extracted, Metrics, Scored};

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn line(kind: &str, name: &str, m: &Metrics) -> serde_json::Value {
    json!({"kind": kind, "name": name, "n": m.n, "bacc": round3(m.bacc), "neutral_fpr": round3(m.neutral_fpr),
           "f1": round3(m.f1), "four_class_bacc": round3(m.four_class_bacc)})
}

fn print(json_lines: bool, v: &serde_json::Value) {
    if json_lines {
        println!("{v}");
    } else {
        eprintln!(
            "  {:<6} {:<24} n {:>4}  anger/neutral bacc {:>5.1}%  neutral flagged {:>4.1}%  F1 {:.3}  4-class bacc {:>5.1}%",
            v["kind"].as_str().unwrap_or(""),
            v["name"].as_str().unwrap_or(""),
            v["n"],
            v["bacc"].as_f64().unwrap_or(0.0) * 100.0,
            v["neutral_fpr"].as_f64().unwrap_or(0.0) * 100.0,
            v["f1"].as_f64().unwrap_or(0.0),
            v["four_class_bacc"].as_f64().unwrap_or(0.0) * 100.0
        );
    }
}

fn load(dirs: &[&Path], progress: bool) -> Result<Extracted> {
    let mut clips = Vec::new();
    for dir in dirs {
        let c = corpus::load(dir)?;
        eprintln!("bench anger: {} ({} clips, {} speakers)", dir.display(), c.len(), corpus::speakers(&c).len());
        clips.extend(c);
    }
    extract(clips, progress)
}

/// Scores a model on each speaker of `data`, clean and over the phone.
fn pooled(model: &AngerModel, data: &Extracted, keep: &dyn Fn(&str) -> bool) -> (Scored, Scored) {
    (score(model, &items(data, false, keep)), score(model, &items(data, true, keep)))
}

/// Leave-one-speaker-out over the corpora in `dirs` together, and cross-corpus (train on them,
/// test on `cross`) when given; ends with the summary.
pub fn run(dirs: &[&Path], cross: Option<&Path>, model_path: Option<&Path>, json_lines: bool) -> Result<()> {
    let data = load(dirs, !json_lines)?;
    let corpus_names = dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(" + ");
    let speakers = corpus::speakers(&data.clips);
    let extract_cpu_pct = 100.0 * data.analysis_s / data.audio_s.max(1e-9);
    if let Some(path) = model_path {
        let model = AngerModel::load(path)?;
        let (clean, phone) = pooled(&model, &data, &|_| true);
        let (m, p, cold) = (metrics(&clean.warm), metrics(&phone.warm), metrics(&clean.cold));
        print(json_lines, &line("model", "16k", &m));
        print(json_lines, &line("model", "8k", &p));
        print(json_lines, &line("model", "first-turn", &cold));
        println!(
            "{}",
            json!({"bench": "anger", "model": path.display().to_string(), "bacc": round3(m.bacc), "bacc_8k": round3(p.bacc),
                   "bacc_first_turn": round3(cold.bacc), "neutral_fpr": round3(m.neutral_fpr), "f1": round3(m.f1),
                   "four_class_bacc": round3(m.four_class_bacc), "extract_cpu_pct": round3(extract_cpu_pct)})
        );
        return Ok(());
    }

    let mut all = (Scored::default(), Scored::default());
    for s in &speakers {
        let train_items: Vec<_> = items(&data, false, &|x| x != s).into_iter().chain(items(&data, true, &|x| x != s)).collect();
        let model = train(&train_items, "fold");
        let (clean, phone) = pooled(&model, &data, &|x| x == s);
        print(json_lines, &line("loso", s, &metrics(&clean.warm)));
        // Each fold's scores have its own threshold at 0.5, so they pool.
        all.0.warm.extend(clean.warm);
        all.0.cold.extend(clean.cold);
        all.1.warm.extend(phone.warm);
    }
    let loso = metrics(&all.0.warm);
    let loso_8k = metrics(&all.1.warm);
    let loso_cold = metrics(&all.0.cold);
    print(json_lines, &line("loso", "all, 16k", &loso));
    print(json_lines, &line("loso", "all, 8k", &loso_8k));
    print(json_lines, &line("loso", "all, first turn", &loso_cold));

    let mut cross_bacc = serde_json::Value::Null;
    if let Some(other) = cross {
        let test = load(&[other], !json_lines)?;
        let train_items: Vec<_> = items(&data, false, &|_| true).into_iter().chain(items(&data, true, &|_| true)).collect();
        let model = train(&train_items, "cross");
        let (clean, phone) = pooled(&model, &test, &|_| true);
        let m = metrics(&clean.warm);
        print(json_lines, &line("cross", &format!("-> {}", other.display()), &m));
        print(json_lines, &line("cross", "8k", &metrics(&phone.warm)));
        cross_bacc = json!(round3(m.bacc));
    }
    println!(
        "{}",
        json!({"bench": "anger", "corpus": corpus_names, "speakers": speakers.len(),
               "loso_bacc": round3(loso.bacc), "loso_bacc_8k": round3(loso_8k.bacc), "loso_bacc_first_turn": round3(loso_cold.bacc),
               "cross_bacc": cross_bacc, "neutral_fpr": round3(loso.neutral_fpr), "f1": round3(loso.f1),
               "four_class_bacc": round3(loso.four_class_bacc), "extract_cpu_pct": round3(extract_cpu_pct)})
    );
    Ok(())
}
