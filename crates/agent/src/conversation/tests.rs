use std::time::{Duration, Instant};

use serde_json::json;

use super::*;
use crate::spec::AgentSpec;

/// A conversation with its own clock, answering the demo's order tool from a few orders.
pub(super) struct Talk {
    pub c: Conversation,
    pub now: Instant,
    /// Tool calls made, answered or not.
    pub calls: Vec<ToolCall>,
    /// Answer tool calls at once (else they stay pending).
    pub answer_tools: bool,
}

fn order(number: u64) -> Option<Value> {
    let (customer, status, items, balance) = match number {
        1002 => ("Bob Chen", "shipped", vec!["coffee grinder", "paper filters"], 4990),
        1004 => ("Dana Smith", "shipped", vec!["desk lamp", "two light bulbs"], 0),
        1007 => ("George Lee", "out for delivery", vec!["cast iron pan"], 0),
        1008 => ("Hana Kim", "processing", vec!["winter jacket"], 12900),
        1009 => ("Ivan Petrov", "shipped", vec!["board game"], 0),
        _ => return None,
    };
    let last_name = customer.rsplit(' ').next().unwrap_or_default();
    Some(json!({"number": number, "customer": customer, "last_name": last_name, "status": status, "items": items, "placed": "November 10", "detail": "on its way", "balance_cents": balance, "summary": format!("order {number} ({customer}), {status}")}))
}

impl Talk {
    pub fn new(spec: AgentSpec) -> Talk {
        let now = Instant::now();
        let context = CallContext { caller: "+15550100004".into(), answered: now, answered_unix_ms: 1_796_000_000_000 };
        Talk { c: Conversation::new(spec, context), now, calls: Vec::new(), answer_tools: true }
    }

    pub fn demo() -> Talk {
        Talk::new(AgentSpec::demo())
    }

    fn resolve(&mut self, actions: Vec<Action>) -> Vec<Action> {
        let mut out = Vec::new();
        for a in actions {
            if let Action::CallTool(call) = &a {
                self.calls.push(call.clone());
                if self.answer_tools {
                    let by_phone = call.args.get("phone").and_then(|v| v.as_str()).and_then(|p| p.strip_prefix("+155501000")).and_then(|n| n.parse::<u64>().ok()).map(|n| 1000 + n);
                    let number = call.args.get("number").and_then(|v| v.as_str().and_then(|s| s.parse().ok()).or(v.as_u64())).or(by_phone);
                    let outcome = match number.and_then(order) {
                        Some(data) => ToolOutcome::Done { outcome: "found".into(), data },
                        None => ToolOutcome::Done { outcome: "not_found".into(), data: json!({}) },
                    };
                    let more = self.c.handle(self.now, Input::Tool(ToolResult { id: call.id, outcome }));
                    out.push(a);
                    out.extend(self.resolve(more));
                    continue;
                }
            }
            out.push(a);
        }
        out
    }

    pub fn start(&mut self) -> Vec<Action> {
        let a = self.c.start(self.now);
        self.resolve(a)
    }

    pub fn input(&mut self, input: Input) -> Vec<Action> {
        let a = self.c.handle(self.now, input);
        self.resolve(a)
    }

    pub fn say(&mut self, text: &str) -> Vec<Action> {
        self.input(Input::Said(text.into()))
    }

    pub fn keys(&mut self, keys: &str) -> Vec<Action> {
        keys.chars().flat_map(|k| self.input(Input::Key(k))).collect()
    }

    pub fn wait(&mut self, d: Duration) -> Vec<Action> {
        self.now += d;
        let a = self.c.handle_timeout(self.now);
        self.resolve(a)
    }
}

pub(super) fn text(a: &[Action]) -> String {
    a.iter().filter_map(|a| if let Action::Say(s) = a { Some(s.as_str()) } else { None }).collect::<Vec<_>>().join(" ")
}

#[test]
fn the_demo_flow_passes_its_check() {
    let spec = AgentSpec::demo();
    assert!(!spec.flow.is_empty());
    assert_eq!(crate::flow::check(&spec), []);
    let mut receptionist = spec.clone();
    receptionist.flow = crate::flow::receptionist();
    assert_eq!(crate::flow::check(&receptionist), [], "the flow of agents without one");
}

