//! `shopify.find_order`: a Shopify store's order, by its number or by the caller's phone number,
//! through the GraphQL Admin API (<https://shopify.dev/docs/api/admin-graphql>):
//! `POST {shop}/admin/api/{version}/graphql.json` with the app's access token in
//! `X-Shopify-Access-Token`. By number, the `orders` query filtered by `name`; by phone, the
//! `customers` query filtered by `phone` and that customer's latest order (orders cannot be
//! searched by phone). The answer has the same shape as `sample_orders.find_order`, so a flow
//! works with either: the customer's last name and the shipping postcode for the identity
//! check, a status in words, items, tracking, the outstanding balance in cents.
//!
//! Rate limits are cost-based (<https://shopify.dev/docs/api/usage/limits>): every answer
//! carries `extensions.cost.throttleStatus` (`currentlyAvailable`, `restoreRate`); a query the
//! bucket cannot pay for is answered with an error whose `extensions.code` is `THROTTLED`. The
//! client keeps the bucket's last known level, waits for it to refill when that takes under
//! two seconds (a caller is on the line), retries a throttled query once, and otherwise fails
//! the tool (the flow says so plainly).

use std::time::{Duration, Instant};

use parley_agent::tools::ToolOutcome;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};
use tokio::sync::Mutex;

/// The API version used unless the integration names one.
pub const DEFAULT_API_VERSION: &str = "2025-01";
/// The longest wait for the cost bucket during a call.
const MAX_WAIT: Duration = Duration::from_secs(2);
/// What a lookup costs before the store has told us (Shopify's `requestedQueryCost` for these
/// queries is about this).
const ASSUMED_COST: f64 = 30.0;

const ORDER_FIELDS: &str = "name createdAt cancelledAt displayFinancialStatus displayFulfillmentStatus
    customer { firstName lastName }
    shippingAddress { lastName zip }
    totalOutstandingSet { shopMoney { amount currencyCode } }
    lineItems(first: 10) { nodes { name quantity } }
    fulfillments(first: 5) { displayStatus deliveredAt estimatedDeliveryAt trackingInfo(first: 1) { company number } }";

/// The cost bucket as last reported.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    available: f64,
    restore_rate: f64,
    cost: f64,
    at: Instant,
}

/// A store's Admin API.
pub struct Shopify {
    http: reqwest::Client,
    endpoint: String,
    token: SecretString,
    bucket: Mutex<Option<Bucket>>,
}

/// Why a query failed (a short reason for the record).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShopifyError {
    /// The token was refused.
    #[error("shopify refused the access token ({0})")]
    Unauthorized(u16),
    /// The store is rate limiting for longer than a caller can wait.
    #[error("shopify is rate limiting")]
    Throttled,
    /// Another status, or an unreachable store.
    #[error("shopify answered {0}")]
    Status(u16),
    /// No answer.
    #[error("shopify could not be reached")]
    Unreachable,
    /// GraphQL errors, or an answer of another shape.
    #[error("shopify's answer was not understood")]
    Malformed,
}

impl Shopify {
    /// The store at `api_base` (`https://acme.myshopify.com`), with this access token, through
    /// `http` (the operator's egress policy).
    pub fn new(http: reqwest::Client, api_base: &str, api_version: &str, token: SecretString) -> Shopify {
        let endpoint = format!("{}/admin/api/{}/graphql.json", api_base.trim_end_matches('/'), api_version);
        Shopify { http, endpoint, token, bucket: Mutex::new(None) }
    }

    /// `find_order` with `number` or `phone`.
    pub async fn find_order(&self, args: &Map<String, Value>) -> Result<ToolOutcome, ShopifyError> {
        let text = |k: &str| super::arg_text(args, k);
        let number: String = text("number").chars().filter(char::is_ascii_digit).collect();
        let phone: String = text("phone").chars().filter(|c| c.is_ascii_digit() || *c == '+').collect();
        let order = if !number.is_empty() {
            let q = format!("query FindOrder($q: String!) {{ orders(first: 1, query: $q) {{ nodes {{ {ORDER_FIELDS} }} }} }}");
            let data = self.query(&q, json!({"q": format!("name:#{number}")})).await?;
            data.pointer("/orders/nodes/0").cloned()
        } else if phone.trim_start_matches('+').len() >= 7 {
            let q = format!("query FindCustomer($q: String!) {{ customers(first: 1, query: $q) {{ nodes {{ orders(first: 1, sortKey: CREATED_AT, reverse: true) {{ nodes {{ {ORDER_FIELDS} }} }} }} }} }}");
            let data = self.query(&q, json!({"q": format!("phone:{phone}")})).await?;
            data.pointer("/customers/nodes/0/orders/nodes/0").cloned()
        } else {
            None
        };
        Ok(match order {
            Some(o) => ToolOutcome::Done { outcome: "found".into(), data: spoken_order(&o) },
            None => ToolOutcome::Done { outcome: "not_found".into(), data: json!({}) },
        })
    }

