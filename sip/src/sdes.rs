//! SDES keying for SRTP (RFC 4568), without IO: the `a=crypto` attributes of an offer, the
//! one we accept (a suite we support with a single inline key), and ours for the answer. The
//! keys themselves are drawn by the caller (`srtp::fresh_key`).

use base64::Engine;

/// Master key and salt together, as `inline:` carries them for the AES-128 suites.
pub const KEY_SALT_LEN: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suite {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
}

impl Suite {
    pub const ALL: [Suite; 2] = [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32];

    pub fn name(&self) -> &'static str {
        match self {
            Suite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Suite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

/// One `a=crypto:` attribute of an offer, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoAttr {
    pub tag: u32,
    pub suite: String,
    pub key_params: String,
    pub session_params: Vec<String>,
}

impl CryptoAttr {
    /// The value after `crypto:`: `TAG SUITE KEY-PARAMS [SESSION-PARAM ...]`.
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.split_whitespace();
        let tag = parts.next()?.parse().ok()?;
        let suite = parts.next()?.to_string();
        let key_params = parts.next()?.to_string();
        Some(Self { tag, suite, key_params, session_params: parts.map(str::to_string).collect() })
    }

    /// The suite and key if we can honour this attribute: a suite we support, exactly one
    /// inline key of the right length, no MKI, and no session parameter that changes how
    /// packets are protected (a window-size hint is only a hint).
    fn usable(&self) -> Option<(Suite, [u8; KEY_SALT_LEN])> {
        let suite = Suite::from_name(&self.suite)?;
        if self.session_params.iter().any(|p| !p.starts_with("WSH=")) || self.key_params.contains(';') {
            return None;
        }
        let mut fields = self.key_params.strip_prefix("inline:")?.split('|');
        let key = base64::engine::general_purpose::STANDARD.decode(fields.next()?).ok()?;
        // What may follow the key: a lifetime (`2^31` or a number), then an MKI (`1:4`), not
        // supported (every packet would carry it).
        for f in fields {
            if f.contains(':') {
                return None;
            }
        }
        Some((suite, key.try_into().ok()?))
    }
}

/// The keys of one SRTP session.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SrtpKeys {
    /// The offer's tag, echoed in the answer.
    pub tag: u32,
    pub suite: Suite,
    /// What the far end protects its packets with.
    pub remote: [u8; KEY_SALT_LEN],
    /// What we protect ours with.
    pub local: [u8; KEY_SALT_LEN],
}

impl std::fmt::Debug for SrtpKeys {
    // Keys never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpKeys").field("tag", &self.tag).field("suite", &self.suite).finish_non_exhaustive()
    }
}

/// The first offered attribute we can honour (the offerer lists them by preference), keyed
/// with `local` on our side.
pub fn choose(offered: &[CryptoAttr], local: [u8; KEY_SALT_LEN]) -> Option<SrtpKeys> {
    offered.iter().find_map(|a| a.usable().map(|(suite, remote)| SrtpKeys { tag: a.tag, suite, remote, local }))
}

/// Our answer's attribute line (with its CRLF): the chosen tag and suite with our key.
pub fn attribute(keys: &SrtpKeys) -> String {
    format!("a=crypto:{} {} inline:{}\r\n", keys.tag, keys.suite.name(), base64::engine::general_purpose::STANDARD.encode(keys.local))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

    #[test]
    fn takes_the_first_usable_offer_and_answers_with_our_key() {
        let offered: Vec<CryptoAttr> = [
            format!("1 AES_256_CM_HMAC_SHA1_80 inline:{KEY}"),
            format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY}|2^31|1:4"),
            format!("3 AES_CM_128_HMAC_SHA1_80 inline:{KEY} UNENCRYPTED_SRTP"),
            format!("4 AES_CM_128_HMAC_SHA1_32 inline:{KEY}|2^20"),
            format!("5 AES_CM_128_HMAC_SHA1_80 inline:{KEY}"),
        ]
        .iter()
        .map(|v| CryptoAttr::parse(v).unwrap())
        .collect();
        let keys = choose(&offered, [7; KEY_SALT_LEN]).unwrap();
        assert_eq!((keys.tag, keys.suite), (4, Suite::AesCm128HmacSha1_32));
        assert_eq!(&keys.remote[..4], b"YS__");
        let line = attribute(&keys);
        assert!(line.starts_with("a=crypto:4 AES_CM_128_HMAC_SHA1_32 inline:BwcHBwcH"), "{line}");
        // Our attribute parses back to our key.
        let back = CryptoAttr::parse(line.trim_end().strip_prefix("a=crypto:").unwrap()).unwrap();
        assert_eq!(choose(&[back], [0; KEY_SALT_LEN]).unwrap().remote, [7; KEY_SALT_LEN]);
        assert!(!format!("{keys:?}").contains("7, 7"), "keys must not be printed");
    }

    #[test]
    fn nothing_usable_and_garbage_are_none() {
        for v in ["", "x AES_CM_128_HMAC_SHA1_80 inline:AAAA", "1 AES_CM_128_HMAC_SHA1_80", "1 AES_CM_128_HMAC_SHA1_80 inline:!!!", "1 AES_CM_128_HMAC_SHA1_80 inline:AAAA", "1 F8_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"] {
            let parsed: Vec<CryptoAttr> = CryptoAttr::parse(v).into_iter().collect();
            assert!(choose(&parsed, [0; KEY_SALT_LEN]).is_none(), "{v}");
        }
    }
}
