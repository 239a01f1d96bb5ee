//! Call tokens: who may call from the shop's app. The shop's backend mints a short-lived token
//! for a signed-in customer, HMAC-SHA256-signed with the secret it shares with the gateway, so
//! it can mint them itself without asking us:
//!
//! ```text
//! vg1.<base64url(JSON claims)>.<base64url(HMAC-SHA256(secret, "vg1." + base64url(JSON claims)))>
//! ```
//!
//! The claims carry the customer, optionally an order number and a locale, and the expiry
//! (`exp`, Unix seconds). A token without a valid signature, or past its expiry, is refused
//! before any media resource exists.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

const PREFIX: &str = "vg1.";
/// Longest token accepted; a longer one is refused before it is decoded.
pub const MAX_TOKEN_LEN: usize = 2048;

/// Who is calling, as the shop vouches for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallClaims {
    /// The shop's customer id.
    pub customer: String,
    /// An order the customer is calling about (the dialog does not ask for it again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// The app's locale, e.g. `en-US` or `zh-CN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Expiry, Unix seconds.
    pub exp: u64,
}

impl CallClaims {
    /// The language the locale names, when it is one the bot speaks.
    pub fn lang(&self) -> Option<&'static str> {
        let l = self.locale.as_deref()?.to_ascii_lowercase();
        if l.starts_with("zh") {
            Some("zh")
        } else if l.starts_with("en") {
            Some("en")
        } else {
            None
        }
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no call token")]
    Missing,
    #[error("malformed call token: {0}")]
    Malformed(&'static str),
    #[error("call token signature does not verify")]
    BadSignature,
    #[error("call token expired {0} s ago")]
    Expired(u64),
}

/// Mints and checks call tokens with one secret.
#[derive(Clone)]
pub struct TokenKey {
    secret: Vec<u8>,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    pub fn new(secret: &[u8]) -> Self {
        Self { secret: secret.to_vec() }
    }

    fn mac(&self, signed: &str) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        m.update(signed.as_bytes());
        m
    }

    /// A token for `claims`.
    pub fn mint(&self, claims: &CallClaims) -> String {
        let body = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signed = format!("{PREFIX}{body}");
        let sig = B64.encode(self.mac(&signed).finalize().into_bytes());
        format!("{signed}.{sig}")
    }

    /// The claims of a valid token at `now` (Unix seconds).
    pub fn verify(&self, token: &str, now: u64) -> Result<CallClaims, TokenError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(TokenError::Missing);
        }
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed("too long"));
        }
        let rest = token.strip_prefix(PREFIX).ok_or(TokenError::Malformed("not a vg1 token"))?;
        let (body, sig) = rest.rsplit_once('.').ok_or(TokenError::Malformed("no signature"))?;
        let sig = B64.decode(sig).map_err(|_| TokenError::Malformed("signature is not base64url"))?;
        self.mac(&format!("{PREFIX}{body}")).verify_slice(&sig).map_err(|_| TokenError::BadSignature)?;
        let json = B64.decode(body).map_err(|_| TokenError::Malformed("claims are not base64url"))?;
        let claims: CallClaims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed("claims are not the expected JSON"))?;
        if claims.customer.trim().is_empty() || claims.customer.len() > 128 {
            return Err(TokenError::Malformed("customer must be 1 to 128 characters"));
        }
        if claims.exp <= now {
            return Err(TokenError::Expired(now - claims.exp));
        }
        Ok(claims)
    }
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> CallClaims {
        CallClaims { customer: "cust-42".into(), order: Some("48152".into()), locale: Some("zh-CN".into()), exp }
    }

    #[test]
    fn a_minted_token_verifies_and_carries_its_claims() {
        let k = TokenKey::new(b"shared secret");
        let t = k.mint(&claims(1000));
        assert!(t.starts_with("vg1."));
        let c = k.verify(&t, 999).unwrap();
        assert_eq!(c, claims(1000));
        assert_eq!(c.lang(), Some("zh"));
    }

    #[test]
    fn forged_expired_and_malformed_tokens_are_refused() {
        let k = TokenKey::new(b"shared secret");
        let t = k.mint(&claims(1000));
        assert_eq!(TokenKey::new(b"another secret").verify(&t, 10), Err(TokenError::BadSignature));
        assert_eq!(k.verify(&t, 1000), Err(TokenError::Expired(0)));
        assert_eq!(k.verify(&t, 1500), Err(TokenError::Expired(500)));
        assert_eq!(k.verify("", 10), Err(TokenError::Missing));
        assert!(matches!(k.verify("hello", 10), Err(TokenError::Malformed(_))));
        assert!(matches!(k.verify("vg1.abc", 10), Err(TokenError::Malformed(_))));
        assert!(matches!(k.verify(&"x".repeat(5000), 10), Err(TokenError::Malformed(_))));
        // Claims changed after signing: the signature no longer matches.
        let (_, sig) = t.rsplit_once('.').unwrap();
        let other = B64.encode(serde_json::to_vec(&CallClaims { customer: "mallory".into(), ..claims(1000) }).unwrap());
        assert_eq!(k.verify(&format!("vg1.{other}.{sig}"), 10), Err(TokenError::BadSignature));
    }

    #[test]
    fn the_token_format_is_what_a_shop_can_mint_itself() {
        // The same bytes a shop's backend computes with any HMAC library.
        let k = TokenKey::new(b"k");
        let body = B64.encode(br#"{"customer":"c1","exp":2000}"#);
        let signed = format!("vg1.{body}");
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(b"k").unwrap();
        m.update(signed.as_bytes());
        let t = format!("{signed}.{}", B64.encode(m.finalize().into_bytes()));
        assert_eq!(k.verify(&t, 1).unwrap().customer, "c1");
    }
}
