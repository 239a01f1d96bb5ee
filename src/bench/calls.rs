//! `voicegate bench calls`: how many calls at once the gateway carries in real time. It
//! starts gateways of its own (full pipeline, then media and recording only), places
//! concurrent calls with the built-in SIP caller (and with `--webrtc` the built-in WebRTC
//! caller: Opus over DTLS-SRTP, signalled on /v1/webrtc), each speaking a fixture, listening
//! and hanging up, and raises the number of calls until one stays behind real time: a bot
//! frame sent more than 40 ms late, or an utterance waiting more than 500 ms (p95) for the
//! recogniser. Each caller speaks and listens `turns` times, the calls of a step arriving
//! evenly over one turn, so that all of them are up together for all but the first turn; each
//! step runs `repeat` times and reports the median run's figures with their spread, in real
//! time only if every run was, and why a run was not. The gateways run with the configuration
//! in effect (`--config`), with a store and recordings of their own, no greeting, and no
//! limits on calls or callers; their resident memory idle before and after the ladder is
//! reported beside the memory per call, and before the AI ladder the recogniser's speed on this
//! machine now (`asr_decode_alone_ms`: the fixture decoded alone on one thread).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use voicegate_sip::client::SipClient;

use super::agent_phones::AgentPhones;
use crate::audio::{self, g711};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::events::{Event, EventKind};

pub struct CallsBench {
    /// The gateway's configuration (the bench sets its store, recordings and limits).
    pub config: Config,
    /// The most calls with the full pipeline to try.
    pub max_pipeline: usize,
    /// The most media-only calls to try.
    pub max_media: usize,
    pub fixture: PathBuf,
    /// Seconds each call stays on after speaking.
    pub listen_s: f64,
    /// Times each caller speaks and listens in one call.
    pub turns: usize,
    /// Runs of each step.
    pub repeat: usize,
    pub json: bool,
    /// In-app calls too, up to this many media-only.
    pub webrtc: Option<usize>,
    /// The most bridged calls to try (each put straight through to a SIP agent, no AI); 0: none.
    pub max_bridged: usize,
    /// Each ladder starts at its first step of at least this many calls.
    pub from: usize,
}

/// What the gateway does with the bench's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The AI pipeline answers.
    Pipeline,
    /// Media and recording only.
    MediaOnly,
    /// Straight to a live agent (SIP phones of the bench's own), bridged, recorded; no AI.
    Bridged,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Pipeline => "pipeline",
            Mode::MediaOnly => "media_only",
            Mode::Bridged => "bridged",
        }
    }
}

/// How the bench's callers reach the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    Sip,
    Webrtc,
}

impl Leg {
    fn name(self) -> &'static str {
        match self {
            Leg::Sip => "sip",
            Leg::Webrtc => "webrtc",
        }
    }

    /// Where the gateway reports this leg's media figures.
    fn stats_url(self, http: &str) -> String {
        match self {
            Leg::Sip => format!("{http}/v1/sip"),
            Leg::Webrtc => format!("{http}/v1/live"),
        }
    }

    /// This leg's media totals in that report.
    fn media(self, v: &serde_json::Value) -> serde_json::Value {
        match self {
            Leg::Sip => v["media"].clone(),
            Leg::Webrtc => v["webrtc"]["media"].clone(),
        }
    }
}

/// One step of the ramp.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub leg: &'static str,
    pub mode: &'static str,
    pub calls: usize,
    pub answered: usize,
    pub realtime: bool,
    pub late_frames: u64,
    pub max_late_ms: u64,
    pub asr_wait_p95_ms: u64,
    pub cpu_per_call: f64,
    pub rss_mb_per_call: f64,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub turns: usize,
    /// How long a signed-in API request (`GET /v1/me`, every 100 ms from the first call to the
    /// last one's end) took: p95 and the slowest, in milliseconds.
    pub http_p95_ms: u64,
    pub http_max_ms: u64,
    /// Bridged calls: how many were put through to an agent, and whose agent heard the caller
    /// after the whisper (the fewest of the runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bridged: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agents_heard: Option<usize>,
    /// Why the step (or one of its runs) fell behind real time; empty when it did not.
    pub why: Vec<String>,
    /// Runs of the step, and how many were in real time.
    pub runs: usize,
    pub realtime_runs: usize,
    /// The lowest and highest of the runs, where there were several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spread: Option<Spread>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Spread {
    pub cpu_per_call: [f64; 2],
    pub rss_mb_per_call: [f64; 2],
    pub asr_wait_p95_ms: [u64; 2],
    pub late_frames: [u64; 2],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50_ms: Option<[u64; 2]>,
}

