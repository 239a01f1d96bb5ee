//! `voicegate bench anger`: the anger model, leave-one-speaker-out over the corpora given,
//! leave-one-corpus-out when there are several, across corpora, and as heard over a phone
//! line; or an existing model scored on a folder. Ends with one JSON line.

use std::path::Path;

use serde_json::json;

use crate::error::Result;
use crate::prosody::corpus::{self, Clip};
use crate::prosody::evaluate::{metrics, metrics_at, score, Baselines, Metrics, Scored, BASELINE_TURNS, CURVE};
use crate::prosody::extract::{both_lines, extract, items, Extracted};
use crate::prosody::model::AngerModel;
use crate::prosody::train::train;

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn line(kind: &str, name: &str, m: &Metrics) -> serde_json::Value {
    json!({"kind": kind, "name": name, "n": m.n, "bacc": round3(m.bacc), "anger_recall": round3(m.anger_recall),
           "neutral_fpr": round3(m.neutral_fpr), "f1": round3(m.f1),
           "happy_flagged": m.happy_flagged.map(round3), "sad_flagged": m.sad_flagged.map(round3)})
}

fn print(json_lines: bool, v: &serde_json::Value) {
    if json_lines {
        println!("{v}");
        return;
    }
    let pct = |k: &str| v[k].as_f64().map(|x| format!("{:>5.1}%", x * 100.0)).unwrap_or_else(|| "    -".into());
    eprintln!(
        "  {:<6} {:<22} n {:>4}  bacc {}  anger recall {}  calm flagged {}  F1 {:.3}  happy flagged {}  sad flagged {}",
        v["kind"].as_str().unwrap_or(""),
        v["name"].as_str().unwrap_or(""),
        v["n"],
        pct("bacc"),
        pct("anger_recall"),
        pct("neutral_fpr"),
        v["f1"].as_f64().unwrap_or(0.0),
        pct("happy_flagged"),
        pct("sad_flagged"),
    );
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

/// A model's scores on the clips `keep` accepts: clean and over the phone with baselines built
/// as in a call, and clean with the first calm turns as the baseline whatever the model says.
struct Fold {
    clean: Scored,
    phone: Scored,
    first_calm: Scored,
}

fn scored(model: &AngerModel, data: &Extracted, keep: &dyn Fn(&Clip) -> bool) -> Fold {
    let clean = items(data, false, keep);
    Fold {
        clean: score(model, &clean, BASELINE_TURNS, Baselines::AsInACall),
        phone: score(model, &items(data, true, keep), BASELINE_TURNS, Baselines::AsInACall),
        first_calm: score(model, &clean, BASELINE_TURNS, Baselines::FirstCalm),
    }
}

/// 16 kHz, 8 kHz, first-calm-turns and first-turn figures of pooled scores, printed; the
/// summary's fields.
fn report(json_lines: bool, kind: &str, name: &str, f: &Fold) -> serde_json::Value {
    let (m, p, first, cold) = (metrics(&f.clean.warm), metrics(&f.phone.warm), metrics(&f.first_calm.warm), metrics(&f.clean.cold));
    print(json_lines, &line(kind, &format!("{name}, 16k"), &m));
    print(json_lines, &line(kind, &format!("{name}, 8k"), &p));
    print(json_lines, &line(kind, &format!("{name}, first calm"), &first));
    print(json_lines, &line(kind, &format!("{name}, first turn"), &cold));
    // The trade-off an operator chooses `escalation.anger_enter` on: anger caught against calm
    // turns flagged, at 16 kHz and through the phone line.
    let curve: Vec<serde_json::Value> = CURVE
        .iter()
        .map(|t| {
            let (c, p) = (metrics_at(&f.clean.warm, *t), metrics_at(&f.phone.warm, *t));
            json!({"anger_enter": round3(*t as f64), "anger_recall": round3(c.anger_recall), "neutral_fpr": round3(c.neutral_fpr), "anger_recall_8k": round3(p.anger_recall), "neutral_fpr_8k": round3(p.neutral_fpr)})
        })
        .collect();
    if !json_lines {
        let points: Vec<String> = curve.iter().map(|p| format!("{}: {:.1}%/{:.1}%", p["anger_enter"], 100.0 * p["anger_recall"].as_f64().unwrap_or(0.0), 100.0 * p["neutral_fpr"].as_f64().unwrap_or(0.0))).collect();
        println!("  {kind:<6} {:<22} anger_enter: caught/calm flagged  {}", format!("{name}, curve"), points.join("  "));
    }
    json!({"curve": curve,"bacc": round3(m.bacc), "anger_recall": round3(m.anger_recall), "neutral_fpr": round3(m.neutral_fpr), "f1": round3(m.f1),
           "bacc_8k": round3(p.bacc), "anger_recall_8k": round3(p.anger_recall), "neutral_fpr_8k": round3(p.neutral_fpr),
           "bacc_first_calm": round3(first.bacc), "anger_recall_first_calm": round3(first.anger_recall),
           "neutral_fpr_first_calm": round3(first.neutral_fpr),
           "bacc_first_turn": round3(cold.bacc), "neutral_fpr_first_turn": round3(cold.neutral_fpr)})
}

/// Trains on the clips `train_on` accepts (both lines) and scores those `test` accepts.
fn fold(data: &Extracted, test_data: &Extracted, train_on: &dyn Fn(&Clip) -> bool, test: &dyn Fn(&Clip) -> bool) -> Fold {
    let model = train(&both_lines(data, train_on), "fold");
    scored(&model, test_data, test)
}

/// Leave-one-speaker-out over the corpora in `dirs` together, leave-one-corpus-out when there
/// are several, and cross-corpus (train on them, test on `cross`) when given; ends with the
/// summary. With `model_path`, scores that model on `dirs` instead.
pub fn run(dirs: &[&Path], cross: Option<&Path>, model_path: Option<&Path>, json_lines: bool) -> Result<()> {
    let data = load(dirs, !json_lines)?;
    let corpus_names = dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(" + ");
    let speakers = corpus::speakers(&data.clips);
    let extract_cpu_pct = round3(100.0 * data.analysis_s / data.audio_s.max(1e-9));
    if let Some(path) = model_path {
        let model = AngerModel::load(path)?;
        let mut summary = report(json_lines, "model", "all", &scored(&model, &data, &|_| true));
        summary["bench"] = json!("anger");
        summary["model"] = json!(path.display().to_string());
        summary["corpus"] = json!(corpus_names);
        summary["baseline_turns"] = json!(BASELINE_TURNS);
        summary["extract_cpu_pct"] = json!(extract_cpu_pct);
        println!("{summary}");
        return Ok(());
    }

    let mut all = Fold { clean: Scored::default(), phone: Scored::default(), first_calm: Scored::default() };
    for s in &speakers {
        let f = fold(&data, &data, &|c| &c.speaker != s, &|c| &c.speaker == s);
        print(json_lines, &line("loso", s, &metrics(&f.clean.warm)));
        // Each fold's scores have its own threshold at 0.5, so they pool.
        all.clean.extend(f.clean);
        all.phone.extend(f.phone);
        all.first_calm.extend(f.first_calm);
    }
    let loso = report(json_lines, "loso", "all", &all);

    let mut loco = serde_json::Map::new();
    let mut corpora: Vec<&str> = data.clips.iter().map(|c| c.corpus.as_str()).collect();
    corpora.dedup();
    if corpora.len() > 1 {
        for held in &corpora {
            let r = fold(&data, &data, &|c| c.corpus != *held, &|c| c.corpus == *held);
            loco.insert(held.to_string(), report(json_lines, "loco", held, &r));
        }
    }

    let mut cross_summary = serde_json::Value::Null;
    if let Some(other) = cross {
        let test = load(&[other], !json_lines)?;
        let r = fold(&data, &test, &|_| true, &|_| true);
        cross_summary = report(json_lines, "cross", &format!("-> {}", other.display()), &r);
    }
    println!(
        "{}",
        json!({"bench": "anger", "corpus": corpus_names, "speakers": speakers.len(), "baseline_turns": BASELINE_TURNS,
               "loso_bacc": loso["bacc"], "loso_bacc_8k": loso["bacc_8k"], "loso_bacc_first_calm": loso["bacc_first_calm"],
               "loso_bacc_first_turn": loso["bacc_first_turn"],
               "anger_recall": loso["anger_recall"], "neutral_fpr": loso["neutral_fpr"], "f1": loso["f1"],
               "cross_bacc": cross_summary.get("bacc").cloned().unwrap_or(serde_json::Value::Null), "cross": cross_summary,
               "loco": loco, "extract_cpu_pct": extract_cpu_pct})
    );
    Ok(())
}
