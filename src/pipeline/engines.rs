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
    pub nlu: Nlu,
    pub tts: Tts,
    pub anger: Arc<crate::prosody::AngerModel>,
    pub store: Arc<crate::store::Store>,
    pub shop: crate::dialog::ShopServices,
    pub asr_model: LoadedModel,
    pub vad_model: LoadedModel,
    vads: vad::VadSpares,
}

fn spec_of_kind<'m>(manifest: &'m Manifest, name: &str, kind: &str) -> Result<&'m ModelSpec> {
    let spec = manifest.get(name)?;
    if spec.kind != kind {
        return Err(Error::Config(format!(
            "models: `{name}` is a {} model, not a {kind} model",
            spec.kind
        )));
    }
    Ok(spec)
}

fn loaded(spec: &ModelSpec, path: PathBuf, origin: Origin) -> LoadedModel {
    LoadedModel {
        name: spec.name.clone(),
        path,
        origin: origin.to_string(),
    }
}

impl Engines {
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
            DecodeOptions {
                threads,
                audio_ctx: config.asr.audio_ctx,
                language: config.asr.language.clone(),
            },
        )?;
        Ok(Arc::new(Self {
            asr_model: loaded(asr_spec, asr_found.path, asr_found.origin),
            vad_model: loaded(vad_spec, vad_path, vad_found.origin),
            asr,
            nlu,
            tts,
            anger,
            store,
            shop,
            vads,
            config,
        }))
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
