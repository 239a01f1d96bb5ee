//! SIP helpers for the integration tests: SIPp scenarios, RTP pcaps made from fixtures,
//! tcpdump captures of what the gateway sends.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use voicegate::audio::frame::rms;
use voicegate_sip::pcap::{rtp_pcap, udp_datagrams};
use voicegate_sip::rtp::RtpPacket;

use super::{fixture, stdout};

pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sip/scenarios").join(name)
}

/// RTP (PCMU, 20 ms packets) of an audio fixture, as a pcap SIPp plays.
pub fn caller_pcap(fixture_name: &str, out: &Path) {
    let audio = voicegate::audio::load_for_pipeline(&fixture(fixture_name), None).unwrap();
    let narrow = voicegate::audio::resample::resample(&audio.samples, 16_000, 8_000).unwrap();
    let payloads = voicegate::audio::g711::encode_slots(0, &narrow);
    let pcap = rtp_pcap(&payloads, 0, "127.0.0.1:6000".parse().unwrap(), "127.0.0.1:7000".parse().unwrap());
    std::fs::write(out, pcap).unwrap();
}


/// The loudest second of `x` (8 kHz).
pub fn loudest_second(x: &[f32]) -> f32 {
    x.chunks(8000).map(rms).fold(0.0, f32::max)
}

/// tcpdump on loopback, capturing what the gateway's media ports send.
pub struct Capture {
    pub child: Child,
    pub file: PathBuf,
}

pub fn capture(dir: &Path) -> Capture {
    let file = dir.join("bot.pcap");
    let root = Command::new("id").arg("-u").output().map(|o| stdout(&o).trim() == "0").unwrap_or(false);
    let mut cmd = if root { Command::new("tcpdump") } else {
        let mut c = Command::new("sudo");
        c.args(["-n", "tcpdump"]);
        c
    };
    let mut child = cmd
        .args(["-i", "lo", "-U", "-n", "-w"])
        .arg(&file)
        .args(["udp and src portrange 20000-30000"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("tcpdump runs (Debian package tcpdump; make setup installs it)");
    // Capturing starts when tcpdump says it listens.
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    use std::io::BufRead;
    err.read_line(&mut line).unwrap();
    assert!(line.contains("listening"), "tcpdump did not start: {line}");
    std::thread::spawn(move || for _ in err.lines() {});
    Capture { child, file }
}

impl Capture {
    /// The PCMU payloads the gateway sent to the addresses `to` accepts, decoded: packets and
    /// audio (8 kHz).
    pub fn audio(mut self, to: impl Fn(SocketAddr) -> bool) -> (usize, Vec<f32>) {
        std::thread::sleep(Duration::from_millis(500));
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
        let bytes = std::fs::read(&self.file).unwrap();
        let mut packets = 0;
        let mut audio = Vec::new();
        for d in udp_datagrams(&bytes) {
            if !to(SocketAddr::V4(d.dst)) {
                continue;
            }
            if let Ok(p) = RtpPacket::parse(&d.payload) {
                if p.payload_type == 0 && p.payload.len() == 160 {
                    packets += 1;
                    audio.extend(p.payload.iter().map(|b| voicegate::audio::g711::ulaw_decode(*b)));
                }
            }
        }
        (packets, audio)
    }
}

