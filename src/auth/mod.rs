//! Who may do what: users (people, signing in with a password hashed with argon2), API tokens
//! (machine clients: the shop's backend, Prometheus), sign-in sessions, three roles, and the
//! audit log. The store keeps them (`store::users`); the HTTP layer checks them
//! (`http::auth`). Secrets are never stored: passwords as argon2 hashes, tokens and session
//! ids as SHA-256 digests (they are long and random).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::Serialize;
use sha2::Digest;

use crate::error::{Error, Result};

/// What a user or token may do; each role may do what the ones below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Their own calls, the desktop, chat and NLU.
    Agent,
    /// QA staff and supervisors: every call, replays, live figures.
    Supervisor,
    /// Users, tokens, settings, the audit log.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Agent, Role::Supervisor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| format!("unknown role `{s}`: agent, supervisor or admin"))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Someone signed in: a user by session, or a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The user's name, or `token:NAME`.
    pub name: String,
    pub role: Role,
    /// The session's CSRF token (sessions only): unsafe requests must send it back.
    #[serde(skip)]
    pub csrf: Option<String>,
}

/// A user name: letters, digits, `.`, `_`, `-` and `@`, up to 64 characters.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| Error::internal(format!("no randomness from the OS: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::internal(e.to_string()))?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| Error::internal(format!("argon2: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// The digest a token or session id is stored and looked up by.
pub fn digest(secret: &str) -> String {
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

/// A new API token: `vgt_` and 32 random bytes.
pub fn new_token() -> Result<String> {
    Ok(format!("vgt_{}", crate::inapp::random_secret(32)?))
}

/// A password people can type: 16 random characters.
pub fn new_password() -> Result<String> {
    Ok(crate::inapp::random_secret(12)?.replace(['-', '_'], "x"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves_and_roles_are_ordered() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct hors", &h));
        assert!(!verify_password("x", "not a hash"));
        assert!(Role::Admin > Role::Supervisor && Role::Supervisor > Role::Agent);
        assert_eq!("supervisor".parse::<Role>(), Ok(Role::Supervisor));
        assert!("root".parse::<Role>().is_err());
        assert!(new_token().unwrap().len() > 40 && valid_name("ann@shop") && !valid_name("a b"));
    }
}
