//! Agents' softphones that REGISTER: who may (each agent's digest HA1, in the store) and
//! where each one is now (in memory: a phone registers again within its expiry, and after a
//! restart). A phone that registers makes its offline agent available; one that unregisters
//! or lets its registration expire makes them offline again. The desk rings an agent at
//! their phone's registered contact before any URI configured for them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::{info, warn};
use voicegate_sip::registrar::Registrar;

use super::{AgentState, AgentStore};
use crate::store::Store;

/// How often expired registrations are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

pub struct Softphones {
    store: Arc<Store>,
    realm: String,
    /// Agent -> (contact URI, until).
    bindings: Mutex<HashMap<String, (String, Instant)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Softphones {
    pub fn new(store: Arc<Store>, realm: &str) -> Arc<Self> {
        Arc::new(Self { store, realm: realm.to_string(), bindings: Mutex::default() })
    }

    /// Sweeps expired registrations while the process runs.
    pub fn start_sweeping(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_EVERY);
            loop {
                tick.tick().await;
                let Some(me) = me.upgrade() else { break };
                me.sweep(Instant::now());
            }
        });
    }

    /// Where the agent's phone is registered now.
    pub fn contact(&self, agent: &str) -> Option<String> {
        lock(&self.bindings).get(agent).filter(|(_, until)| *until > Instant::now()).map(|(c, _)| c.clone())
    }

    fn sweep(&self, now: Instant) {
        let gone: Vec<String> = {
            let mut b = lock(&self.bindings);
            let gone: Vec<String> = b.iter().filter(|(_, (_, until))| *until <= now).map(|(a, _)| a.clone()).collect();
            for a in &gone {
                b.remove(a);
            }
            gone
        };
        for agent in gone {
            info!(agent, "softphone registration expired");
            self.phone_gone(&agent);
        }
    }

    /// The agent's phone is no longer reachable: an idle agent goes offline.
    fn phone_gone(&self, agent: &str) {
        if let Ok(Some(r)) = self.store.agent(agent) {
            if matches!(r.state, AgentState::Available | AgentState::Away) && r.agent.sip.is_none() {
                if let Err(e) = self.store.set_agent_state(agent, AgentState::Offline) {
                    warn!(agent, error = %e, "agent state not stored");
                }
            }
        }
    }
}

impl Registrar for Softphones {
    fn realm(&self) -> String {
        self.realm.clone()
    }

    fn ha1(&self, user: &str) -> Option<String> {
        match self.store.sip_ha1(user, &self.realm) {
            Ok(h) => h,
            Err(e) => {
                warn!(user, error = %e, "SIP credentials not read");
                None
            }
        }
    }

    fn bind(&self, user: &str, contact: &str, expires: u32) -> u32 {
        if expires == 0 {
            // Only the phone that registered (or `Contact: *`) takes its binding away.
            let was = {
                let mut b = lock(&self.bindings);
                match b.get(user) {
                    Some((c, _)) if contact.is_empty() || c == contact => b.remove(user),
                    _ => None,
                }
            };
            if was.is_some() {
                info!(agent = user, "softphone unregistered");
                self.phone_gone(user);
            }
            return 0;
        }
        let new = lock(&self.bindings).insert(user.to_string(), (contact.to_string(), Instant::now() + Duration::from_secs(expires as u64))).is_none();
        if !new {
            // A renewal: the agent's state is theirs (they may have gone offline meanwhile).
            return expires;
        }
        info!(agent = user, contact, expires, "softphone registered");
        // A phone that registers is an agent ready for calls, unless they said otherwise.
        if let Ok(Some(r)) = self.store.agent(user) {
            if r.state == AgentState::Offline {
                if let Err(e) = self.store.set_agent_state(user, AgentState::Available) {
                    warn!(agent = user, error = %e, "agent state not stored");
                }
            }
        }
        expires
    }

    fn binding(&self, user: &str) -> Option<(String, u32)> {
        let now = Instant::now();
        lock(&self.bindings).get(user).filter(|(_, until)| *until > now).map(|(c, until)| (c.clone(), until.duration_since(now).as_secs() as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::Agent;

    #[test]
    fn a_registered_phone_makes_its_agent_available_and_its_expiry_offline() {
        let t = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&t.path().join("db.sqlite")).unwrap());
        let agent = Agent { id: "ann".into(), name: "Ann".into(), languages: vec!["en".into()], skills: vec![], sip: None };
        store.add_agent(&agent, AgentState::Offline).unwrap();
        store.set_sip_password("ann", "voicegate", "s3cret").unwrap();
        let phones = Softphones::new(store.clone(), "voicegate");
        assert_eq!(phones.ha1("ann"), Some(voicegate_sip::guard::ha1("ann", "voicegate", "s3cret")));
        assert_eq!(phones.ha1("bob"), None);
        assert_eq!(phones.bind("ann", "sip:ann@10.0.0.5:5062", 60), 60);
        assert_eq!(phones.contact("ann").as_deref(), Some("sip:ann@10.0.0.5:5062"));
        assert_eq!(store.agent("ann").unwrap().unwrap().state, AgentState::Available);
        phones.sweep(Instant::now() + Duration::from_secs(61));
        assert_eq!(phones.contact("ann"), None);
        assert_eq!(store.agent("ann").unwrap().unwrap().state, AgentState::Offline);
        // Unregistering does the same (another device's unregistering does not); a renewal
        // leaves the agent's state as they set it.
        phones.bind("ann", "sip:ann@10.0.0.5:5062", 60);
        store.set_agent_state("ann", AgentState::Offline).unwrap();
        phones.bind("ann", "sip:ann@10.0.0.5:5062", 60);
        assert_eq!(store.agent("ann").unwrap().unwrap().state, AgentState::Offline);
        phones.bind("ann", "sip:ann@10.0.0.9", 0);
        assert!(phones.contact("ann").is_some());
        phones.bind("ann", "", 0);
        assert!(phones.contact("ann").is_none());
        assert_eq!(store.agent("ann").unwrap().unwrap().state, AgentState::Offline);
        // Credentials made for another realm do not count.
        assert_eq!(Softphones::new(store, "other").ha1("ann"), None);
    }
}
