//! The command line: argument definitions and dispatch. Each subcommand lives in its own file.

mod agents_cmd;
mod users_cmd;
mod bench_cmd;
mod calls_cmd;
mod config_cmd;
mod dial_cmd;
mod dial_webrtc;
mod kb_cmd;
mod models_cmd;
mod nlu_cmd;
mod qa_replay;
mod redact_cmd;
mod replay_cmd;
mod serve_cmd;
mod train_cmd;
mod voices_cmd;

pub use serve_cmd::{read_banner, Banner};

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::error::{Error, Result};

#[derive(Debug, Parser)]
#[command(
    name = "voicegate",
    version,
    about = "Voice contact-center gateway: calls through VAD, Whisper, NLU, dialog and TTS, with hand-off to live agents",
    after_help = "Start with `voicegate serve`, or try the pipeline on a file: `voicegate replay audio-fixtures/en_order_status.wav`.\nExit codes: 0 success, 2 bad input, config or missing model (one-line reason on stderr), 1 internal error."
)]
pub struct Cli {
    /// Configuration file overriding the embedded defaults (see `voicegate config --defaults`)
    #[arg(long, global = true, env = "VOICEGATE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// More logging (-v info, -vv debug); RUST_LOG also works
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway: HTTP API (/health, /v1/replay, /v1/nlu, /v1/chat) with the pipeline loaded
    Serve(serve_cmd::ServeArgs),
    /// Run an audio file, or a recorded call (QA: where today's pipeline decides otherwise),
    /// through the pipeline and print its timeline
    Replay(replay_cmd::ReplayArgs),
    /// Call a SIP URI (the gateway, say): play a file as the caller, record both sides
    Dial(dial_cmd::DialArgs),
    /// The recorded phone calls, newest first; with a call id, that call's events
    Calls(calls_cmd::CallsArgs),
    /// Silence the phone, card and ID numbers said in a call's recording (or a WAV file)
    Redact(redact_cmd::RedactArgs),
    /// List the models, where each one resolves from, and fetch or verify them
    Models(models_cmd::ModelsArgs),
    /// Print the configuration in effect (defaults merged with --config)
    Config(config_cmd::ConfigArgs),
    /// Intent, entities, emotion and sentiment of a text (the NLU shared with chat)
    Nlu(nlu_cmd::NluArgs),
    /// Rebuild the project's own small models
    #[command(subcommand)]
    Train(train_cmd::TrainCommand),
    /// Measure accuracy and speed; each benchmark ends with one JSON summary line
    #[command(subcommand)]
    Bench(bench_cmd::BenchCommand),
    /// The knowledge base, and the questions the bot could not answer (`kb gaps`)
    #[command(subcommand)]
    Kb(kb_cmd::KbCommand),
    /// The live agents handed-off calls go to: add, list, remove, set their state
    #[command(subcommand)]
    Agents(agents_cmd::AgentsCommand),
    /// The people who sign in to the pages, with their roles (agent, supervisor, admin)
    #[command(subcommand)]
    Users(users_cmd::UsersCommand),
    /// API tokens for machine clients (the shop's backend, Prometheus): add, list, revoke
    #[command(subcommand)]
    Tokens(users_cmd::TokensCommand),
    /// Natural voices: prepare a Piper voice for the sherpa-onnx engine and measure it
    #[command(subcommand)]
    Voices(voices_cmd::VoicesCommand),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    // Commands whose output is read by people and pipes (`calls --json | head`) stop quietly
    // when the reader goes away, as Unix tools do. Not the network ones: a peer closing a
    // socket must not end the gateway.
    if matches!(cli.command, Command::Calls(_) | Command::Replay(_) | Command::Redact(_) | Command::Models(_) | Command::Config(_) | Command::Nlu(_) | Command::Kb(_) | Command::Train(_) | Command::Agents(_) | Command::Users(_) | Command::Tokens(_) | Command::Voices(_)) {
        restore_sigpipe();
    }
    match cli.command {
        Command::Serve(a) => serve_cmd::run(config, a),
        Command::Agents(c) => agents_cmd::run(config, c),
        Command::Users(c) => users_cmd::users(config, c),
        Command::Tokens(c) => users_cmd::tokens(config, c),
        Command::Replay(a) => replay_cmd::run(config, a),
        Command::Calls(a) => calls_cmd::run(config, a),
        Command::Redact(a) => redact_cmd::run(config, a),
        Command::Dial(a) => dial_cmd::run(config, a),
        Command::Models(a) => models_cmd::run(config, a),
        Command::Config(a) => config_cmd::run(config, a),
        Command::Nlu(a) => nlu_cmd::run(config, a),
        Command::Train(t) => train_cmd::run(config, t),
        Command::Bench(b) => bench_cmd::run(config, b),
        Command::Kb(k) => kb_cmd::run(config, k),
        Command::Voices(v) => voices_cmd::run(config, v),
    }
}

/// The default action for SIGPIPE (end the process), which Rust's runtime sets to ignore.
fn restore_sigpipe() {
    // SAFETY: setting a signal's disposition to SIG_DFL touches no memory of ours.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// A multi-threaded tokio runtime for the async commands.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))
}
