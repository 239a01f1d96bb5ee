//! `voicegate train ...`: rebuilds the project's own small models.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};

use crate::config::Config;
use crate::error::{InputError, Result};
use crate::nlu::catalogue::Catalogue;
use crate::nlu::train::{train, TrainOptions};

const BITEXT_CSV: &str = "../shared/datasets/intent/bitext/Bitext_Sample_Customer_Support_Training_Dataset.csv";

#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// Rebuild the intent and emotion models (models/nlu/*.vgm) from models/nlu/data and the
    /// Bitext sample; the same inputs give the same files
    Nlu(NluArgs),
    /// Rebuild the anger model (models/anger/anger.json) from emotional speech corpora (EmoDB,
    /// CASIA and RAVDESS by default); the same inputs give the same file
    Anger(AngerArgs),
}

#[derive(Debug, Args)]
pub struct AngerArgs {
    /// Corpus folders, EmoDB layout or <speaker>/<emotion>/ as CASIA and RAVDESS
    #[arg(default_values = ["../shared/datasets/emotion/emodb", "../shared/datasets/emotion/casia", "../shared/datasets/emotion/ravdess"])]
    pub corpora: Vec<PathBuf>,
    /// Where anger.json goes
    #[arg(long, default_value = "models/anger")]
    pub out: PathBuf,
    /// Speakers kept out of training, so that tests can build calls from voices the model has
    /// never heard (EmoDB speakers are emodb-NN, CASIA speakers their folder names)
    #[arg(long, value_delimiter = ',', default_value = "emodb-03,emodb-16")]
    pub hold_out: Vec<String>,
}

#[derive(Debug, Args)]
pub struct NluArgs {
    /// Folder of the training templates
    #[arg(long, default_value = "models/nlu/data")]
    pub data: PathBuf,
    /// The Bitext customer-support CSV (English)
    #[arg(long, default_value = BITEXT_CSV)]
    pub bitext: PathBuf,
    /// How Bitext's intents map onto ours
    #[arg(long, default_value = "models/nlu/bitext-map.toml")]
    pub bitext_map: PathBuf,
    /// Train without the Bitext sample
    #[arg(long)]
    pub no_bitext: bool,
    /// Where the model files go
    #[arg(long, default_value = "models/nlu")]
    pub out: PathBuf,
    /// Development set the confidence calibration is fitted on
    #[arg(long, default_value = "models/nlu/dev.tsv")]
    pub dev: PathBuf,
    /// Product catalogue used to fill PRODUCT slots (default: the one in --out, else built in)
    #[arg(long)]
    pub catalogue: Option<PathBuf>,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

pub fn run(_config: Config, cmd: TrainCommand) -> Result<()> {
    match cmd {
        TrainCommand::Nlu(a) => train_nlu(a),
        TrainCommand::Anger(a) => train_anger(a),
    }
}

fn train_nlu(a: NluArgs) -> Result<()> {
    let bitext = if a.no_bitext {
        None
    } else {
        if !a.bitext.is_file() {
            return Err(InputError::Invalid(format!(
                "{}: Bitext sample not found (pass --bitext PATH, or --no-bitext to train without it)",
                a.bitext.display()
            ))
            .into());
        }
        Some((a.bitext.clone(), a.bitext_map.clone()))
    };
    let cat_path = a.catalogue.clone().unwrap_or_else(|| a.out.join(crate::nlu::CATALOGUE_FILE));
    let catalogue = if cat_path.is_file() {
        let text = std::fs::read_to_string(&cat_path).map_err(|e| InputError::from_io(&cat_path, e))?;
        Catalogue::parse(&text)?
    } else {
        Catalogue::embedded()?
    };
    let started = Instant::now();
    eprintln!("training the NLU models from {} ...", a.data.display());
    let report = train(
        &TrainOptions { data_dir: a.data, bitext, out_dir: a.out.clone(), dev: a.dev, seed: a.seed },
        &catalogue,
    )?;
    eprintln!(
        "wrote {} and {} in {:.1} s",
        a.out.join(crate::nlu::INTENT_FILE).display(),
        a.out.join(crate::nlu::EMOTION_FILE).display(),
        started.elapsed().as_secs_f64()
    );
    println!("{}", serde_json::to_string(&report).unwrap_or_default());
    Ok(())
}

fn train_anger(a: AngerArgs) -> Result<()> {
    use crate::prosody::{corpus, train};
    let started = Instant::now();
    let mut clips = Vec::new();
    for dir in &a.corpora {
        let c = corpus::load(dir)?;
        eprintln!("{}: {} clips, {} speakers", dir.display(), c.len(), corpus::speakers(&c).len());
        clips.extend(c);
    }
    let data = crate::prosody::extract::extract(clips, true)?;
    let keep = |c: &corpus::Clip| !a.hold_out.contains(&c.speaker);
    let all = crate::prosody::extract::both_lines(&data, &keep);
    for (class, name) in [(corpus::ANGRY, "angry"), (corpus::CALM, "calm (neutral)")] {
        if !all.iter().any(|i| i.class == class) {
            return Err(InputError::Invalid(format!(
                "no {name} utterance with enough voiced speech to train on (after --hold-out): give corpora with angry and neutral speech"
            ))
            .into());
        }
    }
    let names: Vec<String> = a
        .corpora
        .iter()
        .map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
        .collect();
    let mut model = train::train(&all, &format!("{}, clean and through an 8 kHz G.711 line", names.join(" + ")));
    model.held_out = a.hold_out.clone();
    std::fs::create_dir_all(&a.out).map_err(|e| InputError::from_io(&a.out, e))?;
    let path = a.out.join(crate::prosody::model::FILE);
    std::fs::write(&path, model.to_json()).map_err(|e| InputError::from_io(&path, e))?;
    eprintln!("wrote {} in {:.1} s", path.display(), started.elapsed().as_secs_f64());
    println!(
        "{}",
        serde_json::json!({"model": path.display().to_string(), "utterances": all.len(),
                            "threshold": model.against_baseline.threshold, "first_turn_threshold": model.first_turn.threshold})
    );
    Ok(())
}
