//! Helpers shared by the integration tests: running the real `voicegate` binary on real
//! models and fixtures, and reading what it printed.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

pub mod baresip;
pub mod sip;

use serde::Deserialize;
use serde_json::Value;

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_voicegate"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    // The tests must not depend on the developer's own settings.
    c.env_remove("VOICEGATE_CONFIG").env_remove("VOICEGATE_MODELS").env_remove("VOICEGATE_OFFLINE");
    c
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("audio-fixtures").join(name)
}

pub fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared").join(rel)
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("voicegate runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `voicegate replay FILE --json ...`: the exit status and the events it printed.
pub fn replay_events(file: &Path, extra: &[&str]) -> (Output, Vec<Value>) {
    let mut args = vec!["replay", file.to_str().expect("utf-8 path"), "--json"];
    args.extend_from_slice(extra);
    let out = run(&args);
    let events = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON event line: {l:?}: {e}")))
        .collect();
    (out, events)
}

pub fn of_type<'a>(events: &'a [Value], ty: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == ty).collect()
}

/// The final transcript events.
pub fn finals(events: &[Value]) -> Vec<&Value> {
    of_type(events, "transcript").into_iter().filter(|e| e["final"] == true).collect()
}

/// The final transcripts joined, in order.
pub fn transcript(events: &[Value]) -> String {
    of_type(events, "transcript")
        .iter()
        .filter(|e| e["final"] == true)
        .map(|e| e["text"].as_str().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The words of a text as the WER scorer sees them (numbers as words).
pub fn words(text: &str) -> Vec<String> {
    voicegate::bench::wer::normalize(text)
}

/// The last line of a bench run, its JSON summary.
pub fn bench_summary(out: &Output) -> Value {
    let text = stdout(out);
    let last = text.lines().last().unwrap_or_else(|| panic!("bench printed nothing; stderr: {}", stderr(out)));
    serde_json::from_str(last).unwrap_or_else(|e| panic!("last line is not JSON: {last:?}: {e}"))
}

#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub fixture: Vec<Fixture>,
}

#[derive(Debug, Deserialize)]
pub struct Fixture {
    pub file: String,
    #[serde(default)]
    pub text: String,
    pub lang: Option<String>,
    pub utterances: Option<usize>,
    #[serde(default)]
    pub keywords: Vec<String>,
    pub intent: Option<String>,
    pub exit: Option<i32>,
    pub reason: Option<String>,
    #[serde(default)]
    pub conversation: bool,
    #[serde(default)]
    pub barge_in: bool,
    pub escalation: Option<String>,
}

pub fn manifest() -> Manifest {
    let text = std::fs::read_to_string(fixture("manifest.toml")).expect("audio-fixtures/manifest.toml");
    toml::from_str(&text).expect("manifest parses")
}

/// A running gateway, stopped when dropped.
pub struct Gateway {
    pub child: Child,
    pub base: String,
    /// Where SIP listens (UDP and TCP), unless started with --no-sip.
    pub sip: Option<std::net::SocketAddr>,
    /// Where SIP over TLS listens, when `sip.tls_listen` is set.
    pub sip_tls: Option<std::net::SocketAddr>,
    /// An admin API token for this gateway's store (`voicegate tokens add`).
    pub token: String,
}

impl Gateway {
    /// `Authorization` with the gateway's admin token.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }
}

/// The admin token of the gateway each base URL belongs to (for `get_json`).
static TOKENS: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// A new API token with `role` for the store of the config in `args` (`--config X`), the
/// last word `voicegate tokens add` prints.
pub fn make_token(args: &[&str], role: &str) -> String {
    let mut cmd = bin();
    if let Some(i) = args.iter().position(|a| *a == "--config") {
        cmd.args(["--config", args[i + 1]]);
    }
    let o = cmd.args(["tokens", "add", "--role", role, "--name", "tests"]).output().expect("voicegate runs");
    assert!(o.status.success(), "tokens add: {}", stderr(&o));
    stdout(&o).split_whitespace().last().expect("a token").to_string()
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start() -> Gateway {
    start_with(&[])
}

/// `voicegate serve` with more arguments (a --config, say).
pub fn start_with(args: &[&str]) -> Gateway {
    // SIP on a free loopback port unless the test says otherwise.
    let sip_args: &[&str] = if args.iter().any(|a| *a == "--sip" || *a == "--no-sip") { &[] } else { &["--sip", "127.0.0.1:0"] };
    // No HTTPS unless the test asks for it (a free port then).
    let tls_args: &[&str] = if args.contains(&"--tls-listen") { &[] } else { &["--tls-listen", "off"] };
    let token = make_token(args, "admin");
    let mut child = bin()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(sip_args)
        .args(tls_args)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let banner = voicegate::cli::read_banner(&mut lines).expect("readable banner");
    let (sip, sip_tls) = (banner.sip, banner.sip_tls);
    let base = banner.http.unwrap_or_else(|| panic!("no HTTP address in the banner (SIP: {sip:?})"));
    // Keep draining the banner so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    TOKENS.lock().unwrap_or_else(|p| p.into_inner()).push((base.clone(), token.clone()));
    Gateway { child, base, sip, sip_tls, token }
}


/// GET a JSON document from the gateway.
pub fn get_json(url: &str) -> Value {
    let token = TOKENS.lock().unwrap_or_else(|p| p.into_inner()).iter().rev().find(|(base, _)| url.starts_with(base.as_str())).map(|(_, t)| t.clone()).unwrap_or_default();
    let body = ureq::get(url).set("Authorization", &format!("Bearer {token}")).call().unwrap_or_else(|e| panic!("GET {url}: {e}")).into_string().unwrap();
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"))
}

/// A call once it has ended (its store row and events), waiting up to a minute: the newest
/// call, or the one named.
pub fn ended_call(g: &Gateway, id: Option<&str>) -> (Value, Vec<Value>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let id = match id {
            Some(id) => Some(id.to_string()),
            None => get_json(&format!("{}/v1/calls", g.base))["calls"][0]["id"].as_str().map(str::to_string),
        };
        if let Some(id) = id {
            let one = get_json(&format!("{}/v1/calls/{id}", g.base));
            if !one["call"]["ended_at"].is_null() {
                return (one["call"].clone(), one["events"].as_array().cloned().unwrap_or_default());
            }
        }
        assert!(std::time::Instant::now() < deadline, "no call ended in time");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