/// The runs of one step as one: each figure the median of the runs (late frames and the
/// latest frame the worst), in real time only if every run was.
fn combine(runs: Vec<Step>) -> Option<Step> {
    let first = runs.first()?.clone();
    fn median<T: Copy + PartialOrd>(mut v: Vec<T>) -> T {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        v[v.len() / 2]
    }
    fn range<T: Copy + PartialOrd>(v: impl Iterator<Item = T> + Clone) -> [T; 2] {
        let lo = v.clone().fold(None, |m: Option<T>, x| Some(m.map_or(x, |m| if x < m { x } else { m })));
        let hi = v.fold(None, |m: Option<T>, x| Some(m.map_or(x, |m| if x > m { x } else { m })));
        [lo.unwrap_or_else(|| unreachable!()), hi.unwrap_or_else(|| unreachable!())]
    }
    let p50s: Vec<u64> = runs.iter().filter_map(|r| r.p50_ms).collect();
    let p95s: Vec<u64> = runs.iter().filter_map(|r| r.p95_ms).collect();
    let realtime_runs = runs.iter().filter(|r| r.realtime).count();
    let several = runs.len() > 1;
    let why = runs.iter().enumerate().flat_map(|(i, r)| r.why.iter().map(move |w| if several { format!("run {}: {w}", i + 1) } else { w.clone() })).collect();
    Some(Step {
        answered: runs.iter().map(|r| r.answered).min().unwrap_or(0),
        realtime: realtime_runs == runs.len(),
        late_frames: runs.iter().map(|r| r.late_frames).max().unwrap_or(0),
        max_late_ms: runs.iter().map(|r| r.max_late_ms).max().unwrap_or(0),
        asr_wait_p95_ms: median(runs.iter().map(|r| r.asr_wait_p95_ms).collect()),
        cpu_per_call: median(runs.iter().map(|r| r.cpu_per_call).collect()),
        rss_mb_per_call: median(runs.iter().map(|r| r.rss_mb_per_call).collect()),
        p50_ms: (!p50s.is_empty()).then(|| median(p50s.clone())),
        p95_ms: (!p95s.is_empty()).then(|| median(p95s)),
        turns: runs.iter().map(|r| r.turns).min().unwrap_or(0),
        http_p95_ms: median(runs.iter().map(|r| r.http_p95_ms).collect()),
        http_max_ms: runs.iter().map(|r| r.http_max_ms).max().unwrap_or(0),
        bridged: runs.iter().filter_map(|r| r.bridged).min(),
        agents_heard: runs.iter().filter_map(|r| r.agents_heard).min(),
        why,
        realtime_runs,
        spread: (runs.len() > 1).then(|| Spread {
            cpu_per_call: range(runs.iter().map(|r| r.cpu_per_call)),
            rss_mb_per_call: range(runs.iter().map(|r| r.rss_mb_per_call)),
            asr_wait_p95_ms: range(runs.iter().map(|r| r.asr_wait_p95_ms)),
            late_frames: range(runs.iter().map(|r| r.late_frames)),
            p50_ms: (!p50s.is_empty()).then(|| range(p50s.iter().copied())),
        }),
        runs: runs.len(),
        ..first
    })
}