    /// One query; its `data`.
    async fn query(&self, query: &str, variables: Value) -> Result<Value, ShopifyError> {
        let mut retried = false;
        loop {
            self.wait_for_bucket().await?;
            let response = self.http.post(&self.endpoint).header("X-Shopify-Access-Token", self.token.expose_secret()).json(&json!({"query": query, "variables": variables})).send().await.map_err(|_| ShopifyError::Unreachable)?;
            let status = response.status().as_u16();
            match status {
                200 => {}
                401 | 403 => return Err(ShopifyError::Unauthorized(status)),
                429 if !retried => {
                    retried = true;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                429 => return Err(ShopifyError::Throttled),
                s => return Err(ShopifyError::Status(s)),
            }
            let body: Value = response.json().await.map_err(|_| ShopifyError::Malformed)?;
            self.note_cost(&body).await;
            let throttled = body["errors"].as_array().is_some_and(|e| e.iter().any(|e| e.pointer("/extensions/code").and_then(Value::as_str) == Some("THROTTLED")));
            if throttled {
                if retried {
                    return Err(ShopifyError::Throttled);
                }
                retried = true;
                continue;
            }
            if body.get("errors").is_some_and(|e| !e.is_null()) || !body["data"].is_object() {
                return Err(ShopifyError::Malformed);
            }
            return Ok(body["data"].clone());
        }
    }

    /// Waits until the bucket (as last reported, refilled since) can pay for a query.
    async fn wait_for_bucket(&self) -> Result<(), ShopifyError> {
        let Some(b) = *self.bucket.lock().await else { return Ok(()) };
        let now_available = b.available + b.restore_rate * b.at.elapsed().as_secs_f64();
        if now_available >= b.cost {
            return Ok(());
        }
        if b.restore_rate <= 0.0 {
            return Err(ShopifyError::Throttled);
        }
        let wait = Duration::from_secs_f64((b.cost - now_available) / b.restore_rate);
        if wait > MAX_WAIT {
            return Err(ShopifyError::Throttled);
        }
        tokio::time::sleep(wait).await;
        Ok(())
    }

    async fn note_cost(&self, body: &Value) {
        let Some(cost) = body.pointer("/extensions/cost") else { return };
        let status = &cost["throttleStatus"];
        let (Some(available), Some(restore_rate)) = (status["currentlyAvailable"].as_f64(), status["restoreRate"].as_f64()) else { return };
        let cost = cost["requestedQueryCost"].as_f64().unwrap_or(ASSUMED_COST);
        *self.bucket.lock().await = Some(Bucket { available, restore_rate, cost, at: Instant::now() });
    }
}

/// A Shopify order as the flow reads it (and says it).
fn spoken_order(o: &Value) -> Value {
    let s = |p: &str| o.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
    let number: String = s("/name").chars().filter(char::is_ascii_digit).collect();
    let first = s("/customer/firstName");
    let last = match s("/customer/lastName") {
        l if l.is_empty() => s("/shippingAddress/lastName"),
        l => l,
    };
    let customer = format!("{first} {last}").trim().to_string();
    let items: Vec<String> = o.pointer("/lineItems/nodes").and_then(Value::as_array).into_iter().flatten().map(|i| {
        let name = i["name"].as_str().unwrap_or_default();
        match i["quantity"].as_u64().unwrap_or(1) {
            1 => name.to_string(),
            n => format!("{n} {name}"),
        }
    }).collect();
    let fulfillment = o.pointer("/fulfillments").and_then(Value::as_array).and_then(|f| f.last()).cloned().unwrap_or(Value::Null);
    let display = fulfillment["displayStatus"].as_str().unwrap_or_default();
    let status = if !o["cancelledAt"].is_null() {
        "cancelled"
    } else if s("/displayFinancialStatus") == "REFUNDED" {
        "refunded"
    } else {
        match (display, s("/displayFulfillmentStatus").as_str()) {
            ("DELIVERED", _) => "delivered",
            ("OUT_FOR_DELIVERY", _) => "out for delivery",
            ("IN_TRANSIT", _) => "in transit",
            ("FAILURE" | "ATTEMPTED_DELIVERY", _) => "delayed",
            (_, "FULFILLED") => "shipped",
            (_, "PARTIALLY_FULFILLED") => "partly shipped",
            (_, "ON_HOLD") => "on hold",
            _ => "processing",
        }
    };
    let day = |p: &str| fulfillment.pointer(p).and_then(Value::as_str).and_then(spoken_day);
    let detail = match (status, day("/deliveredAt"), day("/estimatedDeliveryAt")) {
        ("delivered", Some(d), _) => format!("delivered on {d}"),
        (_, _, Some(d)) if status != "cancelled" => format!("{status} and expected by {d}"),
        _ => status.to_string(),
    };
    let tracking = fulfillment.pointer("/trackingInfo/0").filter(|t| !t.is_null()).map(|t| json!({"company": t["company"], "number": t["number"]}));
    let balance_cents = o.pointer("/totalOutstandingSet/shopMoney/amount").and_then(Value::as_str).and_then(cents).unwrap_or(0);
    let mut data = json!({
        "number": number.parse::<u64>().map(Value::from).unwrap_or_else(|_| Value::from(number.clone())),
        "customer": customer,
        "last_name": last,
        "postcode": s("/shippingAddress/zip"),
        "status": status,
        "items": items,
        "placed": spoken_day(&s("/createdAt")).unwrap_or_default(),
        "detail": detail,
        "balance_cents": balance_cents,
        "summary": format!("order {number} ({customer}), {status}"),
    });
    if let Some(t) = tracking {
        data["tracking"] = t;
    }
    data
}

/// `2026-11-14T10:00:00Z` as "November 14".
fn spoken_day(timestamp: &str) -> Option<String> {
    let t: jiff::Timestamp = timestamp.parse().ok()?;
    Some(t.to_zoned(jiff::tz::TimeZone::UTC).strftime("%B %-d").to_string())
}

/// "49.90" as 4990.
fn cents(amount: &str) -> Option<u64> {
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, "0"));
    let frac = format!("{frac:0<2}");
    Some(whole.parse::<u64>().ok()? * 100 + frac.get(..2)?.parse::<u64>().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_as_the_flow_reads_it() {
        let o = json!({"name": "#1004", "createdAt": "2026-11-14T10:00:00Z", "cancelledAt": null, "displayFinancialStatus": "PAID", "displayFulfillmentStatus": "FULFILLED",
            "customer": {"firstName": "Dana", "lastName": "Smith"}, "shippingAddress": {"lastName": "Smith", "zip": "60601"},
            "totalOutstandingSet": {"shopMoney": {"amount": "49.9", "currencyCode": "USD"}},
            "lineItems": {"nodes": [{"name": "Desk lamp", "quantity": 1}, {"name": "Light bulb", "quantity": 2}]},
            "fulfillments": [{"displayStatus": "IN_TRANSIT", "deliveredAt": null, "estimatedDeliveryAt": "2026-11-21T18:00:00Z", "trackingInfo": [{"company": "UPS", "number": "1Z999"}]}]});
        let d = spoken_order(&o);
        assert_eq!(d["number"], 1004);
        assert_eq!(d["customer"], "Dana Smith");
        assert_eq!(d["last_name"], "Smith");
        assert_eq!(d["postcode"], "60601");
        assert_eq!(d["status"], "in transit");
        assert_eq!(d["detail"], "in transit and expected by November 21");
        assert_eq!(d["items"], json!(["Desk lamp", "2 Light bulb"]));
        assert_eq!(d["placed"], "November 14");
        assert_eq!(d["balance_cents"], 4990);
        assert_eq!(d["tracking"]["company"], "UPS");
        assert_eq!(cents("120"), Some(12000));
        assert_eq!(cents("0.05"), Some(5));
    }
}
