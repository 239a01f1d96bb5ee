//! Configuration: the embedded defaults in config/default.toml, overridden key by key by a user
//! file. The defaults file is the one place where default values are written down.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The embedded defaults, also printed by `voicegate config --defaults`.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub models: ModelsConfig,
    pub asr: AsrConfig,
    pub vad: VadConfig,
    pub tts: TtsConfig,
    pub nlu: NluConfig,
    pub anger: AngerConfig,
    pub escalation: EscalationConfig,
    pub agents: AgentsConfig,
    pub privacy: PrivacyConfig,
    pub qa: crate::qa::QaConfig,
    pub alerts: crate::alerts::AlertsConfig,
    pub store: StoreConfig,
    pub orders: OrdersConfig,
    pub kb: KbConfig,
    pub http: HttpConfig,
    pub sip: SipConfig,
    pub webrtc: WebrtcConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsConfig {
    pub asr: String,
    /// The recogniser for Chinese calls beside an English-only `asr` ("" for none).
    #[serde(default)]
    pub asr_zh: String,
    pub vad: String,
    pub download: bool,
    #[serde(default)]
    pub paths: BTreeMap<String, PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioCtx {
    Auto,
    Full,
}

fn default_min_audio_ctx() -> i32 {
    crate::pipeline::whisper::MIN_AUDIO_CTX
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsrConfig {
    pub workers: usize,
    pub threads: usize,
    pub nice: i32,
    pub audio_ctx: AudioCtx,
    /// With `audio_ctx = "auto"`, the shortest encoder a turn gets (of Whisper's 1500 positions).
    #[serde(default = "default_min_audio_ctx")]
    pub min_audio_ctx: i32,
    pub language: String,
    /// Calls that tell no language have their first utterance's language detected.
    #[serde(default)]
    pub identify_language: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VadConfig {
    pub threshold: f32,
    pub min_speech_ms: u32,
    pub min_silence_ms: u32,
    pub hangover_ms: u32,
    pub complete_hangover_ms: u32,
    pub partial_every_ms: u32,
    pub max_utterance_ms: u32,
    pub pad_ms: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TtsEngineKind {
    Espeak,
    Sherpa,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SherpaVoiceKind {
    Vits,
    Kokoro,
    Matcha,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TtsConfig {
    pub engine: TtsEngineKind,
    pub espeak_en: String,
    pub espeak_zh: String,
    pub rate: u32,
    pub sherpa: SherpaVoiceConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SherpaVoiceConfig {
    pub kind: SherpaVoiceKind,
    pub dir: PathBuf,
    pub languages: Vec<String>,
    pub speaker: i32,
    pub speed: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NluConfig {
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AngerConfig {
    pub dir: PathBuf,
    pub baseline_turns: usize,
    pub partial_every_ms: u32,
    pub prosody_weight: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EscalationConfig {
    pub caller_request: bool,
    pub anger_enter: f32,
    pub anger_leave: f32,
    pub anger_turns: u32,
    pub anger_sustained: f32,
    pub anger_sustained_ms: u64,
    pub not_understood_turns: u32,
    pub not_understood_confidence: f32,
    pub unresolved_turns: u32,
    pub high_risk_intents: Vec<String>,
    pub refund_dispute: bool,
    pub dtmf_digit: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    pub path: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrdersBackend {
    Sqlite,
    Http,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersConfig {
    pub backend: OrdersBackend,
    pub http: OrdersHttpConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersHttpConfig {
    pub base_url: String,
    pub token: String,
    pub timeout_ms: u64,
    pub fields: OrderFields,
}

/// Where each of our order fields is in the shop's JSON (dotted paths for nested objects).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderFields {
    pub id: String,
    pub items: String,
    pub amount: String,
    pub currency: String,
    pub status: String,
    pub placed_on: String,
    pub shipped_on: String,
    pub delivered_on: String,
    pub eta: String,
    pub carrier: String,
    pub tracking: String,
    pub address: String,
    pub refund_status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentsConfig {
    pub ring_timeout_s: u64,
    pub wrap_up_s: u64,
    pub announce_every_s: u64,
    pub max_wait_s: u64,
    pub handle_time_s: u64,
    pub survey: bool,
    pub survey_timeout_s: u64,
    pub hold_audio: PathBuf,
    /// The outcomes the desktop's wrap-up form offers.
    pub dispositions: Vec<String>,
    pub priorities: BTreeMap<String, u32>,
    pub skills: BTreeMap<String, String>,
    /// When agents take calls ("mon-fri 09:00-18:00, sat 10:00-14:00"); empty: always.
    #[serde(default)]
    pub hours: String,
    /// The contact centre's offset from UTC for `hours` ("+08:00").
    #[serde(default)]
    pub utc_offset: String,
    /// The longest voice message a waiting caller may leave (key 2).
    #[serde(default = "default_voice_message_max_s")]
    pub voice_message_max_s: u64,
}

fn default_voice_message_max_s() -> u64 {
    60
}

impl AgentsConfig {
    /// When agents take calls (checked at start: `validate`).
    pub fn opening_hours(&self) -> crate::agents::hours::Hours {
        crate::agents::hours::Hours::parse(&self.hours, &self.utc_offset).unwrap_or_default()
    }

    /// The distributor's settings.
    pub fn acd(&self) -> crate::agents::acd::AcdConfig {
        crate::agents::acd::AcdConfig {
            ring_timeout_ms: self.ring_timeout_s * 1000,
            wrap_up_ms: self.wrap_up_s * 1000,
            announce_every_ms: self.announce_every_s * 1000,
            max_wait_ms: self.max_wait_s * 1000,
            handle_time_ms: self.handle_time_s * 1000,
            priorities: self.priorities.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// The lowest role shown personal data unmasked ("none": nobody).
    pub show_pii_to: String,
    /// Calls older than this are deleted daily; 0 keeps them.
    pub retention_days: u32,
    /// Phone, card and ID numbers said in a call are silenced in its recording after it ends.
    #[serde(default)]
    pub redact_audio: bool,
}

impl PrivacyConfig {
    /// Whether `role` sees personal data as it was said.
    pub fn shows_pii_to(&self, role: crate::auth::Role) -> bool {
        self.show_pii_to.parse::<crate::auth::Role>().is_ok_and(|least| role >= least)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KbConfig {
    pub dir: PathBuf,
    pub min_similarity: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub listen: String,
    pub tls_listen: String,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebrtcConfig {
    pub enabled: bool,
    pub ice_ips: Vec<String>,
    pub udp_ports: [u16; 2],
    pub ice_lite: bool,
    pub ice_servers: Vec<voicegate_webrtc::IceServer>,
    pub connect_timeout_ms: u64,
    pub disconnected_timeout_ms: u64,
    pub failed_timeout_ms: u64,
    pub jitter_ms: u32,
    pub token_secret: String,
    pub token_ttl_s: u64,
    pub api_keys: Vec<String>,
    pub max_sockets_per_source: usize,
    pub max_calls: usize,
    pub greet: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipConfig {
    pub enabled: bool,
    pub listen: String,
    pub tcp: bool,
    /// SIP over TLS; empty: off.
    pub tls_listen: String,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    pub media_ip: String,
    pub rtp_ports: [u16; 2],
    pub allow: Vec<String>,
    pub realm: String,
    pub users: BTreeMap<String, String>,
    pub invite_rate: f64,
    pub invite_burst: u32,
    pub answer_after_ms: u64,
    pub max_calls: usize,
    pub jitter_ms: u32,
    pub rtp_timeout_ms: u64,
    pub greet: bool,
    pub pipeline: bool,
    /// With the pipeline off: every call waits for a live agent from its first moment.
    #[serde(default)]
    pub to_agents: bool,
    pub recordings: PathBuf,
    /// Number dialled (the To URI's user part) to the language its calls start in.
    #[serde(default)]
    pub languages: BTreeMap<String, String>,
}

impl Default for Config {
    fn default() -> Self {
        // The embedded file is part of the build and covered by a test.
        Self::from_toml_str("").expect("embedded config/default.toml is valid")
    }
}

impl SipConfig {
    /// Whether anyone listens to a caller's audio: the bot, or an agent from the start
    /// (otherwise it is only recorded).
    pub fn caller_heard(&self) -> bool {
        self.pipeline || self.to_agents
    }
}

impl Config {
    /// Loads the defaults overridden by `path`, or by the file named in $VOICEGATE_CONFIG.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let from_env = std::env::var_os("VOICEGATE_CONFIG").map(PathBuf::from);
        let Some(path) = path.map(Path::to_owned).or(from_env) else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        Self::from_toml_str(&text).map_err(|e| match e {
            Error::Config(msg) => Error::Config(format!("{}: {msg}", path.display())),
            other => other,
        })
    }

    /// The defaults with the keys of `user_toml` laid over them, then validated.
    pub fn from_toml_str(user_toml: &str) -> Result<Self> {
        let mut merged: toml::Table = DEFAULT_TOML
            .parse()
            .map_err(|e| Error::internal(format!("embedded defaults: {e}")))?;
        let user: toml::Table = user_toml
            .parse()
            .map_err(|e: toml::de::Error| Error::Config(one_line(&e.to_string())))?;
        merge(&mut merged, user);
        let config: Config = toml::Value::Table(merged)
            .try_into()
            .map_err(|e: toml::de::Error| Error::Config(one_line(&e.to_string())))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        let v = &self.vad;
        let bad = |key: &str, why: &str| Err(Error::Config(format!("{key}: {why}")));
        if !(v.threshold > 0.0 && v.threshold < 1.0) {
            return bad("vad.threshold", "must lie between 0 and 1");
        }
        if v.hangover_ms < v.min_silence_ms {
            return bad("vad.hangover_ms", "must be at least vad.min_silence_ms");
        }
        if v.complete_hangover_ms < v.min_silence_ms || v.complete_hangover_ms > v.hangover_ms {
            return bad("vad.complete_hangover_ms", "must lie between vad.min_silence_ms and vad.hangover_ms");
        }
        if v.partial_every_ms != 0 && v.partial_every_ms < 300 {
            return bad("vad.partial_every_ms", "must be 0 (no partial transcripts) or at least 300");
        }
        if v.pad_ms > v.hangover_ms {
            return bad("vad.pad_ms", "must not exceed vad.hangover_ms");
        }
        if !(1000..=29_000).contains(&v.max_utterance_ms) {
            return bad("vad.max_utterance_ms", "must lie between 1000 and 29000 (Whisper's window is 30 s)");
        }
        if v.min_speech_ms < 32 || v.min_silence_ms < 32 {
            return bad("vad.min_speech_ms/min_silence_ms", "must be at least one 32 ms VAD window");
        }
        let al = &self.alerts;
        if !(0.0..=1.0).contains(&al.csat_below) || !(0.0..=1.0).contains(&al.anger_rate_over) {
            return bad("alerts.csat_below/anger_rate_over", "are shares between 0 and 1 (0: off)");
        }
        if !al.webhook.is_empty() && !al.webhook.starts_with("http://") && !al.webhook.starts_with("https://") {
            return bad("alerts.webhook", "must be an http:// or https:// URL, or empty");
        }
        if let Err(e) = self.qa.check() {
            return bad("qa.items", &e);
        }
        if self.privacy.show_pii_to != "none" && self.privacy.show_pii_to.parse::<crate::auth::Role>().is_err() {
            return bad("privacy.show_pii_to", "must be agent, supervisor, admin or none");
        }
        let a = &self.agents;
        if let Err(e) = crate::agents::hours::Hours::parse(&self.agents.hours, &self.agents.utc_offset) {
            return bad("agents.hours", &e);
        }
        if !(1..=600).contains(&a.ring_timeout_s) {
            return bad("agents.ring_timeout_s", "must lie between 1 and 600");
        }
        if a.dispositions.is_empty() || a.dispositions.iter().any(|d| d.trim().is_empty() || d.len() > 64) {
            return bad("agents.dispositions", "must name at least one outcome, each 1-64 characters");
        }
        if a.announce_every_s == 0 || a.max_wait_s == 0 {
            return bad("agents.announce_every_s/max_wait_s", "must be at least 1");
        }
        let sip = &self.sip;
        if sip.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad("sip.listen", "must be an address with a port, such as 0.0.0.0:5060");
        }
        if !sip.tls_listen.is_empty() && sip.tls_listen.parse::<std::net::SocketAddr>().is_err() {
            return bad("sip.tls_listen", "must be empty (off) or an address with a port, such as 0.0.0.0:5061");
        }
        if sip.tls_cert.as_os_str().is_empty() != sip.tls_key.as_os_str().is_empty() {
            return bad("sip.tls_cert", "and sip.tls_key go together: give both or neither");
        }
        if !sip.media_ip.is_empty() && sip.media_ip.parse::<std::net::IpAddr>().is_err() {
            return bad("sip.media_ip", "must be an IP address, or empty for the SIP address");
        }
        if sip.rtp_ports[0] < 1024 || sip.rtp_ports[1] <= sip.rtp_ports[0] {
            return bad("sip.rtp_ports", "must be [low, high] with 1024 <= low < high");
        }
        if let Err(e) = voicegate_sip::guard::AllowList::parse(&sip.allow) {
            return bad("sip.allow", &e);
        }
        if sip.rtp_timeout_ms != 0 && !(1000..=600_000).contains(&sip.rtp_timeout_ms) {
            return bad("sip.rtp_timeout_ms", "must be 0 (off) or lie between 1000 and 600000");
        }
        if let Some((number, lang)) = sip.languages.iter().find(|(_, l)| !matches!(l.as_str(), "en" | "zh")) {
            return bad(&format!("sip.languages.{number}"), &format!("\"{lang}\" is not a language voicegate speaks: \"en\" or \"zh\""));
        }
        if !(20..=200).contains(&sip.jitter_ms) {
            return bad("sip.jitter_ms", "must lie between 20 and 200");
        }
        if sip.max_calls == 0 {
            return bad("sip.max_calls", "must be at least 1");
        }
        if self.sip.to_agents && self.sip.pipeline {
            return bad("sip.to_agents", "needs sip.pipeline = false (with the bot, its handoff sends calls to agents)");
        }
        if !(64..=1500).contains(&self.asr.min_audio_ctx) {
            return bad("asr.min_audio_ctx", "must lie between 64 and 1500 (Whisper's whole 30 s window)");
        }
        if !(0..=19).contains(&self.asr.nice) {
            return bad("asr.nice", "must lie between 0 (the gateway's own priority) and 19");
        }
        if self.asr.language.is_empty() {
            return bad("asr.language", "use \"auto\" or a language code such as \"en\"");
        }
        if !(80..=450).contains(&self.tts.rate) {
            return bad("tts.rate", "must lie between 80 and 450 words a minute");
        }
        if self.tts.engine == TtsEngineKind::Sherpa && self.tts.sherpa.dir.as_os_str().is_empty() {
            return bad("tts.sherpa.dir", "must name the voice folder when tts.engine = \"sherpa\"");
        }
        if !(0.25..=4.0).contains(&self.tts.sherpa.speed) {
            return bad("tts.sherpa.speed", "must lie between 0.25 and 4");
        }
        let a = &self.anger;
        if !(0.0..=1.0).contains(&a.prosody_weight) {
            return bad("anger.prosody_weight", "must lie between 0 and 1");
        }
        if a.partial_every_ms != 0 && a.partial_every_ms < 100 {
            return bad("anger.partial_every_ms", "must be 0 (no scores while the caller speaks) or at least 100");
        }
        let e = &self.escalation;
        let unit = |x: f32| (0.0..=1.0).contains(&x);
        if !unit(e.anger_enter) || !unit(e.anger_leave) || e.anger_leave > e.anger_enter {
            return bad("escalation.anger_enter/anger_leave", "must lie between 0 and 1, with anger_leave <= anger_enter");
        }
        if !unit(e.anger_sustained) || !unit(e.not_understood_confidence) {
            return bad("escalation.anger_sustained/not_understood_confidence", "must lie between 0 and 1");
        }
        if let Some(bad_intent) = e.high_risk_intents.iter().find(|i| !crate::nlu::INTENTS.contains(&i.as_str())) {
            return bad("escalation.high_risk_intents", &format!("unknown intent `{bad_intent}`"));
        }
        if !(e.dtmf_digit.is_empty() || (e.dtmf_digit.len() == 1 && "0123456789*#".contains(e.dtmf_digit.as_str()))) {
            return bad("escalation.dtmf_digit", "must be one of 0-9, * or #, or \"\" for none");
        }
        if self.orders.backend == OrdersBackend::Http {
            let u = &self.orders.http.base_url;
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return bad("orders.http.base_url", "must be an http:// or https:// URL when orders.backend = \"http\"");
            }
        }
        if !(100..=30_000).contains(&self.orders.http.timeout_ms) {
            return bad("orders.http.timeout_ms", "must lie between 100 and 30000");
        }
        if !(0.0..=1.0).contains(&self.kb.min_similarity) {
            return bad("kb.min_similarity", "must lie between 0 and 1");
        }
        if self.http.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad("http.listen", "must be an address such as 127.0.0.1:8080");
        }
        if !self.http.tls_listen.is_empty() && self.http.tls_listen.parse::<std::net::SocketAddr>().is_err() {
            return bad("http.tls_listen", "must be an address such as 0.0.0.0:8443, or \"\" for no HTTPS");
        }
        if self.http.tls_cert.as_os_str().is_empty() != self.http.tls_key.as_os_str().is_empty() {
            return bad("http.tls_cert/tls_key", "give both (PEM files), or neither for a self-signed pair");
        }
        let w = &self.webrtc;
        if let Some(ip) = w.ice_ips.iter().find(|ip| ip.parse::<std::net::IpAddr>().is_err()) {
            return bad("webrtc.ice_ips", &format!("`{ip}` is not an IP address"));
        }
        if w.udp_ports != [0, 0] && (w.udp_ports[0] < 1024 || w.udp_ports[1] < w.udp_ports[0]) {
            return bad("webrtc.udp_ports", "must be [low, high] with 1024 <= low <= high, or [0, 0] for any port");
        }
        if let Some(s) = w.ice_servers.iter().find(|s| s.urls.is_empty() || s.urls.iter().any(|u| !(u.starts_with("stun:") || u.starts_with("turn:") || u.starts_with("turns:") || u.starts_with("stuns:")))) {
            return bad("webrtc.ice_servers", &format!("{:?}: each server needs urls starting with stun:, stuns:, turn: or turns:", s.urls));
        }
        if !(1000..=120_000).contains(&w.connect_timeout_ms) {
            return bad("webrtc.connect_timeout_ms", "must lie between 1000 and 120000");
        }
        if !(1000..=60_000).contains(&w.disconnected_timeout_ms) || !(1000..=120_000).contains(&w.failed_timeout_ms) {
            return bad("webrtc.disconnected_timeout_ms/failed_timeout_ms", "must lie between 1000 and 60000 / 120000");
        }
        if !(20..=200).contains(&w.jitter_ms) {
            return bad("webrtc.jitter_ms", "must lie between 20 and 200");
        }
        if !w.token_secret.is_empty() && w.token_secret.len() < 16 {
            return bad("webrtc.token_secret", "must be at least 16 characters (or \"\" to have one made)");
        }
        if !(10..=86_400).contains(&w.token_ttl_s) {
            return bad("webrtc.token_ttl_s", "must lie between 10 and 86400");
        }
        if w.api_keys.iter().any(|k| k.len() < 16) {
            return bad("webrtc.api_keys", "each key must be at least 16 characters");
        }
        if w.max_sockets_per_source == 0 || w.max_calls == 0 {
            return bad("webrtc.max_sockets_per_source/max_calls", "must be at least 1");
        }
        Ok(())
    }

    /// The merged configuration as TOML, for `voicegate config`.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot print config: {e}\n"))
    }
}

/// Lays `over` onto `base`, descending into tables so that a user file may set one key.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn one_line(msg: &str) -> String {
    msg.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_load_and_validate() {
        let c = Config::default();
        assert_eq!(c.models.asr, "whisper-tiny.en");
        assert_eq!(c.asr.audio_ctx, AudioCtx::Auto);
        assert!(c.vad.hangover_ms >= c.vad.min_silence_ms);
    }

    #[test]
    fn user_file_overrides_one_key_and_keeps_the_rest() {
        let c = Config::from_toml_str("[vad]\nhangover_ms = 900\n").unwrap();
        assert_eq!(c.vad.hangover_ms, 900);
        assert_eq!(c.vad.min_speech_ms, Config::default().vad.min_speech_ms);
    }

    #[test]
    fn unknown_key_is_a_config_error_naming_it() {
        let err = Config::from_toml_str("[vad]\nhangover = 900\n").unwrap_err();
        assert!(matches!(err, Error::Config(ref m) if m.contains("hangover")), "{err}");
    }

    #[test]
    fn wrong_type_and_bad_values_are_rejected() {
        assert!(matches!(
            Config::from_toml_str("[vad]\nthreshold = \"high\"\n"),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            Config::from_toml_str("[vad]\nthreshold = 1.5\n"),
            Err(Error::Config(m)) if m.contains("vad.threshold")
        ));
        assert!(matches!(
            Config::from_toml_str("[http]\nlisten = \"nowhere\"\n"),
            Err(Error::Config(m)) if m.contains("http.listen")
        ));
        assert!(matches!(Config::from_toml_str("not toml ["), Err(Error::Config(_))));
        assert!(matches!(
            Config::from_toml_str("[sip]\nto_agents = true\n"),
            Err(Error::Config(m)) if m.contains("sip.to_agents") && m.contains("pipeline = false")
        ));
        assert!(Config::from_toml_str("[sip]\nto_agents = true\npipeline = false\n").is_ok_and(|c| c.sip.to_agents));
        assert!(matches!(
            Config::from_toml_str("[asr]\nmin_audio_ctx = 2000\n"),
            Err(Error::Config(m)) if m.contains("asr.min_audio_ctx")
        ));
        assert_eq!(Config::default().asr.min_audio_ctx, 512);
        assert!(matches!(
            Config::from_toml_str("[sip]\ntls_listen = \"5061\"\n"),
            Err(Error::Config(m)) if m.contains("sip.tls_listen")
        ));
        assert!(matches!(
            Config::from_toml_str("[sip]\ntls_listen = \"0.0.0.0:5061\"\ntls_cert = \"cert.pem\"\n"),
            Err(Error::Config(m)) if m.contains("sip.tls_key")
        ));
        assert!(Config::from_toml_str("[sip]\ntls_listen = \"0.0.0.0:5061\"\n").is_ok());
    }

    #[test]
    fn missing_file_is_a_config_error() {
        let err = Config::load(Some(Path::new("/nonexistent/voicegate.toml"))).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("/nonexistent/voicegate.toml"));
    }
}
