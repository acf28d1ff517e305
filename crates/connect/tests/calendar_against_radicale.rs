//! The calendar tools against a real CalDAV server (Radicale, started by the test): free times
//! within the opening hours around what is busy, a booking that lands in the calendar, and no
//! double booking when many calls take the same slot at once, in one process or several.
//!
//! Needs `scripts/setup.sh --test-peers` (radicale from PyPI).

mod common;

use std::sync::Arc;

use jiff::civil::{Date, Weekday};
use jiff::{Timestamp, ToSpan};
use parley_agent::hours::OpeningHours;
use parley_connect::tools::caldav::CalDav;
use parley_connect::tools::calendar::{Calendar, CalendarError};
use parley_fakes::radicale::{Radicale, USER};
use common::{args, done};
use serde_json::json;

const TZ: &str = "America/Chicago";

fn hours() -> OpeningHours {
    serde_yaml_ng::from_str(&format!("time_zone: {TZ}\nweekly:\n  monday: ['09:00-12:00', '13:00-17:00']\n  tuesday: ['09:00-17:00']\n")).unwrap()
}

/// The next Monday at the business, at least two days ahead.
fn monday() -> Date {
    let mut d = Timestamp::now().to_zoned(jiff::tz::TimeZone::get(TZ).unwrap()).date() + 2.days();
    while d.weekday() != Weekday::Monday {
        d += 1.days();
    }
    d
}

fn calendar(radicale: &Radicale, password: &str, key: &str) -> Calendar {
    let store = CalDav::new(reqwest::Client::new(), &radicale.calendar, USER.0, secrecy::SecretString::from(password));
    Calendar::new(Arc::new(store), hours(), key)
}


/// `HH:MM` on `day` in the business's zone, as iCalendar UTC.
fn utc(day: Date, h: i8, m: i8) -> String {
    parley_connect::tools::caldav::ical_utc(day.at(h, m, 0, 0).to_zoned(jiff::tz::TimeZone::get(TZ).unwrap()).unwrap().timestamp())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_times_and_a_booking() {
    let tmp = tempfile::tempdir().unwrap();
    let radicale = Radicale::start(tmp.path()).await;
    let cal = calendar(&radicale, USER.1, &radicale.calendar);
    let day = monday();
    let now = Timestamp::now();
    // A person's event, 10:00 to 11:00.
    radicale.put_event("staff-meeting", &utc(day, 10, 0), &utc(day, 11, 0)).await;

    let (o, d) = done(cal.find_slots(&args(json!({"date": day.to_string(), "time": "15:00"})), now).await.unwrap());
    assert_eq!(o, "free");
    assert!(d["spoken"].as_str().unwrap().ends_with("at 3 PM"), "{d}");
    let (o, d) = done(cal.find_slots(&args(json!({"date": day.to_string(), "time": "10:30"})), now).await.unwrap());
    assert_eq!(o, "other_times", "the meeting is busy");
    let spoken = d["spoken"].as_str().unwrap();
    assert!(spoken.ends_with("at 9:30 AM") || spoken.ends_with("at 11 AM"), "the nearest free time: {d}");
    let (o, _) = done(cal.find_slots(&args(json!({"date": day.to_string(), "time": "12:30"})), now).await.unwrap());
    assert_eq!(o, "other_times", "the lunch break is closed");
    let (o, d) = done(cal.find_slots(&args(json!({"date": day.to_string(), "part": "afternoon"})), now).await.unwrap());
    assert_eq!((o.as_str(), d["spoken"].as_str().unwrap().ends_with("at 1 PM")), ("other_times", true), "{d}");
    let sunday = (day - 1.days()).to_string();
    assert_eq!(done(cal.find_slots(&args(json!({"date": sunday})), now).await.unwrap()).0, "closed");

    let (_, slot) = done(cal.find_slots(&args(json!({"date": day.to_string(), "time": "15:00"})), now).await.unwrap());
    let (o, booked) = done(cal.book(&args(json!({"start": slot["start"], "name": "Dana Smith", "phone": "+15550100004"})), now).await.unwrap());
    assert_eq!(o, "booked", "{booked}");
    let events = radicale.events().await;
    let ours: Vec<&String> = events.iter().filter(|e| e.contains("Appointment: Dana Smith")).collect();
    assert_eq!(ours.len(), 1, "{events:?}");
    assert!(ours[0].contains(&format!("DTSTART:{}", utc(day, 15, 0))) && ours[0].contains(&format!("DTEND:{}", utc(day, 15, 30))), "{}", ours[0]);
    assert!(ours[0].contains("+15550100004"));
    let (o, d) = done(cal.find_slots(&args(json!({"date": day.to_string(), "time": "15:00"})), now).await.unwrap());
    assert_eq!(o, "other_times", "booked now: {d}");
    assert_eq!(done(cal.book(&args(json!({"start": slot["start"], "name": "Eve"})), now).await.unwrap()).0, "taken");
    // Not a slot of the opening hours, or in the past.
    assert_eq!(done(cal.book(&args(json!({"start": format!("{day}T12:15:00-06:00")})), now).await.unwrap()).0, "taken");
    let years_later = now.checked_add(jiff::SignedDuration::from_hours(24 * 3650)).unwrap();
    assert_eq!(done(cal.book(&args(json!({"start": slot["start"]})), years_later).await.unwrap()).0, "taken", "a time that has passed");

    let refused = calendar(&radicale, "wrong", "another");
    assert_eq!(refused.find_slots(&args(json!({"date": day.to_string()})), now).await, Err(CalendarError::Unauthorized(401)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_double_booking_when_calls_take_the_same_slot_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let radicale = Radicale::start(tmp.path()).await;
    let day = monday();
    let now = Timestamp::now();
    let start = format!("{day}T10:00:00-06:00");
    // Six calls at once: three in this process (one lock), three as if on other nodes (each its
    // own lock), two of those booking an hour instead of half an hour.
    let mut tasks = Vec::new();
    for i in 0..6 {
        let key = if i < 3 { radicale.calendar.clone() } else { format!("node-{i}") };
        let cal = calendar(&radicale, USER.1, &key);
        let minutes = if i >= 4 { 60 } else { 30 };
        let a = args(json!({"start": start, "minutes": minutes, "name": format!("Caller {i}")}));
        tasks.push(tokio::spawn(async move { done(cal.book(&a, now).await.unwrap()).0 }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let booked = outcomes.iter().filter(|o| *o == "booked").count();
    assert!(booked <= 1, "never two bookings for one time: {outcomes:?}");
    let events = radicale.events().await;
    assert!(events.len() <= 1, "the calendar has at most one: {events:?}");
    assert_eq!(events.len(), booked, "what was said to be booked is in the calendar: {events:?}");
    // The slot can still be booked by the next caller if everyone yielded.
    if booked == 0 {
        let cal = calendar(&radicale, USER.1, &radicale.calendar);
        assert_eq!(done(cal.book(&args(json!({"start": start})), now).await.unwrap()).0, "booked");
    }
}