pub(crate) struct Gateway {
    child: Child,
    pub(crate) http: String,
    pub(crate) sip: SocketAddr,
    tokens: crate::inapp::token::TokenKey,
    _dir: tempfile::TempDir,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A gateway of the bench's own: the configuration in effect, its own store and recordings, no
/// greeting, no limits on calls or callers.
pub(crate) fn start_gateway(base: &Config, pipeline: bool) -> Result<Gateway> {
    start_gateway_with(base, pipeline, &[])
}

/// As `start_gateway`, with `agents` in its store, available.
pub(crate) fn start_gateway_with(base: &Config, pipeline: bool, agents: &[crate::agents::Agent]) -> Result<Gateway> {
    let dir = tempfile::tempdir().map_err(Error::internal)?;
    // The bench reads the gateway's figures with a token of its own.
    let token = {
        use crate::agents::AgentStore;
        let store = crate::store::Store::open(&dir.path().join("db.sqlite"))?;
        for a in agents {
            store.add_agent(a, crate::agents::AgentState::Available)?;
        }
        store.add_token("bench", crate::auth::Role::Admin)?.1
    };
    let config = dir.path().join("voicegate.toml");
    let mut c = base.clone();
    c.store.path = dir.path().join("db.sqlite");
    c.sip.recordings = dir.path().join("recordings");
    c.sip.greet = false;
    c.sip.pipeline = pipeline;
    c.sip.max_calls = 5000;
    c.sip.invite_rate = 0.0;
    c.sip.rtp_ports = [20000, 60000];
    c.sip.allow.clear();
    c.sip.users.clear();
    c.webrtc.enabled = true;
    c.webrtc.greet = false;
    c.webrtc.max_calls = 5000;
    c.webrtc.max_sockets_per_source = 5000;
    c.webrtc.token_secret = crate::inapp::random_secret(24)?;
    let tokens = crate::inapp::token::TokenKey::new(c.webrtc.token_secret.as_bytes());
    let text = toml::to_string(&c).map_err(Error::internal)?;
    std::fs::write(&config, text).map_err(Error::internal)?;
    let exe = std::env::current_exe().map_err(Error::internal)?;
    let mut child = Command::new(exe)
        .args(["--config"])
        .arg(&config)
        .args(["serve", "--listen", "127.0.0.1:0", "--sip", "127.0.0.1:0", "--tls-listen", "off"])
        .stdout(Stdio::piped())
        // The gateways' logs when asked for (RUST_LOG), else quiet.
        .stderr(if std::env::var_os("RUST_LOG").is_some() { Stdio::inherit() } else { Stdio::null() })
        .spawn()
        .map_err(Error::internal)?;
    let out = child.stdout.take().ok_or_else(|| Error::internal("gateway stdout"))?;
    let mut lines = BufReader::new(out).lines();
    let banner = crate::cli::read_banner(&mut lines).map_err(Error::internal)?;
    std::thread::spawn(move || for _ in lines {});
    match (banner.http, banner.sip) {
        (Some(http), Some(sip)) => {
            lock_tokens().push((http.clone(), token));
            Ok(Gateway { child, http, sip, tokens, _dir: dir })
        }
        _ => Err(Error::internal("the gateway did not start (see `voicegate serve`)")),
    }
}

/// The API token of each gateway the bench started, by its base URL.
static API_TOKENS: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

fn lock_tokens() -> std::sync::MutexGuard<'static, Vec<(String, String)>> {
    API_TOKENS.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn get(url: &str) -> Result<serde_json::Value> {
    let token = lock_tokens().iter().rev().find(|(base, _)| url.starts_with(base.as_str())).map(|(_, t)| t.clone()).unwrap_or_default();
    let body = ureq::get(url)
        .set("Authorization", &format!("Bearer {token}")).timeout(Duration::from_secs(30)).call().map_err(|e| Error::internal(format!("GET {url}: {e}")))?.into_string().map_err(Error::internal)?;
    serde_json::from_str(&body).map_err(Error::internal)
}

/// Speaks `frames` (one per 20 ms), then listens for `listen`; what the bot says is heard and
/// dropped. Until then, or until the call's media stops. The media session paces the frames on
/// the wire; this hands them over five at a time and reads what came in between, so that a
/// thousand callers cost the bench a tenth of the wake-ups.
pub(crate) async fn talk<O, I>(frames: &[Vec<u8>], listen: Duration, out: &tokio::sync::mpsc::Sender<O>, wrap: impl Fn(Vec<u8>) -> O, inbound: &mut tokio::sync::mpsc::Receiver<I>) {
    const BATCH: usize = 5;
    let mut tick = tokio::time::interval(Duration::from_millis(20 * BATCH as u64));
    let end = Instant::now() + Duration::from_millis(frames.len() as u64 * 20) + listen;
    let mut i = 0;
    while Instant::now() < end {
        tick.tick().await;
        for f in frames.iter().skip(i).take(BATCH) {
            let _ = out.send(wrap(f.clone())).await;
        }
        i = (i + BATCH).min(frames.len());
        loop {
            match inbound.try_recv() {
                Ok(_) => {}
                Err(tokio::sync::mpsc::error::TryRecvError::Empty) => break,
                Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => return,
            }
        }
    }
}

/// The bench's SIP callers: one user agent for the signalling, one RTP pump for the media
/// (`rtp_pump`), and the fixture encoded for each G.711 law.
pub(crate) struct SipCallers {
    client: Arc<SipClient>,
    pump: Arc<super::rtp_pump::Pump>,
    pcmu: Arc<Vec<Vec<u8>>>,
    pcma: Arc<Vec<Vec<u8>>>,
}

impl SipCallers {
    async fn start(audio16k: &[f32]) -> Result<Self> {
        let client = Arc::new(SipClient::new("127.0.0.1:0".parse().map_err(Error::internal)?).await.map_err(Error::Config)?);
        let pump = Arc::new(super::rtp_pump::Pump::start(client.media_ip())?);
        let narrow = audio::resample::resample(audio16k, audio::SAMPLE_RATE, 8000)?;
        Ok(Self { client, pump, pcmu: Arc::new(g711::encode_slots(0, &narrow)), pcma: Arc::new(g711::encode_slots(8, &narrow)) })
    }
}

/// One call: speak the fixture and listen, `turns` times, hang up. Whether it was answered.
async fn one_call(callers: Arc<SipCallers>, target: String, listen: Duration, turns: usize) -> bool {
    use std::sync::atomic::{AtomicBool, Ordering};
    let Ok(call) = callers.client.signal("bench", &target, None, callers.pump.local(), &tokio_util::sync::CancellationToken::new()).await else { return false };
    let frames = if call.codec == 8 { callers.pcma.clone() } else { callers.pcmu.clone() };
    let stop = Arc::new(AtomicBool::new(false));
    let done = callers.pump.add(call.remote, call.codec, &super::rtp_pump::Script { frames, listen, turns }, stop.clone());
    let mut ended = call.ended;
    tokio::select! {
        _ = done => {}
        _ = &mut ended => {}
    }
    stop.store(true, Ordering::Relaxed);
    call.hangup.hangup().await;
    true
}

/// One in-app call: signal on /v1/webrtc, speak the fixture (Opus packets) and listen, `turns`
/// times, hang up. Whether it was answered.
async fn one_webrtc_call(url: String, frames: Arc<Vec<Vec<u8>>>, listen: Duration, turns: usize) -> bool {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use voicegate_webrtc::{Candidate, EndpointConfig, Session, SessionEvent};
    let Ok(Ok((mut ws, _))) = tokio::time::timeout(Duration::from_secs(20), tokio_tungstenite::connect_async(url.as_str())).await else { return false };
    let cfg = EndpointConfig { ips: vec![voicegate_sip::outward_ip()], ..Default::default() };
    let Ok((session, offer, mut io)) = Session::offer(&cfg).await else { return false };
    let msg = |v: serde_json::Value| Message::Text(v.to_string().into());
    if ws.send(msg(serde_json::json!({"type": "offer", "sdp": offer}))).await.is_err() {
        session.close().await;
        return false;
    }
    // Signalling until the media is up.
    let connected = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            tokio::select! {
                m = ws.next() => match m {
                    Some(Ok(Message::Text(t))) => {
                        let v: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
                        match v["type"].as_str() {
                            Some("answer") => {
                                if session.accept_answer(v["sdp"].as_str().unwrap_or_default()).await.is_err() {
                                    return false;
                                }
                            }
                            Some("candidate") => {
                                if let Some(c) = v["candidate"].as_str() {
                                    let _ = session.add_remote_candidate(Candidate { candidate: c.into(), sdp_mid: v["sdpMid"].as_str().map(str::to_string), sdp_mline_index: v["sdpMLineIndex"].as_u64().map(|i| i as u16) }).await;
                                }
                            }
                            Some("hangup") => return false,
                            _ => {}
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => return false,
                },
                e = io.events.recv() => match e {
                    Some(SessionEvent::Connected) => return true,
                    Some(SessionEvent::Ended { .. }) | None => return false,
                    _ => {}
                },
            }
        }
    })
    .await
    .unwrap_or(false);
    if connected {
        while io.inbound.try_recv().is_ok() {}
        // The gateway's events (captions) wait in the socket, unread.
        for _ in 0..turns {
            talk(&frames, listen, &io.outbound, |payload| voicegate_webrtc::Outbound { due: None, payload }, &mut io.inbound).await;
        }
        let _ = ws.send(msg(serde_json::json!({"type": "hangup"}))).await;
    }
    let _ = ws.close(None).await;
    session.close().await;
    connected
}

