//! The NLU shared by the voice pipeline and the text chat channel: intent (with out-of-scope
//! detection and calibrated confidence), entities, and text emotion with a sentiment score, in
//! Chinese and English.
//!
//! ```text
//! text -> normalise -> entities (order/phone numbers, money, products) -> mask them
//!      -> hashed features (words, n-grams, Chinese characters and their pinyin)
//!      -> intent model (22 intents)  and  emotion model (4 labels)
//! ```

pub mod catalogue;
pub mod entities;
pub mod features;
pub mod linear;
pub mod numbers;
pub mod script;
pub mod templates;
pub mod text;
pub mod train;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{InputError, ModelError, Result};
use catalogue::Catalogue;
use entities::Entity;
use features::Features;
use linear::LinearModel;

/// The intents of ../shared/DESIGN.md, in model order.
pub const INTENTS: &[&str] = &[
    "track_order", "delivery_time", "change_shipping_address", "cancel_order", "change_order",
    "return_refund", "track_refund", "refund_policy", "price_adjustment", "payment_issue", "invoice",
    "product_availability", "product_info", "promotion", "account_issue", "human_agent", "complaint",
    "greeting", "goodbye", "affirm", "deny", "out_of_scope",
];

/// Text emotions, and the valence each contributes to the sentiment score.
pub const EMOTIONS: &[&str] = &["neutral", "satisfied", "anxious", "angry"];
const VALENCE: [f32; 4] = [0.0, 1.0, -0.5, -1.0];

pub const INTENT_FILE: &str = "intent.vgm";
pub const EMOTION_FILE: &str = "emotion.vgm";
pub const CATALOGUE_FILE: &str = "catalogue.toml";

/// Longest text analysed, in characters: an utterance or a chat message, not a document.
pub const MAX_CHARS: usize = 2000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub intent: String,
    pub score: f32,
}

/// What the NLU understood of one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NluResult {
    pub intent: String,
    /// Calibrated probability that `intent` is right.
    pub confidence: f32,
    /// The three likeliest intents with their probabilities.
    pub top: Vec<Scored>,
    pub entities: Vec<Entity>,
    pub emotion: String,
    pub emotion_confidence: f32,
    /// From -1 (angry) to 1 (satisfied).
    pub sentiment: f32,
    /// Probability that the words are angry.
    pub anger: f32,
    pub lang: String,
}

/// The masked text and its features: what both models see.
pub fn featurize(text: &str, catalogue: &Catalogue) -> (String, Features) {
    let norm = text::normalize(text);
    let ents = entities::extract(&norm, catalogue);
    let masked = features::masked(&norm, &ents, &numbers::find_numbers(&norm));
    let f = features::features(&masked);
    (masked, f)
}

fn round4(x: f32) -> f32 {
    (x * 10_000.0).round() / 10_000.0
}

pub struct Nlu {
    intent: LinearModel,
    emotion: LinearModel,
    pub catalogue: Catalogue,
    out_of_scope: usize,
    /// Where the models came from, for /health and `voicegate nlu`.
    pub source: String,
}

#[cfg(embedded_nlu)]
const EMBEDDED: Option<(&[u8], &[u8])> = Some((
    include_bytes!("../../models/nlu/intent.vgm"),
    include_bytes!("../../models/nlu/emotion.vgm"),
));
#[cfg(not(embedded_nlu))]
const EMBEDDED: Option<(&[u8], &[u8])> = None;

impl Nlu {
    /// The models in `dir` (the project's models/nlu by default), or else the copies built into
    /// this binary.
    pub fn load(dir: &Path) -> Result<Self> {
        let (ipath, epath) = (dir.join(INTENT_FILE), dir.join(EMOTION_FILE));
        let parse = |bytes: &[u8], path: &Path| {
            LinearModel::from_bytes(bytes).map_err(|reason| ModelError::Load { path: path.to_owned(), reason })
        };
        let (intent, emotion, source) = if ipath.is_file() && epath.is_file() {
            let read = |p: &Path| std::fs::read(p).map_err(|e| ModelError::Load { path: p.to_owned(), reason: e.to_string() });
            (parse(&read(&ipath)?, &ipath)?, parse(&read(&epath)?, &epath)?, dir.display().to_string())
        } else if let Some((i, e)) = EMBEDDED {
            (parse(i, &ipath)?, parse(e, &epath)?, "built in".to_string())
        } else {
            return Err(ModelError::Load {
                path: ipath,
                reason: "no NLU model here or built in; run `voicegate train nlu`".into(),
            }
            .into());
        };
        let cpath = dir.join(CATALOGUE_FILE);
        let catalogue = if cpath.is_file() {
            let text = std::fs::read_to_string(&cpath).map_err(|e| InputError::from_io(&cpath, e))?;
            Catalogue::parse(&text)?
        } else {
            Catalogue::embedded()?
        };
        Self::from_models(intent, emotion, catalogue, source)
    }

    fn from_models(intent: LinearModel, emotion: LinearModel, catalogue: Catalogue, source: String) -> Result<Self> {
        let wrong = |what: &str| ModelError::Load { path: what.into(), reason: "its classes are not voicegate's".into() };
        if intent.classes != INTENTS {
            return Err(wrong(INTENT_FILE).into());
        }
        if emotion.classes != EMOTIONS {
            return Err(wrong(EMOTION_FILE).into());
        }
        let out_of_scope = INTENTS.len() - 1;
        Ok(Self { intent, emotion, catalogue, out_of_scope, source })
    }

    /// Understands one utterance or chat message. `lang` is a hint ("en", "zh"); without it the
    /// language is read from the script.
    pub fn analyze(&self, text: &str, lang: Option<&str>) -> std::result::Result<NluResult, InputError> {
        let chars = text.chars().count();
        if text.trim().is_empty() {
            return Err(InputError::Invalid("empty text".into()));
        }
        if chars > MAX_CHARS {
            return Err(InputError::Invalid(format!("text too long: {chars} characters, at most {MAX_CHARS}")));
        }
        let norm = text::normalize(text);
        let ents = entities::extract(&norm, &self.catalogue);
        let masked = features::masked(&norm, &ents, &numbers::find_numbers(&norm));
        let x = features::features(&masked);

        let p = self.intent.probs(&x);
        let mut order: Vec<usize> = (0..p.len()).collect();
        order.sort_by(|a, b| p[*b].total_cmp(&p[*a]));
        let best = order[0];
        let (intent, confidence) = if p[best] < self.intent.threshold {
            // Nothing in scope is likely enough: the chance that none of them is right.
            (self.out_of_scope, 1.0 - p[best])
        } else {
            (best, p[best])
        };
        let top = order
            .iter()
            .take(3)
            .map(|i| Scored { intent: INTENTS[*i].to_string(), score: round4(p[*i]) })
            .collect();

        let e = self.emotion.probs(&x);
        let ebest = (0..e.len()).max_by(|a, b| e[*a].total_cmp(&e[*b])).unwrap_or(0);
        let sentiment: f32 = e.iter().zip(VALENCE).map(|(p, v)| p * v).sum();
        Ok(NluResult {
            intent: INTENTS[intent].to_string(),
            confidence: round4(confidence),
            top,
            entities: ents,
            emotion: EMOTIONS[ebest].to_string(),
            emotion_confidence: round4(e[ebest]),
            sentiment: round4(sentiment.clamp(-1.0, 1.0)),
            anger: round4(e[EMOTIONS.len() - 1]),
            lang: lang.map(str::to_string).unwrap_or_else(|| text::detect_lang(text).to_string()),
        })
    }
}
