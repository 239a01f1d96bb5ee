//! The gateway's SQLite database: demo orders, knowledge gaps, calls and their events
//! (`calls.rs`). One connection behind a mutex: every statement here is a few microseconds.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

use crate::error::{Error, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    items TEXT NOT NULL,
    amount REAL NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    placed_on TEXT NOT NULL,
    shipped_on TEXT,
    delivered_on TEXT,
    eta TEXT,
    carrier TEXT,
    tracking TEXT,
    address TEXT NOT NULL,
    refund_status TEXT,
    invoice_requested INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS kb_gaps (
    question TEXT PRIMARY KEY,
    lang TEXT NOT NULL,
    asked INTEGER NOT NULL,
    first_asked TEXT NOT NULL DEFAULT (datetime('now')),
    last_asked TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS calls (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    source TEXT NOT NULL,
    caller TEXT NOT NULL,
    callee TEXT NOT NULL,
    sip_call_id TEXT,
    recording TEXT,
    ended_at TEXT,
    end_reason TEXT,
    duration_ms INTEGER
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS agents (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    languages TEXT NOT NULL,
    skills TEXT NOT NULL,
    sip TEXT,
    state TEXT NOT NULL,
    state_since TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE IF NOT EXISTS agent_states (
    agent TEXT NOT NULL,
    state TEXT NOT NULL,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    hash TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    csrf TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS callbacks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id TEXT NOT NULL,
    number TEXT NOT NULL,
    lang TEXT NOT NULL,
    context TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    done_at TEXT
);
CREATE TABLE IF NOT EXISTS sip_credentials (
    agent TEXT PRIMARY KEY,
    realm TEXT NOT NULL,
    ha1 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wrapups (
    call_id TEXT NOT NULL,
    agent TEXT NOT NULL,
    disposition TEXT NOT NULL,
    notes TEXT NOT NULL,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (call_id, agent)
);
CREATE TABLE IF NOT EXISTS events (
    call_id TEXT NOT NULL REFERENCES calls(id),
    seq INTEGER NOT NULL,
    t_ms INTEGER NOT NULL,
    type TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (call_id, seq)
);
";

mod agents;
mod calls;
pub mod analytics;
pub mod retention;
pub mod search;
pub mod users;
pub use calls::CallRow;

pub struct Store {
    conn: Mutex<Connection>,
    /// A read-only connection for the sign-in checks of every HTTP request: with WAL they read
    /// beside a write in progress instead of waiting for `conn` (a batch of events, a call's
    /// index), so a burst of calls ending does not stall the pages and the API.
    reader: Mutex<Connection>,
    pub path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

pub(crate) fn db_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Config(format!("store {}: {e}", path.display()))
}

impl Store {
    /// Opens (creating if needed) the database at `path`, with the schema in place.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| db_err(path, e))?;
        }
        let conn = Connection::open(path).map_err(|e| db_err(path, e))?;
        // WAL with synchronous=NORMAL: a commit is not flushed to disk each time (events of many
        // calls arrive every few ms) but survives the process being killed; only a power cut
        // can lose the last commits, never corrupt the file.
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; PRAGMA secure_delete=ON;").map_err(|e| db_err(path, e))?;
        conn.execute_batch(SCHEMA).map_err(|e| db_err(path, e))?;
        conn.execute_batch(search::SCHEMA).map_err(|e| db_err(path, e))?;
        let reader = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(|e| db_err(path, e))?;
        reader.execute_batch("PRAGMA busy_timeout=5000;").map_err(|e| db_err(path, e))?;
        Ok(Self { conn: Mutex::new(conn), reader: Mutex::new(reader), path: path.to_owned() })
    }

    /// The connection; a panic elsewhere while holding it leaves it usable (SQLite rolls back).
    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The read-only connection, for the checks that run on every request.
    pub fn reader(&self) -> MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A value the gateway keeps for itself (a generated secret, say).
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        self.conn().query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0)).optional().map_err(|e| db_err(&self.path, e))
    }

    /// The value of `key`, made by `make` and kept the first time it is asked for.
    pub fn setting_or_insert(&self, key: &str, make: impl FnOnce() -> String) -> Result<String> {
        if let Some(v) = self.setting(key)? {
            return Ok(v);
        }
        let v = make();
        self.conn().execute("INSERT OR IGNORE INTO settings (key, value) VALUES (?1, ?2)", (key, &v)).map_err(|e| db_err(&self.path, e))?;
        Ok(self.setting(key)?.unwrap_or(v))
    }

    /// A callback ticket: the caller's number and the call's context (JSON); its id.
    pub fn add_callback(&self, call_id: &str, number: &str, lang: &str, context: &str) -> Result<i64> {
        let conn = self.conn();
        conn.execute("INSERT INTO callbacks (call_id, number, lang, context) VALUES (?1, ?2, ?3, ?4)", (call_id, number, lang, context)).map_err(|e| db_err(&self.path, e))?;
        Ok(conn.last_insert_rowid())
    }

    /// Open callback tickets, oldest first: (id, call, number, language, context, created).
    pub fn callbacks(&self) -> Result<Vec<(i64, String, String, String, String, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT id, call_id, number, lang, context, created_at FROM callbacks WHERE done_at IS NULL ORDER BY id").map_err(|e| db_err(&self.path, e))?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))).map_err(|e| db_err(&self.path, e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| db_err(&self.path, e))
    }

    /// An agent's wrap-up of a call (its outcome and notes); a second one replaces the first.
    pub fn set_wrapup(&self, call_id: &str, agent: &str, disposition: &str, notes: &str) -> Result<()> {
        self.conn()
            .execute("INSERT OR REPLACE INTO wrapups (call_id, agent, disposition, notes) VALUES (?1, ?2, ?3, ?4)", (call_id, agent, disposition, notes))
            .map_err(|e| db_err(&self.path, e))?;
        Ok(())
    }

    /// The wrap-ups of a call: (agent, disposition, notes, when).
    pub fn wrapups(&self, call_id: &str) -> Result<Vec<(String, String, String, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT agent, disposition, notes, at FROM wrapups WHERE call_id = ?1 ORDER BY at").map_err(|e| db_err(&self.path, e))?;
        let rows = stmt.query_map([call_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).map_err(|e| db_err(&self.path, e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| db_err(&self.path, e))
    }

    /// Counts a question the bot could not answer.
    pub fn record_gap(&self, question: &str, lang: &str) -> Result<()> {
        let q = question.trim();
        if q.is_empty() {
            return Ok(());
        }
        self.conn()
            .execute(
                "INSERT INTO kb_gaps (question, lang, asked) VALUES (?1, ?2, 1)
                 ON CONFLICT(question) DO UPDATE SET asked = asked + 1, last_asked = datetime('now')",
                (q, lang),
            )
            .map_err(|e| db_err(&self.path, e))?;
        Ok(())
    }

    /// Knowledge gaps, most asked first: (question, lang, times asked, last asked as RFC 3339
    /// UTC: SQLite's `datetime()` writes "2026-12-01 19:03:12", which browsers misread).
    pub fn gaps(&self) -> Result<Vec<(String, String, i64, String)>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT question, lang, asked, strftime('%Y-%m-%dT%H:%M:%SZ', last_asked) FROM kb_gaps ORDER BY asked DESC, last_asked DESC")
            .map_err(|e| db_err(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(|e| db_err(&self.path, e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| db_err(&self.path, e))
    }
}
