//! `voicegate nlu TEXT`: what the shared NLU makes of a sentence.

use clap::Args;

use crate::config::Config;
use crate::error::Result;
use crate::nlu::Nlu;

#[derive(Debug, Args)]
pub struct NluArgs {
    /// The text: an utterance or a chat message, Chinese or English
    pub text: String,
    /// Print the result as JSON (the same object as POST /v1/nlu)
    #[arg(long)]
    pub json: bool,
    /// Language hint: en or zh (default: read from the script)
    #[arg(long)]
    pub lang: Option<String>,
}

pub fn run(config: Config, a: NluArgs) -> Result<()> {
    let nlu = Nlu::load(&config.nlu.dir)?;
    let r = nlu.analyze(&a.text, a.lang.as_deref())?;
    if a.json {
        println!("{}", serde_json::to_string(&r).unwrap_or_default());
        return Ok(());
    }
    let others: Vec<String> = r.top.iter().skip(1).map(|s| format!("{} {:.2}", s.intent, s.score)).collect();
    println!("intent     {} ({:.2})   next: {}", r.intent, r.confidence, others.join(", "));
    if r.entities.is_empty() {
        println!("entities   none");
    }
    for e in &r.entities {
        let kind = serde_json::to_value(&e.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        println!("entity     {kind} {} (\"{}\")", e.value, e.text);
    }
    println!("emotion    {} ({:.2}), sentiment {:+.2}", r.emotion, r.emotion_confidence, r.sentiment);
    println!("language   {}", r.lang);
    Ok(())
}
