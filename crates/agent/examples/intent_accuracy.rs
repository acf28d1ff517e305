//! How often the demo agent's menu understands what a caller asks for, on phrasings it was
//! never given as examples: `tests/data/demo_dev.tsv` (the engine and the demo's examples were
//! tuned on it), `tests/data/demo_held_out.tsv` (written afterwards; its misses were looked at
//! once, on 2026-12-01, when choosing two general rules) and `tests/data/demo_held_out_2.tsv`
//! (written after those rules and never looked at before measuring: the figure that counts);
//! `tests/data/demo_held_out_3.tsv` was written before the language model was put behind the
//! engine (`parley agent intents` measures the two together). Each phrase is classified among the menu's intents, and is right when it
//! goes where its labelled intent goes (a phrase labelled `none` must match nothing). Prints the
//! accuracy per intent and the misses.
//!
//! `cargo run -p parley-agent --example intent_accuracy`

use parley_agent::flow::Node;
use parley_agent::intent::{evaluate::evaluate, IntentSet};
use parley_agent::spec::AgentSpec;

fn main() {
    let spec = AgentSpec::demo();
    let Some(Node::Gather(menu)) = spec.flow.first() else { panic!("the demo starts with its menu") };
    let intents = IntentSet::new(&spec.intents);
    for (name, set) in [("dev (tuned on)", include_str!("../tests/data/demo_dev.tsv")), ("held out", include_str!("../tests/data/demo_held_out.tsv")), ("held out 2 (never tuned on)", include_str!("../tests/data/demo_held_out_2.tsv")), ("held out 3 (for the model behind the engine)", include_str!("../tests/data/demo_held_out_3.tsv"))] {
        let e = evaluate(&intents, menu, set);
        println!("== {name}");
        for (label, (r, a)) in &e.per_label {
            println!("{label:<13} {r:>3}/{a:<3} {:.1}%", 100.0 * *r as f64 / *a as f64);
        }
        let (right, all) = e.per_label.values().fold((0, 0), |(r, a), (x, y)| (r + x, a + y));
        println!("all           {right:>3}/{all:<3} {:.1}%", 100.0 * e.accuracy());
        for m in &e.misses {
            let heard = m.heard.as_ref().map_or("nothing".to_string(), |(i, s)| format!("{i} {s:.2}"));
            println!("  miss: {:<13} heard {heard:<20} {}", m.label, m.phrase);
        }
    }
}
