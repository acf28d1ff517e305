//! Appointments: `calendar.find_slots` and `calendar.book` over a tenant's calendar
//! ([`CalendarStore`]: CalDAV today), within the agent's opening hours and time zone.
//!
//! Free slots are the opening hours of the day cut into appointments of `minutes`, less what
//! the calendar has busy and what has already passed. Asked for a time, the answer is `free`
//! (that time), `other_times` (the nearest free one, and up to three to offer), `full` or
//! `closed`.
//!
//! Booking never double books, also when two calls take the same slot at once: bookings on one
//! calendar run one at a time in this process; the event is created only if the calendar has
//! none at that resource name (`If-None-Match: *`, the name made of the slot), so a second
//! Parley (another process or node) booking the same slot is refused by the server; and once
//! created, the slot is read again: if anything else overlaps it (an event booked by a person,
//! or another length of appointment), this booking is withdrawn and the caller is told the time
//! was just taken. Whoever sees a conflict yields, so at worst both yield and neither books.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use parley_agent::hours::OpeningHours;
use parley_agent::tools::ToolOutcome;
use serde_json::{json, Map, Value};

/// A boxed future of a calendar operation.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A busy interval of the calendar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Busy {
    /// From.
    pub start: Timestamp,
    /// Until.
    pub end: Timestamp,
    /// The event's address in the calendar.
    pub href: String,
}

/// An event to create.
#[derive(Clone, Debug)]
pub struct NewEvent {
    /// Its UID (and resource name).
    pub uid: String,
    /// From.
    pub start: Timestamp,
    /// Until.
    pub end: Timestamp,
    /// Its title.
    pub summary: String,
    /// Its description.
    pub description: String,
}

impl NewEvent {
    /// As an iCalendar object (RFC 5545).
    pub fn ics(&self) -> String {
        let esc = |t: &str| t.replace('\\', "\\\\").replace(';', "\\;").replace(',', "\\,").replace(['\r', '\n'], " ");
        let utc = super::caldav::ical_utc;
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Parley//Appointments//EN\r\nBEGIN:VEVENT\r\nUID:{}\r\nDTSTAMP:{}\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:{}\r\nDESCRIPTION:{}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            self.uid,
            utc(self.start),
            utc(self.start),
            utc(self.end),
            esc(&self.summary),
            esc(&self.description)
        )
    }
}

/// Why a calendar operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The credentials were refused.
    #[error("the calendar refused the credentials ({0})")]
    Unauthorized(u16),
    /// Another status.
    #[error("the calendar answered {0}")]
    Status(u16),
    /// No answer.
    #[error("the calendar could not be reached")]
    Unreachable,
    /// An answer not understood.
    #[error("the calendar's answer was not understood")]
    Malformed,
}

/// Where appointments are kept.
pub trait CalendarStore: Send + Sync {
    /// Busy intervals overlapping `[start, end)`.
    fn busy(&self, start: Timestamp, end: Timestamp) -> BoxFuture<'_, Result<Vec<Busy>, CalendarError>>;
    /// Creates `event` unless one with its UID exists: its address, or `None`.
    fn create(&self, event: NewEvent) -> BoxFuture<'_, Result<Option<String>, CalendarError>>;
    /// Removes the event at `href`.
    fn remove(&self, href: &str) -> BoxFuture<'_, Result<(), CalendarError>>;
    /// Whether two addresses name the same event.
    fn same(&self, a: &str, b: &str) -> bool;
}

/// A tenant's appointment calendar, as the agent's opening hours bound it.
pub struct Calendar {
    store: Arc<dyn CalendarStore>,
    hours: OpeningHours,
    /// Bookings on this calendar run one at a time (shared by all calls on it).
    lock: Arc<tokio::sync::Mutex<()>>,
}

/// One lock per calendar address in this process.
fn lock_for(key: &str) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let mut locks = LOCKS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    locks.entry(key.to_string()).or_default().clone()
}

/// The default appointment length.
const DEFAULT_MINUTES: i64 = 30;


fn minutes(args: &Map<String, Value>) -> i64 {
    super::arg_text(args, "minutes").parse::<i64>().ok().filter(|m| (5..=480).contains(m)).unwrap_or(DEFAULT_MINUTES)
}

impl Calendar {
    /// `store`, open as `hours` say; `key` names the calendar (its URL) for the booking lock.
    pub fn new(store: Arc<dyn CalendarStore>, hours: OpeningHours, key: &str) -> Calendar {
        Calendar { store, hours, lock: lock_for(key) }
    }

    fn tz(&self) -> TimeZone {
        TimeZone::get(&self.hours.time_zone).unwrap_or(TimeZone::UTC)
    }

    /// The slots of `date` (start, end), in order.
    fn slots(&self, date: Date, minutes: i64) -> Vec<(Timestamp, Timestamp)> {
        let tz = self.tz();
        let mut out = Vec::new();
        for (open, close) in self.hours.periods_on(date) {
            let mut m = i64::from(open);
            while m + minutes <= i64::from(close) {
                let at = date.at((m / 60) as i8, (m % 60) as i8, 0, 0);
                if let (Ok(s), Ok(e)) = (at.to_zoned(tz.clone()), at.to_zoned(tz.clone()).and_then(|z| z.checked_add(minutes.minutes()))) {
                    out.push((s.timestamp(), e.timestamp()));
                }
                m += minutes;
            }
        }
        out
    }

    fn spoken(&self, t: Timestamp) -> String {
        let z = t.to_zoned(self.tz());
        format!("{} at {}", z.strftime("%A, %B %-d"), parley_agent::when::spoken_time(z.hour(), z.minute()))
    }

