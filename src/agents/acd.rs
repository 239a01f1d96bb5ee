//! The automatic call distributor: handed-off calls wait in one queue, ordered by priority
//! (the handoff's reason: anger and high risk first) and then by arrival, and are offered to
//! agents who speak the caller's language, those with the call's skill first, the longest idle
//! first. A state machine without IO: inputs (agents' states, calls queued and gone, answers)
//! and the clock in, actions (offer, withdraw, announce, give up, state changes) out, with
//! `poll_timeout` saying when the clock next matters. The gateway (or a shared store, when
//! several gateways share one pool of agents) feeds it and carries its actions out.

use std::collections::BTreeMap;

use crate::agents::{Agent, AgentState};

#[derive(Debug, Clone, PartialEq)]
pub struct AcdConfig {
    /// How long an offer rings before it goes to the next agent (and the agent goes away).
    pub ring_timeout_ms: u64,
    /// After a call, before the agent is offered the next one.
    pub wrap_up_ms: u64,
    /// A waiting caller hears their position again this often.
    pub announce_every_ms: u64,
    /// Longer than this in the queue and the caller is offered a callback or a message.
    pub max_wait_ms: u64,
    /// The handling time the wait estimate assumes per call.
    pub handle_time_ms: u64,
    /// Handoff reason to priority (higher first); other reasons count 0.
    pub priorities: BTreeMap<String, u32>,
}

impl Default for AcdConfig {
    fn default() -> Self {
        Self {
            ring_timeout_ms: 20_000,
            wrap_up_ms: 30_000,
            announce_every_ms: 30_000,
            max_wait_ms: 300_000,
            handle_time_ms: 180_000,
            priorities: BTreeMap::from([("anger".into(), 2), ("high_risk".into(), 2), ("caller_request".into(), 1), ("dtmf".into(), 1)]),
        }
    }
}

