//! The agents' desk: the distributor (`acd`) run for a gateway. Calls handed off join its
//! queue with a channel for what happens to them (`DeskNote`); the desk carries the
//! distributor's actions out (rings SIP agents, withdraws offers, keeps agents' states in the
//! store) and keeps its clock. The distributor decides; nothing here does.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use voicegate_sip::client::{CallError, SipClient};

use super::acd::{Acd, AcdConfig, Action, CallRequest, Input};
use super::desktop::{DesktopNote, Desktops};
use super::leg::{sip_leg, AgentLeg};
use super::{AgentState, AgentStore};
use crate::live::room::HoldAudio;
use crate::store::Store;

/// What happens to a queued call, told to the call.
pub enum DeskNote {
    Offered { agent: String },
    Declined { agent: String, why: String },
    NoAnswer { agent: String },
    /// Where the caller stands.
    Announce { position: usize, wait_estimate_ms: u64 },
    /// The agent answered: their leg.
    Connected { leg: AgentLeg },
    /// Waited too long.
    GaveUp,
}

struct Inner {
    acd: Acd,
    calls: HashMap<String, mpsc::UnboundedSender<DeskNote>>,
    /// Offers ringing: call -> (agent, withdraws it).
    offers: HashMap<String, (String, CancellationToken)>,
    /// When each queued call joined (the desk's clock).
    queued_at: HashMap<String, u64>,
}

