//! A datagram on a media port: RTP (with RFC 4733 events, through the jitter buffer) and RTCP,
//! plain and as SRTP/SRTCP to unprotect.
#![no_main]
use libfuzzer_sys::fuzz_target;
use voicegate_sip::jitter::JitterBuffer;
use voicegate_sip::rtp::{DtmfReceiver, RtpPacket, TelephoneEvent};
use voicegate_sip::sdes::{SrtpKeys, Suite, KEY_SALT_LEN};
use voicegate_sip::srtp::SrtpSession;

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
    let keys = SrtpKeys { tag: 1, suite: Suite::AesCm128HmacSha1_80, remote: [1; KEY_SALT_LEN], local: [2; KEY_SALT_LEN] };
    if let Ok(mut s) = SrtpSession::new(&keys) {
        let _ = s.unprotect_rtp(data);
        let _ = s.unprotect_rtcp(data);
    }
});
