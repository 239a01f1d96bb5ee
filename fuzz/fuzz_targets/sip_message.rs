//! A datagram on the SIP port: screened as the UDP socket screens it (answer, drop or pass,
//! repaired), then parsed as the server reads INVITEs (headers, SDP, digest). No input may
//! panic; what the screen passes stays within the stack's buffer and is screened already (a
//! second look passes it unchanged); what it answers is a whole response with a code the
//! screen may give.
#![no_main]
use libfuzzer_sys::fuzz_target;
use voicegate_sip::screen::{self, Policy, Verdict};

fuzz_target!(|data: &[u8]| {
    let policy = Policy::standard();
    match screen::screen_datagram(data, &policy) {
        Verdict::Pass(bytes) => {
            if !data.iter().all(u8::is_ascii_whitespace) {
                assert!(bytes.len() <= policy.max_datagram);
                assert_eq!(screen::screen_datagram(&bytes, &policy), Verdict::Pass(bytes.clone()));
            }
        }
        Verdict::Reply { code, bytes } => {
            assert!(matches!(code, 400 | 416 | 420 | 501 | 505 | 513));
            assert!(bytes.starts_with(format!("SIP/2.0 {code} ").as_bytes()));
            assert!(bytes.ends_with(b"Content-Length: 0\r\n\r\n"));
        }
        Verdict::Drop(_) => {}
    }
    let _ = screen::strip_synthetic_tags(data);
    let _ = voicegate_sip::server::inspect(data);
});