/// The project's nearest-rank percentile; None for no values.
fn percentile(mut v: Vec<u64>, p: f64) -> Option<u64> {
    v.sort_unstable();
    (!v.is_empty()).then(|| super::percentile(&v, p))
}

#[allow(clippy::too_many_arguments)]
async fn step(g: &Gateway, leg: Leg, callers: &Arc<SipCallers>, n: usize, mode: Mode, agents: Option<&AgentPhones>, frames: &Arc<Vec<Vec<u8>>>, caller16k: &[f32], listen: Duration, turns: usize) -> Result<Step> {
    let pipeline = mode == Mode::Pipeline;
    if let Some(a) = agents {
        a.take();
    }
    let stats = leg.stats_url(&g.http);
    let before = get(&stats)?;
    let probe = HttpProbe::start(format!("{}/v1/me", g.http));
    let t0 = Instant::now();
    let target = format!("sip:bot@{}", g.sip);
    let ws = format!("{}/v1/webrtc", g.http.replace("http://", "ws://"));
    let mut tasks = Vec::new();
    // Calls arrive evenly over one turn's length, so that all N are up at once with their
    // callers at different points of the conversation (as on a busy line, not N in unison).
    let cycle_us = frames.len() as u64 * 20_000 + listen.as_micros() as u64;
    for i in 0..n {
        let (c, t, f) = (callers.clone(), target.clone(), frames.clone());
        let delay = Duration::from_micros((i as u64 * cycle_us) / n.max(1) as u64);
        let claims = crate::inapp::token::CallClaims { customer: format!("bench-{i}"), order: None, locale: None, exp: crate::inapp::token::unix_now() + 3600 };
        let url = format!("{ws}?token={}", g.tokens.mint(&claims));
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            match leg {
                Leg::Sip => one_call(c, t, listen, turns).await,
                Leg::Webrtc => one_webrtc_call(url, f, listen, turns).await,
            }
        }));
    }
    // Memory while every call is up: half a turn after the last came in (with one turn, just
    // before the first hangs up).
    let sample_at = if turns > 1 { cycle_us + cycle_us / 2 } else { cycle_us.saturating_sub(300_000) };
    tokio::time::sleep(Duration::from_micros(sample_at)).await;
    let during = get(&stats)?;
    let mut answered = 0;
    for t in tasks {
        if t.await.unwrap_or(false) {
            answered += 1;
        }
    }
    // Let the gateway finish the calls (answers still playing, recordings closed).
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut after = get(&stats)?;
    let busy = |v: &serde_json::Value| match leg {
        Leg::Sip => v["server"]["active"].as_u64().unwrap_or(0) > 0,
        Leg::Webrtc => v["webrtc"]["calls"].as_u64().unwrap_or(0) > 0,
    };
    while busy(&after) || leg.media(&after)["calls"].as_u64() < leg.media(&before)["calls"].as_u64().map(|c| c + answered as u64) {
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        after = get(&stats)?;
    }
    let wall = t0.elapsed().as_secs_f64();
    let http = probe.stop();
    let f = |v: &serde_json::Value, a: &str, b: &str| v[a][b].as_f64().unwrap_or(0.0);
    let late = leg.media(&after)["tx_late"].as_f64().unwrap_or(0.0) - leg.media(&before)["tx_late"].as_f64().unwrap_or(0.0);
    let cpu = (f(&after, "process", "cpu_s") - f(&before, "process", "cpu_s")) / wall / n as f64;
    let rss = (f(&during, "process", "rss_mb") - f(&before, "process", "rss_mb")).max(0.0) / n as f64;
    // Queue waits and voice-to-voice latency from the calls' own events.
    let mut waits = Vec::new();
    let mut totals = Vec::new();
    // Bridged calls: put through, and the agent heard the caller after the whisper.
    let heard = agents.map(|a| a.take()).unwrap_or_default();
    let (mut bridged, mut agent_heard) = (0, 0);
    if mode != Mode::MediaOnly {
        let list = get(&format!("{}/v1/calls?limit={n}", g.http))?;
        for c in list["calls"].as_array().cloned().unwrap_or_default() {
            let Some(id) = c["id"].as_str() else { continue };
            let one = get(&format!("{}/v1/calls/{id}", g.http))?;
            let events: Vec<Event> = serde_json::from_value(one["events"].clone()).unwrap_or_default();
            for e in &events {
                match &e.kind {
                    EventKind::Transcript { is_final: true, queue_ms, .. } => waits.push(*queue_ms),
                    EventKind::Bridged { .. } => bridged += 1,
                    EventKind::WhisperPlayed { agent, played_ms, .. } if super::agent_phones::heard_after(&heard, agent, *played_ms) => agent_heard += 1,
                    _ => {}
                }
            }
            if pipeline {
                totals.extend(crate::bench::latency::turn_latencies(id, caller16k, &events).into_iter().map(|t| t.total_ms));
            }
        }
    }
    let asr_wait_p95 = percentile(waits, 0.95).unwrap_or(0);
    let max_late = leg.media(&after)["tx_max_late_ms"].as_u64().unwrap_or(0);
    let mut why = Vec::new();
    if answered < n {
        why.push(format!("{} of {n} calls not answered", n - answered));
    }
    if late > 0.0 {
        why.push(format!("{late} bot frames sent over {} ms late (the latest {max_late} ms)", voicegate_sip::media::LATE_MS));
    }
    if asr_wait_p95 > 500 {
        why.push(format!("utterances waited {asr_wait_p95} ms (p95) for the recogniser"));
    }
    if pipeline && totals.len() < n {
        why.push(format!("only {} answered turns for {n} calls", totals.len()));
    }
    if mode == Mode::Bridged && bridged < answered {
        why.push(format!("{} of {answered} calls not put through to an agent", answered - bridged));
    }
    if mode == Mode::Bridged && agent_heard < bridged {
        why.push(format!("{} of {bridged} agents did not hear their caller after the whisper", bridged - agent_heard));
    }
    Ok(Step {
        leg: leg.name(),
        mode: mode.name(),
        calls: n,
        answered,
        realtime: why.is_empty(),
        why,
        runs: 1,
        realtime_runs: 0,
        spread: None,
        late_frames: late as u64,
        max_late_ms: max_late,
        asr_wait_p95_ms: asr_wait_p95,
        cpu_per_call: (cpu * 100_000.0).round() / 100_000.0,
        rss_mb_per_call: (rss * 100.0).round() / 100.0,
        turns: totals.len(),
        bridged: (mode == Mode::Bridged).then_some(bridged),
        agents_heard: (mode == Mode::Bridged).then_some(agent_heard),
        p50_ms: percentile(totals.clone(), 0.5),
        p95_ms: percentile(totals, 0.95),
        http_p95_ms: percentile(http.clone(), 0.95).unwrap_or(0),
        http_max_ms: http.into_iter().max().unwrap_or(0),
    })
}

