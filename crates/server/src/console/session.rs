//! Who is signed in to the console, and the checks every console request makes.
//!
//! - The session is a dashboard session (`POST /v1/sessions`): its token travels in the cookie
//!   `parley_session` (HttpOnly, SameSite=Strict, Secure when the request came over TLS through
//!   the operator's proxy, `X-Forwarded-Proto: https`), never in a page. The cookie opens only
//!   the console: the API at `/v1` takes bearer tokens alone, so no cross-site request can use
//!   it there.
//! - Every state change is a POST carrying a CSRF token: an HMAC of the session's id under the
//!   installation's key, so it cannot be made without the key and is worthless with another
//!   session. Sign-in, before any session, uses a double-submitted random token (cookie and
//!   form field). A POST whose `Origin` names another site is refused either way.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue};
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use sha2::Sha256;

use super::pages::SignedIn;
use crate::api::auth::Caller;
use crate::api::ApiState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "parley_session";
/// The sign-in form's double-submit cookie.
pub const SIGN_IN_COOKIE: &str = "parley_sign_in";

/// A cookie's value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// Whether the request came over TLS (terminated by the operator's proxy).
fn over_tls(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, the whole site, `max_age` seconds (0 ends
/// it), Secure over TLS.
pub fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if over_tls(headers) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}", max_age.max(0))).unwrap_or(HeaderValue::from_static(""))
}

/// Whether a POST may come from where it says: no `Origin` (not a browser, or a same-origin
/// navigation by an old one) or one naming this host.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let origin_host = origin.split_once("://").map_or("", |(_, h)| h);
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// The CSRF token of session `session_id`.
pub fn csrf_token(state: &ApiState, session_id: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(state.hash_key.as_slice()) else { return String::new() };
    mac.update(b"parley console csrf\0");
    mac.update(session_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `given` is `expected`, compared in constant time.
pub fn tokens_match(given: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    !expected.is_empty() && given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// The signed-in user of a console request: the same [`Caller`] the API sees for their
/// session, so the console can do exactly what the API lets them.
pub struct Viewer {
    /// The API's caller.
    pub caller: Caller,
    /// The tenant.
    pub tenant: String,
    /// The form token for state changes.
    pub csrf: String,
}

impl Viewer {
    /// Who the page frame shows as signed in.
    pub fn signed_in(&self) -> SignedIn<'_> {
        match self.caller.tenant_id() {
            Some(_) => SignedIn::Tenant { tenant: &self.tenant, role: self.caller.role().as_str(), csrf: &self.csrf },
            None => SignedIn::Operator { csrf: &self.csrf },
        }
    }
}

/// An operator signed in to the console: a [`Viewer`] of no tenant (`tenant` empty) whose
/// caller is the platform admin.
pub struct Operator(pub Viewer);

/// No (valid) session for the page: the browser goes where it can sign in (or, holding the
/// other kind of session, to its own pages).
pub struct SignInFirst(&'static str);

impl axum::response::IntoResponse for SignInFirst {
    fn into_response(self) -> axum::response::Response {
        axum::response::Redirect::to(self.0).into_response()
    }
}

/// The caller and CSRF token of the session in the cookie, if it is a live session of the
/// kind `prefix` names (`ses_` users, `ops_` operators).
async fn session_of(parts: &Parts, state: &ApiState, prefix: &str) -> Option<(Caller, String)> {
    let token = cookie(&parts.headers, SESSION_COOKIE).filter(|t| t.starts_with(prefix))?;
    let caller = Caller::from_token(state, &SecretString::from(token.to_string())).await.ok()?;
    let csrf = csrf_token(state, caller.session_id.as_deref()?);
    Some((caller, csrf))
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer
where
    ApiState: FromRef<S>,
{
    type Rejection = SignInFirst;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, SignInFirst> {
        let state = &ApiState::from_ref(state);
        // Only a session's token: an API key is not a console sign-in.
        let first = if cookie(&parts.headers, SESSION_COOKIE).is_some_and(|t| t.starts_with("ops_")) { "/operator" } else { "/sign-in" };
        let (caller, csrf) = session_of(parts, state, "ses_").await.ok_or(SignInFirst(first))?;
        let tenant = caller.tenant_id().map(str::to_string).ok_or(SignInFirst(first))?;
        Ok(Viewer { caller, tenant, csrf })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Operator
where
    ApiState: FromRef<S>,
{
    type Rejection = SignInFirst;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, SignInFirst> {
        let state = &ApiState::from_ref(state);
        let (caller, csrf) = session_of(parts, state, "ops_").await.ok_or(SignInFirst("/operator/sign-in"))?;
        if caller.platform().is_err() || caller.tenant_id().is_some() {
            return Err(SignInFirst("/operator/sign-in"));
        }
        Ok(Operator(Viewer { caller, tenant: String::new(), csrf }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let h = headers(&[("cookie", "a=1; parley_session_x=no; parley_session=ses_abc"), ("cookie", "b=2")]);
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("ses_abc"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn the_session_cookie_is_http_only_strict_and_secure_over_tls() {
        let plain = set_cookie(&HeaderMap::new(), SESSION_COOKIE, "ses_x", 3600);
        assert_eq!(plain, "parley_session=ses_x; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600");
        let tls = set_cookie(&headers(&[("x-forwarded-proto", "https")]), SESSION_COOKIE, "ses_x", 3600);
        assert!(tls.to_str().unwrap().ends_with("; Secure"));
    }

    #[test]
    fn a_post_from_another_site_is_refused() {
        assert!(same_origin(&headers(&[("host", "console.example:8080"), ("origin", "http://console.example:8080")])));
        assert!(!same_origin(&headers(&[("host", "console.example:8080"), ("origin", "https://evil.example")])));
        assert!(!same_origin(&headers(&[("host", "console.example"), ("origin", "null")])));
        assert!(same_origin(&headers(&[("host", "console.example")])), "no Origin: not a cross-site browser request");
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("ab", "abc"));
        assert!(!tokens_match("", ""), "an empty expected token never matches");
    }
}
