//! Keys reach the agent outside payment mode. In payment mode they go to card capture: the
//! agent, the recognizer and the recording get none of them (nor the caller's voice), the
//! transcript one neutral line, and the captured card goes out as a charge.

mod common;

use common::Sim;
use parley_agent::conversation::PaymentResult;
use parley_agent::spec::AgentSpec;
use parley_call::Output;

fn keys(sim: &mut Sim, keys: &str) {
    for k in keys.chars() {
        let now = sim.now;
        sim.p.handle_key(now, k);
        sim.drain();
        sim.tick(false);
    }
}

#[test]
fn keys_outside_payment_mode_reach_the_agent() {
    let mut sim = Sim::new(AgentSpec::demo());
    sim.until_quiet(30_000);
    keys(&mut sim, "1004");
    assert!(sim.said().iter().any(|s| s.contains("desk lamp")), "{:?}", sim.said());
}

#[test]
fn in_payment_mode_keys_go_to_the_card_and_nothing_else_hears_them() {
    let mut sim = Sim::with(AgentSpec::demo(), true);
    assert!(sim.caller_says("I'd like to pay for order 1008"));
    sim.until_quiet(60_000);
    assert!(sim.said().iter().any(|s| s.contains("card details on the keypad")), "{:?}", sim.said());
    let said_before = sim.said().len();
    // The caller's voice in payment mode reaches neither recognizer nor recording.
    let turns_before = sim.recognize_requests().len();
    sim.run(1000, true);
    sim.run(1000, false);
    assert_eq!(sim.recognize_requests().len(), turns_before, "no turn is recognized in payment mode");
    keys(&mut sim, "4242424242424242#1230#123#");
    let charge = sim.outputs.iter().find_map(|o| if let Output::Charge(req, card) = o { Some((req.reference.clone(), card.last4().to_string())) } else { None });
    assert_eq!(charge, Some(("order 1008".to_string(), "4242".to_string())));
    assert!(!sim.said()[said_before..].iter().any(|s| s.contains("4242")), "the digits are never said back");
    let now = sim.now;
    sim.p.handle_payment_result(now, PaymentResult::Approved("ch_1".into()));
    sim.drain();
    sim.until_quiet(60_000);
    assert!(sim.said().iter().any(|s| s.to_lowercase().contains("payment")), "{:?}", sim.said());
    let finished = sim.p.finish(sim.now);
    let caller_lines: Vec<String> = common::turns(&finished.transcript).into_iter().filter(|t| t.0 == "caller").map(|t| t.1).collect();
    assert_eq!(caller_lines, ["I'd like to pay for order 1008", parley_call::payment::TRANSCRIPT_LINE]);
    assert!(finished.recorder.is_some());
}