/// Waits (up to a minute) for the gateway's warm-up once idle: it makes buffers that stay, so
/// an idle reading before it would count them as what the calls left behind.
async fn warmed_up(stats: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !get(stats)?["process"]["warmed_up"].as_bool().unwrap_or(false) {
        if Instant::now() > deadline {
            return Err(Error::internal("the gateway did not warm up within a minute of starting"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

/// The gateway's resident memory once it has stayed within 1 MB for two seconds (at most 30 s).
async fn settled_rss(stats: &str, rss: impl Fn(&serde_json::Value) -> f64) -> Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    // Within 1 MB of the reading that began the steady stretch (not of the last one: a slow
    // climb is not settled).
    let mut since = rss(&get(stats)?);
    let mut last = since;
    let mut steady_since = Instant::now();
    while Instant::now() < deadline && steady_since.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        last = rss(&get(stats)?);
        if (last - since).abs() > 1.0 {
            (since, steady_since) = (last, Instant::now());
        }
    }
    Ok(last)
}

/// Signed-in API requests at a steady pace on a thread of their own while a step runs: what a
/// supervisor's page or the shop's backend waits while calls come and go.
struct HttpProbe {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<u64>>>,
}

impl Drop for HttpProbe {
    /// A step that fails between start and stop still ends its probe.
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl HttpProbe {
    const EVERY: Duration = Duration::from_millis(100);

    fn start(url: String) -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut took = Vec::new();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                // A failed request counts as slow as it was.
                let _ = get(&url);
                took.push(t.elapsed().as_millis() as u64);
                std::thread::sleep(Self::EVERY.saturating_sub(t.elapsed()));
            }
            took
        });
        Self { stop, thread: Some(thread) }
    }

    /// The requests' times in milliseconds.
    fn stop(mut self) -> Vec<u64> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.take().and_then(|t| t.join().ok()).unwrap_or_default()
    }
}

