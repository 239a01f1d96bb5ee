//! `voicegate kb ...`: the knowledge base and the questions it could not answer.

use clap::Subcommand;

use crate::config::Config;
use crate::error::Result;

#[derive(Debug, Subcommand)]
pub enum KbCommand {
    /// Questions callers asked that the bot could not answer, most frequent first
    Gaps {
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
    /// The knowledge base's entries, checked (ids, intents, both languages)
    List,
}

pub fn run(config: Config, cmd: KbCommand) -> Result<()> {
    match cmd {
        KbCommand::Gaps { json } => {
            let store = crate::store::Store::open(&config.store.path)?;
            let gaps = store.gaps()?;
            if gaps.is_empty() && !json {
                println!("no knowledge gaps recorded in {}", store.path.display());
            }
            for (q, lang, asked, last) in gaps {
                if json {
                    println!("{}", serde_json::json!({"question": q, "lang": lang, "asked": asked, "last_asked": last}));
                } else {
                    println!("{asked:>5}  {lang}  {q}   (last {last})");
                }
            }
        }
        KbCommand::List => {
            let kb = crate::kb::Kb::load(&config.kb.dir, config.kb.min_similarity)?;
            for e in &kb.entries {
                println!("{:<18} [{}]  {}", e.id, e.intents.join(", "), e.answer_en);
            }
            println!("{} entries in {}", kb.entries.len(), config.kb.dir.display());
        }
    }
    Ok(())
}
