//! Data-subject requests through the API, against the real call path: a restricted caller is
//! answered but leaves no record and no document; access exports a caller's records with a
//! signed manifest; deletion removes them; each request is audited without the number.

use crate::common;

use common::{create_key, short_call, Server, WebhookReceiver};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restrict_access_and_delete_by_phone_number() {
    let hook = WebhookReceiver::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(tmp.path(), &["--demo-webhook", &hook.url]);
    let op = create_key(&server.data_dir, &["--role", "platform-admin"]);
    let base = format!("http://127.0.0.1:{}/v1/tenants/demo", server.http_port);
    let http = reqwest::Client::new();
    let owner: Value = http.post(format!("{base}/api-keys")).bearer_auth(&op).json(&json!({"name": "owner", "role": "owner"})).send().await.unwrap().json().await.unwrap();
    let owner = owner["token"].as_str().unwrap().to_string();
    let dsr = |kind: &str, phone: &str| {
        let req = http.post(format!("{base}/data-subject-requests")).bearer_auth(&owner).json(&json!({"kind": kind, "phone": phone}));
        async move {
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 200);
            resp.json::<Value>().await.unwrap()
        }
    };

    let r = dsr("restrict", "+15550100009").await;
    assert_eq!(r["restricted"], true);
    let srv = format!("127.0.0.1:{}", server.sip_port);
    let s2 = srv.clone();
    tokio::task::spawn_blocking(move || short_call(&s2, "dsr-restricted", "+15550100009")).await.unwrap();
    tokio::task::spawn_blocking(move || short_call(&srv, "dsr-open", "+15550100008")).await.unwrap();
    // The first document to arrive is the unrestricted caller's: the restricted call sent none.
    let (_, body) = hook.document().await;
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["caller"], "+15550100008");

    let restricted = dsr("access", "+15550100009").await;
    assert_eq!(restricted["calls"], json!([]), "no record of the restricted caller");
    let access = dsr("access", "+15550100008").await;
    let calls = access["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["caller_masked"], "+155******08");
    let m = &access["manifest"];
    assert_eq!(access["transcripts"], json!([]), "transcripts are not kept by default");
    let export = json!({"calls": access["calls"], "transcripts": access["transcripts"]});
    let sha = hex::encode(Sha256::digest(serde_json::to_vec(&export).unwrap()));
    assert_eq!(m["sha256"], sha.as_str());
    let message = format!("parley/dsr-export/v1|demo|{}|{}|{sha}", access["caller_hash"].as_str().unwrap(), m["signed_ms"]);
    assert!(parley_store::audit::HeadSigner::verify_hex(m["public_key"].as_str().unwrap(), message.as_bytes(), m["signature"].as_str().unwrap()));

    let deleted = dsr("delete", "+15550100008").await;
    assert_eq!(deleted["calls_deleted"], 1);
    assert_eq!(dsr("access", "+15550100008").await["calls"], json!([]));
    assert_eq!(dsr("unrestrict", "+15550100009").await["restricted"], false);

    let bad = http.post(format!("{base}/data-subject-requests")).bearer_auth(&owner).json(&json!({"kind": "access", "phone": "call me"})).send().await.unwrap();
    assert_eq!(bad.status(), 400);

    let audit: Value = http.get(format!("{base}/audit/entries?limit=1000")).bearer_auth(&owner).send().await.unwrap().json().await.unwrap();
    let text = audit.to_string();
    for action in ["data_subject.restrict", "data_subject.access", "data_subject.delete", "data_subject.unrestrict"] {
        assert!(text.contains(action), "{action} audited");
    }
    assert!(!text.contains("5550100008") && !text.contains("5550100009"), "no phone number in the audit log");
    server.stop();
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(!log.contains("5550100009") && !log.contains("5550100008"));
}
