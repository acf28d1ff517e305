//! The appointments example agent in simulated time: a day and time as the caller says it
//! reaches the calendar tool as a date and a time at the business; a free time is confirmed,
//! a taken one is offered the nearest free time, and a booking lost to another caller at the
//! last moment is said plainly and asked again.

use std::time::Instant;

use parley_agent::conversation::{Action, CallContext, Conversation, Input};
use parley_agent::spec::AgentSpec;
use parley_agent::tools::{ToolCall, ToolOutcome, ToolResult};
use serde_json::json;

/// Tuesday 1 December 2026, 10:00 in Chicago.
const ANSWERED_MS: i64 = 1_796_140_800_000;

fn says(a: &[Action]) -> String {
    a.iter().filter_map(|a| if let Action::Say(t) = a { Some(t.as_str()) } else { None }).collect::<Vec<_>>().join(" ")
}

fn tool(a: &[Action]) -> ToolCall {
    a.iter().find_map(|a| if let Action::CallTool(t) = a { Some(t.clone()) } else { None }).expect("a tool call")
}

#[test]
fn a_visit_is_booked_by_voice() {
    assert_eq!(jiff::Timestamp::from_millisecond(ANSWERED_MS).unwrap().to_zoned(jiff::tz::TimeZone::get("America/Chicago").unwrap()).strftime("%F %H:%M").to_string(), "2026-12-01 10:00");
    let now = Instant::now();
    let mut c = Conversation::new(AgentSpec::appointments(), CallContext { caller: "+15550100004".into(), answered: now, answered_unix_ms: ANSWERED_MS });
    assert!(says(&c.start(now)).contains("I can book you an appointment"));
    assert_eq!(says(&c.handle(now, Input::Said("Hi, I'd like to book an appointment.".into()))), "What day and time would suit you?");
    let find = tool(&c.handle(now, Input::Said("Next Monday at 3 p.m., please.".into())));
    assert_eq!(find.operation, "calendar.find_slots");
    assert_eq!((find.args["date"].as_str(), find.args["time"].as_str()), (Some("2026-12-07"), Some("15:00")));
    // Taken: the nearest free time is offered.
    let slot = json!({"start": "2026-12-07T15:30:00-06:00", "spoken": "Monday, December 7 at 3:30 PM", "minutes": 30});
    let out = c.handle(now, Input::Tool(ToolResult { id: find.id, outcome: ToolOutcome::Done { outcome: "other_times".into(), data: slot } }));
    assert_eq!(says(&out), "That time is not free. The nearest free time is Monday, December 7 at 3:30 PM. Would that work for you?");
    assert_eq!(says(&c.handle(now, Input::Said("Yes, that works.".into()))), "Can I have your name, please?");
    let book = tool(&c.handle(now, Input::Said("Dana Smith.".into())));
    assert_eq!(book.operation, "calendar.book");
    assert_eq!(book.args["start"], "2026-12-07T15:30:00-06:00");
    assert_eq!(book.args["name"], "Dana Smith.");
    assert_eq!(book.args["phone"], "+15550100004");
    // Lost to another caller at the last moment: said plainly, asked again.
    let out = c.handle(now, Input::Tool(ToolResult { id: book.id, outcome: ToolOutcome::Done { outcome: "taken".into(), data: json!({}) } }));
    assert_eq!(says(&out), "I am sorry, that time was just taken by someone else. What day and time would suit you?");
    let find = tool(&c.handle(now, Input::Said("How about Wednesday morning?".into())));
    assert_eq!((find.args["date"].as_str(), find.args["time"].as_str(), find.args["part"].as_str()), (Some("2026-12-02"), None, Some("morning")), "no time said");
    let slot = json!({"start": "2026-12-02T09:00:00-06:00", "spoken": "Wednesday, December 2 at 9 AM", "minutes": 30});
    c.handle(now, Input::Tool(ToolResult { id: find.id, outcome: ToolOutcome::Done { outcome: "other_times".into(), data: slot } }));
    c.handle(now, Input::Said("yes".into()));
    let book = tool(&c.handle(now, Input::Said("Dana Smith".into())));
    let data = json!({"start": "2026-12-02T09:00:00-06:00", "spoken": "Wednesday, December 2 at 9 AM", "reference": "parley-x"});
    let out = c.handle(now, Input::Tool(ToolResult { id: book.id, outcome: ToolOutcome::Done { outcome: "booked".into(), data } }));
    assert_eq!(says(&out), "You are booked for Wednesday, December 2 at 9 AM. We look forward to seeing you. Is there anything else I can help you with?");
    let out = c.handle(now, Input::Said("No, thank you.".into()));
    assert_eq!(out.last(), Some(&Action::Hangup));
}
