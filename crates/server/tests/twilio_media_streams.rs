//! A call through Twilio Media Streams, with this test playing Twilio as its docs describe it:
//! the voice webhook signed with X-Twilio-Signature (a wrong signature gets 403), TwiML
//! `<Connect><Stream>` back, then the WebSocket with `connected`, `start` (the TwiML's
//! parameters), `media` (base64 mu-law, 20 ms) and `dtmf` messages. The same agent answers:
//! its greeting comes back as `media` messages, the order typed on the keypad is looked up,
//! and the business gets the post-call document. Tampered stream parameters get no call. A
//! transfer redirects the call to `<Dial>` through the REST API (a fake of Twilio's).
//! Wire format: <https://www.twilio.com/docs/voice/media-streams/websocket-messages>,
//! <https://www.twilio.com/docs/voice/twiml/stream>,
//! <https://www.twilio.com/docs/usage/webhooks/webhooks-security>.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use common::{Api, Server, WebhookReceiver};
use futures_util::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const TOKEN: &str = "twilio-auth-token-1";
const NUMBER: &str = "+15550005000";

fn sign(url: &str, params: &BTreeMap<&str, &str>) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(TOKEN.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    for (k, v) in params {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The `<Parameter>`s and stream URL of the TwiML.
fn stream_of(twiml: &str) -> (String, Vec<(String, String)>) {
    let url = twiml.split("<Stream url=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let params = twiml
        .split("<Parameter ")
        .skip(1)
        .map(|p| {
            let name = p.split("name=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
            let value = p.split("value=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&").replace("&quot;", "\"");
            (name, value)
        })
        .collect();
    (url, params)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_twilio_call_reaches_the_same_agent() {
    let tmp = tempfile::tempdir().unwrap();
    let hook = WebhookReceiver::start().await;
    let server = Server::start(tmp.path(), &[]);
    let base = format!("http://127.0.0.1:{}", server.http_port);
    let api = Api { http: Client::new(), base: base.clone() };
    let op = common::create_key(&server.data_dir, &["--role", "platform-admin"]);
    assert_eq!(api.call(Method::POST, "/v1/tenants", Some(&op), Some(json!({"id": "t", "name": "T"}))).await.0, StatusCode::CREATED);
    // An agent with its own flow: a number typed on the keypad is looked up in the sample orders.
    let agent = json!({"business": "Shop", "greeting": "Hello from the shop.", "hours": "always",
        "intents": {"order_status": {"examples": ["where is my order"], "slots": {"order_number": "number"}}},
        "tools": {"find_order": {"use": "sample_orders.find_order"}},
        "flow": [
            {"id": "menu", "type": "gather", "on_number": "order_status", "digits": {"min": 4, "max": 4}, "routes": {"order_status": "find"}},
            {"id": "find", "type": "tool", "tool": "find_order", "args": {"number": "{order_number}"}, "save_as": "order", "on": {"found": "read", "not_found": "menu"}},
            {"id": "read", "type": "say", "text": "Order {order.number|digits}, for {order.customer}, is {order.status}.", "next": "menu"}]});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t/agents/front", Some(&op), Some(agent)).await.0, StatusCode::OK);
    assert_eq!(api.call(Method::POST, "/v1/tenants/t/numbers", Some(&op), Some(json!({"number": NUMBER, "agent": "front"}))).await.0, StatusCode::CREATED);
    for (kind, config, secret) in [("twilio", json!({"account_sid": "AC0001"}), TOKEN), ("webhook", json!({"url": hook.url}), "doc-secret")] {
        let body = json!({"kind": kind, "name": kind, "config": config, "secret": secret});
        assert_eq!(api.call(Method::POST, "/v1/tenants/t/integrations", Some(&op), Some(body)).await.0, StatusCode::CREATED);
    }

    // The voice webhook, as Twilio posts it.
    let url = format!("{base}/twilio/voice");
    let params: BTreeMap<&str, &str> = [("AccountSid", "AC0001"), ("CallSid", "CA42"), ("From", "+15550009999"), ("To", NUMBER), ("Direction", "inbound")].into();
    let post = |signature: String| api.http.post(&url).header("X-Twilio-Signature", signature).form(&params).send();
    assert_eq!(post("bm90IGEgc2lnbmF0dXJl".into()).await.unwrap().status(), 403, "a wrong signature is refused");
    let resp = post(sign(&url, &params)).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/xml");
    let twiml = resp.text().await.unwrap();
    assert!(twiml.contains("<Response><Connect><Stream url=\"ws://"), "{twiml}");
    let (stream_url, custom) = stream_of(&twiml);
    let custom: serde_json::Map<String, Value> = custom.into_iter().map(|(k, v)| (k, Value::String(v))).collect();

    // Tampered parameters: the stream is closed without a call.
    let (mut ws, _) = tokio_tungstenite::connect_async(&stream_url).await.unwrap();
    let mut forged = custom.clone();
    forged.insert("caller".into(), json!("+15550000000"));
    ws.send(Message::text(json!({"event": "connected", "protocol": "Call", "version": "1.0.0"}).to_string())).await.unwrap();
    ws.send(Message::text(json!({"event": "start", "sequenceNumber": "1", "streamSid": "MZ0", "start": {"streamSid": "MZ0", "callSid": "CA42", "customParameters": forged}}).to_string())).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap();
    assert!(!matches!(closed, Some(Ok(Message::Text(_)))), "no media for a forged start: {closed:?}");

    // The real stream.
    let (mut ws, _) = tokio_tungstenite::connect_async(&stream_url).await.unwrap();
    ws.send(Message::text(json!({"event": "connected", "protocol": "Call", "version": "1.0.0"}).to_string())).await.unwrap();
    let start = json!({"event": "start", "sequenceNumber": "1", "streamSid": "MZ1",
        "start": {"accountSid": "AC0001", "streamSid": "MZ1", "callSid": "CA42", "tracks": ["inbound"],
                  "customParameters": custom, "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}});
    ws.send(Message::text(start.to_string())).await.unwrap();
    let silence = base64::engine::general_purpose::STANDARD.encode([0xFFu8; 160]);
    let mut media_back = 0;
    let mut seq = 2;
    let mut chunk = 1;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    let mut typed = false;
    while tokio::time::Instant::now() < deadline {
        // 20 ms of caller silence, as Twilio sends it.
        let media = json!({"event": "media", "sequenceNumber": seq.to_string(), "streamSid": "MZ1",
            "media": {"track": "inbound", "chunk": chunk.to_string(), "timestamp": (chunk * 20).to_string(), "payload": silence}});
        ws.send(Message::text(media.to_string())).await.unwrap();
        seq += 1;
        chunk += 1;
        if !typed && chunk > 50 {
            for digit in ["1", "0", "0", "7"] {
                let dtmf = json!({"event": "dtmf", "streamSid": "MZ1", "sequenceNumber": seq.to_string(), "dtmf": {"track": "inbound_track", "digit": digit}});
                ws.send(Message::text(dtmf.to_string())).await.unwrap();
                seq += 1;
            }
            typed = true;
        }
        while let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(Duration::from_millis(1), ws.next()).await {
            let v: Value = serde_json::from_str(text.as_str()).unwrap();
            if v["event"] == "media" {
                assert_eq!(v["streamSid"], "MZ1");
                let payload = base64::engine::general_purpose::STANDARD.decode(v["media"]["payload"].as_str().unwrap()).unwrap();
                assert_eq!(payload.len(), 160, "20 ms of mu-law per message");
                media_back += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stop = json!({"event": "stop", "sequenceNumber": seq.to_string(), "streamSid": "MZ1", "stop": {"accountSid": "AC0001", "callSid": "CA42"}});
    ws.send(Message::text(stop.to_string())).await.unwrap();
    assert!(media_back > 100, "the agent's voice came back as media messages: {media_back}");

    let (_, body) = hook.document().await;
    let doc: Value = serde_json::from_slice(&body).unwrap();
    let agent_text: String = doc["transcript"].as_array().unwrap().iter().filter(|t| t["speaker"] == "agent").filter_map(|t| t["text"].as_str()).collect();
    assert!(agent_text.contains("Hello from the shop."), "{agent_text}");
    assert!(agent_text.contains("for George Lee, is out for delivery"), "the keypad order was looked up: {agent_text}");
    assert_eq!(doc["caller"], "+15550009999");
    let (_, calls) = api.call(Method::GET, "/v1/tenants/t/calls", Some(&op), None).await;
    assert_eq!(calls["calls"][0]["transport"], "twilio", "{calls}");
}

/// A blind transfer on a stream: the caller asks for a person, the agent says so, and the call
/// is redirected to `<Dial><Sip>` through Twilio's "Update a Call" API (a fake that checks the
/// account's credentials, per <https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource>);
/// Twilio then stops the stream, and the record says `transferred`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_on_a_stream_redirects_the_call() {
    let tmp = tempfile::tempdir().unwrap();
    let twilio = common::fake_twilio::FakeTwilio::start("AC0002", TOKEN, "CA77").await;
    let server = Server::start(tmp.path(), &[]);
    let base = format!("http://127.0.0.1:{}", server.http_port);
    let api = Api { http: Client::new(), base: base.clone() };
    let op = common::create_key(&server.data_dir, &["--role", "platform-admin"]);
    assert_eq!(api.call(Method::POST, "/v1/tenants", Some(&op), Some(json!({"id": "t", "name": "T"}))).await.0, StatusCode::CREATED);
    let agent = json!({"business": "Shop", "greeting": "Hello from the shop.", "hours": "always", "transfer_to": "sip:frontdesk@pbx.example.com"});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t/agents/front", Some(&op), Some(agent)).await.0, StatusCode::OK);
    assert_eq!(api.call(Method::POST, "/v1/tenants/t/numbers", Some(&op), Some(json!({"number": NUMBER, "agent": "front"}))).await.0, StatusCode::CREATED);
    let body = json!({"kind": "twilio", "name": "twilio", "config": {"account_sid": "AC0002", "api_base": twilio.url}, "secret": TOKEN});
    assert_eq!(api.call(Method::POST, "/v1/tenants/t/integrations", Some(&op), Some(body)).await.0, StatusCode::CREATED);

    let url = format!("{base}/twilio/voice");
    let params: BTreeMap<&str, &str> = [("AccountSid", "AC0002"), ("CallSid", "CA77"), ("From", "+15550009998"), ("To", NUMBER), ("Direction", "inbound")].into();
    let twiml = api.http.post(&url).header("X-Twilio-Signature", sign(&url, &params)).form(&params).send().await.unwrap().text().await.unwrap();
    let (stream_url, custom) = stream_of(&twiml);
    let custom: serde_json::Map<String, Value> = custom.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    let (mut ws, _) = tokio_tungstenite::connect_async(&stream_url).await.unwrap();
    ws.send(Message::text(json!({"event": "connected", "protocol": "Call", "version": "1.0.0"}).to_string())).await.unwrap();
    let start = json!({"event": "start", "sequenceNumber": "1", "streamSid": "MZ7",
        "start": {"accountSid": "AC0002", "streamSid": "MZ7", "callSid": "CA77", "tracks": ["inbound"], "customParameters": custom,
                  "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}});
    ws.send(Message::text(start.to_string())).await.unwrap();

    // The caller: a second of silence, the request, then silence, as Twilio streams it.
    let wav = common::caller_wav(tmp.path(), &[common::Part::Silence(2), common::Part::Say("I would like to speak to a person."), common::Part::Silence(25)]);
    let data = std::fs::read(&wav).unwrap();
    let ulaw: Vec<u8> = data[44..].chunks_exact(2).map(|c| parley_media::g711::linear_to_ulaw(i16::from_le_bytes([c[0], c[1]]))).collect();
    let mut seq = 2;
    let mut early_mark = None;
    for (chunk, payload) in ulaw.chunks(160).enumerate() {
        let media = json!({"event": "media", "sequenceNumber": seq.to_string(), "streamSid": "MZ7",
            "media": {"track": "inbound", "chunk": (chunk + 1).to_string(), "timestamp": (chunk * 20).to_string(), "payload": base64::engine::general_purpose::STANDARD.encode(payload)}});
        if ws.send(Message::text(media.to_string())).await.is_err() {
            break;
        }
        seq += 1;
        while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_millis(1), ws.next()).await {
            if let Message::Text(text) = msg {
                let v: Value = serde_json::from_str(text.as_str()).unwrap();
                if v["event"] == "mark" {
                    early_mark = Some(v);
                }
            }
        }
        if !twilio.updates().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let updates = twilio.updates();
    assert_eq!(updates.len(), 1, "one Update a Call request\n{}", server.log_text().lines().filter(|l| l.contains("transfer")).collect::<Vec<_>>().join("\n"));
    assert_eq!(updates[0].0, "CA77");
    assert!(updates[0].1["Twiml"].contains("<Dial><Sip>sip:frontdesk@pbx.example.com</Sip></Dial>"), "{:?}", updates[0].1);
    // The agent leaves the call: a `mark` follows its last words; echoed (as Twilio does once
    // it has played them), the stream closes.
    let mark = tokio::time::timeout(Duration::from_secs(10), async {
        if let Some(m) = early_mark {
            return m;
        }
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    let v: Value = serde_json::from_str(text.as_str()).unwrap();
                    if v["event"] == "mark" {
                        return v;
                    }
                }
                other => panic!("the stream ended without a mark: {other:?}"),
            }
        }
    })
    .await
    .expect("a mark after the agent's last words");
    assert_eq!(mark["streamSid"], "MZ7");
    let echo = json!({"event": "mark", "sequenceNumber": seq.to_string(), "streamSid": "MZ7", "mark": {"name": mark["mark"]["name"]}});
    ws.send(Message::text(echo.to_string())).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(_))) => continue,
                _ => return,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the stream closes once the mark is echoed");
    let mut outcome = Value::Null;
    for _ in 0..50 {
        let (_, calls) = api.call(Method::GET, "/v1/tenants/t/calls", Some(&op), None).await;
        // The record exists from the answer on (in_progress); wait for the finished one.
        if let Some(c) = calls["calls"].as_array().and_then(|a| a.first()).filter(|c| c["outcome"] != "in_progress") {
            outcome = c["outcome"].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(outcome, "transferred");
}

/// What Twilio and the proxies in front of it do, and what an attacker replaying TwiML does:
/// a webhook configured as GET, a webhook URL with a query string (Twilio signs the full URL),
/// an unknown number answered exactly like a bad signature, pings and binary frames in the
/// middle of a stream (the call goes on), a reused or late `<Connect>` answer (no call), a
/// socket that never sends `start` or sends a huge message (closed), and the tenant's
/// concurrent-call limit (a second call gets `<Reject reason="busy"/>`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_survive_proxies_and_pass_admission() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &[]);
    let base = format!("http://127.0.0.1:{}", server.http_port);
    let api = Api { http: Client::new(), base: base.clone() };
    let op = common::create_key(&server.data_dir, &["--role", "platform-admin"]);
    assert_eq!(api.call(Method::POST, "/v1/tenants", Some(&op), Some(json!({"id": "t", "name": "T"}))).await.0, StatusCode::CREATED);
    let agent = json!({"business": "Shop", "greeting": "Hello from the shop, how can I help you today?", "hours": "always"});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t/agents/front", Some(&op), Some(agent)).await.0, StatusCode::OK);
    assert_eq!(api.call(Method::POST, "/v1/tenants/t/numbers", Some(&op), Some(json!({"number": NUMBER, "agent": "front"}))).await.0, StatusCode::CREATED);
    let twilio = json!({"kind": "twilio", "name": "twilio", "config": {"account_sid": "AC0001"}, "secret": TOKEN});
    assert_eq!(api.call(Method::POST, "/v1/tenants/t/integrations", Some(&op), Some(twilio)).await.0, StatusCode::CREATED);
    let limits = json!({"max_concurrent_calls": 1, "max_minutes_per_month": 0});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t/limits", Some(&op), Some(limits)).await.0, StatusCode::OK);

    // GET, with the parameters in the signed URL.
    let query = format!("AccountSid=AC0001&CallSid=CA50&From=%2B15550009999&To={}", NUMBER.replace('+', "%2B"));
    let get_url = format!("{base}/twilio/voice?{query}");
    let r = api.http.get(&get_url).header("X-Twilio-Signature", sign(&get_url, &BTreeMap::new())).send().await.unwrap();
    assert_eq!(r.status(), 200, "a GET webhook is served");
    assert!(r.text().await.unwrap().contains("<Connect><Stream"));
    // POST to a URL with a query string: the URL with its query, then the body's parameters.
    let post_url = format!("{base}/twilio/voice?region=us1");
    let params: BTreeMap<&str, &str> = [("AccountSid", "AC0001"), ("CallSid", "CA51"), ("From", "+15550009999"), ("To", NUMBER)].into();
    let post = |signature: String, params: BTreeMap<&str, &str>| api.http.post(&post_url).header("X-Twilio-Signature", signature).form(&params).send();
    let r = post(sign(&post_url, &params), params.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let (stream_url, custom) = stream_of(&r.text().await.unwrap());
    let custom: serde_json::Map<String, Value> = custom.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    // An unknown number and a bad signature: the same answer.
    let mut unknown = params.clone();
    unknown.insert("To", "+15550009998");
    let a = post(sign(&post_url, &unknown), unknown).await.unwrap();
    let b = post("bm90IGEgc2lnbmF0dXJl".into(), params.clone()).await.unwrap();
    assert_eq!((a.status(), b.status()), (StatusCode::FORBIDDEN, StatusCode::FORBIDDEN));
    assert_eq!(a.text().await.unwrap(), b.text().await.unwrap(), "no number enumeration");

    // The stream, with pings and a binary frame in the middle: the call goes on.
    let (mut ws, _) = tokio_tungstenite::connect_async(&stream_url).await.unwrap();
    ws.send(Message::text(json!({"event": "connected", "protocol": "Call", "version": "1.0.0"}).to_string())).await.unwrap();
    let start = json!({"event": "start", "sequenceNumber": "1", "streamSid": "MZ5", "start": {"streamSid": "MZ5", "callSid": "CA51", "customParameters": custom}});
    ws.send(Message::text(start.to_string())).await.unwrap();
    let silence = base64::engine::general_purpose::STANDARD.encode([0xFFu8; 160]);
    let (mut media_after_ping, mut pongs) = (0, 0);
    for chunk in 1..=200 {
        if chunk == 10 {
            ws.send(Message::Ping(b"lb".to_vec().into())).await.unwrap();
            ws.send(Message::Binary(vec![1, 2, 3].into())).await.unwrap();
        }
        let media = json!({"event": "media", "streamSid": "MZ5", "media": {"chunk": chunk.to_string(), "payload": silence}});
        ws.send(Message::text(media.to_string())).await.unwrap();
        while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_millis(1), ws.next()).await {
            match msg {
                Message::Pong(_) => pongs += 1,
                Message::Text(t) if chunk > 10 && t.contains("\"media\"") => media_after_ping += 1,
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(pongs, 1, "the ping is answered");
    assert!(media_after_ping > 50, "the agent still talks after a ping and a binary frame: {media_after_ping}");

    // While that call is up, the tenant (limit 1) gets no second one.
    let mut second = params.clone();
    second.insert("CallSid", "CA52");
    let r = post(sign(&post_url, &second), second).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("<Reject reason=\"busy\"/>"), "over the tenant's concurrent calls");
    // The same <Connect> answer replayed: no call.
    let (mut replay, _) = tokio_tungstenite::connect_async(&stream_url).await.unwrap();
    replay.send(Message::text(start.to_string().replace("MZ5", "MZ6"))).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), replay.next()).await.unwrap();
    assert!(!matches!(closed, Some(Ok(Message::Text(_)))), "a replayed start gets no call: {closed:?}");
    let stop = json!({"event": "stop", "streamSid": "MZ5", "stop": {"accountSid": "AC0001", "callSid": "CA51"}});
    ws.send(Message::text(stop.to_string())).await.unwrap();

    // A socket that never starts, and one that sends 100 KiB: both closed.
    let (mut idle, _) = tokio_tungstenite::connect_async(&stream_url).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(8), async {
        loop {
            match idle.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                _ => {}
            }
        }
    });
    assert!(closed.await.is_ok(), "no start within a few seconds: closed");
    let (mut big, _) = tokio_tungstenite::connect_async(&stream_url).await.unwrap();
    let _ = big.send(Message::text("x".repeat(100 * 1024))).await;
    let ended = tokio::time::timeout(Duration::from_secs(5), big.next()).await.unwrap();
    assert!(!matches!(ended, Some(Ok(Message::Text(_)))), "{ended:?}");
}
