//! The models of the pipeline, resolved and loaded once per process and shared by every call.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::models::{Manifest, ModelResolver, ModelSpec, Origin};
use crate::nlu::Nlu;
use crate::tts::Tts;
use crate::pipeline::asr_pool::AsrPool;
use crate::pipeline::vad::{self, VoiceDetector};
use crate::pipeline::whisper::{DecodeOptions, WhisperModel};

/// Voice detectors kept ready for new calls: enough for calls arriving a few at once.
const VAD_SPARES: usize = 4;

/// A model in use: its manifest name, file and where it was found.
#[derive(Debug, Clone, Serialize)]
pub struct LoadedModel {
    pub name: String,
    pub path: PathBuf,
    pub origin: String,
}

pub struct Engines {
    pub config: Config,
    pub asr: AsrPool,
    /// The recogniser for Chinese calls (`models.asr_zh`), when `asr` is English-only.
    pub asr_zh: Option<AsrPool>,
    pub nlu: Nlu,
    pub tts: Tts,
    pub anger: Arc<crate::prosody::AngerModel>,
    pub store: Arc<crate::store::Store>,
    pub shop: crate::dialog::ShopServices,
    pub asr_model: LoadedModel,
    pub asr_zh_model: Option<LoadedModel>,
    pub vad_model: LoadedModel,
    vads: vad::VadSpares,
    /// The start-up work made once idle ([`Engines::warm_up`]) is done.
    warmed_up: std::sync::atomic::AtomicBool,
}

/// The manifest's model `name`, refused unless it is a `kind` model.
pub(crate) fn spec_of_kind<'m>(manifest: &'m Manifest, name: &str, kind: &str) -> Result<&'m ModelSpec> {
    let spec = manifest.get(name)?;
    if spec.kind != kind {
        return Err(Error::Config(format!(
            "models: `{name}` is a {} model, not a {kind} model",
            spec.kind
        )));
    }
    Ok(spec)
}

/// The recogniser for `lang` loaded on its own (no pool): `models.asr_zh` for Chinese where one
/// is named, else `models.asr`.
pub fn load_recogniser(config: &Config, lang: &str) -> Result<WhisperModel> {
    let manifest = Manifest::embedded()?;
    let resolver = ModelResolver::from_config(&config.models);
    let name = match (lang, config.models.asr_zh.trim()) {
        ("zh", zh) if !zh.is_empty() => zh,
        _ => config.models.asr.as_str(),
    };
    let found = resolver.resolve(spec_of_kind(&manifest, name, "whisper")?)?;
    WhisperModel::load(&found.path)
}

fn loaded(spec: &ModelSpec, path: PathBuf, origin: Origin) -> LoadedModel {
    LoadedModel {
        name: spec.name.clone(),
        path,
        origin: origin.to_string(),
    }
}

impl Engines {
    /// The Chinese recogniser's first decode made on a second of quiet (tiny.en's first is
    /// not slower than the next ones): a gateway does this once it is idle, so that the first
    /// Mandarin caller's first answer is not the slow one.
    pub async fn warm_up(&self) {
        if let Some(zh) = &self.asr_zh {
            zh.warm_up().await;
        }
        self.warmed_up.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether [`Engines::warm_up`] has been made: until then the gateway's idle memory is
    /// not yet its own (the Chinese recogniser's workers have not yet made their buffers).
    pub fn warmed_up(&self) -> bool {
        self.warmed_up.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Resolves (fetching if allowed) and loads every model the config names.
    pub fn load(config: Config) -> Result<Arc<Self>> {
        let manifest = Manifest::embedded()?;
        let resolver = ModelResolver::from_config(&config.models);
        let asr_spec = spec_of_kind(&manifest, &config.models.asr, "whisper")?;
        let vad_spec = spec_of_kind(&manifest, &config.models.vad, "vad")?;
        let asr_found = resolver.resolve(asr_spec)?;
        let vad_found = resolver.resolve(vad_spec)?;

        let vad_path = vad::check_model(&vad_found.path)?;
        // One detector now proves the VAD model loads before any call depends on it.
        let first = VoiceDetector::new(&vad_path, &config.vad)?;
        let vads = vad::VadSpares::new(first, &vad_path, &config.vad);

        let nlu = Nlu::load(&config.nlu.dir)?;
        let tts = Tts::start(&config.tts)?;
        let anger = Arc::new(crate::prosody::AngerModel::load(&config.anger.dir)?);
        let store = Arc::new(crate::store::Store::open(&config.store.path)?);
        let shop = shop_services(&config, store.clone())?;
        let model = Arc::new(WhisperModel::load(&asr_found.path)?);
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let (workers, threads) = AsrPool::sizing(cores, config.asr.workers, config.asr.threads);
        let asr = AsrPool::start(
            model,
            workers,
            cores,
            config.asr.nice,
            DecodeOptions::from_config(&config.asr, threads),
        )?;
        let (asr_zh, asr_zh_model) = match Self::load_chinese(&config, &manifest, &resolver, &asr, cores)? {
            Some((pool, model)) => (Some(pool), Some(model)),
            None => (None, None),
        };
        Ok(Arc::new(Self {
            asr_model: loaded(asr_spec, asr_found.path, asr_found.origin),
            asr_zh,
            asr_zh_model,
            vad_model: loaded(vad_spec, vad_path, vad_found.origin),
            asr,
            nlu,
            tts,
            anger,
            store,
            shop,
            vads,
            config,
            warmed_up: Default::default(),
        }))
    }

    /// The Chinese recogniser beside an English-only one: one worker for turn-ending
    /// transcripts and one for partial ones, detecting the language of each utterance (so a
    /// caller who turns to English is followed). None when `asr` is multilingual already, when
    /// none is configured, or when its file is not found: Chinese calls then use `asr`.
    fn load_chinese(config: &Config, manifest: &Manifest, resolver: &ModelResolver, asr: &AsrPool, cores: usize) -> Result<Option<(AsrPool, LoadedModel)>> {
        let name = config.models.asr_zh.trim();
        if name.is_empty() || asr.model.multilingual {
            return Ok(None);
        }
        let spec = spec_of_kind(manifest, name, "whisper")?;
        let found = match resolver.resolve(spec) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("Chinese calls use {} until {} is found: {e}", config.models.asr, spec.file);
                return Ok(None);
            }
        };
        let model = Arc::new(WhisperModel::load(&found.path)?);
        if !model.multilingual {
            return Err(Error::Config(format!("models.asr_zh: `{name}` is English-only; name a multilingual Whisper model such as whisper-base-q8_0")));
        }
        let options = DecodeOptions { language: "auto".into(), ..asr.options.clone() };
        let pool = AsrPool::start(model, 1, cores, config.asr.nice, options)?;
        Ok(Some((pool, loaded(spec, found.path, found.origin))))
    }

