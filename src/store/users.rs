//! Users, API tokens, sign-in sessions and the audit log, in SQLite.

use rusqlite::OptionalExtension;
use serde::Serialize;

use super::{db_err, Store};
use crate::auth::{digest, hash_password, verify_password, Principal, Role};
use crate::error::{Error, InputError, Result};

#[derive(Debug, Clone, Serialize)]
pub struct UserRow {
    pub name: String,
    pub role: Role,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    pub at: String,
    pub who: String,
    pub action: String,
    pub target: String,
}

/// An argon2 hash of nothing anyone types, checked for unknown users.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("no user has this password").unwrap_or_default())
}

/// How long a sign-in lasts.
pub const SESSION_S: i64 = 12 * 3600;

fn role(s: String) -> Role {
    // A role this version does not know gives the least.
    s.parse().unwrap_or(Role::Agent)
}

impl Store {
    pub fn add_user(&self, name: &str, role: Role, password: &str) -> Result<()> {
        if !crate::auth::valid_name(name) {
            return Err(Error::Input(InputError::Invalid(format!("user name `{name}`: letters, digits, '.', '_', '-', '@', up to 64"))));
        }
        if password.chars().count() < 8 {
            return Err(Error::Input(InputError::Invalid("a password needs at least 8 characters".into())));
        }
        let hash = hash_password(password)?;
        let n = self.conn().execute("INSERT INTO users (name, role, password_hash) VALUES (?1, ?2, ?3) ON CONFLICT(name) DO NOTHING", (name, role.as_str(), hash)).map_err(|e| db_err(&self.path, e))?;
        if n == 0 {
            return Err(Error::Input(InputError::Invalid(format!("user {name} exists already"))));
        }
        Ok(())
    }

    pub fn remove_user(&self, name: &str) -> Result<bool> {
        let conn = self.conn();
        conn.execute("DELETE FROM sessions WHERE user = ?1", [name]).map_err(|e| db_err(&self.path, e))?;
        Ok(conn.execute("DELETE FROM users WHERE name = ?1", [name]).map_err(|e| db_err(&self.path, e))? > 0)
    }

    pub fn users(&self) -> Result<Vec<UserRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT name, role, created_at FROM users ORDER BY name").map_err(|e| db_err(&self.path, e))?;
        let rows = stmt.query_map([], |r| Ok(UserRow { name: r.get(0)?, role: role(r.get(1)?), created_at: r.get(2)? })).map_err(|e| db_err(&self.path, e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| db_err(&self.path, e))
    }

    /// The user, if the password is theirs.
    pub fn check_password(&self, name: &str, password: &str) -> Result<Option<Role>> {
        let row: Option<(String, String)> = self.conn().query_row("SELECT role, password_hash FROM users WHERE name = ?1", [name], |r| Ok((r.get(0)?, r.get(1)?))).optional().map_err(|e| db_err(&self.path, e))?;
        match row {
            Some((r, h)) => Ok(verify_password(password, &h).then(|| role(r))),
            None => {
                // As long as for a real user: the answer's time does not tell who exists.
                verify_password(password, dummy_hash());
                Ok(None)
            }
        }
    }

    /// A new token for `role`; the token itself is only in the answer.
    pub fn add_token(&self, name: &str, role: Role) -> Result<(i64, String)> {
        let token = crate::auth::new_token()?;
        let conn = self.conn();
        conn.execute("INSERT INTO api_tokens (name, role, hash) VALUES (?1, ?2, ?3)", (name, role.as_str(), digest(&token))).map_err(|e| db_err(&self.path, e))?;
        Ok((conn.last_insert_rowid(), token))
    }

    pub fn tokens(&self) -> Result<Vec<TokenRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT id, name, role, created_at, revoked_at FROM api_tokens ORDER BY id").map_err(|e| db_err(&self.path, e))?;
        let rows = stmt.query_map([], |r| Ok(TokenRow { id: r.get(0)?, name: r.get(1)?, role: role(r.get(2)?), created_at: r.get(3)?, revoked_at: r.get(4)? })).map_err(|e| db_err(&self.path, e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| db_err(&self.path, e))
    }

    /// Whether there was a live token with that id.
    pub fn revoke_token(&self, id: i64) -> Result<bool> {
        Ok(self.conn().execute("UPDATE api_tokens SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1 AND revoked_at IS NULL", [id]).map_err(|e| db_err(&self.path, e))? > 0)
    }

    /// Who a bearer token is, if it is a live one.
    pub fn token_principal(&self, token: &str) -> Result<Option<Principal>> {
        let row: Option<(String, String)> = self.reader().query_row("SELECT name, role FROM api_tokens WHERE hash = ?1 AND revoked_at IS NULL", [digest(token)], |r| Ok((r.get(0)?, r.get(1)?))).optional().map_err(|e| db_err(&self.path, e))?;
        Ok(row.map(|(name, r)| Principal { name: format!("token:{name}"), role: role(r), csrf: None }))
    }

