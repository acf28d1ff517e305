//! A CalDAV calendar (RFC 4791) as a [`CalendarStore`]: busy times by a `calendar-query` REPORT
//! with a `time-range` filter and `expand` (so recurring events come as their instances, in
//! UTC; RFC 4791 §7.8 and §9.6.5), events created by `PUT` with `If-None-Match: *` (RFC 4791
//! §5.3.2: never over an existing one) and removed by `DELETE` with `If-Match`. HTTP Basic
//! authentication. Tested against Radicale.

use secrecy::{ExposeSecret, SecretString};

use super::calendar::{BoxFuture, Busy, CalendarError, CalendarStore, NewEvent};

/// A calendar collection.
pub struct CalDav {
    http: reqwest::Client,
    /// The collection's URL, ending in `/`.
    url: String,
    username: String,
    password: SecretString,
}

impl CalDav {
    /// The collection at `url` (`https://dav.example.com/clinic/appointments/`), through `http`
    /// (the operator's egress policy).
    pub fn new(http: reqwest::Client, url: &str, username: &str, password: SecretString) -> CalDav {
        let url = if url.ends_with('/') { url.to_string() } else { format!("{url}/") };
        CalDav { http, url, username: username.to_string(), password }
    }

    fn request(&self, method: &str, url: &str) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        self.http.request(method, url).basic_auth(&self.username, Some(self.password.expose_secret()))
    }

    /// The URL of `href` (a path the server gave).
    fn absolute(&self, href: &str) -> String {
        match url::Url::parse(&self.url).and_then(|base| base.join(href)) {
            Ok(u) => u.to_string(),
            Err(_) => href.to_string(),
        }
    }

    async fn busy_in(&self, start: &str, end: &str) -> Result<Vec<Busy>, CalendarError> {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data><C:expand start="{start}" end="{end}"/></C:calendar-data></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="{start}" end="{end}"/></C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"#
        );
        let response = self.request("REPORT", &self.url).header("Depth", "1").header("Content-Type", "application/xml; charset=utf-8").body(body).send().await.map_err(|_| CalendarError::Unreachable)?;
        let status = response.status().as_u16();
        match status {
            207 => {}
            401 | 403 => return Err(CalendarError::Unauthorized(status)),
            s => return Err(CalendarError::Status(s)),
        }
        let text = response.text().await.map_err(|_| CalendarError::Malformed)?;
        parse_multistatus(&text)
    }
}

impl CalendarStore for CalDav {
    fn busy(&self, start_utc: jiff::Timestamp, end_utc: jiff::Timestamp) -> BoxFuture<'_, Result<Vec<Busy>, CalendarError>> {
        let (s, e) = (ical_utc(start_utc), ical_utc(end_utc));
        Box::pin(async move { self.busy_in(&s, &e).await })
    }

    fn create(&self, event: NewEvent) -> BoxFuture<'_, Result<Option<String>, CalendarError>> {
        Box::pin(async move {
            let href = format!("{}{}.ics", self.url, event.uid);
            let response = self.request("PUT", &href).header("Content-Type", "text/calendar; charset=utf-8").header("If-None-Match", "*").body(event.ics()).send().await.map_err(|_| CalendarError::Unreachable)?;
            match response.status().as_u16() {
                200 | 201 | 204 => Ok(Some(href)),
                // Someone booked this very slot first.
                412 => Ok(None),
                s @ (401 | 403) => Err(CalendarError::Unauthorized(s)),
                s => Err(CalendarError::Status(s)),
            }
        })
    }

    fn remove(&self, href: &str) -> BoxFuture<'_, Result<(), CalendarError>> {
        let url = self.absolute(href);
        Box::pin(async move {
            let response = self.request("DELETE", &url).send().await.map_err(|_| CalendarError::Unreachable)?;
            match response.status().as_u16() {
                200 | 204 | 404 => Ok(()),
                s => Err(CalendarError::Status(s)),
            }
        })
    }

    fn same(&self, a: &str, b: &str) -> bool {
        self.absolute(a) == self.absolute(b)
    }
}

