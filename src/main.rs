use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() {
    let cli = voicegate::cli::Cli::parse();
    let default_level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    // symphonia logs its own view of a bad file; the user gets ours, in one line. The WebRTC
    // stack warns about every early connectivity check; its errors are kept.
    let quiet = "symphonia=off,rtc=error,rtc_ice=error,rtc_dtls=error,rtc_sctp=error,rtc_srtp=error,rtc_interceptor=error,webrtc=error";
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default_level},{quiet}")));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();

    if let Err(e) = voicegate::cli::run(cli) {
        // One line, so that scripts and people see the reason at once.
        let msg = e.to_string().split_whitespace().collect::<Vec<_>>().join(" ");
        eprintln!("voicegate: {msg}");
        std::process::exit(e.exit_code());
    }
}
