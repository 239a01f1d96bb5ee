//! A datagram on a media port: RTP (with RFC 4733 events, through the jitter buffer) and RTCP.
#![no_main]
use libfuzzer_sys::fuzz_target;
use voicegate_sip::jitter::JitterBuffer;
use voicegate_sip::rtp::{DtmfReceiver, RtpPacket, TelephoneEvent};

fuzz_target!(|data: &[u8]| {
    let mut jitter = JitterBuffer::new(3);
    let mut dtmf = DtmfReceiver::default();
    // The input as one packet, and as a stream of packets cut at every 0xff byte.
    for chunk in std::iter::once(data).chain(data.split(|b| *b == 0xff)) {
        if let Ok(p) = RtpPacket::parse(chunk) {
            jitter.push(&p);
            let _ = jitter.pop();
            if let Some(ev) = TelephoneEvent::parse(p.payload) {
                let _ = dtmf.push(p.timestamp, &ev);
            }
        }
        let _ = voicegate_sip::rtcp::parse(chunk);
    }
    let _ = voicegate_sip::pcap::udp_datagrams(data);
});
