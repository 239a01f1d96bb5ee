//! `voicegate config`: the configuration in effect.

use clap::Args;

use crate::config::{Config, DEFAULT_TOML};
use crate::error::Result;

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print the embedded defaults with their comments instead
    #[arg(long)]
    pub defaults: bool,
}

pub fn run(config: Config, args: ConfigArgs) -> Result<()> {
    if args.defaults {
        print!("{DEFAULT_TOML}");
    } else {
        print!("{}", config.to_toml());
    }
    Ok(())
}
