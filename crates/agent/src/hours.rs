//! When a business is open: weekly hours in its time zone, and days it is closed (holidays).
//! `hours` nodes branch on it at the call's own time (the interpreter is handed the wall
//! clock; nothing here reads one).

use serde::{Deserialize, Serialize};

/// Opening hours.
///
/// ```yaml
/// opening_hours:
///   time_zone: America/New_York
///   weekly:
///     monday: ["09:00-12:30", "13:30-18:00"]
///     saturday: ["10:00-16:00"]
///   closed: ["2026-12-25", "2027-01-01"]
/// ```
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpeningHours {
    /// IANA time zone name.
    pub time_zone: String,
    /// Open periods per weekday, `HH:MM-HH:MM` (a day not listed is closed).
    #[serde(default)]
    pub weekly: Weekly,
    /// Dates (`YYYY-MM-DD`, in the time zone) the business is closed all day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closed: Vec<String>,
}

/// Open periods per weekday.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Weekly {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monday: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tuesday: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wednesday: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thursday: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub friday: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub saturday: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sunday: Vec<String>,
}

/// `HH:MM` as minutes of the day (24:00 allowed as the end of a day).
fn minutes(t: &str) -> Option<u32> {
    let (h, m) = t.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

fn period(p: &str) -> Option<(u32, u32)> {
    let (a, b) = p.split_once('-')?;
    let (a, b) = (minutes(a)?, minutes(b)?);
    (a < b).then_some((a, b))
}

impl Weekly {
    fn day(&self, weekday: jiff::civil::Weekday) -> &[String] {
        use jiff::civil::Weekday::*;
        match weekday {
            Monday => &self.monday,
            Tuesday => &self.tuesday,
            Wednesday => &self.wednesday,
            Thursday => &self.thursday,
            Friday => &self.friday,
            Saturday => &self.saturday,
            Sunday => &self.sunday,
        }
    }

    fn all(&self) -> impl Iterator<Item = &String> {
        [&self.monday, &self.tuesday, &self.wednesday, &self.thursday, &self.friday, &self.saturday, &self.sunday].into_iter().flatten()
    }
}

impl OpeningHours {
    /// Why these hours cannot be used, if they cannot.
    pub fn problem(&self) -> Option<String> {
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            return Some(format!("opening_hours: unknown time zone `{}` (an IANA name such as Europe/Paris)", self.time_zone));
        }
        if let Some(p) = self.weekly.all().find(|p| period(p).is_none()) {
            return Some(format!("opening_hours: `{p}` is not a period like 09:00-17:30"));
        }
        if let Some(d) = self.closed.iter().find(|d| d.parse::<jiff::civil::Date>().is_err()) {
            return Some(format!("opening_hours: closed date `{d}` is not a date like 2026-12-25"));
        }
        None
    }

    /// The date and time at the business at `unix_ms` ("Tuesday 2026-12-01 13:55").
    pub fn local_time(&self, unix_ms: i64) -> Option<String> {
        let (Ok(tz), Ok(at)) = (jiff::tz::TimeZone::get(&self.time_zone), jiff::Timestamp::from_millisecond(unix_ms)) else { return None };
        Some(at.to_zoned(tz).strftime("%A %Y-%m-%d %H:%M").to_string())
    }

    /// The open periods of `date` (minutes of the day, in the time zone): none on a closed day.
    pub fn periods_on(&self, date: jiff::civil::Date) -> Vec<(u32, u32)> {
        if self.closed.iter().any(|d| d.parse::<jiff::civil::Date>().ok() == Some(date)) {
            return Vec::new();
        }
        self.weekly.day(date.weekday()).iter().filter_map(|p| period(p)).collect()
    }

    /// Whether the business is open at `unix_ms`.
    pub fn open_at(&self, unix_ms: i64) -> bool {
        let (Ok(tz), Ok(at)) = (jiff::tz::TimeZone::get(&self.time_zone), jiff::Timestamp::from_millisecond(unix_ms)) else { return false };
        let local = at.to_zoned(tz);
        let date = local.date();
        if self.closed.iter().any(|d| d.parse::<jiff::civil::Date>().ok() == Some(date)) {
            return false;
        }
        let now = u32::from(local.hour().unsigned_abs()) * 60 + u32::from(local.minute().unsigned_abs());
        self.weekly.day(date.weekday()).iter().filter_map(|p| period(p)).any(|(a, b)| (a..b).contains(&now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn open_in_the_business_time_zone_and_closed_on_holidays() {
        let h: OpeningHours = serde_yaml_ng::from_str("time_zone: America/New_York\nweekly:\n  friday: ['09:00-12:30', '13:30-18:00']\nclosed: ['2026-12-25']\n").unwrap();
        assert_eq!(h.problem(), None);
        // Friday 4 December 2026, 10:00 in New York is 15:00 UTC.
        assert!(h.open_at(ms("2026-12-04T15:00:00Z")));
        assert!(!h.open_at(ms("2026-12-04T13:59:00Z")), "08:59 local");
        assert!(!h.open_at(ms("2026-12-04T17:45:00Z")), "lunch");
        assert!(!h.open_at(ms("2026-12-04T23:00:00Z")), "18:00 local is closing time");
        assert!(!h.open_at(ms("2026-12-25T15:00:00Z")), "a holiday on a Friday");
        assert!(!h.open_at(ms("2026-12-05T15:00:00Z")), "Saturday is not listed");
    }

    #[test]
    fn bad_hours_are_named() {
        let bad = |yaml: &str| serde_yaml_ng::from_str::<OpeningHours>(yaml).unwrap().problem().unwrap();
        assert!(bad("time_zone: Mars/Olympus").contains("unknown time zone"));
        assert!(bad("time_zone: UTC\nweekly: {monday: ['18:00-09:00']}").contains("18:00-09:00"));
        assert!(bad("time_zone: UTC\nclosed: ['25/12/2026']").contains("25/12/2026"));
    }
}
