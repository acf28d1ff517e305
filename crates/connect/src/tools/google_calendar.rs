//! A Google Calendar as a [`CalendarStore`], through its REST API
//! (<https://developers.google.com/calendar/api/v3/reference/events>): busy times by
//! `GET /calendar/v3/calendars/{calendarId}/events?timeMin&timeMax&singleEvents=true` (recurring
//! events as their instances; cancelled and `transparency: transparent` ones are free), events
//! created by `POST .../events` with an `id` of our own making (base32hex: `a`-`v`, `0`-`9`), so
//! a second booking of the same slot is refused with `409 Conflict`
//! (<https://developers.google.com/calendar/api/v3/reference/events/insert>), and removed by
//! `DELETE .../events/{eventId}`. An OAuth 2.0 access token is the Bearer token: given as is
//! (it lasts an hour), or obtained from a refresh token the business granted, through Google's
//! token endpoint (<https://developers.google.com/identity/protocols/oauth2/web-server#offline>:
//! `grant_type=refresh_token` with the OAuth client's id and secret), kept for every call of the
//! process until a minute before it expires, and fetched again when the API answers `401` (then
//! the request is sent once more).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::calendar::{BoxFuture, Busy, CalendarError, CalendarStore, NewEvent};

/// Google's API address.
pub const API_BASE: &str = "https://www.googleapis.com";

/// Google's OAuth 2.0 token endpoint.
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

/// How long before its expiry an access token is replaced.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// An OAuth client and the refresh token a business granted it.
pub struct OAuthGrant {
    /// The token endpoint ([`TOKEN_URL`]).
    pub token_url: String,
    /// The OAuth client's id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: SecretString,
    /// The refresh token.
    pub refresh_token: SecretString,
}

impl OAuthGrant {
    /// What the grant's access tokens are kept under: a digest, so the cache holds no secret
    /// of the grant itself.
    fn key(&self) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for part in [self.token_url.as_str(), self.client_id.as_str(), self.refresh_token.expose_secret()] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        hex::encode(h.finalize())
    }
}

/// Access tokens by grant, shared by the calls of this process, with when to stop using each.
static TOKENS: LazyLock<Mutex<HashMap<String, (SecretString, Instant)>>> = LazyLock::new(Mutex::default);

/// The kept access token of grant `key` (`fresh`: it was refused, forget it).
fn cached(key: &str, fresh: bool) -> Option<SecretString> {
    let mut tokens = TOKENS.lock().unwrap_or_else(|p| p.into_inner());
    tokens.retain(|_, (_, until)| Instant::now() < *until);
    if fresh {
        tokens.remove(key);
        return None;
    }
    tokens.get(key).map(|(token, _)| token.clone())
}

enum Auth {
    Token(SecretString),
    Refresh(OAuthGrant),
}

/// One calendar.
pub struct GoogleCalendar {
    http: reqwest::Client,
    events: String,
    auth: Auth,
}

impl GoogleCalendar {
    /// Calendar `calendar_id` (`primary`, or an address) at `base` ([`API_BASE`]), with an
    /// access token.
    pub fn new(http: reqwest::Client, base: &str, calendar_id: &str, token: SecretString) -> GoogleCalendar {
        Self::with_auth(http, base, calendar_id, Auth::Token(token))
    }

    /// The same with access tokens obtained from `grant` as needed.
    pub fn with_grant(http: reqwest::Client, base: &str, calendar_id: &str, grant: OAuthGrant) -> GoogleCalendar {
        Self::with_auth(http, base, calendar_id, Auth::Refresh(grant))
    }

    fn with_auth(http: reqwest::Client, base: &str, calendar_id: &str, auth: Auth) -> GoogleCalendar {
        let id: String = form_urlencoded::byte_serialize(calendar_id.as_bytes()).collect();
        GoogleCalendar { http, events: format!("{}/calendar/v3/calendars/{id}/events", base.trim_end_matches('/')), auth }
    }

    /// The access token to send (`fresh`: not the one just refused).
    async fn token(&self, fresh: bool) -> Result<SecretString, CalendarError> {
        let grant = match &self.auth {
            Auth::Token(t) => return Ok(t.clone()),
            Auth::Refresh(grant) => grant,
        };
        let key = grant.key();
        if let Some(token) = cached(&key, fresh) {
            return Ok(token);
        }
        let form = [("client_id", grant.client_id.as_str()), ("client_secret", grant.client_secret.expose_secret()), ("refresh_token", grant.refresh_token.expose_secret()), ("grant_type", "refresh_token")];
        let response = self.http.post(&grant.token_url).form(&form).send().await.map_err(|_| CalendarError::Unreachable)?;
        match response.status().as_u16() {
            200 => {}
            // invalid_grant (revoked or expired) and invalid_client: the business must grant again.
            400 | 401 | 403 => return Err(CalendarError::Unauthorized(response.status().as_u16())),
            s => return Err(CalendarError::Status(s)),
        }
        let v: Value = response.json().await.map_err(|_| CalendarError::Malformed)?;
        let token = SecretString::from(v.get("access_token").and_then(Value::as_str).ok_or(CalendarError::Malformed)?.to_string());
        let lasts = Duration::from_secs(v.get("expires_in").and_then(Value::as_u64).unwrap_or(3600));
        TOKENS.lock().unwrap_or_else(|p| p.into_inner()).insert(key, (token.clone(), Instant::now() + lasts.saturating_sub(EXPIRY_MARGIN)));
        Ok(token)
    }

    /// Sends what `request` builds with the current access token; on `401`, once more with a
    /// fresh one (when tokens come from a grant).
    async fn send(&self, request: impl Fn(&str) -> reqwest::RequestBuilder) -> Result<reqwest::Response, CalendarError> {
        let token = self.token(false).await?;
        let response = request(token.expose_secret()).send().await.map_err(|_| CalendarError::Unreachable)?;
        if response.status().as_u16() != 401 || matches!(self.auth, Auth::Token(_)) {
            return Ok(response);
        }
        let token = self.token(true).await?;
        request(token.expose_secret()).send().await.map_err(|_| CalendarError::Unreachable)
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
            let response = self.send(|token| self.http.get(&self.events).bearer_auth(token).query(&query)).await?;
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
            let response = self.send(|token| self.http.post(&self.events).bearer_auth(token).json(&body)).await?;
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
            let response = self.send(|token| self.http.delete(&url).bearer_auth(token)).await?;
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
