//! Tickets, CRM notes and the agent's own HTTP tools, against in-repo fakes of Zendesk's and
//! HubSpot's documented APIs and a receiver that checks the signature: what is sent, the
//! answers turned into outcomes, refused credentials, rate limits, and arguments that do not
//! fit a tool's JSON Schema never sent.

mod common;

use std::sync::{Arc, Mutex};

use parley_connect::tools::http::{HttpTool, HttpToolError};
use parley_connect::tools::hubspot::HubSpot;
use parley_connect::tools::zendesk::{Zendesk, ZendeskError};
use parley_fakes::hubspot::FakeHubSpot;
use parley_fakes::zendesk::{FakeZendesk, EMAIL};
use parley_fakes::KEY;
use secrecy::SecretString;
use common::{args, done};
use serde_json::{json, Value};


#[tokio::test]
async fn a_ticket_in_zendesk() {
    let fake = FakeZendesk::start().await;
    let z = Zendesk::new(reqwest::Client::new(), &fake.url, EMAIL, SecretString::from(KEY));
    let (o, d) = done(z.create_ticket(&args(json!({"subject": "Broken lamp", "description": "The desk lamp from order 1004 arrived broken.", "name": "Dana Smith", "phone": "+15550100004"}))).await.unwrap());
    assert_eq!((o.as_str(), d["ticket"].as_u64()), ("created", Some(35436)));
    let t = &fake.tickets()[0];
    assert_eq!(t["subject"], "Broken lamp");
    assert_eq!(t["comment"]["public"], false, "the caller's details stay in a private comment");
    let body = t["comment"]["body"].as_str().unwrap();
    assert!(body.contains("arrived broken") && body.contains("Dana Smith (+15550100004)"), "{body}");
    // A short rate limit is waited once; a long one fails.
    fake.limit_next(1);
    assert_eq!(done(z.create_ticket(&args(json!({"description": "Call me back."}))).await.unwrap()).0, "created");
    fake.limit_next(60);
    assert_eq!(z.create_ticket(&args(json!({"description": "Call me back."}))).await, Err(ZendeskError::RateLimited));
    let wrong = Zendesk::new(reqwest::Client::new(), &fake.url, EMAIL, SecretString::from("wrong"));
    assert_eq!(wrong.create_ticket(&args(json!({"description": "x"}))).await, Err(ZendeskError::Unauthorized(401)));
    assert_eq!(fake.tickets().len(), 2);
}

#[tokio::test]
async fn a_note_on_the_callers_contact_in_hubspot() {
    let fake = FakeHubSpot::start().await;
    let h = HubSpot::new(reqwest::Client::new(), &fake.url, SecretString::from(KEY));
    let (o, d) = done(h.add_note(&args(json!({"phone": "+15550100004", "note": "Asked about order 1004; it is in transit."})), 1_796_140_800_000).await.unwrap());
    assert_eq!((o.as_str(), d["contact"].as_str(), d["first_name"].as_str()), ("noted", Some("512"), Some("Dana")));
    let n = &fake.notes()[0];
    assert_eq!(n["properties"]["hs_note_body"], "Asked about order 1004; it is in transit.");
    assert_eq!(n["properties"]["hs_timestamp"], "2026-12-01T16:00:00Z");
    assert_eq!(n["associations"][0]["to"]["id"], "512");
    assert_eq!(done(h.add_note(&args(json!({"phone": "+15559999999", "note": "x"})), 0).await.unwrap()).0, "no_contact");
    assert_eq!(fake.notes().len(), 1);
    let wrong = HubSpot::new(reqwest::Client::new(), &fake.url, SecretString::from("wrong"));
    assert!(wrong.add_note(&args(json!({"phone": "+15550100004", "note": "x"})), 0).await.is_err());
}

/// A tenant's own endpoint: it checks the signature and answers by the account number.
async fn endpoint(secret: &'static str) -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let app = axum::Router::new().route("/lookup", axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
        let s = s.clone();
        async move {
            let sig = headers.get("parley-signature").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            let now = jiff::Timestamp::now().as_second();
            if !parley_connect::webhook::verify(secret.as_bytes(), &sig, &body, now, 300) {
                return (axum::http::StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "bad signature"})));
            }
            let v: Value = serde_json::from_slice(&body).unwrap();
            s.lock().unwrap().push(v.clone());
            let found = v["account"] == "A-1001";
            (axum::http::StatusCode::OK, axum::Json(if found { json!({"outcome": "found", "plan": "gold", "renewal": "March 3"}) } else { json!({"outcome": "nobody", "detail": "unknown"}) }))
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/lookup", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn the_agents_own_http_tool_is_signed_and_schema_checked() {
    let (url, seen) = endpoint("tool-secret").await;
    let schema = json!({"type": "object", "properties": {"account": {"type": "string", "pattern": "^A-[0-9]{4}$"}, "reason": {"type": "string", "maxLength": 200}}, "required": ["account"], "additionalProperties": false});
    let tool = HttpTool::new(reqwest::Client::new(), &url, SecretString::from("tool-secret"), &schema, &["found".to_string()]).unwrap();
    let now = jiff::Timestamp::now().as_second();
    let (o, d) = done(tool.run(&args(json!({"account": "A-1001", "reason": "renewal"})), now).await.unwrap());
    assert_eq!((o.as_str(), d["plan"].as_str()), ("found", Some("gold")));
    let (o, _) = done(tool.run(&args(json!({"account": "A-9999"})), now).await.unwrap());
    assert_eq!(o, "done", "an outcome the agent does not declare is `done`");
    for bad in [json!({}), json!({"account": "1001"}), json!({"account": "A-1001", "admin": true}), json!({"account": 1001})] {
        assert_eq!(tool.run(&args(bad.clone()), now).await, Err(HttpToolError::Arguments), "{bad}");
    }
    assert_eq!(seen.lock().unwrap().len(), 2, "what does not fit is never sent");
    let wrong = HttpTool::new(reqwest::Client::new(), &url, SecretString::from("other"), &schema, &[]).unwrap();
    assert_eq!(wrong.run(&args(json!({"account": "A-1001"})), now).await, Err(HttpToolError::Status(401)), "the endpoint can tell a forged call");
    assert!(HttpTool::new(reqwest::Client::new(), &url, SecretString::from("x"), &json!({"type": 5}), &[]).is_err());
}
