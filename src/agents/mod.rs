//! Live agents: who they are (`Agent`), the states they go through (`AgentState`), and the
//! automatic call distributor (`acd`), the state machine without IO that queues handed-off
//! calls and offers them to agents. The agents themselves live in the store (`store::agents`).

pub mod acd;
pub mod card;
pub mod desk;
pub mod desktop;
pub mod desktop_leg;
pub mod hours;
pub mod leg;
pub mod prompts;
pub mod softphones;

use serde::{Deserialize, Serialize};

/// An agent as the store keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    pub id: String,
    pub name: String,
    /// Languages they take calls in ("en", "zh").
    pub languages: Vec<String>,
    /// Skills calls are routed by ("returns", "delivery", "complaints", ...).
    pub skills: Vec<String>,
    /// A desk phone or softphone; None: the browser desktop.
    pub sip: Option<String>,
}

/// Where an agent stands. Every change is timestamped and an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    Offline,
    Available,
    /// Offered a call, not answered yet.
    Ringing,
    OnCall,
    /// After a call, until the wrap-up time is over.
    WrapUp,
    /// Not taking calls (also after letting an offer ring out).
    Away,
}

impl AgentState {
    pub const ALL: [AgentState; 6] = [Self::Offline, Self::Available, Self::Ringing, Self::OnCall, Self::WrapUp, Self::Away];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Available => "available",
            Self::Ringing => "ringing",
            Self::OnCall => "on_call",
            Self::WrapUp => "wrap_up",
            Self::Away => "away",
        }
    }

    /// The states a person or the API may set; the others are the distributor's to set.
    pub fn settable(self) -> bool {
        matches!(self, Self::Offline | Self::Available | Self::Away)
    }
}

impl std::str::FromStr for AgentState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|st| st.as_str()).collect();
            format!("unknown agent state `{s}`: one of {}", names.join(", "))
        })
    }
}

impl std::fmt::Display for AgentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An agent id: letters, digits, `.`, `_` and `-`, up to 64 characters.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// An agent with their state and since when (RFC 3339, UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentRecord {
    #[serde(flatten)]
    pub agent: Agent,
    pub state: AgentState,
    pub since: String,
}

/// Where agents and their state changes are kept. The embedded implementation is the
/// gateway's SQLite store (`store::agents`); a shared store (Redis) implements the same when
/// several gateways share one pool of agents.
pub trait AgentStore: Send + Sync {
    /// Adds an agent; one with the same id is refused.
    fn add_agent(&self, agent: &Agent, state: AgentState) -> crate::error::Result<()>;
    /// Whether there was one to remove.
    fn remove_agent(&self, id: &str) -> crate::error::Result<bool>;
    fn agent(&self, id: &str) -> crate::error::Result<Option<AgentRecord>>;
    fn agents(&self) -> crate::error::Result<Vec<AgentRecord>>;
    /// Records a state change (none when it is the state already); false for an unknown agent.
    fn set_agent_state(&self, id: &str, state: AgentState) -> crate::error::Result<bool>;
    /// Every change of an agent's state, oldest first.
    fn agent_states(&self, id: &str) -> crate::error::Result<Vec<(AgentState, String)>>;
}
