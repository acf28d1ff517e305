//! The appointments example agent books a visit by voice: a caller (baresip) asks for an
//! appointment "Monday at 3 PM", confirms, gives a name, and the visit is in the clinic's
//! calendar on a real CalDAV server (Radicale, started by the test) at 3 PM in the clinic's
//! time zone, with the caller's number; the post-call document names both tool calls.
//!
//! Needs `scripts/setup.sh --test-peers` (baresip, sox, espeak-ng, the speech engines, radicale).

use crate::common;

use common::{baresip_call, baresip_dir, caller_wav, free_port, Part, WebhookReceiver};
use parley_fakes::radicale::{Radicale, USER};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const NUMBER: &str = "+15550166001";
const CALLER: &str = "+15550100004";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_is_booked_in_the_calendar_by_voice() {
    let tmp = tempfile::tempdir().unwrap();
    let radicale = Radicale::start(&tmp.path().join("radicale")).await;
    let (server, api, op) = common::operated(tmp.path(), &[]);
    let hook = WebhookReceiver::start().await;
    assert_eq!(api.call(Method::POST, "/v1/tenants", Some(&op), Some(json!({"id": "t-clinic", "name": "Clinic"}))).await.0, StatusCode::CREATED);
    let mut agent = serde_json::to_value(parley_agent::spec::AgentSpec::appointments()).unwrap();
    agent.as_object_mut().unwrap().remove("name");
    let (s, v) = api.call(Method::PUT, "/v1/tenants/t-clinic/agents/front", Some(&op), Some(agent)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(api.call(Method::POST, "/v1/tenants/t-clinic/numbers", Some(&op), Some(json!({"number": NUMBER, "agent": "front"}))).await.0, StatusCode::CREATED);
    for integration in [
        json!({"kind": "caldav", "name": "calendar", "config": {"url": radicale.calendar, "username": USER.0}, "secret": USER.1}),
        json!({"kind": "webhook", "name": "documents", "config": {"url": hook.url}, "secret": "hook-secret"}),
    ] {
        let (s, v) = api.call(Method::POST, "/v1/tenants/t-clinic/integrations", Some(&op), Some(integration)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let policy = json!({"recording_days": 0, "transcript_days": 0, "call_metadata_days": 365, "operational_log_days": 30, "redact_pii": false, "allowed_providers": ["embedded", "caldav"]});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-clinic/data-policy", Some(&op), Some(policy)).await.0, StatusCode::OK);

    let dir = tmp.path().join("call");
    std::fs::create_dir_all(&dir).unwrap();
    let wav = caller_wav(&dir, &[
        Part::Silence(11), Part::Say("I'd like to book an appointment."),
        Part::Silence(5), Part::Say("Monday at 3 PM, please."),
        Part::Silence(8), Part::Say("Yes, please."),
        Part::Silence(5), Part::Say("Dana Smith."),
        Part::Silence(11), Part::Say("No, thank you. Goodbye."),
        Part::Silence(5),
    ]);
    let bs = baresip_dir(&dir, "baresip", free_port(), &wav, CALLER, None);
    let log = baresip_call(bs, format!("sip:{NUMBER}@127.0.0.1:{}", server.sip_port), 62, dir.join("baresip.log")).await;
    assert!(log.contains("Call established"), "answered:\n{log}");
    let (_, body) = hook.document().await;
    let doc: Value = serde_json::from_slice(&body).unwrap();
    let agent_said: Vec<&str> = doc["transcript"].as_array().unwrap().iter().filter(|t| t["speaker"] == "agent").filter_map(|t| t["text"].as_str()).collect();
    let booked = agent_said.iter().find(|l| l.contains("You are booked for Monday")).unwrap_or_else(|| panic!("the booking is confirmed: {:#}\n{}", doc["transcript"], server.log_text()));
    assert!(booked.contains("at 3 PM"), "{booked}");
    let tools: Vec<(String, String)> = doc["tool_calls"].as_array().unwrap().iter().map(|t| (t["name"].as_str().unwrap().to_string(), t["result"].as_str().unwrap().to_string())).collect();
    assert_eq!(tools, [("find_slots".to_string(), "free".to_string()), ("book".to_string(), "booked".to_string())], "{doc}");

    let events = radicale.events().await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert!(e.contains("Appointment:") && e.contains(CALLER), "{e}");
    let start = e.lines().find_map(|l| l.trim().strip_prefix("DTSTART:")).expect("a start");
    let local = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", start.trim()).unwrap().to_zoned(jiff::tz::TimeZone::UTC).unwrap().with_time_zone(jiff::tz::TimeZone::get("America/Chicago").unwrap());
    assert_eq!((local.weekday(), local.hour(), local.minute()), (jiff::civil::Weekday::Monday, 15, 0), "{e}");
    drop(server);
}
