//! A datagram on the SIP port: parsed as the server reads INVITEs (headers, SDP, digest).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = voicegate_sip::server::inspect(data);
});
