//! A Google Calendar as a [`CalendarStore`], through its REST API
//! (<https://developers.google.com/calendar/api/v3/reference/events>): busy times by
//! `GET /calendar/v3/calendars/{calendarId}/events?timeMin&timeMax&singleEvents=true` (recurring
//! events as their instances; cancelled and `transparency: transparent` ones are free), events
//! created by `POST .../events` with an `id` of our own making (base32hex: `a`-`v`, `0`-`9`), so
//! a second booking of the same slot is refused with `409 Conflict`
//! (<https://developers.google.com/calendar/api/v3/reference/events/insert>), and removed by
//! `DELETE .../events/{eventId}`. An OAuth 2.0 access token is the Bearer token.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::calendar::{BoxFuture, Busy, CalendarError, CalendarStore, NewEvent};

/// Google's API address.
pub const API_BASE: &str = "https://www.googleapis.com";

/// One calendar.
pub struct GoogleCalendar {
    http: reqwest::Client,
    events: String,
    token: SecretString,
}

impl GoogleCalendar {
    /// Calendar `calendar_id` (`primary`, or an address) at `base` ([`API_BASE`]).
    pub fn new(http: reqwest::Client, base: &str, calendar_id: &str, token: SecretString) -> GoogleCalendar {
        let id: String = form_urlencoded::byte_serialize(calendar_id.as_bytes()).collect();
        GoogleCalendar { http, events: format!("{}/calendar/v3/calendars/{id}/events", base.trim_end_matches('/')), token }
    }

    fn status(code: u16) -> CalendarError {
        match code {
            401 | 403 => CalendarError::Unauthorized(code),
            s => CalendarError::Status(s),
        }
    }
}

/// An event id Google accepts (base32hex characters, 5 to 1024) made from our UID.
pub fn event_id(uid: &str) -> String {
    uid.chars().map(|c| c.to_ascii_lowercase()).filter(|c| c.is_ascii_digit() || ('a'..='v').contains(c)).collect()
}

fn time_of(v: &Value) -> Option<jiff::Timestamp> {
    if let Some(t) = v.get("dateTime").and_then(Value::as_str) {
        return t.parse().ok();
    }
    let d: jiff::civil::Date = v.get("date").and_then(Value::as_str)?.parse().ok()?;
    d.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp())
}

impl CalendarStore for GoogleCalendar {
    fn busy(&self, start: jiff::Timestamp, end: jiff::Timestamp) -> BoxFuture<'_, Result<Vec<Busy>, CalendarError>> {
        Box::pin(async move {
            let query = [("timeMin", start.to_string()), ("timeMax", end.to_string()), ("singleEvents", "true".into()), ("maxResults", "250".into())];
            let response = self.http.get(&self.events).bearer_auth(self.token.expose_secret()).query(&query).send().await.map_err(|_| CalendarError::Unreachable)?;
            let code = response.status().as_u16();
            if code != 200 {
                return Err(Self::status(code));
            }
            let v: Value = response.json().await.map_err(|_| CalendarError::Malformed)?;
            let items = v.get("items").and_then(Value::as_array).ok_or(CalendarError::Malformed)?;
            Ok(items
                .iter()
                .filter(|e| e["status"] != "cancelled" && e["transparency"] != "transparent")
                .filter_map(|e| Some(Busy { start: time_of(&e["start"])?, end: time_of(&e["end"])?, href: e["id"].as_str()?.to_string() }))
                .collect())
        })
    }

    fn create(&self, event: NewEvent) -> BoxFuture<'_, Result<Option<String>, CalendarError>> {
        Box::pin(async move {
            let id = event_id(&event.uid);
            let body = json!({"id": id, "summary": event.summary, "description": event.description, "start": {"dateTime": event.start.to_string()}, "end": {"dateTime": event.end.to_string()}});
            let response = self.http.post(&self.events).bearer_auth(self.token.expose_secret()).json(&body).send().await.map_err(|_| CalendarError::Unreachable)?;
            match response.status().as_u16() {
                200 | 201 => Ok(Some(id)),
                // The slot's event exists: someone booked it first.
                409 => Ok(None),
                s => Err(Self::status(s)),
            }
        })
    }

    fn remove(&self, href: &str) -> BoxFuture<'_, Result<(), CalendarError>> {
        let url = format!("{}/{href}", self.events);
        Box::pin(async move {
            let response = self.http.delete(&url).bearer_auth(self.token.expose_secret()).send().await.map_err(|_| CalendarError::Unreachable)?;
            match response.status().as_u16() {
                200 | 204 | 404 | 410 => Ok(()),
                s => Err(Self::status(s)),
            }
        })
    }

    fn same(&self, a: &str, b: &str) -> bool {
        a == b
    }
}
