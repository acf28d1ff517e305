//! The calendar tools on a Google Calendar, against the in-repo fake of its documented REST API
//! (`parley_fakes::google_calendar`): free times around what is busy, a booking with its own
//! event id, and no double booking when calls take the same slot at once.

mod common;

use std::sync::Arc;

use jiff::civil::{Date, Weekday};
use jiff::{Timestamp, ToSpan};
use parley_agent::hours::OpeningHours;
use parley_connect::tools::calendar::{Calendar, CalendarError};
use parley_connect::tools::google_calendar::GoogleCalendar;
use parley_fakes::google_calendar::FakeGoogleCalendar;
use parley_fakes::KEY;
use common::{args, done};
use serde_json::{json, Value};

fn calendar(fake: &FakeGoogleCalendar, token: &str, key: &str) -> Calendar {
    let hours: OpeningHours = serde_yaml_ng::from_str("time_zone: Europe/Paris\nweekly:\n  monday: ['09:00-12:00', '14:00-18:00']\n").unwrap();
    Calendar::new(Arc::new(GoogleCalendar::new(reqwest::Client::new(), &fake.url, "clinic@example.com", secrecy::SecretString::from(token))), hours, key)
}

fn monday() -> Date {
    let mut d = Timestamp::now().to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap()).date() + 2.days();
    while d.weekday() != Weekday::Monday {
        d += 1.days();
    }
    d
}


#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_times_a_booking_and_no_double_booking() {
    let fake = FakeGoogleCalendar::start().await;
    let cal = calendar(&fake, KEY, "google-1");
    let day = monday();
    let now = Timestamp::now();
    fake.add("staff", &format!("{day}T09:00:00+01:00"), &format!("{day}T10:00:00+01:00"));
    let (o, d) = done(cal.find_slots(&args(json!({"date": day.to_string(), "time": "09:30"})), now).await.unwrap());
    assert_eq!(o, "other_times");
    assert!(d["spoken"].as_str().unwrap().ends_with("at 10 AM"), "{d}");
    let (o, slot) = done(cal.find_slots(&args(json!({"date": day.to_string(), "time": "15:00"})), now).await.unwrap());
    assert_eq!(o, "free");
    assert_eq!(done(cal.book(&args(json!({"start": slot["start"], "name": "Ana"})), now).await.unwrap()).0, "booked");
    let booked: Vec<Value> = fake.events().into_iter().filter(|e| e["summary"] == "Appointment: Ana").collect();
    assert_eq!(booked.len(), 1);
    assert_eq!(booked[0]["start"]["dateTime"], format!("{day}T14:00:00Z"), "3 PM in Paris");

    // Five calls take 16:00 at once, each as on its own node: one booking at most.
    let start = format!("{day}T16:00:00+01:00");
    let tasks: Vec<_> = (0..5).map(|i| {
        let c = calendar(&fake, KEY, &format!("node-{i}"));
        let a = args(json!({"start": start, "minutes": if i % 2 == 0 { 30 } else { 60 }}));
        tokio::spawn(async move { done(c.book(&a, now).await.unwrap()).0 })
    }).collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let at_four = fake.events().into_iter().filter(|e| e["start"]["dateTime"] == format!("{day}T15:00:00Z")).count();
    assert!(outcomes.iter().filter(|o| *o == "booked").count() <= 1 && at_four <= 1, "{outcomes:?}, {at_four} events");
    assert_eq!(at_four, outcomes.iter().filter(|o| *o == "booked").count());

    assert_eq!(calendar(&fake, "expired", "x").find_slots(&args(json!({"date": day.to_string()})), now).await, Err(CalendarError::Unauthorized(401)));
}

/// A business grants a refresh token instead of an hour's access token: access tokens come from
/// Google's token endpoint, one for many requests, and a new one when the old stops working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_tokens_come_from_the_refresh_token() {
    use parley_connect::tools::google_calendar::OAuthGrant;
    use parley_fakes::google_calendar::{CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN};
    let fake = FakeGoogleCalendar::start().await;
    let hours: OpeningHours = serde_yaml_ng::from_str("time_zone: Europe/Paris\nweekly:\n  monday: ['09:00-12:00', '14:00-18:00']\n").unwrap();
    let granted = |refresh: &str| {
        let grant = OAuthGrant { token_url: format!("{}/token", fake.url), client_id: CLIENT_ID.into(), client_secret: CLIENT_SECRET.into(), refresh_token: refresh.to_string().into() };
        Calendar::new(Arc::new(GoogleCalendar::with_grant(reqwest::Client::new(), &fake.url, "primary", grant)), hours.clone(), "google-oauth")
    };
    let cal = granted(REFRESH_TOKEN);
    let (day, now) = (monday(), Timestamp::now());
    for time in ["09:30", "15:00", "16:00"] {
        assert_eq!(done(cal.find_slots(&args(json!({"date": day.to_string(), "time": time})), now).await.unwrap()).0, "free");
    }
    assert_eq!(fake.refreshes(), 1, "one access token for the three requests");
    fake.expire_tokens();
    let (o, slot) = done(cal.find_slots(&args(json!({"date": day.to_string(), "time": "10:00"})), now).await.unwrap());
    assert_eq!(o, "free");
    assert_eq!(fake.refreshes(), 2, "a refused token is replaced and the request sent again");
    assert_eq!(done(cal.book(&args(json!({"start": slot["start"], "name": "Ana"})), now).await.unwrap()).0, "booked");
    assert_eq!(fake.refreshes(), 2);
    // The next call (a calendar of its own) uses the same access token.
    assert_eq!(done(granted(REFRESH_TOKEN).find_slots(&args(json!({"date": day.to_string(), "time": "16:30"})), now).await.unwrap()).0, "free");
    assert_eq!(fake.refreshes(), 2, "access tokens are shared by the calls of a process");

    // A revoked grant: the tool fails as unauthorized, and nothing is booked.
    assert_eq!(granted("1//revoked").find_slots(&args(json!({"date": day.to_string()})), now).await, Err(CalendarError::Unauthorized(400)));
}
