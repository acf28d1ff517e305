//! A caller pays an order's balance by card on the keypad, over a real SIP call, against a
//! fake Stripe that follows the documented PaymentIntents wire format. Payment mode keeps its
//! promises: the card reaches only the processor; the post-call document, the kept transcript,
//! the debug log, the database files (WAL too) and the temp dir hold none of it; the recording
//! has silence for the caller while the card is typed (a loud tone sent meanwhile is absent);
//! a declined card is reported as declined.

use crate::common;

use std::time::Duration;

use common::fake_stripe::{FakeStripe, SECRET_KEY};
use common::{files_under, invite, Api, Server, WebhookReceiver};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;

const CARD: &str = "4242424242424242";
const DECLINED_CARD: &str = "4000000000000002";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_typed_on_the_keypad_reaches_only_the_processor() {
    let stripe = FakeStripe::start().await;
    let hook = WebhookReceiver::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &["--demo-webhook", &hook.url]);
    let api = Api { http: Client::new(), base: format!("http://127.0.0.1:{}", server.http_port) };
    let op = common::create_key(&server.data_dir, &["--role", "platform-admin"]);
    let integration = json!({"kind": "stripe", "name": "payments", "config": {"api_base": stripe.url}, "secret": SECRET_KEY});
    assert_eq!(api.call(Method::POST, "/v1/tenants/demo/integrations", Some(&op), Some(integration)).await.0, StatusCode::CREATED);
    // Keep the transcript and the recording, unredacted: payment mode alone must keep the card out.
    let policy = json!({"recording_days": 7, "transcript_days": 7, "call_metadata_days": 365, "operational_log_days": 30, "redact_pii": false, "allowed_providers": ["embedded"]});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/demo/data-policy", Some(&op), Some(policy)).await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let srv = format!("127.0.0.1:{}", server.sip_port);
    let attempts = std::sync::Arc::new(stripe);
    let seen = attempts.clone();
    tokio::task::spawn_blocking(move || {
        let wait_for_attempts = |n: usize, leg: &mut common::Leg| {
            for _ in 0..150 {
                if seen.attempts().len() >= n {
                    return;
                }
                leg.audio(100, false);
            }
            panic!("the processor got {} attempts, not {n}", seen.attempts().len());
        };
        let (code, leg) = invite(&srv, "pay-1", "+15550100002", "demo", "demo", "");
        assert_eq!(code, 200);
        let mut leg = leg.unwrap();
        leg.audio(600, false);
        leg.keys("1002"); // look up the order: it has a balance, so the agent offers to take it
        leg.audio(300, false);
        leg.keys("#"); // pay it: payment mode
        leg.audio(800, true); // loud audio while paying must not be recorded
        leg.keys(&format!("{CARD}#"));
        leg.audio(400, true);
        leg.keys("1230#123#");
        wait_for_attempts(1, &mut leg);
        leg.audio(500, false);
        leg.keys("1008");
        leg.audio(300, false);
        leg.keys(&format!("#{DECLINED_CARD}#1230#123#"));
        wait_for_attempts(2, &mut leg);
        leg.audio(1000, false);
        leg.audio(500, true); // outside payment mode the caller is recorded
        leg.audio(1500, false);
        leg.bye("demo");
    })
    .await
    .unwrap();

    // The processor got the card, the amount and an idempotency key; nothing else did.
    let got = attempts.attempts();
    assert_eq!(got.len(), 2, "{got:?}");
    let f = &got[0].form;
    assert_eq!(got[0].status, 200);
    for (k, v) in [
        ("amount", "4990"),
        ("currency", "usd"),
        ("confirm", "true"),
        ("payment_method_data[card][number]", CARD),
        ("payment_method_data[card][exp_month]", "12"),
        ("payment_method_data[card][exp_year]", "2030"),
        ("payment_method_data[card][cvc]", "123"),
        ("metadata[reference]", "order 1002"),
    ] {
        assert_eq!(f.get(k).map(String::as_str), Some(v), "{k}");
    }
    assert!(got[0].idempotency_key.starts_with("parley-"));
    assert_eq!((got[1].status, got[1].form["amount"].as_str()), (402, "12900"));

    let (_, body) = hook.document().await;
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let summary = doc["summary"].as_str().unwrap();
    assert!(summary.contains("Caller paid 49.90 USD for order 1002 by card (reference pi_"), "{summary}");
    assert!(summary.contains("A card payment for order 1008 was declined (generic_decline)."), "{summary}");
    let payments: Vec<(String, String)> = doc["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["name"] == "take_payment")
        .map(|t| (t["argument"].as_str().unwrap().into(), t["result"].as_str().unwrap().into()))
        .collect();
    assert_eq!(payments, vec![("order 1002".into(), "approved".into()), ("order 1008".into(), "declined".into())]);
    let caller_lines: Vec<&str> = doc["transcript"].as_array().unwrap().iter().filter(|t| t["speaker"] == "caller").filter_map(|t| t["text"].as_str()).collect();
    assert_eq!(caller_lines.iter().filter(|l| **l == "[card details entered on the keypad]").count(), 2, "{caller_lines:?}");
    let agent: String = doc["transcript"].as_array().unwrap().iter().filter(|t| t["speaker"] == "agent").filter_map(|t| t["text"].as_str()).collect();
    assert!(agent.contains("was approved") && agent.contains("declined"), "{agent}");

    // The kept transcript and the recording.
    let (_, calls) = api.call(Method::GET, "/v1/tenants/demo/calls", Some(&op), None).await;
    let call_id = calls["calls"][0]["id"].as_str().unwrap().to_string();
    let (s, kept) = api.call(Method::GET, &format!("/v1/tenants/demo/calls/{call_id}/transcript"), Some(&op), None).await;
    assert_eq!(s, StatusCode::OK);
    let wav = api.http.get(format!("{}/v1/tenants/demo/calls/{call_id}/recording", api.base)).bearer_auth(&op).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&wav[..4], b"RIFF");
    let caller: Vec<i16> = wav[44..].chunks_exact(4).map(|f| i16::from_le_bytes([f[0], f[1]])).collect();
    let agent_audio: Vec<i16> = wav[44..].chunks_exact(4).map(|f| i16::from_le_bytes([f[2], f[3]])).collect();
    let loud = caller.iter().filter(|s| s.unsigned_abs() > 4000).count();
    assert!(loud > 2000, "the tone outside payment mode is recorded ({loud} loud samples)");
    assert!(loud < 6000, "the 1.2 s of tone while paying is not: {loud} loud caller samples (0.5 s of tone is 4000)");
    assert!(agent_audio.iter().any(|s| s.unsigned_abs() > 1000), "the agent side is recorded");

    // No trace of the cards anywhere but the processor.
    let leaks = |what: &str, bytes: &[u8]| {
        for card in [CARD, DECLINED_CARD, "4242 4242", "4 2 4 2"] {
            assert!(!bytes.windows(card.len()).any(|w| w == card.as_bytes()), "{card} found in {what}");
        }
    };
    leaks("the post-call document", &body);
    leaks("the kept transcript", kept.to_string().as_bytes());
    let log_text = std::fs::read(&server.log).unwrap();
    assert!(String::from_utf8_lossy(&log_text).contains("\"outcome\":\"approved\""), "the log says how the payment went");
    drop(server);
    leaks("the debug log", &std::fs::read(tmp.path().join("parley.log")).unwrap());
    for file in files_under(tmp.path()) {
        if file.extension().is_some_and(|e| e == "log") {
            continue;
        }
        leaks(&file.display().to_string(), &std::fs::read(&file).unwrap());
    }
}