#[test]
fn order_by_spoken_number_is_read_from_the_tool() {
    let mut t = Talk::demo();
    let greeting = text(&t.start());
    assert!(greeting.contains("How can I help"), "{greeting}");
    assert_eq!(t.c.node(), Some("menu"));
    let said = text(&t.say("Hi, my order number is one zero zero four."));
    assert!(said.contains("Order 1 0 0 4, for Dana Smith, is shipped. It has desk lamp and two light bulbs"), "{said}");
    assert!(said.ends_with("Is there anything else I can help you with?"), "one reply: {said}");
    assert_eq!(t.calls[0].args.get("number"), Some(&json!("1004")));
    assert_eq!(t.calls[0].operation, "sample_orders.find_order");
    let bye = t.say("No, that's all. Goodbye.");
    assert_eq!(bye.last(), Some(&Action::Hangup));
    assert_eq!(t.c.outcome, Outcome::Resolved);
    let summary = t.c.summary();
    assert!(summary.contains("Caller asked for: order status.") && summary.contains("find_order: order 1004 (Dana Smith), shipped."), "{summary}");
}

#[test]
fn an_order_number_written_with_one_zero_too_many_is_read_with_one_fewer() {
    // What Whisper tiny.en wrote for a Piper voice reading out "one zero zero seven", at the menu
    // and when asked for the number.
    let mut t = Talk::demo();
    t.start();
    assert!(text(&t.say("My order number is 10007.")).contains("George Lee"));
    assert_eq!(t.calls[0].args.get("number"), Some(&json!("1007")));
    let mut t = Talk::new(AgentSpec::demo());
    t.c = Conversation::new(AgentSpec::demo(), CallContext { caller: "anonymous".into(), answered: t.now, answered_unix_ms: 0 });
    t.start();
    assert!(text(&t.say("I want to check on my order")).contains("What is your order number"));
    assert!(text(&t.say("Order 10002.")).contains("Bob Chen"));
    // Two digits too many is no slip of one zero.
    let said = text(&t.say("Order 100009."));
    assert!(!said.contains("Ivan Petrov"), "{said}");
}

#[test]
fn the_order_on_the_callers_number_is_read_once_they_name_it() {
    let mut t = Talk::demo();
    t.start();
    let ask = text(&t.say("I'm calling about my order"));
    assert!(ask.contains("what is the last name on the order?"), "{ask}");
    assert_eq!(t.calls[0].args.get("phone"), Some(&json!("+15550100004")));
    assert!(!ask.contains("Dana") && !ask.contains("1 0 0 4"), "nothing of the order before the name: {ask}");
    let said = text(&t.say("It's Smith."));
    assert!(said.contains("Order 1 0 0 4, for Dana Smith, is shipped"), "{said}");

    let mut t = Talk::demo();
    t.start();
    t.say("where is my order");
    let said = text(&t.say("Johnson"));
    assert!(said.contains("does not match") && said.contains("What is your order number?") && !said.contains("Dana"), "{said}");
}

#[test]
fn order_number_asked_for_then_typed_on_the_keypad() {
    let mut t = Talk::new(AgentSpec::demo());
    t.c = Conversation::new(AgentSpec::demo(), CallContext { caller: "anonymous".into(), answered: t.now, answered_unix_ms: 0 });
    t.start();
    assert!(text(&t.say("I want to check on my order")).contains("What is your order number"));
    assert!(t.keys("100").is_empty());
    assert!(text(&t.keys("7")).contains("George Lee"));
}

#[test]
fn a_bare_number_at_the_menu_is_an_order_number() {
    let mut t = Talk::demo();
    t.start();
    assert!(text(&t.say("1009")).contains("Ivan Petrov"));
    assert!(text(&t.keys("1007")).contains("George Lee"), "typed after an answer too");
}

