//! Prometheus metrics (`GET /metrics`, a supervisor's or admin's token): counters and
//! histograms fed by the calls' events as they are stored (ASR queue wait and inference time,
//! voice-to-voice latency, handoffs by reason) and by the HTTP layer (requests by route and
//! status); gauges read at scrape time (active calls by channel, agents by state, the queue,
//! the recogniser's backlog, RTP loss). `deploy/grafana/voicegate.json` charts them.

use std::sync::OnceLock;

use prometheus::{Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};

use crate::events::{Event, EventKind};

pub struct Metrics {
    registry: Registry,
    pub asr_queue_wait: HistogramVec,
    pub asr_inference: HistogramVec,
    pub voice_to_voice: Histogram,
    pub handoffs: IntCounterVec,
    pub http_requests: IntCounterVec,
    pub active_calls: IntGaugeVec,
    pub agents: IntGaugeVec,
    pub queue_length: IntGauge,
    pub asr_backlog: IntGauge,
    pub rtp_packets: IntGaugeVec,
}

const MS_BUCKETS: &[f64] = &[0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0];

fn build() -> Result<Metrics, prometheus::Error> {
    let registry = Registry::new_custom(Some("voicegate".into()), None)?;
    let histogram = |name: &str, help: &str| HistogramVec::new(HistogramOpts::new(name, help).buckets(MS_BUCKETS.to_vec()), &["lang"]);
    let m = Metrics {
        asr_queue_wait: histogram("asr_queue_wait_seconds", "Time an utterance waited for a free recogniser")?,
        asr_inference: histogram("asr_inference_seconds", "Recogniser time per utterance")?,
        voice_to_voice: Histogram::with_opts(HistogramOpts::new("voice_to_voice_seconds", "From the end of the caller's speech to the bot's voice").buckets(MS_BUCKETS.to_vec()))?,
        handoffs: IntCounterVec::new(Opts::new("handoffs_total", "Calls handed to a person, by reason"), &["reason"])?,
        http_requests: IntCounterVec::new(Opts::new("http_requests_total", "HTTP requests by route and status"), &["route", "status"])?,
        active_calls: IntGaugeVec::new(Opts::new("active_calls", "Calls up now, by channel"), &["channel"])?,
        agents: IntGaugeVec::new(Opts::new("agents", "Agents by state"), &["state"])?,
        queue_length: IntGauge::new("queue_length", "Callers waiting for an agent")?,
        asr_backlog: IntGauge::new("asr_backlog", "Utterances waiting for the recogniser")?,
        rtp_packets: IntGaugeVec::new(Opts::new("rtp_packets", "RTP packets of ended phone calls received and lost"), &["kind"])?,
        registry,
    };
    m.registry.register(Box::new(m.asr_queue_wait.clone()))?;
    m.registry.register(Box::new(m.asr_inference.clone()))?;
    m.registry.register(Box::new(m.voice_to_voice.clone()))?;
    m.registry.register(Box::new(m.handoffs.clone()))?;
    m.registry.register(Box::new(m.http_requests.clone()))?;
    m.registry.register(Box::new(m.active_calls.clone()))?;
    m.registry.register(Box::new(m.agents.clone()))?;
    m.registry.register(Box::new(m.queue_length.clone()))?;
    m.registry.register(Box::new(m.asr_backlog.clone()))?;
    m.registry.register(Box::new(m.rtp_packets.clone()))?;
    Ok(m)
}

static METRICS: OnceLock<Option<Metrics>> = OnceLock::new();

/// The process's metrics (None only if the registry refused them, which names are fixed
/// against).
pub fn metrics() -> Option<&'static Metrics> {
    METRICS
        .get_or_init(|| match build() {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!(error = %e, "no metrics");
                None
            }
        })
        .as_ref()
}

/// One call's side of the metrics: what its events say, as they are stored.
#[derive(Default)]
pub struct CallMetrics {
    /// When the caller's last turn ended, until the bot answers it.
    speech_end_ms: Option<u64>,
}

impl CallMetrics {
    pub fn observe(&mut self, ev: &Event) {
        let Some(m) = metrics() else { return };
        match &ev.kind {
            EventKind::Transcript { is_final: true, lang, queue_ms, asr_ms, speaker, .. } if speaker == "caller" => {
                m.asr_queue_wait.with_label_values(&[lang.as_str()]).observe(*queue_ms as f64 / 1000.0);
                m.asr_inference.with_label_values(&[lang.as_str()]).observe(*asr_ms as f64 / 1000.0);
            }
            EventKind::SpeechEnded { end_ms, .. } => self.speech_end_ms = Some(*end_ms),
            EventKind::TtsStarted { .. } => {
                if let Some(end) = self.speech_end_ms.take() {
                    m.voice_to_voice.observe(ev.t_ms.saturating_sub(end) as f64 / 1000.0);
                }
            }
            EventKind::Handoff { reason, .. } => m.handoffs.with_label_values(&[reason.as_str()]).inc(),
            _ => {}
        }
    }
}

/// The metrics in Prometheus' text format.
pub fn render() -> String {
    let Some(m) = metrics() else { return String::new() };
    let mut out = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&m.registry.gather(), &mut out) {
        tracing::warn!(error = %e, "metrics not encoded");
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_feed_the_histograms_and_counters() {
        let mut c = CallMetrics::default();
        c.observe(&Event::new("c", 2000, EventKind::SpeechEnded { start_ms: 500, end_ms: 2000, reason: "silence".into() }));
        c.observe(&Event::new("c", 2600, EventKind::Transcript { is_final: true, text: "hi".into(), lang: "en".into(), start_ms: 500, end_ms: 2000, queue_ms: 10, asr_ms: 400, speaker: "caller".into() }));
        c.observe(&Event::new("c", 2900, EventKind::TtsStarted { reply_id: 1 }));
        c.observe(&Event::new("c", 3000, EventKind::Handoff { reason: "test_reason".into(), context: Default::default() }));
        let text = render();
        assert!(text.contains("voicegate_handoffs_total{reason=\"test_reason\"} 1"), "{text}");
        assert!(text.contains("voicegate_asr_inference_seconds_count{lang=\"en\"}"), "{text}");
        assert!(text.contains("voicegate_voice_to_voice_seconds_bucket{le=\"1\"}"), "{text}");
    }
}