    /// A new session for `user`: (the session id for the cookie, its CSRF token).
    pub fn new_session(&self, user: &str, now_s: i64) -> Result<(String, String)> {
        let id = crate::inapp::random_secret(32)?;
        let csrf = crate::inapp::random_secret(24)?;
        let conn = self.conn();
        conn.execute("DELETE FROM sessions WHERE expires_at < ?1", [now_s]).map_err(|e| db_err(&self.path, e))?;
        conn.execute("INSERT INTO sessions (hash, user, csrf, expires_at) VALUES (?1, ?2, ?3, ?4)", (digest(&id), user, &csrf, now_s + SESSION_S)).map_err(|e| db_err(&self.path, e))?;
        Ok((id, csrf))
    }

    /// Who a session cookie is, while the session lasts and the user exists.
    pub fn session_principal(&self, id: &str, now_s: i64) -> Result<Option<Principal>> {
        let row: Option<(String, String, String)> = self
            .reader()
            .query_row("SELECT s.user, u.role, s.csrf FROM sessions s JOIN users u ON u.name = s.user WHERE s.hash = ?1 AND s.expires_at >= ?2", (digest(id), now_s), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()
            .map_err(|e| db_err(&self.path, e))?;
        Ok(row.map(|(name, r, csrf)| Principal { name, role: role(r), csrf: Some(csrf) }))
    }

    pub fn end_session(&self, id: &str) -> Result<()> {
        self.conn().execute("DELETE FROM sessions WHERE hash = ?1", [digest(id)]).map_err(|e| db_err(&self.path, e))?;
        Ok(())
    }

    /// Who did what to what (a call listened to, a token made, a user removed).
    pub fn audit(&self, who: &str, action: &str, target: &str) -> Result<()> {
        self.conn().execute("INSERT INTO audit (who, action, target) VALUES (?1, ?2, ?3)", (who, action, target)).map_err(|e| db_err(&self.path, e))?;
        Ok(())
    }

    /// The newest `limit` audit entries, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT at, who, action, target FROM audit ORDER BY id DESC LIMIT ?1").map_err(|e| db_err(&self.path, e))?;
        let rows = stmt.query_map([limit as i64], |r| Ok(AuditRow { at: r.get(0)?, who: r.get(1)?, action: r.get(2)?, target: r.get(3)? })).map_err(|e| db_err(&self.path, e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| db_err(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_checks_read_beside_a_write_in_progress() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(&t.path().join("db.sqlite")).unwrap();
        let (_, token) = s.add_token("shop", Role::Agent).unwrap();
        let (session, _) = {
            s.add_user("ann", Role::Supervisor, "long enough pw").unwrap();
            s.new_session("ann", 1000).unwrap()
        };
        // A writer holds the connection in an open transaction (a batch of call events, say).
        let mut writer = s.conn();
        let tx = writer.transaction().unwrap();
        tx.execute("INSERT INTO audit (who, action, target) VALUES ('x', 'y', 'z')", []).unwrap();
        // With one connection these would wait for the writer (here: on this very thread, for ever).
        assert_eq!(s.token_principal(&token).unwrap().map(|p| p.role), Some(Role::Agent));
        assert_eq!(s.session_principal(&session, 1001).unwrap().map(|p| p.name), Some("ann".to_string()));
        tx.commit().unwrap();
        drop(writer);
        // A revoked token is refused at once: the reader sees the commit.
        let id = s.tokens().unwrap().into_iter().find(|t| t.name == "shop").unwrap().id;
        s.revoke_token(id).unwrap();
        assert_eq!(s.token_principal(&token).unwrap(), None);
    }

    #[test]
    fn users_tokens_and_sessions_are_checked_and_end() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(&t.path().join("db.sqlite")).unwrap();
        s.add_user("ann", Role::Supervisor, "long enough pw").unwrap();
        assert!(s.add_user("ann", Role::Admin, "long enough pw").is_err(), "one ann");
        assert!(s.add_user("bob", Role::Agent, "short").is_err());
        assert_eq!(s.check_password("ann", "long enough pw").unwrap(), Some(Role::Supervisor));
        assert_eq!(s.check_password("ann", "wrong").unwrap(), None);
        assert_eq!(s.check_password("nobody", "long enough pw").unwrap(), None);
        let (id, token) = s.add_token("shop", Role::Agent).unwrap();
        assert_eq!(s.token_principal(&token).unwrap().unwrap().role, Role::Agent);
        assert!(s.token_principal("vgt_forged").unwrap().is_none());
        assert!(s.revoke_token(id).unwrap() && !s.revoke_token(id).unwrap());
        assert!(s.token_principal(&token).unwrap().is_none(), "revoked");
        let (sid, csrf) = s.new_session("ann", 1000).unwrap();
        let p = s.session_principal(&sid, 2000).unwrap().unwrap();
        assert_eq!((p.name.as_str(), p.role, p.csrf.as_deref()), ("ann", Role::Supervisor, Some(csrf.as_str())));
        assert!(s.session_principal(&sid, 1000 + SESSION_S + 1).unwrap().is_none(), "expired");
        s.end_session(&sid).unwrap();
        assert!(s.session_principal(&sid, 2000).unwrap().is_none());
        s.audit("ann", "listen", "c1").unwrap();
        assert_eq!(s.audit_log(10).unwrap()[0].action, "listen");
        assert!(s.remove_user("ann").unwrap());
        assert!(s.users().unwrap().is_empty());
    }
}