/// Bridged steps below the most asked for.
const BRIDGED_RAMP: [usize; 10] = [1, 10, 50, 100, 200, 300, 400, 500, 600, 750];

/// Media-only steps below the most asked for.
const MEDIA_RAMP: [usize; 11] = [1, 10, 100, 250, 500, 750, 1000, 1500, 2000, 2500, 3000];

/// The steps of a ladder: those of `start` from `from` calls and below `max`, then `max`.
fn ramp(max: usize, start: &[usize], from: usize) -> Vec<usize> {
    if max == 0 {
        return Vec::new();
    }
    let mut v: Vec<usize> = start.iter().copied().filter(|n| *n < max && *n >= from).collect();
    v.push(max);
    v
}

/// One ladder's outcome: the last step in real time, every step, and the gateway's resident
/// memory idle before the ladder and after it (its calls all ended).
struct Ladder {
    best: Option<Step>,
    steps: Vec<Step>,
    rss_idle_before_mb: f64,
    rss_idle_after_mb: f64,
}

#[allow(clippy::too_many_arguments)]
async fn run_mode(config: &Config, leg: Leg, mode: Mode, steps: Vec<usize>, fixture: &Path, listen: Duration, turns: usize, repeat: usize, json: bool) -> Result<Ladder> {
    if steps.is_empty() {
        return Ok(Ladder { best: None, steps: Vec::new(), rss_idle_before_mb: 0.0, rss_idle_after_mb: 0.0 });
    }
    let (g, agents) = match mode {
        Mode::Bridged => {
            let phones = AgentPhones::start().await?;
            let mut c = config.clone();
            c.sip.to_agents = true;
            c.agents.wrap_up_s = 0;
            c.agents.survey = false;
            let most = steps.iter().copied().max().unwrap_or(1);
            (start_gateway_with(&c, false, &phones.agents(most))?, Some(phones))
        }
        _ => (start_gateway(config, mode == Mode::Pipeline)?, None),
    };
    let rss = |v: &serde_json::Value| v["process"]["rss_mb"].as_f64().unwrap_or(0.0);
    // Idle: once the gateway's start-up work in the background (voice detectors made ready,
    // the first sweeps, the Chinese recogniser's first decode after 5 s without calls) has
    // settled, its memory unchanged for two seconds.
    warmed_up(&leg.stats_url(&g.http)).await?;
    let rss_idle_before_mb = settled_rss(&leg.stats_url(&g.http), rss).await?;
    let audio = audio::load_for_pipeline(fixture, None)?;
    // What the callers send: the fixture as the leg carries it, encoded once.
    let callers = Arc::new(SipCallers::start(&audio.samples).await?);
    let frames: Arc<Vec<Vec<u8>>> = match leg {
        Leg::Sip => callers.pcmu.clone(),
        Leg::Webrtc => {
            let mut enc = audio::opus::OpusEncoder::new()?;
            Arc::new(audio.samples.chunks(audio::opus::FRAME_SAMPLES).map(|f| enc.encode(f)).collect::<Result<Vec<_>>>()?)
        }
    };
    let mut best = None;
    let mut all = Vec::new();
    for n in steps {
        let mut runs = Vec::new();
        for _ in 0..repeat {
            runs.push(step(&g, leg, &callers, n, mode, agents.as_ref(), &frames, &audio.samples, listen, turns).await?);
        }
        let Some(s) = combine(runs) else { continue };
        if json {
            println!("{}", serde_json::to_string(&s).unwrap_or_default());
        } else {
            println!(
                "  {:<6} {:<10} {:>4} calls: {} ({}/{} runs) answered {}, {}late frames {} (max {} ms), ASR wait p95 {} ms, v2v p50/p95 {:?}/{:?} ms, {:.3}% CPU and {:.2} MB per call, API p95/max {}/{} ms{}",
                s.leg, s.mode, s.calls, if s.realtime { "real time " } else { "BEHIND    " }, s.realtime_runs, s.runs, s.answered,
                match (s.bridged, s.agents_heard) {
                    (Some(b), Some(h)) => format!("bridged {b}, agents heard their caller {h}, "),
                    _ => String::new(),
                },
                s.late_frames, s.max_late_ms, s.asr_wait_p95_ms, s.p50_ms, s.p95_ms, s.cpu_per_call * 100.0, s.rss_mb_per_call, s.http_p95_ms, s.http_max_ms,
                if s.why.is_empty() { String::new() } else { format!("; {}", s.why.join("; ")) }
            );
        }
        let ok = s.realtime;
        all.push(s.clone());
        if !ok {
            break;
        }
        best = Some(s);
    }
    // Idle again: the calls' memory given back (allow the last recordings a moment to close,
    // and the gateway its look at the live calls, every 5 s, that returns freed memory).
    tokio::time::sleep(Duration::from_secs(8)).await;
    let rss_idle_after_mb = settled_rss(&leg.stats_url(&g.http), rss).await?;
    Ok(Ladder { best, steps: all, rss_idle_before_mb, rss_idle_after_mb })
}