#[test]
fn never_invents_an_order_and_gives_up_after_retries() {
    let mut t = Talk::demo();
    t.start();
    let said = text(&t.say("order 2099"));
    assert!(said.contains("could not find an order with the number 2 0 9 9"), "{said}");
    assert!(!said.contains(" for "), "no customer named for an unknown order");
    assert!(text(&t.say("banana")).contains("did not catch the order number"));
    let last = t.say("banana");
    assert!(!last.contains(&Action::Hangup));
    let last = t.say("banana");
    assert_eq!(last.last(), Some(&Action::Hangup));
    assert_eq!(t.c.outcome, Outcome::NotUnderstood);
    assert_eq!(t.c.total_retries, 3);
}

#[test]
fn wrong_numbers_again_and_again_count_as_retries() {
    let mut t = Talk::demo();
    t.start();
    t.say("order 2099");
    t.say("2098");
    t.say("2097");
    let last = t.say("2096");
    assert_eq!(last.last(), Some(&Action::Hangup), "{last:?}");
    assert_eq!(t.c.outcome, Outcome::NotUnderstood);
}

#[test]
fn hours_and_person_without_transfer_target_takes_a_message() {
    let mut t = Talk::demo();
    t.start();
    assert!(text(&t.say("When are you open?")).contains("Monday to Friday"));
    assert!(text(&t.say("Can I speak to a person?")).contains("take a message"));
    let end = t.say("This is Sam, please call me back about a return.");
    assert_eq!(end.last(), Some(&Action::Hangup));
    assert_eq!(t.c.outcome, Outcome::MessageTaken);
    assert_eq!(t.c.message.as_deref(), Some("This is Sam, please call me back about a return."));
}

#[test]
fn warm_transfer_briefs_and_falls_back_to_a_message() {
    let mut spec = AgentSpec::demo();
    spec.transfer_to = "sip:frontdesk@127.0.0.1:5080".into();
    spec.transfer_mode = TransferMode::Warm;
    let mut t = Talk::new(spec);
    t.start();
    t.say("Where is my order 1004?");
    let a = t.say("Can I speak to a person?");
    assert_eq!(a.last(), Some(&Action::WarmTransfer("sip:frontdesk@127.0.0.1:5080".into())));
    let brief = t.c.briefing("+15550100004");
    assert!(brief.contains("1 5 5 5 0 1 0 0 0 0 4") && brief.contains("asked about order status"), "{brief}");
    assert!(!t.c.briefing("anonymous").contains("anonymous"));
    let a = t.input(Input::TransferFailed);
    assert!(text(&a).contains("take a message"), "{a:?}");
    assert_eq!(t.c.outcome, Outcome::InProgress);
    t.say("This is Dana, please call me back on 555 0100.");
    assert_eq!(t.c.outcome, Outcome::MessageTaken);
    assert_eq!(t.c.tool_calls.iter().find(|t| t.name == "transfer").map(|t| t.result.as_str()), Some("no_answer"));
    assert!(t.input(Input::TransferFailed).is_empty(), "only after a transfer");
}

#[test]
fn person_with_transfer_target_transfers() {
    let mut spec = AgentSpec::demo();
    spec.transfer_to = "sip:frontdesk@127.0.0.1:5080".into();
    let mut t = Talk::new(spec);
    t.start();
    let a = t.say("I'd like to talk to a human");
    assert_eq!(a.last(), Some(&Action::Transfer("sip:frontdesk@127.0.0.1:5080".into())));
    assert_eq!(t.c.outcome, Outcome::Transferred);
}

#[test]
fn a_balance_is_offered_and_paid_on_the_keypad() {
    let mut t = Talk::demo();
    t.start();
    let said = text(&t.say("order 1002 please"));
    assert!(said.contains("There is 49 dollars and 90 cents due on this order. To pay it now by card, press the hash key"), "{said}");
    let a = t.input(Input::Key('#'));
    let request = PaymentRequest { reference: "order 1002".into(), amount_cents: 4990, currency: "usd".into() };
    assert_eq!(a.last(), Some(&Action::CollectPayment(request)));
    assert!(t.input(Input::Key('4')).is_empty(), "keys in payment mode never reach the conversation");
    assert!(t.say("four two four two").is_empty(), "nor does speech");
    let said = text(&t.input(Input::Payment(PaymentResult::Approved("pi_123".into()))));
    assert!(said.contains("payment of 49 dollars and 90 cents was approved"), "{said}");
    assert!(t.c.summary().contains("Caller paid 49.90 USD for order 1002 by card (reference pi_123)."), "{}", t.c.summary());
    assert!(text(&t.say("I want to pay for order 1002")).contains("nothing to pay"), "paid once");
}