pub struct Desk {
    inner: Mutex<Inner>,
    store: Arc<Store>,
    started: Instant,
    wake: Notify,
    /// Places calls to SIP agents.
    sip: Option<SipClient>,
    rtp_ports: (u16, u16),
    /// Frames the agent's leg buffers against jitter (as the caller's leg: `sip.jitter_ms`).
    jitter_depth: usize,
    /// What waiting callers hear (read once, shared by every call).
    hold: HoldAudio,
    /// The browser agents' open desktops.
    pub desktops: Desktops,
    /// Where agents' softphones registered.
    softphones: Option<Arc<super::softphones::Softphones>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Desk {
    /// A desk with the agents in the store; `sip_bind` is where calls to SIP agents go out
    /// from (none: SIP agents cannot be reached).
    pub async fn start(config: AcdConfig, store: Arc<Store>, sip_bind: Option<SocketAddr>, rtp_ports: (u16, u16), jitter_depth: usize, hold: HoldAudio, softphones: Option<Arc<super::softphones::Softphones>>) -> Arc<Self> {
        let sip = match sip_bind {
            Some(b) => match SipClient::new(b).await {
                Ok(c) => Some(c),
                Err(e) => {
                    warn!(error = %e, "SIP agents cannot be called");
                    None
                }
            },
            None => None,
        };
        // States a previous process left mid-call mean nothing now.
        for r in store.agents().unwrap_or_default() {
            if !r.state.settable() {
                let state = if r.agent.sip.is_some() { AgentState::Available } else { AgentState::Offline };
                let _ = store.set_agent_state(&r.agent.id, state);
            }
        }
        let desk = Arc::new(Self { inner: Mutex::new(Inner { acd: Acd::new(config), calls: HashMap::new(), offers: HashMap::new(), queued_at: HashMap::new() }), store, started: Instant::now(), wake: Notify::new(), sip, rtp_ports, jitter_depth: jitter_depth.max(1), hold, desktops: Desktops::default(), softphones });
        desk.sync_agents();
        let d = desk.clone();
        tokio::spawn(async move { d.keep_time().await });
        desk
    }

    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// The agents as the store has them: new ones join, removed ones leave, and a state set
    /// from outside (`voicegate agents state`, the API) is applied.
    pub fn sync_agents(self: &Arc<Self>) {
        let agents = match self.store.agents() {
            Ok(a) => a,
            Err(e) => {
                warn!(error = %e, "agents not read");
                return;
            }
        };
        let now = self.now();
        let mut inputs = Vec::new();
        {
            let inner = lock(&self.inner);
            for r in &agents {
                match inner.acd.state_of(&r.agent.id) {
                    None => inputs.push(Input::AgentJoined { agent: r.agent.clone(), state: r.state }),
                    Some(s) if s != r.state && s.settable() && r.state.settable() => inputs.push(Input::SetState { agent: r.agent.id.clone(), state: r.state }),
                    // Known, in the state the desk gave them: nothing to do.
                    Some(_) => {}
                }
            }
            for id in inner.acd.agent_ids() {
                if !agents.iter().any(|r| r.agent.id == id) {
                    inputs.push(Input::AgentRemoved { agent: id });
                }
            }
        }
        for i in inputs {
            let _ = self.input(i, now);
        }
    }

    /// One input to the distributor, its actions carried out.
    fn input(self: &Arc<Self>, input: Input, now: u64) -> Result<Vec<Action>, String> {
        let mut inner = lock(&self.inner);
        let actions = inner.acd.handle(input, now)?;
        self.carry(&mut inner, &actions);
        drop(inner);
        self.wake.notify_one();
        Ok(actions)
    }

    /// A handed-off call joins the queue; what happens to it comes on `notes`.
    /// Returns the call's place (1 = next) and the wait expected.
    pub fn enqueue(self: &Arc<Self>, req: CallRequest, notes: mpsc::UnboundedSender<DeskNote>) -> Result<(usize, u64), String> {
        let call = req.call.clone();
        {
            let mut inner = lock(&self.inner);
            inner.calls.insert(call.clone(), notes);
            inner.queued_at.insert(call.clone(), self.now());
        }
        info!(call = %req.call, reason = %req.reason, lang = %req.lang, skill = ?req.skill, "queued for an agent");
        let actions = self.input(Input::Enqueue(req), self.now()).inspect_err(|_| {
            lock(&self.inner).calls.remove(&call);
        })?;
        let announced = actions.iter().find_map(|a| match a {
            Action::Announce { call: c, position, wait_estimate_ms } if *c == call => Some((*position, *wait_estimate_ms)),
            _ => None,
        });
        Ok(announced.unwrap_or_else(|| (self.waiting().iter().position(|w| w.call == call).map(|i| i + 1).unwrap_or(1), 0)))
    }

    /// The caller left the queue (hung up, or asked for a callback): how long they waited.
    pub fn caller_gone(self: &Arc<Self>, call: &str) -> Option<u64> {
        let r = self.input(Input::CallerGone { call: call.to_string() }, self.now());
        {
            let mut inner = lock(&self.inner);
            inner.calls.remove(call);
            inner.queued_at.remove(call);
        }
        r.ok()?.iter().find_map(|a| match a {
            Action::Abandoned { waited_ms, .. } => Some(*waited_ms),
            _ => None,
        })
    }

    /// The agent is done with their call: wrap-up, then available.
    pub fn call_done(self: &Arc<Self>, agent: &str) {
        if let Err(e) = self.input(Input::CallDone { agent: agent.to_string() }, self.now()) {
            warn!(agent, error = %e, "call done");
        }
    }

    /// A person or the API sets an agent's state.
    pub fn set_state(self: &Arc<Self>, agent: &str, state: AgentState) -> Result<(), String> {
        self.input(Input::SetState { agent: agent.to_string(), state }, self.now()).map(|_| ())
    }

    /// The agent's desktop is gone (closed, lost): offline, and an offer ringing goes on.
    pub fn agent_lost(self: &Arc<Self>, agent: &str) {
        let _ = self.input(Input::AgentLost { agent: agent.to_string() }, self.now());
    }

    /// The agent a call rings for now, if it rings.
    pub fn offered_to(&self, call: &str) -> Option<String> {
        lock(&self.inner).offers.get(call).map(|(a, _)| a.clone())
    }

    /// The agent accepted on their desktop; its media has `within` to connect before the offer
    /// rings out.
    pub fn connecting(self: &Arc<Self>, call: &str, agent: &str, within: Duration) -> Result<(), String> {
        let until_ms = self.now() + within.as_millis() as u64;
        self.input(Input::Connecting { call: call.to_string(), agent: agent.to_string(), until_ms }, self.now()).map(|_| ())
    }

    /// The agent declined on their desktop: the next agent.
    pub fn declined(self: &Arc<Self>, call: &str, agent: &str, why: &str) {
        info!(call, agent, why, "the agent declined");
        Self::tell(&lock(&self.inner), call, DeskNote::Declined { agent: agent.to_string(), why: why.to_string() });
        let _ = self.input(Input::Declined { call: call.to_string(), agent: agent.to_string() }, self.now());
    }

    /// The hold audio, at its start, for one more waiting caller.
    pub fn hold_audio(&self) -> HoldAudio {
        self.hold.clone()
    }

    pub fn state_of(&self, agent: &str) -> Option<AgentState> {
        lock(&self.inner).acd.state_of(agent)
    }

    /// The call an agent is on.
    pub fn call_of(&self, agent: &str) -> Option<String> {
        lock(&self.inner).acd.call_of(agent).map(str::to_string)
    }

    /// Calls waiting, in the order they are served, with how long each has waited and the
    /// agent it rings for.
    pub fn waiting_now(&self) -> Vec<(CallRequest, u64, Option<String>)> {
        let now = self.now();
        let inner = lock(&self.inner);
        inner
            .acd
            .waiting()
            .into_iter()
            .map(|r| {
                let waited = inner.queued_at.get(&r.call).map(|t| now.saturating_sub(*t)).unwrap_or(0);
                let ringing = inner.offers.get(&r.call).map(|(a, _)| a.clone());
                (r.clone(), waited, ringing)
            })
            .collect()
    }

    /// Calls waiting, in the order they are served.
    pub fn waiting(&self) -> Vec<CallRequest> {
        lock(&self.inner).acd.waiting().into_iter().cloned().collect()
    }

    fn tell(inner: &Inner, call: &str, note: DeskNote) {
        if let Some(tx) = inner.calls.get(call) {
            let _ = tx.send(note);
        }
    }

    fn carry(self: &Arc<Self>, inner: &mut Inner, actions: &[Action]) {
        for a in actions {
            match a {
                Action::AgentState { agent, state, was } => {
                    info!(agent, %state, %was, "agent state");
                    self.desktops.tell(agent, DesktopNote::State { state: *state });
                    if let Err(e) = self.store.set_agent_state(agent, *state) {
                        warn!(agent, error = %e, "agent state not stored");
                    }
                }
                Action::Offer { call, agent } => {
                    Self::tell(inner, call, DeskNote::Offered { agent: agent.clone() });
                    let cancel = CancellationToken::new();
                    inner.offers.insert(call.clone(), (agent.clone(), cancel.clone()));
                    // Their softphone where it registered, else their configured phone.
                    let sip = self.softphones.as_ref().and_then(|p| p.contact(agent)).or_else(|| self.store.agent(agent).ok().flatten().and_then(|r| r.agent.sip));
                    match sip {
                        Some(uri) => {
                            let (d, call, agent) = (self.clone(), call.clone(), agent.clone());
                            tokio::spawn(async move { d.ring_sip(call, agent, uri, cancel).await });
                        }
                        // A browser agent sees the offer on their desktop, which answers or
                        // declines on its socket; without one open they cannot be reached.
                        None => {
                            let waited_ms = inner.queued_at.get(call).map(|t| self.now().saturating_sub(*t)).unwrap_or(0);
                            if !self.desktops.tell(agent, DesktopNote::Offer { call: call.clone(), waited_ms }) {
                                let (d, call, agent) = (self.clone(), call.clone(), agent.clone());
                                tokio::spawn(async move { d.unreachable(&call, &agent, "no desktop open".into()) });
                            }
                        }
                    }
                }
                Action::Withdraw { call, agent, why } => {
                    if let Some((a, cancel)) = inner.offers.remove(call) {
                        if &a == agent {
                            cancel.cancel();
                        }
                    }
                    self.desktops.tell(agent, DesktopNote::Withdrawn { call: call.clone(), why: why.to_string() });
                    info!(call, agent, why, "offer withdrawn");
                }
                Action::NoAnswer { call, agent } => Self::tell(inner, call, DeskNote::NoAnswer { agent: agent.clone() }),
                Action::Announce { call, position, wait_estimate_ms } => Self::tell(inner, call, DeskNote::Announce { position: *position, wait_estimate_ms: *wait_estimate_ms }),
                Action::Connected { call, .. } => {
                    inner.offers.remove(call);
                    inner.queued_at.remove(call);
                }
                Action::Abandoned { call, .. } => {
                    inner.offers.remove(call);
                    inner.queued_at.remove(call);
                }
                Action::GiveUp { call, .. } => {
                    Self::tell(inner, call, DeskNote::GaveUp);
                    inner.calls.remove(call);
                    inner.queued_at.remove(call);
                }
            }
        }
    }

    /// Rings a SIP agent for `call` until they answer, refuse, or the offer is withdrawn.
    async fn ring_sip(self: Arc<Self>, call: String, agent: String, uri: String, cancel: CancellationToken) {
        let Some(sip) = &self.sip else {
            self.unreachable(&call, &agent, "no SIP user agent for agents".into());
            return;
        };
        match sip.call_as("voicegate", &uri, None, self.rtp_ports, self.jitter_depth, &cancel).await {
            Ok(answered) => {
                let leg = sip_leg(&agent, answered);
                self.answered(call, agent, leg).await;
            }
            Err(CallError::Cancelled) => {}
            Err(CallError::Refused(code, why)) => {
                info!(call, agent, code, why, "the agent declined");
                Self::tell(&lock(&self.inner), &call, DeskNote::Declined { agent: agent.clone(), why: code.to_string() });
                let _ = self.input(Input::Declined { call, agent }, self.now());
            }
            Err(CallError::Failed(why)) => self.unreachable(&call, &agent, why),
        }
    }

    /// The agent answered `call` (their phone, their desktop): their leg joins the call, or
    /// is hung up when the call is no longer there for them.
    /// True when it joined.
    pub async fn answered(self: &Arc<Self>, call: String, agent: String, leg: AgentLeg) -> bool {
        let r = self.input(Input::Accepted { call: call.clone(), agent: agent.clone() }, self.now());
        // The call's channel, taken: the call is no longer the desk's once connected.
        let tx = if r.is_ok() { lock(&self.inner).calls.remove(&call) } else { None };
        match tx {
            Some(tx) => {
                if let Err(mpsc::error::SendError(DeskNote::Connected { leg })) = tx.send(DeskNote::Connected { leg }) {
                    (leg.hangup)().await;
                    self.call_done(&agent);
                    return false;
                }
                true
            }
            None => {
                // Answered too late: the caller is gone or the offer was withdrawn.
                info!(call, agent, why = ?r.err(), "the agent answered a call no longer there");
                (leg.hangup)().await;
                if self.state_of(&agent) == Some(AgentState::OnCall) {
                    self.call_done(&agent);
                }
                false
            }
        }
    }

    /// The agent could not be reached: the call goes on to the next, the agent goes away.
    pub fn unreachable(self: &Arc<Self>, call: &str, agent: &str, why: String) {
        warn!(call, agent, error = %why, "agent unreachable");
        let now = self.now();
        Self::tell(&lock(&self.inner), call, DeskNote::NoAnswer { agent: agent.to_string() });
        // Away while ringing: the offer goes to the next agent, not to them again.
        let _ = self.input(Input::SetState { agent: agent.to_string(), state: AgentState::Away }, now);
    }

    /// The distributor's clock: ring timeouts, wrap-ups, announcements, maximum waits; and the
    /// agents in the store, every two seconds.
    async fn keep_time(self: Arc<Self>) {
        let mut next_sync = self.now() + 2_000;
        loop {
            let due = lock(&self.inner).acd.poll_timeout().unwrap_or(u64::MAX).min(next_sync);
            let wait = due.saturating_sub(self.now());
            let _ = tokio::time::timeout(Duration::from_millis(wait), self.wake.notified()).await;
            let now = self.now();
            {
                let mut inner = lock(&self.inner);
                let actions = inner.acd.on_timeout(now);
                self.carry(&mut inner, &actions);
            }
            if now >= next_sync {
                self.sync_agents();
                next_sync = now + 2_000;
            }
        }
    }
}
