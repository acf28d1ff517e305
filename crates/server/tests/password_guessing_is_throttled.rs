//! The endpoints that take a password without a bearer token are throttled before any hashing,
//! per account and per client address, over a real HTTP listener:
//! - five wrong sign-ins for one account, then 429 with `Retry-After` (even with the right
//!   password, until the delay has passed), while another account still signs in;
//! - a parallel flood of wrong sign-ins from one address is answered mostly 429, and the
//!   server keeps answering authenticated reads throughout;
//! - an invitation token that is wrong is refused (404) and counts against the address.
//!
//! How much memory and read latency such a flood costs is measured by `bench/signin_flood.sh`,
//! not here.

use crate::common;


use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_are_slowed_down_per_account_and_address() {
    let tmp = tempfile::tempdir().unwrap();
    let (_server, api, op) = common::operated(tmp.path(), &[]);
    api.tenant(&op, "t").await;
    for (email, password) in [("ann@example.com", "ann's long passphrase"), ("bob@example.com", "bob's long passphrase")] {
        api.user(&op, "t", email, "viewer", password).await;
    }
    let sign_in = |email: &str, password: &str| {
        let body = json!({"tenant": "t", "email": email, "password": password});
        let req = api.http.post(format!("{}/v1/sessions", api.base)).json(&body);
        async move { req.send().await.unwrap() }
    };

    for _ in 0..5 {
        assert_eq!(sign_in("ann@example.com", "a wrong guess").await.status(), StatusCode::UNAUTHORIZED);
    }
    let r = sign_in("ANN@example.com", "ann's long passphrase").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "the sixth try waits, whatever the password and the email's case");
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    assert_eq!(sign_in("bob@example.com", "bob's long passphrase").await.status(), StatusCode::CREATED, "another account is not slowed");
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    assert_eq!(sign_in("ann@example.com", "ann's long passphrase").await.status(), StatusCode::CREATED, "after the delay the right password works");

    // A parallel flood from this address: at most the address's free attempts are hashed.
    let emails: Vec<String> = (0..32).map(|i| format!("user{i}@example.com")).collect();
    let flood: Vec<_> = emails.iter().map(|e| sign_in(e, "a wrong guess")).collect();
    let statuses: Vec<StatusCode> = futures_util::future::join_all(flood).await.into_iter().map(|r| r.status()).collect();
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert!(refused >= 12, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS || *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    let (s, _) = api.call(Method::GET, "/v1/tenants/t", Some(&op), None).await;
    assert_eq!(s, StatusCode::OK, "authenticated reads go on");

    // Wrong invitation tokens count against the address too: it is throttled by now.
    let (s, v) = api.call(Method::POST, "/v1/invitations/accept", None, Some(json!({"token": "inv_0000.0000", "password": "a long passphrase"}))).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
}
