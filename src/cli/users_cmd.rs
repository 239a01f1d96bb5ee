//! `voicegate users` and `voicegate tokens`: the people who sign in (with a role) and the API
//! tokens machine clients use, in the gateway's store. Every change is in the audit log.

use clap::Subcommand;

use crate::auth::Role;
use crate::config::Config;
use crate::error::{Error, InputError, Result};
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user who signs in at /login. Without --password-stdin a password is made and
    /// printed once
    Add {
        name: String,
        /// agent (their own calls, the desktop), supervisor (every call, QA) or admin
        #[arg(long)]
        role: String,
        /// Read the password from the first line of standard input (at least 8 characters)
        #[arg(long)]
        password_stdin: bool,
    },
    /// The users and their roles
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a user (their sessions end)
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Make an API token (for the shop's backend, Prometheus, scripts); the token is the last
    /// word printed, shown this once
    Add {
        /// agent, supervisor or admin: what the token may do
        #[arg(long)]
        role: String,
        /// What it is for
        #[arg(long, default_value = "token")]
        name: String,
    },
    /// The tokens (never the secrets), revoked ones too
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id (from `tokens list`)
    Revoke { id: i64 },
}

fn role(s: &str) -> Result<Role> {
    s.parse().map_err(|e: String| Error::Input(InputError::Invalid(e)))
}

/// Who the command line acts as, in the audit log.
fn operator() -> String {
    format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()))
}

pub fn users(config: Config, cmd: UsersCommand) -> Result<()> {
    let store = Store::open(&config.store.path)?;
    match cmd {
        UsersCommand::Add { name, role: r, password_stdin } => {
            let r = role(&r)?;
            let (password, made) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).map_err(|e| Error::Input(InputError::Invalid(format!("cannot read the password: {e}"))))?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (crate::auth::new_password()?, true)
            };
            store.add_user(&name, r, &password)?;
            store.audit(&operator(), "add_user", &format!("{name} ({r})"))?;
            if made {
                println!("added {name} ({r}); password (shown once): {password}");
            } else {
                println!("added {name} ({r})");
            }
        }
        UsersCommand::List { json } => {
            let users = store.users()?;
            if json {
                for u in &users {
                    println!("{}", serde_json::to_string(u).unwrap_or_default());
                }
            } else if users.is_empty() {
                println!("no users yet: add one with `voicegate users add NAME --role admin`");
            } else {
                println!("{:<24} {:<11} created", "name", "role");
                for u in &users {
                    println!("{:<24} {:<11} {}", u.name, u.role, u.created_at);
                }
            }
        }
        UsersCommand::Remove { name } => {
            if !store.remove_user(&name)? {
                return Err(Error::Input(InputError::Unusable { what: format!("user {name}"), reason: "no such user (`voicegate users list` lists them)".into() }));
            }
            store.audit(&operator(), "remove_user", &name)?;
            println!("removed {name}");
        }
    }
    Ok(())
}

pub fn tokens(config: Config, cmd: TokensCommand) -> Result<()> {
    let store = Store::open(&config.store.path)?;
    match cmd {
        TokensCommand::Add { role: r, name } => {
            let r = role(&r)?;
            let (id, token) = store.add_token(&name, r)?;
            store.audit(&operator(), "add_token", &format!("{id} {name} ({r})"))?;
            println!("token {id} \"{name}\" ({r}), shown this once; send it as `Authorization: Bearer TOKEN`:");
            println!("{token}");
        }
        TokensCommand::List { json } => {
            let tokens = store.tokens()?;
            if json {
                for t in &tokens {
                    println!("{}", serde_json::to_string(t).unwrap_or_default());
                }
            } else if tokens.is_empty() {
                println!("no tokens yet: `voicegate tokens add --role supervisor --name grafana`");
            } else {
                println!("{:>4} {:<24} {:<11} {:<26} revoked", "id", "name", "role", "created");
                for t in &tokens {
                    println!("{:>4} {:<24} {:<11} {:<26} {}", t.id, t.name, t.role, t.created_at, t.revoked_at.as_deref().unwrap_or("-"));
                }
            }
        }
        TokensCommand::Revoke { id } => {
            if !store.revoke_token(id)? {
                return Err(Error::Input(InputError::Unusable { what: format!("token {id}"), reason: "no live token with that id (`voicegate tokens list`)".into() }));
            }
            store.audit(&operator(), "revoke_token", &id.to_string())?;
            println!("revoked token {id}");
        }
    }
    Ok(())
}
