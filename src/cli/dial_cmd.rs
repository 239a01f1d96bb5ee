//! `voicegate dial URI --play FILE --record OUT.wav`: a small SIP caller, so a person can try
//! the gateway (or any SIP endpoint) without a phone. It plays the file as the caller's voice,
//! stays on to hear the answer, records both sides and hangs up.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use voicegate_sip::client::SipClient;
use voicegate_sip::media::{Control, Inbound, Outbound};

use crate::audio::{self, g711, resample::resample};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::phone::recorder::{CallRecorder, SLOT_SAMPLES};

#[derive(Debug, Args)]
pub struct DialArgs {
    /// Who to call: a SIP URI (sip:bot@127.0.0.1:5060) or a gateway's WebRTC signalling URL
    /// (ws://127.0.0.1:8080/v1/webrtc, with --token)
    pub uri: String,
    /// The call token for a ws:// call (from `voicegate serve`'s banner or POST /v1/webrtc/tokens)
    #[arg(long)]
    pub token: Option<String>,
    /// Audio to speak as the caller (any format the replay reads)
    #[arg(long, value_name = "FILE")]
    pub play: Option<PathBuf>,
    /// Record the call: what we sent left, what we heard right (8 kHz stereo WAV)
    #[arg(long, value_name = "WAV")]
    pub record: Option<PathBuf>,
    /// Seconds to stay on after the file has played, to hear the answer
    #[arg(long, default_value_t = 8.0)]
    pub listen: f64,
    /// Keys to press (RFC 4733) after the file has played, e.g. 0 to ask for a person
    #[arg(long, value_name = "KEYS")]
    pub dtmf: Option<String>,
    /// Give up when nobody answers within this many seconds
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
    /// Digest credentials, when the far end asks for them
    #[arg(long)]
    pub user: Option<String>,
    #[arg(long)]
    pub password: Option<String>,
}

/// The address to reach `uri` from: loopback for a local target, else the outward one.
fn local_ip_for(uri: &str) -> IpAddr {
    let host = uri.split('@').next_back().unwrap_or(uri).split([':', ';', '>']).next().unwrap_or("");
    match host.parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() => ip,
        _ => voicegate_sip::outward_ip(),
    }
}

pub fn run(config: Config, args: DialArgs) -> Result<()> {
    if args.uri.starts_with("ws://") || args.uri.starts_with("wss://") {
        return super::dial_webrtc::run(args);
    }
    let rest = args.uri.strip_prefix("sip:").or_else(|| args.uri.strip_prefix("sips:"));
    if rest.is_none_or(|r| r.trim().is_empty()) {
        return Err(Error::Input(crate::error::InputError::Unusable { what: args.uri.clone(), reason: "not a SIP URI (sip:user@host[:port]) or a WebRTC signalling URL (ws://host:port/v1/webrtc)".into() }));
    }
    let caller = match &args.play {
        Some(p) => resample(&audio::load_for_pipeline(p, None)?.samples, audio::SAMPLE_RATE, 8000)?,
        None => Vec::new(),
    };
    let ports = (config.sip.rtp_ports[0], config.sip.rtp_ports[1]);
    super::runtime()?.block_on(async move {
        let client = SipClient::new(SocketAddr::new(local_ip_for(&args.uri), 0)).await.map_err(Error::Config)?;
        println!("calling {} from sip:{} ...", args.uri, client.local());
        let credential = args.user.clone().zip(args.password.clone());
        let fail = |reason: String| Error::Input(crate::error::InputError::Unusable { what: args.uri.clone(), reason });
        let wait = Duration::from_secs_f64(args.timeout.max(0.1));
        let mut call = tokio::time::timeout(wait, client.call(&args.uri, credential, ports, 3))
            .await
            .map_err(|_| fail(format!("no answer within {} s", args.timeout)))?
            .map_err(fail)?;
        println!("answered ({})", if call.codec == 0 { "PCMU" } else { "PCMA" });
        let mut recorder = match &args.record {
            Some(p) => Some(CallRecorder::create(p)?),
            None => None,
        };
        let frames: Vec<Vec<f32>> = caller.chunks(SLOT_SAMPLES).map(|c| {
            let mut c = c.to_vec();
            c.resize(SLOT_SAMPLES, 0.0);
            c
        }).collect();
        let started = Instant::now();
        let play_ms = frames.len() as u64 * 20;
        let total = Duration::from_millis(play_ms) + Duration::from_secs_f64(args.listen.max(0.0));
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        let mut sent = 0usize;
        let mut slot = 0u64;
        let mut heard_slot = 0u64;
        let mut heard_loud = 0u64;
        let mut keys_sent = false;
        let reason = loop {
            tokio::select! {
                _ = tick.tick() => {
                    // Our side drives the recording's clock, a slot per tick.
                    let ours: Vec<i16> = frames.get(slot as usize).map(|f| f.iter().map(|x| audio::to_i16(*x)).collect()).unwrap_or_else(|| vec![0; SLOT_SAMPLES]);
                    if let Some(r) = recorder.as_mut() {
                        r.caller(slot, &ours)?;
                    }
                    slot += 1;
                    if let Some(f) = frames.get(sent) {
                        let payload = g711::encode_payload(call.codec, f);
                        let _ = call.media.outbound.send(Outbound { due: None, payload }).await;
                        sent += 1;
                    } else if !keys_sent {
                        keys_sent = true;
                        for k in args.dtmf.as_deref().unwrap_or("").chars() {
                            let _ = call.media.control.send(Control::SendDtmf(k));
                        }
                    }
                    if started.elapsed() >= total {
                        break "hung up";
                    }
                }
                item = call.media.inbound.recv() => match item {
                    Some(Inbound::Audio(p)) => {
                        let pcm = g711::decode_payload(call.codec, &p);
                        if crate::audio::frame::rms(&pcm.iter().map(|s| *s as f32 / 32768.0).collect::<Vec<_>>()) > 0.01 {
                            heard_loud += 1;
                        }
                        if let Some(r) = recorder.as_mut() {
                            r.bot(heard_slot, &pcm);
                        }
                        heard_slot += 1;
                    }
                    Some(Inbound::Dtmf(k)) => println!("  far end pressed {k}"),
                    Some(Inbound::TimedOut) => break "the far end stopped sending (no RTP for 10 s)",
                    Some(_) => heard_slot += 1,
                    None => break "media stopped",
                },
                r = &mut call.ended => {
                    let _ = r;
                    break "the far end hung up";
                }
            }
        };
        call.hangup().await;
        println!("{reason} after {:.1} s; heard {:.1} s of speech", started.elapsed().as_secs_f64(), heard_loud as f64 * 0.02);
        if let (Some(r), Some(p)) = (recorder, &args.record) {
            r.finish()?;
            println!("wrote {} (what we said left, what we heard right)", p.display());
        }
        Ok(())
    })
}
