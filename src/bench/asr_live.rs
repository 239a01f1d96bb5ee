//! `voicegate bench asr DIR --live`: each file of a folder spoken into a real phone call to a
//! gateway of the bench's own (the built-in SIP caller, G.711 µ-law, 20 ms RTP, in real time),
//! and its call's recording replayed through the pipeline as `voicegate replay CALL_ID` does.
//! Word error rate and order numbers right, live against replay on the same files: a QA
//! replay is only worth something if it hears what the live call heard.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc;
use voicegate_sip::client::SipClient;
use voicegate_sip::media::Outbound;

use crate::audio::{self, g711};
use crate::bench::calls::{get, start_gateway, talk};
use crate::bench::dataset::Item;
use crate::bench::wer::word_errors;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::events::{Event, EventKind};
use crate::nlu::entities::EntityType;
use crate::pipeline::{run_audio_call, CallSpec, Engines, Pacing};

/// One file, heard live and replayed.
#[derive(Debug, Clone, Serialize)]
pub struct LiveResult {
    pub file: String,
    pub reference: String,
    pub live: String,
    pub replay: String,
    pub words: usize,
    pub errors_live: usize,
    pub errors_replay: usize,
    /// The order number the reference names, and whether each side heard it.
    pub order: Option<String>,
    pub order_live: bool,
    pub order_replay: bool,
}

/// The final transcripts of a call's events, in order.
fn heard(events: &[Event]) -> String {
    let mut parts: Vec<(u64, String)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Transcript {
                is_final: true,
                text,
                start_ms,
                speaker,
                ..
            } if speaker == "caller" => Some((*start_ms, text.clone())),
            _ => None,
        })
        .collect();
    parts.sort_by_key(|(t, _)| *t);
    parts
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(" ")
}

fn order_in(engines: &Engines, text: &str) -> Option<String> {
    let r = engines.nlu.analyze(text, None).ok()?;
    r.entities
        .into_iter()
        .find(|e| e.kind == EntityType::OrderNumber)
        .map(|e| e.value)
}

/// Speaks `frames` into a call to `target`, listens `listen` after, hangs up.
async fn call(
    client: &SipClient,
    target: &str,
    frames: &[Vec<u8>],
    listen: Duration,
) -> Result<()> {
    let mut call = client
        .call(target, None, (20000, 60000), 3)
        .await
        .map_err(Error::internal)?;
    talk(frames, listen, &call.media.outbound, |payload| Outbound { due: None, payload }, &mut call.media.inbound).await;
    call.hangup().await;
    Ok(())
}

/// Runs every item live and replayed; one result per file.
pub async fn run(
    config: &Config,
    engines: &Arc<Engines>,
    items: &[Item],
    listen: Duration,
    mut progress: impl FnMut(&str),
) -> Result<Vec<LiveResult>> {
    let g = start_gateway(config, true)?;
    let client = SipClient::new("127.0.0.1:0".parse().map_err(Error::internal)?)
        .await
        .map_err(Error::Config)?;
    let target = format!("sip:bot@{}", g.sip);
    let mut out = Vec::new();
    for item in items {
        progress(&item.audio.display().to_string());
        let a = audio::load_for_pipeline(&item.audio, None)?;
        let frames = g711::encode_slots(
            0,
            &audio::resample::resample(&a.samples, audio::SAMPLE_RATE, 8000)?,
        );
        call(&client, &target, &frames, listen).await?;
        // The call as the gateway stored it, once it has ended.
        let deadline = Instant::now() + Duration::from_secs(30);
        let (row, events) = loop {
            let list = get(&format!("{}/v1/calls?limit=1", g.http))?;
            let id = list["calls"][0]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let one = get(&format!("{}/v1/calls/{id}", g.http))?;
            if !one["call"]["ended_at"].is_null() {
                let events: Vec<Event> =
                    serde_json::from_value(one["events"].clone()).unwrap_or_default();
                break (one["call"].clone(), events);
            }
            if Instant::now() > deadline {
                return Err(Error::internal(format!(
                    "the call for {} did not end",
                    item.audio.display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let live = heard(&events);
        // The recording's caller side through the pipeline, as a QA replay runs it.
        let recording = row["recording"].as_str().unwrap_or_default();
        let caller = audio::load_for_pipeline(std::path::Path::new(recording), Some(0))?;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let spec = CallSpec {
            call_id: "bench-replay".into(),
            source: format!("qa:{recording}"),
            pacing: Pacing::Simulated,
            respond: true,
            greet: false,
            live: false,
            lang: None,
            recorded_early_ends: Some(crate::pipeline::qa_replay::early_turn_ends(&events)),
        };
        run_audio_call(
            engines.clone(),
            spec,
            engines.new_dialog(true),
            caller.samples,
            Vec::new(),
            tx,
        )
        .await?;
        let mut replayed = Vec::new();
        while let Ok(e) = rx.try_recv() {
            replayed.push(e);
        }
        let replay = heard(&replayed);
        let (errors_live, words) = word_errors(&item.text, &live);
        let (errors_replay, _) = word_errors(&item.text, &replay);
        let order = order_in(engines, &item.text);
        let order_live = order.is_some() && order_in(engines, &live) == order;
        let order_replay = order.is_some() && order_in(engines, &replay) == order;
        out.push(LiveResult {
            file: item.audio.display().to_string(),
            reference: item.text.clone(),
            live,
            replay,
            words,
            errors_live,
            errors_replay,
            order,
            order_live,
            order_replay,
        });
    }
    Ok(out)
}

/// The summary line.
pub fn summary(results: &[LiveResult]) -> serde_json::Value {
    let words: usize = results.iter().map(|r| r.words).sum();
    let rate = |e: usize| {
        if words == 0 {
            0.0
        } else {
            (e as f64 / words as f64 * 10_000.0).round() / 10_000.0
        }
    };
    let orders = results.iter().filter(|r| r.order.is_some()).count();
    let share = |n: usize| {
        if orders == 0 {
            None
        } else {
            Some((n as f64 / orders as f64 * 1000.0).round() / 1000.0)
        }
    };
    serde_json::json!({
        "bench": "asr",
        "mode": "live",
        "n": results.len(),
        "words": words,
        "wer_live": rate(results.iter().map(|r| r.errors_live).sum()),
        "wer_replay": rate(results.iter().map(|r| r.errors_replay).sum()),
        "orders": orders,
        "order_acc_live": share(results.iter().filter(|r| r.order_live).count()),
        "order_acc_replay": share(results.iter().filter(|r| r.order_replay).count()),
        "files_heard_differently": results.iter().filter(|r| r.live != r.replay).count(),
    })
}
