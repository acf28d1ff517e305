//! A fake Shopify store's GraphQL Admin API, as documented:
//! `POST /admin/api/{version}/graphql.json` (<https://shopify.dev/docs/api/admin-graphql>) with
//! the access token in `X-Shopify-Access-Token` (a wrong one: 401 with
//! `{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}`),
//! a JSON body `{query, variables}`, and `{data, extensions: {cost}}` back.
//!
//! It answers the two lookups an agent makes: `orders(first:, query: "name:#1004")`
//! (<https://shopify.dev/docs/api/admin-graphql/latest/queries/orders>) and
//! `customers(first:, query: "phone:+1555...")` with the customer's `orders(first:, sortKey:
//! CREATED_AT, reverse: true)` (<https://shopify.dev/docs/api/admin-graphql/latest/queries/customers>).
//! Objects carry only the fields the query names (a crude stand-in for GraphQL's selection).
//!
//! Cost-based rate limiting (<https://shopify.dev/docs/api/usage/limits>): a bucket of
//! `maximumAvailable` points refilled at `restoreRate` a second; each query costs
//! [`QUERY_COST`]. Every answer has `extensions.cost` with `throttleStatus`; a query the bucket
//! cannot pay for is answered (HTTP 200) with `errors: [{message: "Throttled", extensions:
//! {code: "THROTTLED"}}]`, `actualQueryCost: null` and no data.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::{Behaviour, Shared, KEY};

/// What one lookup costs.
pub const QUERY_COST: f64 = 12.0;

/// Orders of the fake store: (name, customer first, last, phone, zip, created, fulfilment status,
/// fulfilment display status, delivered, estimated, tracking number, items, outstanding).
type Row = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str, Option<&'static str>, Option<&'static str>, Option<&'static str>, Option<&'static str>, &'static [(&'static str, u64)], &'static str);

const ORDERS: &[Row] = &[
    ("#1004", "Dana", "Smith", "+15550100004", "60601", "2026-11-14T10:00:00Z", "FULFILLED", Some("IN_TRANSIT"), None, Some("2026-11-21T18:00:00Z"), Some("1Z999AA10123456784"), &[("Desk lamp", 1), ("Light bulb", 2)], "0.00"),
    ("#0990", "Dana", "Smith", "+15550100004", "60601", "2026-09-02T10:00:00Z", "FULFILLED", Some("DELIVERED"), Some("2026-09-06T12:00:00Z"), None, Some("1Z999AA10123450000"), &[("Bookshelf", 1)], "0.00"),
    ("#1002", "Bob", "Chen", "+15550100002", "94110", "2026-11-10T09:00:00Z", "FULFILLED", Some("DELIVERED"), Some("2026-11-15T15:00:00Z"), None, Some("9400100000000000000000"), &[("Coffee grinder", 1), ("Paper filters", 1)], "49.90"),
    ("#1008", "Hana", "Kim", "+15550100008", "10001", "2026-11-20T11:00:00Z", "UNFULFILLED", None, None, None, None, &[("Winter jacket", 1)], "129.00"),
];

/// A query the fake served: its text and variables.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The GraphQL document.
    pub query: String,
    /// Its variables.
    pub variables: Value,
    /// The API version in the path.
    pub version: String,
}

struct Bucket {
    maximum: f64,
    restore_rate: f64,
    available: f64,
    at: Instant,
}

struct StoreState {
    shared: Arc<Shared<Seen>>,
    bucket: Mutex<Bucket>,
}

/// The fake; see the module docs.
pub struct FakeShopify {
    /// `http://127.0.0.1:PORT` (the store's address, as `https://acme.myshopify.com`).
    pub url: String,
    state: Arc<StoreState>,
}

impl FakeShopify {
    /// A store with a Standard plan's bucket (1000 points, 100 a second).
    pub async fn start() -> FakeShopify {
        FakeShopify::with_bucket(1000.0, 100.0).await
    }

    /// A store with this bucket.
    pub async fn with_bucket(maximum: f64, restore_rate: f64) -> FakeShopify {
        let state = Arc::new(StoreState { shared: Shared::new(), bucket: Mutex::new(Bucket { maximum, restore_rate, available: maximum, at: Instant::now() }) });
        let app = axum::Router::new().route("/admin/api/{version}/graphql.json", axum::routing::post(graphql)).with_state(state.clone());
        FakeShopify { url: crate::serve(app).await, state }
    }

    /// How the next requests are answered.
    pub fn behave(&self, b: Behaviour) {
        *self.state.shared.behaviour.lock().unwrap() = b;
    }

    /// The queries it served, past the token check.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.shared.seen.lock().unwrap().clone()
    }

    /// Empties the bucket now.
    pub fn drain_bucket(&self) {
        let mut b = self.state.bucket.lock().unwrap();
        b.available = 0.0;
        b.at = Instant::now();
    }
}