/// A handed-off call asking for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRequest {
    pub call: String,
    pub lang: String,
    /// The skill the handoff's intent maps to, if any.
    pub skill: Option<String>,
    /// The handoff's reason (`anger`, `high_risk`, `caller_request`, ...).
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// An agent joins the pool (at start-up, or added), in a state.
    AgentJoined { agent: Agent, state: AgentState },
    AgentRemoved { agent: String },
    /// A person or the API sets an agent's state (offline, available, away).
    SetState { agent: String, state: AgentState },
    /// The agent's desktop or phone is gone: offline whatever they were doing.
    AgentLost { agent: String },
    Enqueue(CallRequest),
    /// The caller hung up (or left for a callback) before being connected.
    CallerGone { call: String },
    Accepted { call: String, agent: String },
    /// The agent accepted on their desktop and its media is connecting: the offer's ring
    /// timeout moves to `until_ms` so it is not withdrawn meanwhile.
    Connecting { call: String, agent: String, until_ms: u64 },
    Declined { call: String, agent: String },
    /// The agent's call is over: wrap-up.
    CallDone { agent: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// An agent's state changed (for the events and the store).
    AgentState { agent: String, state: AgentState, was: AgentState },
    Offer { call: String, agent: String },
    /// An offer is taken back: `caller_gone`, `ring_timeout`, `agent_gone`.
    Withdraw { call: String, agent: String, why: &'static str },
    /// The offer rang out.
    NoAnswer { call: String, agent: String },
    /// Tell the caller where they stand.
    Announce { call: String, position: usize, wait_estimate_ms: u64 },
    /// The agent took the call: bridge it.
    Connected { call: String, agent: String, waited_ms: u64 },
    /// The caller left the queue before anyone took the call.
    Abandoned { call: String, waited_ms: u64 },
    /// Waited too long: offer a callback or a message instead.
    GiveUp { call: String, waited_ms: u64 },
}

#[derive(Debug, Clone)]
struct Slot {
    agent: Agent,
    state: AgentState,
    /// Available since (the longest idle go first).
    idle_since_ms: u64,
    /// Ring timeout or the end of wrap-up.
    deadline_ms: Option<u64>,
    /// The call offered to them or that they are on.
    call: Option<String>,
}

#[derive(Debug, Clone)]
struct Waiting {
    req: CallRequest,
    priority: u32,
    queued_ms: u64,
    seq: u64,
    offered_to: Option<String>,
    /// Agents who declined it or let it ring out: not offered it again.
    tried: Vec<String>,
    next_announce_ms: u64,
    /// Told where they stand at least once.
    announced: bool,
}

#[derive(Debug, Default)]
pub struct Acd {
    config: AcdConfig,
    agents: BTreeMap<String, Slot>,
    queue: Vec<Waiting>,
    seq: u64,
}

impl Acd {
    pub fn new(config: AcdConfig) -> Self {
        Self { config, ..Self::default() }
    }

    pub fn state_of(&self, agent: &str) -> Option<AgentState> {
        self.agents.get(agent).map(|s| s.state)
    }

    pub fn agent_ids(&self) -> Vec<String> {
        self.agents.keys().cloned().collect()
    }

    /// The calls waiting (or ringing), in the order they are served.
    /// The call an agent is on (not one only offered to them).
    pub fn call_of(&self, agent: &str) -> Option<&str> {
        self.agents.get(agent).filter(|s| s.state == AgentState::OnCall).and_then(|s| s.call.as_deref())
    }

    pub fn waiting(&self) -> Vec<&CallRequest> {
        self.queue.iter().map(|w| &w.req).collect()
    }

    /// When the clock next matters: a ring timeout, the end of a wrap-up, an announcement or a
    /// maximum wait.
    pub fn poll_timeout(&self) -> Option<u64> {
        let agents = self.agents.values().filter_map(|s| s.deadline_ms);
        let calls = self.queue.iter().flat_map(|w| [Some(w.queued_ms + self.config.max_wait_ms), w.offered_to.is_none().then_some(w.next_announce_ms)]).flatten();
        agents.chain(calls).min()
    }

    /// One input at `now_ms`. An input that does not fit (an unknown agent or call, an answer
    /// to an offer nobody made) changes nothing and says why.
    pub fn handle(&mut self, input: Input, now_ms: u64) -> Result<Vec<Action>, String> {
        let mut out = Vec::new();
        match input {
            Input::AgentJoined { agent, state } => {
                let id = agent.id.clone();
                match self.agents.get_mut(&id) {
                    // Their details change; their state is the distributor's.
                    Some(slot) => slot.agent = agent,
                    None => {
                        let state = if state.settable() { state } else { AgentState::Offline };
                        self.agents.insert(id.clone(), Slot { agent, state, idle_since_ms: now_ms, deadline_ms: None, call: None });
                    }
                }
            }
            Input::AgentRemoved { agent } => {
                self.slot(&agent)?;
                self.release_offer(&agent, "agent_gone", &mut out);
                self.agents.remove(&agent);
            }
            Input::SetState { agent, state } => {
                if !state.settable() {
                    return Err(format!("an agent's state can be set to offline, available or away, not {state}"));
                }
                let current = self.slot(&agent)?.state;
                match current {
                    AgentState::OnCall => return Err(format!("agent {agent} is on a call; their state changes after it")),
                    AgentState::Ringing => self.release_offer(&agent, "agent_gone", &mut out),
                    _ => {}
                }
                self.set(&agent, state, now_ms, &mut out);
            }
            Input::AgentLost { agent } => {
                self.slot(&agent)?;
                self.release_offer(&agent, "agent_gone", &mut out);
                if let Some(s) = self.agents.get_mut(&agent) {
                    s.call = None;
                }
                self.set(&agent, AgentState::Offline, now_ms, &mut out);
            }
            Input::Enqueue(req) => {
                if self.queue.iter().any(|w| w.req.call == req.call) {
                    return Err(format!("call {} is queued already", req.call));
                }
                let priority = self.config.priorities.get(&req.reason).copied().unwrap_or(0);
                self.seq += 1;
                self.queue.push(Waiting { req, priority, queued_ms: now_ms, seq: self.seq, offered_to: None, tried: Vec::new(), next_announce_ms: now_ms + self.config.announce_every_ms, announced: false });
                self.queue.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.queued_ms.cmp(&b.queued_ms)).then(a.seq.cmp(&b.seq)));
            }
            Input::CallerGone { call } => {
                let i = self.index(&call)?;
                let waited_ms = self.leave_queue(i, now_ms, &mut out);
                out.push(Action::Abandoned { call, waited_ms });
            }
            Input::Accepted { call, agent } => {
                let i = self.index(&call)?;
                if self.queue[i].offered_to.as_deref() != Some(agent.as_str()) || self.slot(&agent)?.state != AgentState::Ringing {
                    return Err(format!("call {call} is not ringing for agent {agent}"));
                }
                let w = self.queue.remove(i);
                if let Some(s) = self.agents.get_mut(&agent) {
                    s.deadline_ms = None;
                }
                self.set(&agent, AgentState::OnCall, now_ms, &mut out);
                out.push(Action::Connected { call, agent, waited_ms: now_ms.saturating_sub(w.queued_ms) });
            }
            Input::Connecting { call, agent, until_ms } => {
                let i = self.index(&call)?;
                if self.queue[i].offered_to.as_deref() != Some(agent.as_str()) {
                    return Err(format!("call {call} is not ringing for agent {agent}"));
                }
                if let Some(s) = self.agents.get_mut(&agent) {
                    s.deadline_ms = s.deadline_ms.map(|d| d.max(until_ms));
                }
            }
            Input::Declined { call, agent } => {
                let i = self.index(&call)?;
                if self.queue[i].offered_to.as_deref() != Some(agent.as_str()) {
                    return Err(format!("call {call} is not ringing for agent {agent}"));
                }
                self.queue[i].offered_to = None;
                self.queue[i].tried.push(agent.clone());
                // Back in line behind the others who are free.
                self.back_to_available(&agent, true, now_ms, &mut out);
                self.dispatch(now_ms, &mut out);
            }
            Input::CallDone { agent } => {
                if self.slot(&agent)?.state != AgentState::OnCall {
                    return Err(format!("agent {agent} is not on a call"));
                }
                if let Some(s) = self.agents.get_mut(&agent) {
                    s.call = None;
                }
                if self.config.wrap_up_ms == 0 {
                    self.back_to_available(&agent, true, now_ms, &mut out);
                } else {
                    self.set(&agent, AgentState::WrapUp, now_ms, &mut out);
                    if let Some(s) = self.agents.get_mut(&agent) {
                        s.deadline_ms = Some(now_ms + self.config.wrap_up_ms);
                    }
                }
            }
        }
        self.dispatch(now_ms, &mut out);
        self.announce_new(now_ms, &mut out);
        Ok(out)
    }

    /// Callers waiting with no agent ringing for them are told where they stand the first
    /// time they wait so: on entry, or when the offers made at once came to nothing.
    fn announce_new(&mut self, now_ms: u64, out: &mut Vec<Action>) {
        let due: Vec<String> = self.queue.iter().filter(|w| w.offered_to.is_none() && !w.announced).map(|w| w.req.call.clone()).collect();
        for call in due {
            if let Some(a) = self.announcement(&call) {
                out.push(a);
            }
            if let Some(w) = self.queue.iter_mut().find(|w| w.req.call == call) {
                w.announced = true;
                w.next_announce_ms = now_ms + self.config.announce_every_ms;
            }
        }
    }

    /// What the clock at `now_ms` brings: offers that rang out, wrap-ups over, announcements,
    /// callers who waited too long.
    pub fn on_timeout(&mut self, now_ms: u64) -> Vec<Action> {
        let mut out = Vec::new();
        let due: Vec<(String, AgentState)> = self.agents.values().filter(|s| s.deadline_ms.is_some_and(|d| d <= now_ms)).map(|s| (s.agent.id.clone(), s.state)).collect();
        for (agent, state) in due {
            match state {
                AgentState::Ringing => {
                    if let Some(call) = self.agents.get(&agent).and_then(|s| s.call.clone()) {
                        if let Some(w) = self.queue.iter_mut().find(|w| w.req.call == call) {
                            w.offered_to = None;
                            w.tried.push(agent.clone());
                        }
                        out.push(Action::NoAnswer { call: call.clone(), agent: agent.clone() });
                        out.push(Action::Withdraw { call, agent: agent.clone(), why: "ring_timeout" });
                    }
                    if let Some(s) = self.agents.get_mut(&agent) {
                        s.call = None;
                    }
                    self.set(&agent, AgentState::Away, now_ms, &mut out);
                }
                AgentState::WrapUp => self.back_to_available(&agent, true, now_ms, &mut out),
                _ => {}
            }
        }
        let gave_up: Vec<String> = self.queue.iter().filter(|w| w.queued_ms + self.config.max_wait_ms <= now_ms).map(|w| w.req.call.clone()).collect();
        for call in gave_up {
            if let Ok(i) = self.index(&call) {
                let waited_ms = self.leave_queue(i, now_ms, &mut out);
                out.push(Action::GiveUp { call, waited_ms });
            }
        }
        self.dispatch(now_ms, &mut out);
        self.announce_new(now_ms, &mut out);
        let due: Vec<String> = self.queue.iter().filter(|w| w.offered_to.is_none() && w.next_announce_ms <= now_ms).map(|w| w.req.call.clone()).collect();
        for call in due {
            if let Some(a) = self.announcement(&call) {
                out.push(a);
            }
            if let Some(w) = self.queue.iter_mut().find(|w| w.req.call == call) {
                w.next_announce_ms = now_ms + self.config.announce_every_ms;
            }
        }
        out
    }

    /// The call at `i` leaves the queue before anyone took it; an offer ringing for it is
    /// withdrawn and the agent keeps their place in the idle line. How long it waited.
    fn leave_queue(&mut self, i: usize, now_ms: u64, out: &mut Vec<Action>) -> u64 {
        let w = self.queue.remove(i);
        if let Some(agent) = w.offered_to {
            out.push(Action::Withdraw { call: w.req.call.clone(), agent: agent.clone(), why: "caller_gone" });
            self.back_to_available(&agent, false, now_ms, out);
        }
        now_ms.saturating_sub(w.queued_ms)
    }

    fn slot(&self, agent: &str) -> Result<&Slot, String> {
        self.agents.get(agent).ok_or_else(|| format!("no agent {agent}"))
    }

    fn index(&self, call: &str) -> Result<usize, String> {
        self.queue.iter().position(|w| w.req.call == call).ok_or_else(|| format!("call {call} is not queued"))
    }

    fn set(&mut self, agent: &str, state: AgentState, now_ms: u64, out: &mut Vec<Action>) {
        if let Some(s) = self.agents.get_mut(agent) {
            if s.state != state {
                out.push(Action::AgentState { agent: agent.to_string(), state, was: s.state });
                s.state = state;
            }
            if state != AgentState::Ringing && state != AgentState::WrapUp {
                s.deadline_ms = None;
            }
            if state == AgentState::Available {
                s.idle_since_ms = now_ms;
            }
        }
    }

    /// An agent free again. `fresh`: they go to the back of the idle line (after a call or a
    /// decline); else they keep their place (an offer withdrawn through no doing of theirs).
    fn back_to_available(&mut self, agent: &str, fresh: bool, now_ms: u64, out: &mut Vec<Action>) {
        let kept = self.agents.get(agent).map(|s| s.idle_since_ms);
        self.set(agent, AgentState::Available, now_ms, out);
        if let (Some(s), Some(idle), false) = (self.agents.get_mut(agent), kept, fresh) {
            s.idle_since_ms = idle;
        }
        if let Some(s) = self.agents.get_mut(agent) {
            s.call = None;
        }
    }

    /// The call offered to `agent`, if any, goes back to waiting.
    fn release_offer(&mut self, agent: &str, why: &'static str, out: &mut Vec<Action>) {
        let Some(call) = self.agents.get(agent).filter(|s| s.state == AgentState::Ringing).and_then(|s| s.call.clone()) else { return };
        if let Some(w) = self.queue.iter_mut().find(|w| w.req.call == call) {
            w.offered_to = None;
            w.tried.push(agent.to_string());
        }
        if let Some(s) = self.agents.get_mut(agent) {
            s.call = None;
            s.deadline_ms = None;
        }
        out.push(Action::Withdraw { call, agent: agent.to_string(), why });
    }

    /// Offers each waiting call, in order, to the best free agent for it.
    fn dispatch(&mut self, now_ms: u64, out: &mut Vec<Action>) {
        for i in 0..self.queue.len() {
            if self.queue[i].offered_to.is_some() {
                continue;
            }
            let Some(agent) = self.best_agent(&self.queue[i]) else { continue };
            let call = self.queue[i].req.call.clone();
            self.queue[i].offered_to = Some(agent.clone());
            self.set(&agent, AgentState::Ringing, now_ms, out);
            if let Some(s) = self.agents.get_mut(&agent) {
                s.call = Some(call.clone());
                s.deadline_ms = Some(now_ms + self.config.ring_timeout_ms);
            }
            out.push(Action::Offer { call, agent });
        }
    }

    /// A free agent who speaks the caller's language and has not turned the call down: those
    /// with its skill first, then the longest idle.
    fn best_agent(&self, w: &Waiting) -> Option<String> {
        let skilled = |s: &Slot| w.req.skill.as_ref().is_some_and(|k| s.agent.skills.contains(k));
        self.agents
            .values()
            .filter(|s| s.state == AgentState::Available && s.agent.languages.contains(&w.req.lang) && !w.tried.contains(&s.agent.id))
            .min_by(|a, b| skilled(b).cmp(&skilled(a)).then(a.idle_since_ms.cmp(&b.idle_since_ms)).then(a.agent.id.cmp(&b.agent.id)))
            .map(|s| s.agent.id.clone())
    }

    /// A waiting call's position (1 for the next served) and the wait it can expect: the calls
    /// ahead of it, each taking the handling time, shared by the agents who speak its language.
    fn announcement(&self, call: &str) -> Option<Action> {
        let waiting: Vec<&Waiting> = self.queue.iter().filter(|w| w.offered_to.is_none()).collect();
        let pos = waiting.iter().position(|w| w.req.call == call)?;
        let w = waiting[pos];
        let staffed = self.agents.values().filter(|s| s.state != AgentState::Offline && s.state != AgentState::Away && s.agent.languages.contains(&w.req.lang)).count();
        let estimate = (pos as u64 + 1) * self.config.handle_time_ms / staffed.max(1) as u64;
        Some(Action::Announce { call: call.to_string(), position: pos + 1, wait_estimate_ms: estimate })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(id: &str, langs: &[&str], skills: &[&str]) -> Agent {
        Agent { id: id.into(), name: id.into(), languages: langs.iter().map(|s| s.to_string()).collect(), skills: skills.iter().map(|s| s.to_string()).collect(), sip: None }
    }

    fn call(id: &str, lang: &str, skill: Option<&str>, reason: &str) -> Input {
        Input::Enqueue(CallRequest { call: id.into(), lang: lang.into(), skill: skill.map(str::to_string), reason: reason.into() })
    }

    fn join(acd: &mut Acd, a: Agent, now: u64) {
        acd.handle(Input::AgentJoined { agent: a, state: AgentState::Available }, now).expect("joins");
    }

    fn offers(actions: &[Action]) -> Vec<(String, String)> {
        actions.iter().filter_map(|a| if let Action::Offer { call, agent } = a { Some((call.clone(), agent.clone())) } else { None }).collect()
    }

    fn offer(c: &str, a: &str) -> (String, String) {
        (c.into(), a.into())
    }

    #[test]
    fn routes_by_language_then_skill_then_longest_idle() {
        let mut acd = Acd::new(AcdConfig::default());
        join(&mut acd, agent("ann", &["en"], &[]), 0);
        join(&mut acd, agent("bo", &["en"], &["returns"]), 10);
        join(&mut acd, agent("chen", &["zh", "en"], &[]), 20);
        // Chinese: only chen speaks it.
        assert_eq!(offers(&acd.handle(call("c1", "zh", None, "anger"), 100).unwrap()), [offer("c1", "chen")]);
        // A return: bo has the skill, although ann has been idle longer.
        assert_eq!(offers(&acd.handle(call("c2", "en", Some("returns"), "caller_request"), 110).unwrap()), [offer("c2", "bo")]);
        // No skill asked: the longest idle, ann.
        assert_eq!(offers(&acd.handle(call("c3", "en", None, "unresolved"), 120).unwrap()), [offer("c3", "ann")]);
        assert_eq!(acd.state_of("ann"), Some(AgentState::Ringing));
        // Nobody left: the next caller waits, told their position.
        let a = acd.handle(call("c4", "en", None, "unresolved"), 130).unwrap();
        assert!(offers(&a).is_empty());
        assert!(a.contains(&Action::Announce { call: "c4".into(), position: 1, wait_estimate_ms: 60_000 }), "{a:?}");
    }

    #[test]
    fn a_caller_offered_at_once_is_told_where_they_stand_when_the_offers_come_to_nothing() {
        let mut acd = Acd::new(AcdConfig::default());
        join(&mut acd, agent("ann", &["en"], &[]), 0);
        let a = acd.handle(call("c1", "en", None, "anger"), 100).unwrap();
        assert_eq!(offers(&a), [offer("c1", "ann")]);
        assert!(!a.iter().any(|x| matches!(x, Action::Announce { .. })), "ringing for them: no announcement {a:?}");
        let a = acd.handle(Input::Declined { call: "c1".into(), agent: "ann".into() }, 2_000).unwrap();
        assert!(a.iter().any(|x| matches!(x, Action::Announce { call, position: 1, .. } if call == "c1")), "{a:?}");
        // Then every announce_every_ms, not at once again.
        assert!(!acd.on_timeout(3_000).iter().any(|x| matches!(x, Action::Announce { .. })));
        assert!(acd.on_timeout(32_000).iter().any(|x| matches!(x, Action::Announce { .. })));
    }

    #[test]
    fn angry_and_high_risk_callers_are_served_first() {
        let mut acd = Acd::new(AcdConfig::default());
        join(&mut acd, agent("ann", &["en"], &[]), 0);
        acd.handle(Input::SetState { agent: "ann".into(), state: AgentState::Away }, 1).unwrap();
        acd.handle(call("calm", "en", None, "unresolved"), 10).unwrap();
        acd.handle(call("asked", "en", None, "caller_request"), 20).unwrap();
        let a = acd.handle(call("angry", "en", None, "anger"), 30).unwrap();
        assert!(a.contains(&Action::Announce { call: "angry".into(), position: 1, wait_estimate_ms: 180_000 }), "{a:?}");
        let order: Vec<&str> = acd.waiting().iter().map(|r| r.call.as_str()).collect();
        assert_eq!(order, ["angry", "asked", "calm"]);
        let a = acd.handle(Input::SetState { agent: "ann".into(), state: AgentState::Available }, 40).unwrap();
        assert_eq!(offers(&a), [offer("angry", "ann")]);
    }

    #[test]
    fn an_offer_that_rings_out_goes_to_the_next_agent_and_the_first_goes_away() {
        let mut acd = Acd::new(AcdConfig { ring_timeout_ms: 15_000, ..AcdConfig::default() });
        join(&mut acd, agent("ann", &["en"], &[]), 0);
        join(&mut acd, agent("bo", &["en"], &[]), 5);
        assert_eq!(offers(&acd.handle(call("c1", "en", None, "anger"), 100).unwrap()), [offer("c1", "ann")]);
        assert_eq!(acd.poll_timeout(), Some(15_100));
        assert!(acd.on_timeout(15_099).is_empty());
        let a = acd.on_timeout(15_100);
        assert!(a.contains(&Action::NoAnswer { call: "c1".into(), agent: "ann".into() }), "{a:?}");
        assert!(a.contains(&Action::AgentState { agent: "ann".into(), state: AgentState::Away, was: AgentState::Ringing }));
        assert_eq!(offers(&a), [offer("c1", "bo")]);
        // bo declines; ann is away and nobody else speaks English: the call waits.
        let a = acd.handle(Input::Declined { call: "c1".into(), agent: "bo".into() }, 16_000).unwrap();
        assert!(offers(&a).is_empty(), "not offered again to who declined: {a:?}");
        assert_eq!(acd.state_of("bo"), Some(AgentState::Available));
        // A new agent comes: they get it.
        let a = acd.handle(Input::AgentJoined { agent: agent("cy", &["en"], &[]), state: AgentState::Available }, 17_000).unwrap();
        assert_eq!(offers(&a), [offer("c1", "cy")]);
    }

    #[test]
    fn wrap_up_ends_on_the_clock_and_the_agent_takes_the_next_call() {
        let mut acd = Acd::new(AcdConfig { wrap_up_ms: 30_000, announce_every_ms: 1_000_000, max_wait_ms: 1_000_000, ..AcdConfig::default() });
        join(&mut acd, agent("ann", &["en"], &[]), 0);
        acd.handle(call("c1", "en", None, "anger"), 10).unwrap();
        let a = acd.handle(Input::Accepted { call: "c1".into(), agent: "ann".into() }, 2_010).unwrap();
        assert!(a.contains(&Action::Connected { call: "c1".into(), agent: "ann".into(), waited_ms: 2_000 }), "{a:?}");
        assert!(acd.waiting().is_empty());
        acd.handle(call("c2", "en", None, "unresolved"), 3_000).unwrap();
        assert!(acd.handle(Input::SetState { agent: "ann".into(), state: AgentState::Away }, 3_500).is_err(), "on a call");
        acd.handle(Input::CallDone { agent: "ann".into() }, 60_000).unwrap();
        assert_eq!(acd.state_of("ann"), Some(AgentState::WrapUp));
        assert_eq!(acd.poll_timeout(), Some(90_000));
        let a = acd.on_timeout(90_000);
        assert_eq!(offers(&a), [offer("c2", "ann")]);
    }

    #[test]
    fn an_agent_going_offline_while_ringing_passes_the_call_on() {
        let mut acd = Acd::new(AcdConfig::default());
        join(&mut acd, agent("ann", &["en"], &[]), 0);
        join(&mut acd, agent("bo", &["en"], &[]), 1);
        acd.handle(call("c1", "en", None, "anger"), 10).unwrap();
        let a = acd.handle(Input::SetState { agent: "ann".into(), state: AgentState::Offline }, 20).unwrap();
        assert!(a.contains(&Action::Withdraw { call: "c1".into(), agent: "ann".into(), why: "agent_gone" }), "{a:?}");
        assert_eq!(offers(&a), [offer("c1", "bo")]);
        // The desktop of the agent on the call vanishes: offline, and the gateway re-queues.
        acd.handle(Input::Accepted { call: "c1".into(), agent: "bo".into() }, 30).unwrap();
        let a = acd.handle(Input::AgentLost { agent: "bo".into() }, 40).unwrap();
        assert!(a.contains(&Action::AgentState { agent: "bo".into(), state: AgentState::Offline, was: AgentState::OnCall }));
    }

    #[test]
    fn a_caller_who_hangs_up_while_queued_is_abandoned_and_the_offer_withdrawn() {
        let mut acd = Acd::new(AcdConfig::default());
        join(&mut acd, agent("ann", &["en"], &[]), 0);
        acd.handle(call("c1", "en", None, "anger"), 1_000).unwrap();
        let a = acd.handle(Input::CallerGone { call: "c1".into() }, 4_000).unwrap();
        assert_eq!(
            a,
            [
                Action::Withdraw { call: "c1".into(), agent: "ann".into(), why: "caller_gone" },
                Action::AgentState { agent: "ann".into(), state: AgentState::Available, was: AgentState::Ringing },
                Action::Abandoned { call: "c1".into(), waited_ms: 3_000 },
            ]
        );
        assert_eq!(acd.poll_timeout(), None, "nothing left to time");
    }

    #[test]
    fn waiting_callers_hear_their_position_again_and_give_up_after_the_maximum_wait() {
        let mut acd = Acd::new(AcdConfig { announce_every_ms: 30_000, max_wait_ms: 100_000, ..AcdConfig::default() });
        acd.handle(call("c1", "en", None, "anger"), 0).unwrap();
        acd.handle(call("c2", "en", None, "unresolved"), 5_000).unwrap();
        assert_eq!(acd.poll_timeout(), Some(30_000));
        let a = acd.on_timeout(30_000);
        assert_eq!(a, [Action::Announce { call: "c1".into(), position: 1, wait_estimate_ms: 180_000 }]);
        let a = acd.on_timeout(35_000);
        assert_eq!(a, [Action::Announce { call: "c2".into(), position: 2, wait_estimate_ms: 360_000 }]);
        let a = acd.on_timeout(100_000);
        assert!(a.contains(&Action::GiveUp { call: "c1".into(), waited_ms: 100_000 }), "{a:?}");
        assert_eq!(acd.waiting().len(), 1);
    }

    #[test]
    fn inputs_that_do_not_fit_change_nothing_and_say_why() {
        let mut acd = Acd::new(AcdConfig::default());
        join(&mut acd, agent("ann", &["en"], &[]), 0);
        assert_eq!(acd.handle(Input::SetState { agent: "nobody".into(), state: AgentState::Away }, 1), Err("no agent nobody".into()));
        assert!(acd.handle(Input::SetState { agent: "ann".into(), state: AgentState::OnCall }, 1).is_err());
        assert!(acd.handle(Input::Accepted { call: "c9".into(), agent: "ann".into() }, 1).is_err());
        acd.handle(call("c1", "zh", None, "anger"), 2).unwrap();
        assert!(acd.handle(Input::Accepted { call: "c1".into(), agent: "ann".into() }, 3).is_err(), "never offered to ann");
        assert!(acd.handle(call("c1", "zh", None, "anger"), 4).is_err(), "queued twice");
        assert!(acd.handle(Input::CallDone { agent: "ann".into() }, 5).is_err());
        assert_eq!(acd.state_of("ann"), Some(AgentState::Available));
        assert_eq!(acd.waiting().len(), 1);
    }
}
