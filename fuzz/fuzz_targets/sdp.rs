//! An SDP body: offer parsing (its a=crypto keys too), negotiation and our answer.
#![no_main]
use libfuzzer_sys::fuzz_target;
use voicegate_sip::sdp::{answer, negotiate, AudioOffer};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(offer) = AudioOffer::parse(&text) {
        let _ = offer.is_hold();
        if let Ok(n) = negotiate(&offer, [7; voicegate_sip::sdes::KEY_SALT_LEN]) {
            let _ = answer(&n, "127.0.0.1", 20000, 1);
        }
    }
});