    fn slot_value(&self, (s, e): (Timestamp, Timestamp)) -> Value {
        json!({"start": s.to_zoned(self.tz()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(), "end": e.to_zoned(self.tz()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(), "spoken": self.spoken(s)})
    }

    /// `find_slots`: `date` (`2026-12-04`), `time` (`15:00`, optional), `part` (`morning`,
    /// `afternoon`, `evening`, optional), `minutes`; `now` is the current time.
    pub async fn find_slots(&self, args: &Map<String, Value>, now: Timestamp) -> Result<ToolOutcome, CalendarError> {
        let Ok(date) = super::arg_text(args, "date").parse::<Date>() else { return Ok(ToolOutcome::Done { outcome: "closed".into(), data: json!({}) }) };
        let minutes = minutes(args);
        let all = self.slots(date, minutes);
        let spoken_day = date.strftime("%A, %B %-d").to_string();
        if all.is_empty() {
            return Ok(ToolOutcome::Done { outcome: "closed".into(), data: json!({"day": spoken_day}) });
        }
        let (first, last) = (all[0].0, all[all.len() - 1].1);
        let busy = self.store.busy(first, last).await?;
        let free: Vec<(Timestamp, Timestamp)> = all.iter().copied().filter(|(s, e)| *s > now && !busy.iter().any(|b| b.start < *e && *s < b.end)).collect();
        let wanted = super::arg_text(args, "time").split_once(':').and_then(|(h, m)| Some((h.parse::<i8>().ok()?, m.parse::<i8>().ok()?))).and_then(|(h, m)| date.at(h, m, 0, 0).to_zoned(self.tz()).ok()).map(|z| z.timestamp());
        if let Some(w) = wanted {
            if let Some(slot) = free.iter().find(|(s, _)| *s == w) {
                let mut data = self.slot_value(*slot);
                data["minutes"] = json!(minutes);
                return Ok(ToolOutcome::Done { outcome: "free".into(), data });
            }
        }
        if free.is_empty() {
            return Ok(ToolOutcome::Done { outcome: "full".into(), data: json!({"day": spoken_day}) });
        }
        // The nearest to the time asked for, or the first in the part of the day asked for.
        let part = super::arg_text(args, "part");
        let hour = |t: &Timestamp| t.to_zoned(self.tz()).hour();
        let mut offer: Vec<(Timestamp, Timestamp)> = match (wanted, part.as_str()) {
            (Some(w), _) => {
                let mut f = free.clone();
                f.sort_by_key(|(s, _)| (s.as_second() - w.as_second()).abs());
                f
            }
            (None, "morning") => free.iter().copied().filter(|s| hour(&s.0) < 12).chain(free.iter().copied().filter(|s| hour(&s.0) >= 12)).collect(),
            (None, "afternoon") => free.iter().copied().filter(|s| (12..17).contains(&hour(&s.0))).chain(free.iter().copied()).collect(),
            (None, "evening") => free.iter().copied().filter(|s| hour(&s.0) >= 17).chain(free.iter().copied().rev()).collect(),
            _ => free.clone(),
        };
        offer.dedup();
        offer.truncate(3);
        let mut data = self.slot_value(offer[0]);
        data["minutes"] = json!(minutes);
        data["others"] = json!(offer[1..].iter().map(|s| self.spoken(s.0)).collect::<Vec<_>>().join(" or "));
        Ok(ToolOutcome::Done { outcome: "other_times".into(), data })
    }

    /// `book`: `start` (a slot's `start`), `minutes`, `name`, `phone`.
    pub async fn book(&self, args: &Map<String, Value>, now: Timestamp) -> Result<ToolOutcome, CalendarError> {
        let minutes = minutes(args);
        let taken = || Ok(ToolOutcome::Done { outcome: "taken".into(), data: json!({}) });
        let Ok(start) = super::arg_text(args, "start").parse::<jiff::Zoned>().map(|z| z.timestamp()).or_else(|_| super::arg_text(args, "start").parse::<Timestamp>()) else { return taken() };
        let end = start + (minutes * 60).seconds();
        let date = start.to_zoned(self.tz()).date();
        // Only a slot of the opening hours, not past.
        if start <= now || !self.slots(date, minutes).contains(&(start, end)) {
            return taken();
        }
        let _one_at_a_time = self.lock.lock().await;
        if !self.store.busy(start, end).await?.is_empty() {
            return taken();
        }
        let name = super::arg_text(args, "name");
        let phone = super::arg_text(args, "phone");
        let uid = format!("parley-{}-{minutes}", super::caldav::ical_utc(start).to_lowercase());
        let event = NewEvent { uid: uid.clone(), start, end, summary: if name.is_empty() { "Appointment".into() } else { format!("Appointment: {name}") }, description: format!("Booked by phone with the Parley assistant. Caller: {phone}") };
        let Some(href) = self.store.create(event).await? else { return taken() };
        // Anything else in the slot now (booked meanwhile elsewhere): this booking yields.
        let others = self.store.busy(start, end).await?.into_iter().filter(|b| !self.store.same(&b.href, &href)).count();
        if others > 0 {
            self.store.remove(&href).await?;
            return taken();
        }
        let mut data = self.slot_value((start, end));
        data["reference"] = json!(uid);
        data["summary"] = json!(format!("appointment booked for {}", self.spoken(start)));
        Ok(ToolOutcome::Done { outcome: "booked".into(), data })
    }
}
