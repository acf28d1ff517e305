//! The demo menu's intent accuracy does not fall below what BENCHMARKS.md records (the figures
//! themselves come from `cargo run -p parley-agent --example intent_accuracy`).

use parley_agent::flow::{Gather, Node};
use parley_agent::intent::{evaluate::evaluate, IntentSet};
use parley_agent::spec::AgentSpec;

#[test]
fn the_demo_menu_understands_phrasings_it_was_not_given() {
    let spec = AgentSpec::demo();
    let Some(Node::Gather(menu)) = spec.flow.first() else { panic!("the demo starts with its menu") };
    let intents = IntentSet::new(&spec.intents);
    let dev = evaluate(&intents, menu, include_str!("data/demo_dev.tsv"));
    let held_out = evaluate(&intents, menu, include_str!("data/demo_held_out.tsv"));
    let fresh = evaluate(&intents, menu, include_str!("data/demo_held_out_2.tsv"));
    assert!(dev.per_label.values().map(|c| c.1).sum::<usize>() >= 100 && held_out.per_label.values().map(|c| c.1).sum::<usize>() >= 60);
    assert!(dev.accuracy() >= 0.95, "dev: {:.3} {:?}", dev.accuracy(), dev.misses);
    assert!(held_out.accuracy() >= 0.95, "held out: {:.3} {:?}", held_out.accuracy(), held_out.misses);
    assert!(fresh.accuracy() >= 0.90, "held out 2: {:.3} {:?}", fresh.accuracy(), fresh.misses);
}

/// A yes-or-no question (`expect: yes_no`) hears how callers answer one: "sure", "that's
/// right", "nope", and neither for "I'm not sure" (the figures in BENCHMARKS.md).
#[test]
fn a_yes_or_no_question_understands_how_callers_answer() {
    let intents = IntentSet::new(&Default::default());
    let question: Gather = serde_json::from_value(serde_json::json!({"id": "confirm", "expect": "yes_no", "routes": {"yes": "confirmed", "no": "ask_again"}})).expect("a yes/no gather");
    let dev = evaluate(&intents, &question, include_str!("data/yes_no_dev.tsv"));
    let held_out = evaluate(&intents, &question, include_str!("data/yes_no_held_out.tsv"));
    let fresh = evaluate(&intents, &question, include_str!("data/yes_no_held_out_2.tsv"));
    for e in [&dev, &held_out, &fresh] {
        println!("{:.3} {:?}", e.accuracy(), e.misses.iter().map(|m| (&m.label, &m.heard, &m.phrase)).collect::<Vec<_>>());
    }
    assert!(dev.accuracy() >= 0.9, "dev: {:.3} {:?}", dev.accuracy(), dev.misses);
    assert!(held_out.accuracy() >= 0.85, "held out: {:.3} {:?}", held_out.accuracy(), held_out.misses);
    assert!(fresh.accuracy() >= 0.9, "held out 2: {:.3} {:?}", fresh.accuracy(), fresh.misses);
}
