//! When the business's webhook is down, the post-call document waits in the outbox, sealed (no
//! clear text in the database files, WAL included), across a restart of `parley serve`, and is
//! delivered, signed, once the receiver is back; then it leaves the outbox with its key.

use crate::common;

use std::time::Duration;

use common::{free_tcp_port, short_call, Server, WebhookReceiver};
use parley_store::{Store, Target};

async fn store_of(server: &Server) -> Store {
    Store::open(&Target::SqliteDir(server.data_dir.clone())).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_delivered_after_the_outage() {
    let port = free_tcp_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(tmp.path(), &["--demo-webhook", &url]);
    let srv = format!("127.0.0.1:{}", server.sip_port);
    tokio::task::spawn_blocking(move || short_call(&srv, "outage-1", "+15550100007")).await.unwrap();

    // The receiver is down: the first attempt fails and the item waits, rescheduled.
    let store = store_of(&server).await;
    let mut waited = Duration::ZERO;
    loop {
        let in_a_day = parley_store::outbox::HARD_LIMIT_MS / 3 + std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        let due = store.platform().due(in_a_day, 10).await.unwrap();
        if due.first().is_some_and(|d| d.attempts >= 1) {
            break;
        }
        assert!(waited < Duration::from_secs(15), "no failed attempt recorded: {due:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    let events = store.tenant("demo").unwrap().op_events(0, 10).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "webhook.failed" && e.detail == "unreachable"), "the failure is in the tenant's operational log: {events:?}");
    store.close().await;
    server.stop();
    let calls = common::demo_calls(&server.data_dir).await;
    assert_eq!(calls[0].webhook_status, "pending");
    for f in std::fs::read_dir(&server.data_dir).unwrap() {
        let path = f.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).to_lowercase();
        for needle in ["\"speaker\"", "thank you for calling", "15550100007"] {
            assert!(!text.contains(needle), "{} holds {needle:?} in clear", path.display());
        }
    }

    // The receiver comes back and the server restarts: the sealed document goes out.
    let hook = WebhookReceiver::start_on(port).await;
    let mut server = Server::start(tmp.path(), &["--demo-webhook", &url]);
    let (headers, body) = hook.document().await;
    let sig = headers.get("parley-signature").unwrap().to_str().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!(parley_connect::webhook::verify(&hex::decode(&server.secret).unwrap(), sig, &body, now, 300));
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["caller"], "+15550100007");
    assert_eq!(doc["call_id"], calls[0].id);
    let bogus = reqwest::Client::new().get(format!("http://127.0.0.1:{}/v1/tenants", server.http_port)).bearer_auth("pk_not-a-key").send().await.unwrap();
    assert_eq!(bogus.status(), 401);
    // The receiver has the document; the server records it delivered once the answer is back.
    for _ in 0..100 {
        let store = store_of(&server).await;
        let status = store.tenant("demo").unwrap().get_call(&calls[0].id).await.unwrap().webhook_status;
        store.close().await;
        if status == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop();

    let calls = common::demo_calls(&server.data_dir).await;
    assert_eq!(calls[0].webhook_status, "delivered", "server log:\n{}", std::fs::read_to_string(&server.log).unwrap_or_default().lines().filter(|l| !l.contains("\"DEBUG\"")).collect::<Vec<_>>().join("\n"));
    let store = store_of(&server).await;
    assert_eq!(store.platform().next_outbox_event_ms().await.unwrap(), None);
    let audit = store.tenant("demo").unwrap().audit_entries(0, 100).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "outbox.delivered" && e.object_id == calls[0].id && e.actor == "system:delivery"));
    let platform = store.platform().op_events(0, 10).await.unwrap();
    assert!(platform.iter().any(|e| e.kind == "auth.failed" && e.detail == "api_key"), "a key that opens nothing is in the operator's log: {platform:?}");
    store.close().await;
}