#[test]
fn pay_asks_which_order_and_reports_declines() {
    let mut t = Talk::demo();
    t.start();
    assert!(text(&t.say("I'd like to make a payment")).contains("Which order"));
    let a = t.say("1008");
    assert!(matches!(a.last(), Some(Action::CollectPayment(r)) if r.amount_cents == 12900), "{a:?}");
    let said = text(&t.input(Input::Payment(PaymentResult::Declined("insufficient_funds".into()))));
    assert!(said.contains("declined") && said.contains("say pay"), "{said}");
    assert!(t.c.summary().contains("A card payment for order 1008 was declined (insufficient_funds)."), "{}", t.c.summary());
    let a = t.say("pay");
    assert!(matches!(a.last(), Some(Action::CollectPayment(r)) if r.reference == "order 1008"), "a retry pays the same order: {a:?}");
    let said = text(&t.input(Input::Payment(PaymentResult::Cancelled("You cancelled the payment, so no payment was taken."))));
    assert!(said.starts_with("You cancelled"), "{said}");
    assert_eq!(t.c.tool_calls.iter().filter(|t| t.name == "take_payment").map(|t| t.result.as_str()).collect::<Vec<_>>(), ["declined", "cancelled"]);
    assert!(text(&t.say("pay for order 1004")).contains("nothing to pay"));
}

#[test]
fn a_slow_tool_gets_a_filler_and_a_failed_one_is_said_plainly() {
    let mut t = Talk::demo();
    t.answer_tools = false;
    t.start();
    let a = t.say("where is order 1004");
    assert!(matches!(a.as_slice(), [Action::CallTool(_)]), "nothing said before the tool: {a:?}");
    assert!(t.wait(Duration::from_millis(600)).is_empty());
    assert_eq!(text(&t.wait(Duration::from_millis(100))), "One moment, let me check.");
    // The caller talks meanwhile: heard once the tool is back.
    assert!(t.say("hello?").is_empty());
    let failed = t.wait(Duration::from_secs(8));
    let said = text(&failed);
    assert!(said.starts_with("Sorry, I could not check that right now.") && said.contains("anything else"), "{said}");
    assert_eq!(t.c.tool_calls[0].result, "error");
    // A late result for the abandoned call changes nothing.
    let late = t.c.handle(t.now, Input::Tool(ToolResult { id: t.calls[0].id, outcome: ToolOutcome::Done { outcome: "found".into(), data: json!({}) } }));
    assert!(late.is_empty());
}

#[test]
fn no_answer_reprompts_after_the_prompt_has_played() {
    let mut t = Talk::demo();
    t.start();
    t.say("I want to check on my order");
    assert!(t.wait(Duration::from_secs(30)).is_empty(), "the wait starts when the question has been heard");
    t.input(Input::PromptPlayed);
    assert!(t.wait(Duration::from_millis(6900)).is_empty());
    let again = text(&t.wait(Duration::from_millis(100)));
    assert!(again.starts_with("Are you still there?") && again.contains("what is the last name on the order?"), "{again}");
    t.input(Input::PromptPlayed);
    t.wait(Duration::from_secs(7));
    t.input(Input::PromptPlayed);
    let last = t.wait(Duration::from_secs(7));
    assert_eq!(last.last(), Some(&Action::Hangup), "three tries");
}

#[test]
fn the_call_ends_at_its_time_limit() {
    let mut t = Talk::demo();
    t.start();
    let a = t.wait(Duration::from_secs(1800));
    assert!(text(&a).contains("time limit") && a.last() == Some(&Action::Hangup), "{a:?}");
}