/// A ladder's steps as the summary lists them (bridged steps with their two checks).
fn table(l: &Ladder) -> Vec<serde_json::Value> {
    l.steps
        .iter()
        .map(|s| {
            let mut row = serde_json::json!({"calls": s.calls, "realtime": s.realtime, "runs": s.runs, "realtime_runs": s.realtime_runs, "late_frames": s.late_frames, "max_late_ms": s.max_late_ms, "asr_wait_p95_ms": s.asr_wait_p95_ms, "p50_ms": s.p50_ms, "p95_ms": s.p95_ms, "cpu_per_call": s.cpu_per_call, "rss_mb_per_call": s.rss_mb_per_call, "http_p95_ms": s.http_p95_ms, "http_max_ms": s.http_max_ms, "why": s.why});
            if let (Some(b), Some(h)) = (s.bridged, s.agents_heard) {
                row["bridged"] = b.into();
                row["agents_heard"] = h.into();
            }
            row
        })
        .collect()
}

/// The figures of one leg's ladders, for the summary.
fn summary_of(full_ladder: &Ladder, media_ladder: &Ladder) -> serde_json::Value {
    let (full, media) = (&full_ladder.best, &media_ladder.best);
    let one = full_ladder.steps.iter().find(|s| s.calls == 1);
    serde_json::json!({
        "steps": table(full_ladder),
        "steps_media_only": table(media_ladder),
        "rss_idle_mb": [full_ladder.rss_idle_before_mb, full_ladder.rss_idle_after_mb],
        "rss_idle_mb_media_only": [media_ladder.rss_idle_before_mb, media_ladder.rss_idle_after_mb],
        "max_calls": full.as_ref().map(|s| s.calls).unwrap_or(0),
        "max_calls_media_only": media.as_ref().map(|s| s.calls).unwrap_or(0),
        "cpu_per_call": full.as_ref().map(|s| s.cpu_per_call),
        "rss_mb_per_call": full.as_ref().map(|s| s.rss_mb_per_call),
        "cpu_per_call_media_only": media.as_ref().map(|s| s.cpu_per_call),
        "rss_mb_per_call_media_only": media.as_ref().map(|s| s.rss_mb_per_call),
        "p50_ms": full.as_ref().and_then(|s| s.p50_ms),
        "p95_ms": full.as_ref().and_then(|s| s.p95_ms),
        "p50_ms_one_call": one.and_then(|s| s.p50_ms),
        "p95_ms_one_call": one.and_then(|s| s.p95_ms),
        "asr_wait_p95_ms": full.as_ref().map(|s| s.asr_wait_p95_ms),
    })
}