/// `20261204T150000Z`.
pub fn ical_utc(t: jiff::Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// The busy times in a `calendar-query` answer (a WebDAV multistatus of iCalendar texts).
pub fn parse_multistatus(xml: &str) -> Result<Vec<Busy>, CalendarError> {
    let doc = roxmltree::Document::parse(xml).map_err(|_| CalendarError::Malformed)?;
    let mut out = Vec::new();
    for response in doc.descendants().filter(|n| n.has_tag_name(("DAV:", "response"))) {
        let href = response.children().find(|n| n.has_tag_name(("DAV:", "href"))).and_then(|n| n.text()).unwrap_or_default().trim().to_string();
        let Some(data) = response.descendants().find(|n| n.has_tag_name(("urn:ietf:params:xml:ns:caldav", "calendar-data"))).and_then(|n| n.text()) else { continue };
        for (start, end) in event_times(data) {
            out.push(Busy { start, end, href: href.clone() });
        }
    }
    Ok(out)
}

/// The busy intervals of the VEVENTs in an iCalendar text: cancelled and transparent
/// (free) events left out; all-day events as the whole day in UTC.
fn event_times(ics: &str) -> Vec<(jiff::Timestamp, jiff::Timestamp)> {
    // Unfold continuation lines (RFC 5545 §3.1).
    let unfolded = ics.replace("\r\n ", "").replace("\r\n\t", "").replace("\n ", "").replace("\n\t", "");
    let mut out = Vec::new();
    let mut in_event = false;
    let (mut start, mut end, mut duration, mut skip): (Option<jiff::Timestamp>, Option<jiff::Timestamp>, Option<jiff::Span>, bool) = (None, None, None, false);
    for line in unfolded.lines() {
        let line = line.trim_end_matches('\r');
        match line {
            "BEGIN:VEVENT" => {
                in_event = true;
                (start, end, duration, skip) = (None, None, None, false);
                continue;
            }
            "END:VEVENT" => {
                in_event = false;
                if let (Some(s), false) = (start, skip) {
                    let e = end.or_else(|| duration.and_then(|d: jiff::Span| s.checked_add(d).ok())).unwrap_or(s);
                    out.push((s, e));
                }
                continue;
            }
            _ => {}
        }
        if !in_event {
            continue;
        }
        let Some((name_params, value)) = line.split_once(':') else { continue };
        let mut parts = name_params.split(';');
        let name = parts.next().unwrap_or_default().to_ascii_uppercase();
        let params: Vec<&str> = parts.collect();
        match name.as_str() {
            "DTSTART" => start = ical_time(value, &params),
            "DTEND" => end = ical_time(value, &params),
            "DURATION" => duration = value.parse::<jiff::Span>().ok(),
            "STATUS" if value.eq_ignore_ascii_case("CANCELLED") => skip = true,
            "TRANSP" if value.eq_ignore_ascii_case("TRANSPARENT") => skip = true,
            _ => {}
        }
    }
    out
}

/// A DATE-TIME (UTC, with TZID, or floating as UTC) or a DATE, as a timestamp.
fn ical_time(value: &str, params: &[&str]) -> Option<jiff::Timestamp> {
    let tzid = params.iter().find_map(|p| p.strip_prefix("TZID="));
    if value.len() == 8 {
        let date = jiff::civil::Date::strptime("%Y%m%d", value).ok()?;
        return date.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp());
    }
    let (local, utc) = match value.strip_suffix('Z') {
        Some(v) => (v, true),
        None => (value, false),
    };
    let dt = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%S", local).ok()?;
    let tz = match (utc, tzid) {
        (true, _) | (false, None) => jiff::tz::TimeZone::UTC,
        (false, Some(name)) => jiff::tz::TimeZone::get(name.trim_matches('"')).unwrap_or(jiff::tz::TimeZone::UTC),
    };
    dt.to_zoned(tz).ok().map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_times_from_a_multistatus() {
        let xml = r#"<?xml version="1.0"?>
<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><response><href>/clinic/appointments/a.ics</href><propstat><prop><getetag>"1"</getetag>
<C:calendar-data>BEGIN:VCALENDAR&#13;
BEGIN:VEVENT&#13;
UID:a&#13;
DTSTART;TZID=America/Chicago:20261204T090000&#13;
DURATION:PT45M&#13;
SUMMARY:Long
  folded&#13;
END:VEVENT&#13;
BEGIN:VEVENT&#13;
UID:b&#13;
DTSTART:20261204T200000Z&#13;
DTEND:20261204T203000Z&#13;
STATUS:CANCELLED&#13;
END:VEVENT&#13;
END:VCALENDAR&#13;
</C:calendar-data></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"#;
        let busy = parse_multistatus(xml).unwrap();
        assert_eq!(busy.len(), 1, "the cancelled one is free: {busy:?}");
        assert_eq!(busy[0].start.to_string(), "2026-12-04T15:00:00Z");
        assert_eq!(busy[0].end.to_string(), "2026-12-04T15:45:00Z");
        assert_eq!(busy[0].href, "/clinic/appointments/a.ics");
        assert!(parse_multistatus("<not xml").is_err());
    }
}
