//! `parley agent intents AGENT CASES`: how often an agent's first menu (its first `gather` of
//! intents) goes where a caller's words call for, as on a call: the intent engine's words
//! first, then the meaning of the whole sentence (the sentence model `scripts/setup.sh`
//! installs) when no intent's words match; `--words-only` for the words alone.
//!
//! Each miss is followed by what each listener made of it (the words' intent; the nearest
//! intents by meaning, with their cosines), for an agent's author choosing examples.
//!
//! Cases are `intent<TAB>phrase` lines (`none`: nothing the menu offers), `#` starting a
//! comment, as `crates/agent/tests/data/demo_held_out_3.tsv`.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use parley_agent::conversation::{CallContext, Conversation, Input};
use parley_agent::flow::{Expect, Gather, Node};
use parley_agent::intent::evaluate::evaluate_with;
use parley_agent::intent::meaning::{self, SentenceEncoder};
use parley_agent::intent::IntentSet;

use crate::agent_cli::load_agent;

/// The intent the menu heard for `said` on a fresh call.
fn heard(spec: &parley_agent::spec::AgentSpec, encoder: Option<Arc<dyn SentenceEncoder>>, said: &str) -> Option<String> {
    let now = Instant::now();
    let mut convo = Conversation::new(spec.clone(), CallContext::now("+15550100004")).with_encoder(encoder);
    let _ = convo.start(now);
    let _ = convo.handle(now, Input::Said(said.to_string()));
    convo.intents_heard.first().cloned()
}

/// What each listener made of `said`: the words' intent, and the two nearest intents by
/// meaning with their cosines (meaning hears the first at `MIN_SIMILARITY` or more and
/// `MIN_LEAD` ahead of one that leads elsewhere, when the words heard nothing).
fn why(intents: &IntentSet, menu: &Gather, allowed: &[&str], encoder: Option<&dyn SentenceEncoder>, said: &str) -> String {
    let words = intents.classify_routed(said, allowed, &|a, b| menu.same_route(a, b)).map_or("nothing".to_string(), |m| m.intent);
    let Some(ranked) = encoder.and_then(|e| meaning::ranked(e, intents, said, allowed)) else { return format!("words: {words}") };
    let nearest: Vec<String> = ranked.iter().take(2).map(|(i, s)| format!("{i} {s:.2}")).collect();
    format!("words: {words}; meaning: {}", nearest.join(", "))
}

/// Runs the cases; whether at least `min_percent` of them came out right.
pub fn eval(agent: &str, cases: &Path, speech_dir: &Path, words_only: bool, min_percent: f64) -> anyhow::Result<bool> {
    let spec = load_agent(agent)?;
    let set = std::fs::read_to_string(cases).with_context(|| format!("reading {}", cases.display()))?;
    let flow = if spec.flow.is_empty() { parley_agent::flow::receptionist() } else { spec.flow.clone() };
    let menu = flow.iter().find_map(|n| match n {
        Node::Gather(g) if g.expect == Expect::Intent => Some(g.clone()),
        _ => None,
    });
    let menu = menu.context("the agent has no menu (a gather of intents)")?;
    let encoder = match words_only {
        true => None,
        false => Some(crate::speech::meaning_in(speech_dir).context("the sentence model is not installed (run scripts/setup.sh, or give --words-only)")?),
    };
    let mut out = std::io::stdout();
    let started = Instant::now();
    let e = evaluate_with(&menu, &set, |phrase| heard(&spec, encoder.clone(), phrase).map(|i| (i, 1.0)));
    anyhow::ensure!(!e.per_label.is_empty(), "no cases in the file");
    for (label, (right, all)) in &e.per_label {
        writeln!(out, "{label:<13} {right:>3}/{all:<3} {:.1}%", 100.0 * *right as f64 / *all as f64)?;
    }
    let intents = IntentSet::new(&spec.intents);
    let allowed = menu.listens_for();
    for m in &e.misses {
        writeln!(out, "MISS {:<13} heard {:<13} {}", m.label, m.heard.as_ref().map_or("nothing", |(i, _)| i.as_str()), m.phrase)?;
        writeln!(out, "     {}", why(&intents, &menu, &allowed, encoder.as_deref(), &m.phrase))?;
    }
    let (right, all) = e.per_label.values().fold((0, 0), |(r, a), (x, y)| (r + x, a + y));
    let percent = 100.0 * e.accuracy();
    writeln!(out, "right: {right}/{all} ({percent:.1}%), {} in {} ms", if words_only { "the words alone" } else { "words, then meaning" }, started.elapsed().as_millis())?;
    Ok(percent >= min_percent)
}