    /// The recogniser for a call in `lang`.
    pub fn asr_for(&self, lang: &str) -> &AsrPool {
        match (&self.asr_zh, lang) {
            (Some(zh), "zh") => zh,
            _ => &self.asr,
        }
    }

    /// A fresh dialog for one call (or chat session). `dry_run` (a listen-only replay): it
    /// reads orders but changes nothing and records no knowledge gaps.
    pub fn new_dialog(&self, dry_run: bool) -> Box<dyn crate::dialog::Dialog> {
        let mut shop = self.shop.clone();
        if dry_run {
            shop.orders = Arc::new(crate::orders::DryRun(shop.orders.clone()));
            shop.store = None;
        }
        Box::new(crate::dialog::ShopDialog::new(shop))
    }

    /// For a gateway: voice detectors are kept ready for new calls from now on.
    pub fn keep_voice_detectors_ready(&self) -> Result<()> {
        self.vads.keep_ready(VAD_SPARES, self.config.asr.nice)
    }

    /// A fresh VAD for one call.
    pub fn new_vad(&self) -> Result<VoiceDetector> {
        self.vads.take()
    }

    /// What is loaded, for `/health` and start-up messages.
    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "asr": {
                "model": self.asr_model,
                "multilingual": self.asr.model.multilingual,
                "workers": self.asr.workers(),
                "partial_workers": self.asr.partial_workers(),
                "max_threads_per_decode": self.asr.options.threads,
                "audio_ctx": self.config.asr.audio_ctx,
                "queued": self.asr.queued(),
                "chinese": self.asr_zh_model.as_ref().map(|m| serde_json::json!({ "model": m, "queued": self.asr_zh.as_ref().map(|p| p.queued()) })),
            },
            "vad": {
                "model": self.vad_model,
                "threshold": self.config.vad.threshold,
                "hangover_ms": self.config.vad.hangover_ms,
            },
            "tts": { "voices": self.tts.voices },
            "anger": { "trained_on": self.anger.trained_on, "threshold": self.anger.against_baseline.threshold,
                       "first_turn_threshold": self.anger.first_turn.threshold },
            "orders": self.shop.orders.describe(),
            "kb": { "entries": self.shop.kb.entries.len() },
            "store": self.store.path,
            "nlu": {
                "models": self.nlu.source,
                "intents": crate::nlu::INTENTS.len(),
                "products": self.nlu.catalogue.products.len(),
            },
        })
    }
}

/// The order system and knowledge base the config names, checked at start-up.
pub fn shop_services(config: &Config, store: Arc<crate::store::Store>) -> Result<crate::dialog::ShopServices> {
    use crate::config::OrdersBackend;
    let orders: Arc<dyn crate::orders::OrderService> = match config.orders.backend {
        OrdersBackend::Sqlite => Arc::new(crate::orders::sqlite::SqliteOrders::open(store.clone())?),
        OrdersBackend::Http => Arc::new(crate::orders::http::HttpOrders::new(config.orders.http.clone())),
    };
    let kb = Arc::new(crate::kb::Kb::load(&config.kb.dir, config.kb.min_similarity)?);
    Ok(crate::dialog::ShopServices { orders, kb, store: Some(store) })
}
