//! An in-app call's signalling: a message from the caller's page, and an SDP offer as the
//! gateway checks and repairs it before the WebRTC stack sees it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use voicegate_webrtc::{sdp, signal};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = signal::parse(&text);
    if sdp::check_offer(&text).is_ok() {
        let _ = sdp::keep_one_telephone_event(&text, 48_000);
    }
});