async fn graphql(State(state): State<Arc<StoreState>>, axum::extract::Path(version): axum::extract::Path<String>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if headers.get("x-shopify-access-token").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}))).into_response();
    }
    match state.shared.behaviour() {
        Behaviour::Fail(status) => return (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), axum::Json(json!({"errors": "Internal Server Error"}))).into_response(),
        Behaviour::Hang => return std::future::pending().await,
        Behaviour::Work | Behaviour::Cut => {}
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"errors": "Bad Request"}))).into_response();
    };
    let query = request["query"].as_str().unwrap_or_default().to_string();
    let variables = request["variables"].clone();
    state.shared.seen.lock().unwrap().push(Seen { query: query.clone(), variables: variables.clone(), version });
    if query.matches('{').count() != query.matches('}').count() || query.trim().is_empty() {
        return axum::Json(json!({"errors": [{"message": "syntax error, unexpected end of file", "extensions": {"code": "PARSE_ERROR"}}]})).into_response();
    }
    // The cost bucket, refilled since it was last looked at.
    let throttle = {
        let mut b = state.bucket.lock().unwrap();
        b.available = (b.available + b.restore_rate * b.at.elapsed().as_secs_f64()).min(b.maximum);
        b.at = Instant::now();
        let paid = b.available >= QUERY_COST;
        if paid {
            b.available -= QUERY_COST;
        }
        (paid, json!({"maximumAvailable": b.maximum, "currentlyAvailable": b.available.floor(), "restoreRate": b.restore_rate}))
    };
    let (paid, status) = throttle;
    if !paid {
        return axum::Json(json!({
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
            "extensions": {"cost": {"requestedQueryCost": QUERY_COST, "actualQueryCost": null, "throttleStatus": status}},
        })).into_response();
    }
    let q = variables["q"].as_str().unwrap_or_default();
    let data = if query.contains("customers(") {
        let phone = q.strip_prefix("phone:").unwrap_or_default().trim_matches('"');
        let mine: Vec<&Row> = ORDERS.iter().filter(|o| !phone.is_empty() && o.3 == phone).collect();
        let customers: Vec<Value> = match mine.first() {
            Some(first) => {
                let mut orders = mine.clone();
                orders.sort_by_key(|o| std::cmp::Reverse(o.5));
                vec![json!({"firstName": first.1, "lastName": first.2, "phone": first.3, "orders": {"nodes": orders.iter().take(1).map(|o| order(o)).collect::<Vec<_>>()}})]
            }
            None => Vec::new(),
        };
        json!({"customers": {"nodes": customers}})
    } else if query.contains("orders(") {
        let name = q.strip_prefix("name:").unwrap_or_default().trim_matches('"').trim_start_matches('#');
        let found: Vec<Value> = ORDERS.iter().filter(|o| !name.is_empty() && o.0.trim_start_matches('#') == name).map(order).collect();
        json!({"orders": {"nodes": found}})
    } else {
        return axum::Json(json!({"errors": [{"message": "Field doesn't exist on type 'QueryRoot'", "extensions": {"code": "undefinedField"}}]})).into_response();
    };
    axum::Json(json!({
        "data": selected(&data, &query),
        "extensions": {"cost": {"requestedQueryCost": QUERY_COST, "actualQueryCost": QUERY_COST, "throttleStatus": status}},
    }))
    .into_response()
}

fn order(o: &Row) -> Value {
    let (name, first, last, phone, zip, created, fulfillment, display, delivered, estimated, tracking, items, outstanding) = *o;
    let fulfillments: Vec<Value> = display
        .map(|d| json!({"displayStatus": d, "deliveredAt": delivered, "estimatedDeliveryAt": estimated, "trackingInfo": tracking.map(|n| vec![json!({"company": "UPS", "number": n, "url": format!("https://www.ups.com/track?tracknum={n}")})]).unwrap_or_default()}))
        .into_iter()
        .collect();
    json!({
        "name": name,
        "createdAt": created,
        "cancelledAt": null,
        "displayFinancialStatus": if outstanding == "0.00" { "PAID" } else { "PARTIALLY_PAID" },
        "displayFulfillmentStatus": fulfillment,
        "email": format!("{}@example.com", first.to_lowercase()),
        "phone": phone,
        "customer": {"firstName": first, "lastName": last},
        "shippingAddress": {"lastName": last, "zip": zip, "city": "Springfield"},
        "totalOutstandingSet": {"shopMoney": {"amount": outstanding, "currencyCode": "USD"}},
        "lineItems": {"nodes": items.iter().map(|(n, q)| json!({"name": n, "quantity": q})).collect::<Vec<_>>()},
        "fulfillments": fulfillments,
    })
}

/// Keeps the fields `query` names (by word), like a GraphQL selection would.
fn selected(v: &Value, query: &str) -> Value {
    let named = |k: &str| query.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|w| w == k);
    match v {
        Value::Object(o) => Value::Object(o.iter().filter(|(k, _)| named(k)).map(|(k, v)| (k.clone(), selected(v, query))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(|v| selected(v, query)).collect()),
        other => other.clone(),
    }
}
