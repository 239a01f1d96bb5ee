//! Real RTP captures (the ones SIPp plays, in ../shared/datasets/pcap/sipp) through the
//! parsers and the jitter buffer.

use std::path::PathBuf;

use voicegate_sip::jitter::{JitterBuffer, Playout};
use voicegate_sip::rtp::{DtmfReceiver, RtpPacket, TelephoneEvent};

fn capture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets/pcap/sipp").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The UDP payloads of a classic little-endian pcap of Ethernet/IPv4/UDP frames.
fn udp_payloads(pcap: &[u8]) -> Vec<Vec<u8>> {
    assert_eq!(&pcap[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian pcap");
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= pcap.len() {
        let incl = u32::from_le_bytes(pcap[off + 8..off + 12].try_into().unwrap()) as usize;
        let frame = &pcap[off + 16..(off + 16 + incl).min(pcap.len())];
        off += 16 + incl;
        if frame.len() < 14 + 20 + 8 || frame[12..14] != [0x08, 0x00] {
            continue;
        }
        let ip = &frame[14..];
        let ihl = (ip[0] & 0x0f) as usize * 4;
        if ip[9] != 17 {
            continue;
        }
        out.push(ip[ihl + 8..].to_vec());
    }
    out
}

fn alaw(code: u8) -> f32 {
    let a = code ^ 0x55;
    let seg = (a >> 4) & 7;
    let mant = (a & 0x0f) as i32;
    let mag = if seg == 0 { (mant << 4) + 8 } else { ((mant << 4) + 0x108) << (seg - 1) };
    (if a & 0x80 != 0 { mag } else { -mag }) as f32 / 32768.0
}

#[test]
fn the_g711a_capture_plays_in_order_with_speech_in_it() {
    let packets = udp_payloads(&capture("g711a.pcap"));
    assert!(packets.len() > 200);
    let mut j = JitterBuffer::new(3);
    let mut audio = Vec::new();
    for raw in &packets {
        let p = RtpPacket::parse(raw).expect("real RTP parses");
        assert_eq!(p.payload_type, 8, "PCMA");
        j.push(&p);
        while let Some(out) = j.pop() {
            match out {
                Playout::Packet { payload, .. } => audio.extend(payload.iter().map(|b| alaw(*b))),
                Playout::Lost { sequence } => panic!("packet {sequence} lost from a clean capture"),
            }
        }
    }
    assert_eq!((j.stats.played as usize, j.stats.lost), (packets.len(), 0), "every packet played, in order");
    let rms = (audio.iter().map(|x| x * x).sum::<f32>() / audio.len() as f32).sqrt();
    assert!(rms > 0.01, "speech energy, rms {rms}");
}

#[test]
fn each_rfc4733_capture_is_its_key() {
    for (file, key) in [("0", '0'), ("1", '1'), ("5", '5'), ("9", '9'), ("star", '*'), ("pound", '#')] {
        let mut rx = DtmfReceiver::default();
        let mut keys = String::new();
        for raw in udp_payloads(&capture(&format!("dtmf_2833_{file}.pcap"))) {
            let p = RtpPacket::parse(&raw).expect("RTP");
            if let Some(ev) = TelephoneEvent::parse(p.payload) {
                keys.extend(rx.push(p.timestamp, &ev));
            }
        }
        assert_eq!(keys, key.to_string(), "{file}");
    }
}
