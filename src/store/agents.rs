//! The agents and every change of their state, in SQLite: the embedded `AgentStore`.

use rusqlite::OptionalExtension;

use super::{db_err, Store};
use crate::agents::{Agent, AgentRecord, AgentState, AgentStore};
use crate::error::{Error, Result};

fn list(v: &[String]) -> String {
    v.join(",")
}

fn unlist(s: String) -> Vec<String> {
    s.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect()
}

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Agent, String, String)> {
    Ok((Agent { id: r.get(0)?, name: r.get(1)?, languages: unlist(r.get(2)?), skills: unlist(r.get(3)?), sip: r.get(4)? }, r.get(5)?, r.get(6)?))
}

fn to_record((agent, state, since): (Agent, String, String)) -> AgentRecord {
    // A state this version does not know reads as offline.
    AgentRecord { agent, state: state.parse().unwrap_or(AgentState::Offline), since }
}

const COLUMNS: &str = "id, name, languages, skills, sip, state, state_since";

impl AgentStore for Store {
    fn add_agent(&self, agent: &Agent, state: AgentState) -> Result<()> {
        let conn = self.conn();
        let n = conn
            .execute(
                "INSERT INTO agents (id, name, languages, skills, sip, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO NOTHING",
                (&agent.id, &agent.name, list(&agent.languages), list(&agent.skills), &agent.sip, state.as_str()),
            )
            .map_err(|e| db_err(&self.path, e))?;
        if n == 0 {
            return Err(Error::Input(crate::error::InputError::Invalid(format!("agent {} exists already (remove it first, or set its state)", agent.id))));
        }
        conn.execute("INSERT INTO agent_states (agent, state) VALUES (?1, ?2)", (&agent.id, state.as_str())).map_err(|e| db_err(&self.path, e))?;
        Ok(())
    }

    fn remove_agent(&self, id: &str) -> Result<bool> {
        let conn = self.conn();
        let n = conn.execute("DELETE FROM agents WHERE id = ?1", [id]).map_err(|e| db_err(&self.path, e))?;
        conn.execute("DELETE FROM sip_credentials WHERE agent = ?1", [id]).map_err(|e| db_err(&self.path, e))?;
        Ok(n > 0)
    }

    fn agent(&self, id: &str) -> Result<Option<AgentRecord>> {
        let row = self.conn().query_row(&format!("SELECT {COLUMNS} FROM agents WHERE id = ?1"), [id], record).optional().map_err(|e| db_err(&self.path, e))?;
        Ok(row.map(to_record))
    }

    fn agents(&self) -> Result<Vec<AgentRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM agents ORDER BY id")).map_err(|e| db_err(&self.path, e))?;
        let rows = stmt.query_map([], record).map_err(|e| db_err(&self.path, e))?;
        rows.map(|r| r.map(to_record).map_err(|e| db_err(&self.path, e))).collect()
    }

    fn set_agent_state(&self, id: &str, state: AgentState) -> Result<bool> {
        let conn = self.conn();
        let n = conn
            .execute("UPDATE agents SET state = ?2, state_since = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1 AND state != ?2", (id, state.as_str()))
            .map_err(|e| db_err(&self.path, e))?;
        if n > 0 {
            conn.execute("INSERT INTO agent_states (agent, state) VALUES (?1, ?2)", (id, state.as_str())).map_err(|e| db_err(&self.path, e))?;
        }
        let exists: Option<i64> = conn.query_row("SELECT 1 FROM agents WHERE id = ?1", [id], |r| r.get(0)).optional().map_err(|e| db_err(&self.path, e))?;
        Ok(exists.is_some())
    }

    fn agent_states(&self, id: &str) -> Result<Vec<(AgentState, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT state, at FROM agent_states WHERE agent = ?1 ORDER BY rowid").map_err(|e| db_err(&self.path, e))?;
        let rows = stmt.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(|e| db_err(&self.path, e))?;
        rows.map(|r| r.map(|(s, at)| (s.parse().unwrap_or(AgentState::Offline), at)).map_err(|e| db_err(&self.path, e))).collect()
    }
}

/// Agents' softphone credentials: the digest HA1 (MD5 of agent:realm:password), never the
/// password.
impl Store {
    pub fn set_sip_password(&self, agent: &str, realm: &str, password: &str) -> Result<()> {
        let ha1 = voicegate_sip::guard::ha1(agent, realm, password);
        self.conn()
            .execute("INSERT OR REPLACE INTO sip_credentials (agent, realm, ha1) VALUES (?1, ?2, ?3)", (agent, realm, ha1))
            .map_err(|e| db_err(&self.path, e))?;
        Ok(())
    }

    /// The agent's HA1 for `realm`, if they have softphone credentials made for it.
    pub fn sip_ha1(&self, agent: &str, realm: &str) -> Result<Option<String>> {
        self.conn()
            .query_row("SELECT ha1 FROM sip_credentials WHERE agent = ?1 AND realm = ?2", (agent, realm), |r| r.get(0))
            .optional()
            .map_err(|e| db_err(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_are_kept_with_their_state_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.sqlite")).expect("store");
        let ann = Agent { id: "ann".into(), name: "Ann Lee".into(), languages: vec!["en".into(), "zh".into()], skills: vec!["returns".into()], sip: Some("sip:ann@10.0.0.5".into()) };
        store.add_agent(&ann, AgentState::Available).expect("added");
        assert!(store.add_agent(&ann, AgentState::Offline).is_err(), "twice");
        let got = store.agent("ann").expect("read").expect("there");
        assert_eq!((got.agent, got.state), (ann.clone(), AgentState::Available));
        assert!(store.set_agent_state("ann", AgentState::Away).expect("set"));
        assert!(store.set_agent_state("ann", AgentState::Away).expect("same state: no new change"));
        assert!(!store.set_agent_state("nobody", AgentState::Away).expect("unknown"));
        let changes: Vec<AgentState> = store.agent_states("ann").expect("history").into_iter().map(|(s, _)| s).collect();
        assert_eq!(changes, [AgentState::Available, AgentState::Away]);
        assert_eq!(store.agents().expect("list").len(), 1);
        assert!(store.remove_agent("ann").expect("removed"));
        assert!(!store.remove_agent("ann").expect("gone"));
        assert!(store.agent("ann").expect("read").is_none());
    }
}