pub fn run(b: CallsBench) -> Result<()> {
    let rt = crate::cli::runtime()?;
    rt.block_on(async move {
        let listen = Duration::from_secs_f64(b.listen_s);
        let legs = if b.webrtc.is_some() { "SIP and WebRTC callers" } else { "SIP caller" };
        println!("bench calls: {} ({legs} built in), up to {} calls with the pipeline, {} media-only, {} bridged", b.fixture.display(), b.max_pipeline, b.max_media, b.max_bridged);
        let pipeline_ramp = ramp(b.max_pipeline, &[1, 2, 4, 8, 12, 16, 20, 24, 28, 32, 40], b.from);
        let (turns, repeat) = (b.turns, b.repeat);
        // The recogniser's speed on this machine now, which AI calls in real time follow.
        let decode_alone_ms = match b.max_pipeline {
            0 => None,
            _ => {
                let ms = super::machine_speed::recogniser_ms_alone(&b.config, &b.fixture)?;
                println!("  the fixture decoded alone on one thread: {ms} ms (this machine's recogniser speed now)");
                Some(ms)
            }
        };
        let full = run_mode(&b.config, Leg::Sip, Mode::Pipeline, pipeline_ramp.clone(), &b.fixture, listen, turns, repeat, b.json).await?;
        let media = run_mode(&b.config, Leg::Sip, Mode::MediaOnly, ramp(b.max_media, &MEDIA_RAMP, b.from), &b.fixture, listen, turns, repeat, b.json).await?;
        let mut summary = summary_of(&full, &media);
        summary["bench"] = "calls".into();
        summary["asr_decode_alone_ms"] = serde_json::json!(decode_alone_ms);
        if b.max_bridged > 0 {
            let bridged = run_mode(&b.config, Leg::Sip, Mode::Bridged, ramp(b.max_bridged, &BRIDGED_RAMP, b.from), &b.fixture, listen, turns, repeat, b.json).await?;
            let best = bridged.best.as_ref();
            summary["steps_bridged"] = table(&bridged).into();
            summary["max_calls_bridged"] = best.map(|s| s.calls).unwrap_or(0).into();
            summary["cpu_per_call_bridged"] = serde_json::json!(best.map(|s| s.cpu_per_call));
            summary["rss_mb_per_call_bridged"] = serde_json::json!(best.map(|s| s.rss_mb_per_call));
            summary["rss_idle_mb_bridged"] = serde_json::json!([bridged.rss_idle_before_mb, bridged.rss_idle_after_mb]);
        }
        if let Some(max_media) = b.webrtc {
            let wfull = run_mode(&b.config, Leg::Webrtc, Mode::Pipeline, pipeline_ramp, &b.fixture, listen, turns, repeat, b.json).await?;
            let wmedia = run_mode(&b.config, Leg::Webrtc, Mode::MediaOnly, ramp(max_media, &[25, 50, 100, 150, 200, 300, 400], b.from), &b.fixture, listen, turns, repeat, b.json).await?;
            summary["webrtc"] = summary_of(&wfull, &wmedia);
        }
        println!("{summary}");
        Ok(())
    })
}
