//! `voicegate agents`: the live agents calls are handed to, and their states.

use clap::{Args, Subcommand};

use crate::agents::{valid_id, Agent, AgentState, AgentStore};
use crate::config::Config;
use crate::error::{Error, InputError, Result};
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// Add an agent. One with a SIP URI (a desk phone) is available at once; a browser agent
    /// starts offline until they sign in to the desktop
    Add(AddArgs),
    /// The agents, their languages, skills, endpoint and state
    List {
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
    /// Remove an agent
    Remove { id: String },
    /// Set an agent's state: offline, available or away
    State { id: String, state: String },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Letters, digits, '.', '_' and '-'
    pub id: String,
    /// The name shown to supervisors (default: the id)
    #[arg(long)]
    pub name: Option<String>,
    /// Languages they take calls in, comma-separated: en, zh
    #[arg(long, value_delimiter = ',', required = true)]
    pub languages: Vec<String>,
    /// Skills calls are routed by, comma-separated (the names in [agents.skills])
    #[arg(long, value_delimiter = ',')]
    pub skills: Vec<String>,
    /// Their phone's SIP URI (sip:ann@10.0.0.5); without it, the browser desktop
    #[arg(long, value_name = "URI")]
    pub sip: Option<String>,
    /// A password their softphone REGISTERs with (user: the agent's id; realm: sip.realm).
    /// Calls then ring wherever the phone registered; registering makes them available.
    /// Only its digest hash is stored
    #[arg(long, value_name = "PASSWORD")]
    pub sip_password: Option<String>,
    /// Their state to begin with (default: available with --sip, else offline)
    #[arg(long)]
    pub state: Option<String>,
}

fn invalid(what: String) -> Error {
    Error::Input(InputError::Invalid(what))
}

fn unknown(id: &str) -> Error {
    Error::Input(InputError::Unusable { what: format!("agent {id}"), reason: "no such agent (`voicegate agents list` lists them)".into() })
}

fn state_arg(s: &str) -> Result<AgentState> {
    let state: AgentState = s.parse().map_err(invalid)?;
    if !state.settable() {
        return Err(invalid(format!("an agent's state can be set to offline, available or away; {state} is the gateway's to set")));
    }
    Ok(state)
}

pub fn run(config: Config, cmd: AgentsCommand) -> Result<()> {
    let store = Store::open(&config.store.path)?;
    match cmd {
        AgentsCommand::Add(a) => {
            if !valid_id(&a.id) {
                return Err(invalid(format!("agent id `{}`: use letters, digits, '.', '_' and '-' (up to 64)", a.id)));
            }
            let languages: Vec<String> = a.languages.iter().map(|l| l.trim().to_ascii_lowercase()).filter(|l| !l.is_empty()).collect();
            if let Some(l) = languages.iter().find(|l| !matches!(l.as_str(), "en" | "zh")) {
                return Err(invalid(format!("language `{l}`: the gateway serves en and zh")));
            }
            if languages.is_empty() {
                return Err(invalid("--languages: name at least one, such as en,zh".into()));
            }
            if let Some(uri) = &a.sip {
                if !(uri.starts_with("sip:") || uri.starts_with("sips:")) || !uri.contains('@') {
                    return Err(invalid(format!("--sip `{uri}`: a SIP URI such as sip:ann@10.0.0.5:5060")));
                }
            }
            let state = match &a.state {
                Some(s) => state_arg(s)?,
                None if a.sip.is_some() => AgentState::Available,
                None => AgentState::Offline,
            };
            let skills: Vec<String> = a.skills.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
            let agent = Agent { name: a.name.clone().unwrap_or_else(|| a.id.clone()), id: a.id, languages, skills, sip: a.sip };
            if let Some(pw) = &a.sip_password {
                if pw.len() < 8 {
                    return Err(invalid("--sip-password: at least 8 characters".into()));
                }
            }
            store.add_agent(&agent, state)?;
            let endpoint = match (&agent.sip, &a.sip_password) {
                (Some(uri), _) => uri.clone(),
                (None, Some(_)) => "a softphone that registers".to_string(),
                (None, None) => "browser desktop".to_string(),
            };
            if let Some(pw) = &a.sip_password {
                store.set_sip_password(&agent.id, &config.sip.realm, pw)?;
            }
            println!("added agent {} ({endpoint}), {state}", agent.id);
            if a.sip_password.is_some() {
                println!("their softphone registers to the gateway's SIP address as user {}, realm {:?}, with that password", agent.id, config.sip.realm);
            }
        }
        AgentsCommand::List { json } => {
            let agents = store.agents()?;
            if json {
                for a in &agents {
                    println!("{}", serde_json::to_string(a).unwrap_or_default());
                }
                return Ok(());
            }
            if agents.is_empty() {
                println!("no agents yet: add one with `voicegate agents add ID --languages en,zh [--sip URI]`");
                return Ok(());
            }
            println!("{:<16} {:<20} {:<7} {:<24} {:<10} {:<24} endpoint", "id", "name", "langs", "skills", "state", "since");
            for r in &agents {
                let a = &r.agent;
                println!("{:<16} {:<20} {:<7} {:<24} {:<10} {:<24} {}", a.id, a.name, a.languages.join(","), a.skills.join(","), r.state.as_str(), r.since, a.sip.as_deref().unwrap_or("desktop"));
            }
        }
        AgentsCommand::Remove { id } => {
            if !store.remove_agent(&id)? {
                return Err(unknown(&id));
            }
            println!("removed agent {id}");
        }
        AgentsCommand::State { id, state } => {
            let state = state_arg(&state)?;
            if !store.set_agent_state(&id, state)? {
                return Err(unknown(&id));
            }
            println!("agent {id} is {state}");
        }
    }
    Ok(())
}