#[test]
fn repeat_says_the_last_words_again() {
    let mut t = Talk::demo();
    t.start();
    let first = text(&t.say("what are your hours"));
    assert_eq!(text(&t.say("sorry, can you repeat that?")), first);
    assert_eq!(t.c.total_retries, 0);
}

#[test]
fn an_agent_without_a_flow_is_a_receptionist() {
    let spec = AgentSpec::from_yaml("name: front\nbusiness: Acme\ngreeting: Hello, this is Acme.\nhours: nine to five\n").unwrap();
    let mut t = Talk::new(spec);
    assert_eq!(text(&t.start()), "Hello, this is Acme.");
    assert_eq!(text(&t.say("when do you open")), "nine to five Is there anything else I can help you with?");
    assert!(text(&t.say("can I talk to someone")).contains("take a message"));
}

/// Sentence vectors by topic: sentences about shipments point one way, anything else another
/// (not "order", which the demo's examples for paying have too).
#[derive(Debug)]
struct OrderTopic;

impl crate::intent::meaning::SentenceEncoder for OrderTopic {
    fn encode(&self, text: &str) -> Option<Arc<[f32]>> {
        Some(crate::intent::meaning::test_vector(text, &[&["shipment", "package", "parcel", "delivery"]]))
    }
}

/// Sentences with "okay" or "bye" point one way, as all-MiniLM-L6-v2 puts "Okay." at 0.54 to
/// goodbye's "okay bye".
#[derive(Debug)]
struct OkayBye;

impl crate::intent::meaning::SentenceEncoder for OkayBye {
    fn encode(&self, text: &str) -> Option<Arc<[f32]>> {
        Some(crate::intent::meaning::test_vector(text, &[&["okay", "bye"]]))
    }
}

#[test]
fn a_caller_who_says_okay_at_the_menu_is_not_hung_up_on() {
    let talk = || {
        let mut t = Talk::demo();
        t.c = t.c.clone().with_encoder(Some(Arc::new(OkayBye)));
        t.start();
        t
    };
    // The words take a continuer for assent: at the demo's menu, yes asks what the caller wants.
    for said in ["Okay.", "Alright.", "Uh-huh."] {
        let mut t = talk();
        let out = text(&t.say(said));
        assert!(out.starts_with("What can I help you with?"), "{said}: {out}");
        assert!(t.c.intents_heard == ["yes"] && !t.c.done(), "{said}");
    }
    let out = text(&talk().say("Okay, bye then."));
    assert!(out.contains("Goodbye"), "a goodbye is still heard: {out}");
    // At a menu with no yes, the words hear nothing, and the meaning does not take a continuer
    // for goodbye.
    let mut spec = AgentSpec::demo();
    let Some(Node::Gather(menu)) = spec.flow.first_mut() else { panic!("the demo starts with its menu") };
    menu.routes.remove("yes");
    let mut t = Talk::new(spec);
    t.c = t.c.clone().with_encoder(Some(Arc::new(OkayBye)));
    t.start();
    let out = text(&t.say("Okay."));
    assert!(out.starts_with("Sorry, I did not understand that.") && t.c.intents_heard.is_empty() && !t.c.done(), "{out}");
}

#[test]
fn a_menu_hears_by_meaning_what_no_intent_words_match() {
    let said = "Any news about that shipment I was promised last week?";
    let mut t = Talk::demo();
    t.start();
    assert!(text(&t.say(said)).starts_with("Sorry, I did not understand that."), "the words alone miss it");

    let mut t = Talk::demo();
    t.c = t.c.clone().with_encoder(Some(Arc::new(OrderTopic)));
    t.start();
    let out = text(&t.say(said));
    assert!(out.contains("what is the last name on the order?"), "{out}");
    assert_eq!(t.c.intents_heard, ["order_status"]);
    // Nothing near enough in meaning: not understood, as before.
    let mut t = Talk::demo();
    t.c = t.c.clone().with_encoder(Some(Arc::new(OrderTopic)));
    t.start();
    let out = text(&t.say("Do you sell gift cards?"));
    assert!(out.starts_with("Sorry, I did not understand that."), "{out}");
}
