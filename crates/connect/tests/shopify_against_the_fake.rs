//! `shopify.find_order` against the in-repo fake of Shopify's GraphQL Admin API
//! (`parley_fakes::shopify`): by order number, by the customer's phone number (their latest
//! order), nothing found, a refused token, a store that fails, and the cost-based rate limit
//! (waiting for the bucket when that is short, a throttled query retried once, failing when
//! the wait is longer than a caller can hold).

mod common;

use std::time::{Duration, Instant};

use parley_agent::tools::ToolOutcome;
use parley_connect::tools::shopify::{Shopify, ShopifyError, DEFAULT_API_VERSION};
use parley_fakes::shopify::FakeShopify;
use parley_fakes::{Behaviour, KEY};
use common::args;
use serde_json::{json, Value};

fn shop(fake: &FakeShopify, token: &str) -> Shopify {
    Shopify::new(reqwest::Client::new(), &fake.url, DEFAULT_API_VERSION, secrecy::SecretString::from(token))
}

fn found(outcome: ToolOutcome) -> Value {
    match outcome {
        ToolOutcome::Done { outcome, data } if outcome == "found" => data,
        other => panic!("not found: {other:?}"),
    }
}

#[tokio::test]
async fn orders_by_number_and_by_the_callers_phone() {
    let fake = FakeShopify::start().await;
    let s = shop(&fake, KEY);
    let d = found(s.find_order(&args(json!({"number": "1004"}))).await.unwrap());
    assert_eq!((d["number"].as_u64(), d["last_name"].as_str(), d["postcode"].as_str()), (Some(1004), Some("Smith"), Some("60601")));
    assert_eq!(d["status"], "in transit");
    assert_eq!(d["detail"], "in transit and expected by November 21");
    assert_eq!(d["items"], json!(["Desk lamp", "2 Light bulb"]));
    assert_eq!(d["tracking"]["company"], "UPS");
    let seen = fake.seen();
    assert_eq!(seen[0].version, DEFAULT_API_VERSION);
    assert_eq!(seen[0].variables, json!({"q": "name:#1004"}));
    assert!(seen[0].query.contains("orders(first: 1, query: $q)"));

    // By phone: the customer's latest order, not an older one.
    let d = found(s.find_order(&args(json!({"phone": "+1 555-010-0004"}))).await.unwrap());
    assert_eq!(d["number"], 1004);
    assert_eq!(fake.seen()[1].variables, json!({"q": "phone:+15550100004"}));
    assert!(fake.seen()[1].query.contains("sortKey: CREATED_AT, reverse: true"));
    let d = found(s.find_order(&args(json!({"phone": "+15550100002"}))).await.unwrap());
    assert_eq!((d["status"].as_str(), d["detail"].as_str(), d["balance_cents"].as_u64()), (Some("delivered"), Some("delivered on November 15"), Some(4990)));
    let d = found(s.find_order(&args(json!({"number": 1008}))).await.unwrap());
    assert_eq!(d["status"], "processing");

    for missing in [json!({"number": "4242"}), json!({"phone": "+15559999999"}), json!({"phone": "12"}), json!({})] {
        assert_eq!(s.find_order(&args(missing.clone())).await.unwrap(), ToolOutcome::Done { outcome: "not_found".into(), data: json!({}) }, "{missing}");
    }
}

#[tokio::test]
async fn refusals_and_failures_are_errors() {
    let fake = FakeShopify::start().await;
    assert_eq!(shop(&fake, "wrong").find_order(&args(json!({"number": "1004"}))).await, Err(ShopifyError::Unauthorized(401)));
    assert!(fake.seen().is_empty(), "a refused token is refused before the query");
    let s = shop(&fake, KEY);
    fake.behave(Behaviour::Fail(503));
    assert_eq!(s.find_order(&args(json!({"number": "1004"}))).await, Err(ShopifyError::Status(503)));
}

#[tokio::test]
async fn the_cost_bucket_is_respected() {
    // A throttled query (the store's bucket is empty) is retried once the bucket can pay.
    let fake = FakeShopify::with_bucket(100.0, 50.0).await;
    let s = shop(&fake, KEY);
    fake.drain_bucket();
    let started = Instant::now();
    let d = found(s.find_order(&args(json!({"number": "1004"}))).await.unwrap());
    assert_eq!(d["number"], 1004);
    assert_eq!(fake.seen().len(), 2, "throttled, then retried");
    assert!(started.elapsed() >= Duration::from_millis(200), "it waited for the bucket to refill: {:?}", started.elapsed());

    // A bucket that refills slowly: the client waits before asking when the wait is short ...
    let fake = FakeShopify::with_bucket(20.0, 10.0).await;
    let s = shop(&fake, KEY);
    found(s.find_order(&args(json!({"number": "1004"}))).await.unwrap());
    let started = Instant::now();
    found(s.find_order(&args(json!({"number": "1002"}))).await.unwrap());
    assert!(started.elapsed() >= Duration::from_millis(350), "waited for the bucket: {:?}", started.elapsed());
    assert_eq!(fake.seen().len(), 2, "and was not throttled");

    // ... and gives up without asking when the caller would wait too long.
    let fake = FakeShopify::with_bucket(12.0, 1.0).await;
    let s = shop(&fake, KEY);
    found(s.find_order(&args(json!({"number": "1004"}))).await.unwrap());
    assert_eq!(s.find_order(&args(json!({"number": "1002"}))).await, Err(ShopifyError::Throttled));
    assert_eq!(fake.seen().len(), 1, "the throttled query was not even sent");
}
