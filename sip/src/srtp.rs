//! SRTP and SRTCP for a media session keyed by SDES (RFC 3711, RFC 4568): one context
//! decrypts and authenticates what the far end sends, one protects what we send. The
//! cryptography is rtc-srtp's (the WebRTC stack's own), with its ring provider.

use std::sync::{Arc, OnceLock};

use rtc_srtp::context::Context;
use rtc_srtp::crypto::{default_provider, RTCCryptoProvider};
use rtc_srtp::option::{srtcp_replay_protection, srtp_replay_protection};
use rtc_srtp::protection_profile::ProtectionProfile;

use crate::sdes::{SrtpKeys, Suite, KEY_SALT_LEN};

/// Packets a replayed or reordered one may trail by and still be taken.
const REPLAY_WINDOW: usize = 128;
const KEY_LEN: usize = 16;

fn provider() -> Result<&'static Arc<dyn RTCCryptoProvider>, String> {
    static PROVIDER: OnceLock<Result<Arc<dyn RTCCryptoProvider>, String>> = OnceLock::new();
    PROVIDER.get_or_init(|| default_provider().map_err(|e| format!("no SRTP cryptography: {e}"))).as_ref().map_err(Clone::clone)
}

/// A new master key and salt from the cryptographic random source.
pub fn fresh_key() -> Result<[u8; KEY_SALT_LEN], String> {
    let mut key = [0u8; KEY_SALT_LEN];
    provider()?.random().fill(&mut key).map_err(|e| format!("no random key: {e}"))?;
    Ok(key)
}

pub struct SrtpSession {
    rx: Context,
    tx: Context,
}

impl SrtpSession {
    pub fn new(keys: &SrtpKeys) -> Result<Self, String> {
        let profile = match keys.suite {
            Suite::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
            Suite::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
        };
        let crypto = provider()?.crypto();
        let context = |key: &[u8; KEY_SALT_LEN], replay: bool| {
            let (k, salt) = key.split_at(KEY_LEN);
            let (srtp, srtcp) = if replay { (Some(srtp_replay_protection(REPLAY_WINDOW)), Some(srtcp_replay_protection(REPLAY_WINDOW))) } else { (None, None) };
            Context::new(k, salt, profile, srtp, srtcp, crypto).map_err(|e| format!("SRTP context: {e}"))
        };
        Ok(Self { rx: context(&keys.remote, true)?, tx: context(&keys.local, false)? })
    }

    /// The plain RTP packet, or why it was refused (not authentic, replayed, malformed).
    pub fn unprotect_rtp(&mut self, packet: &[u8]) -> Result<Vec<u8>, String> {
        self.rx.decrypt_rtp(packet).map(|b| b.to_vec()).map_err(|e| e.to_string())
    }

    pub fn protect_rtp(&mut self, packet: &[u8]) -> Result<Vec<u8>, String> {
        self.tx.encrypt_rtp(packet).map(|b| b.to_vec()).map_err(|e| e.to_string())
    }

    pub fn unprotect_rtcp(&mut self, packet: &[u8]) -> Result<Vec<u8>, String> {
        self.rx.decrypt_rtcp(packet).map(|b| b.to_vec()).map_err(|e| e.to_string())
    }

    pub fn protect_rtcp(&mut self, packet: &[u8]) -> Result<Vec<u8>, String> {
        self.tx.encrypt_rtcp(packet).map(|b| b.to_vec()).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::RtpPacket;

    fn pair() -> (SrtpSession, SrtpSession) {
        let (a, b) = (fresh_key().unwrap(), fresh_key().unwrap());
        assert_ne!(a, b);
        let ours = SrtpKeys { tag: 1, suite: Suite::AesCm128HmacSha1_80, remote: b, local: a };
        let theirs = SrtpKeys { remote: a, local: b, ..ours };
        (SrtpSession::new(&ours).unwrap(), SrtpSession::new(&theirs).unwrap())
    }

    #[test]
    fn what_one_side_protects_the_other_reads_and_tampering_or_replay_is_refused() {
        let (mut us, mut them) = pair();
        let payload = [0x55u8; 160];
        let plain = RtpPacket { marker: false, payload_type: 0, sequence: 7, timestamp: 160, ssrc: 42, payload: &payload }.to_bytes();
        let wire = us.protect_rtp(&plain).unwrap();
        assert_eq!(wire.len(), plain.len() + 10, "an 80-bit tag");
        assert_ne!(&wire[12..172], &plain[12..], "the payload is encrypted");
        assert_eq!(them.unprotect_rtp(&wire).unwrap(), plain);
        assert!(them.unprotect_rtp(&wire).is_err(), "a replay is refused");
        let mut forged = us.protect_rtp(&RtpPacket { marker: false, payload_type: 0, sequence: 8, timestamp: 320, ssrc: 42, payload: &payload }.to_bytes()).unwrap();
        forged[20] ^= 1;
        assert!(them.unprotect_rtp(&forged).is_err(), "a changed packet is refused");
        assert!(them.unprotect_rtp(&plain).is_err(), "plain RTP is refused");
    }

    #[test]
    fn rtcp_is_protected_too() {
        let (mut us, mut them) = pair();
        let report = crate::rtcp::RtcpPacket::ReceiverReport { ssrc: 9, reports: vec![] }.to_bytes("voicegate");
        let wire = us.protect_rtcp(&report).unwrap();
        assert!(wire.len() > report.len());
        assert_eq!(them.unprotect_rtcp(&wire).unwrap(), report);
    }
}
