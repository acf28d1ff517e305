//! `kill -9` at any moment of a call loses neither its record nor its minutes, and a document
//! caught mid-delivery is delivered again with the same `Parley-Delivery-Id`, on SQLite and on
//! PostgreSQL. The server is killed right after a call is answered, in the middle of a call,
//! right after the caller's BYE, and while the business's receiver holds a delivery open;
//! after each restart the calls it cut are finished as `interrupted` with their minutes.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{invite, PgDb, Server};
use parley_store::{Store, Target};

/// A receiver that holds the first delivery open (the server is killed meanwhile) and answers
/// the others at once; every delivery's id, in order.
async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |h: axum::http::HeaderMap| {
            let log = log.clone();
            async move {
                let id = h.get("parley-delivery-id").and_then(|v| v.to_str().ok()).unwrap_or("none").to_string();
                let first = {
                    let mut l = log.lock().unwrap();
                    l.push(id);
                    l.len() == 1
                };
                if first {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

/// Answers a call, keeps it for `secs`, then hangs up (`bye`) or leaves it up.
async fn call(server: &Server, id: &str, secs: u64, bye: bool) {
    let srv = format!("127.0.0.1:{}", server.sip_port);
    let id = id.to_string();
    tokio::task::spawn_blocking(move || {
        let (code, leg) = invite(&srv, &id, "+15550100003", "demo", "demo", "");
        assert_eq!(code, 200);
        let mut leg = leg.unwrap();
        for _ in 0..secs * 10 {
            leg.audio(100, false);
        }
        if bye {
            leg.bye("demo");
        } else {
            std::mem::forget(leg);
        }
    })
    .await
    .unwrap();
}

fn kill(server: &mut Server) {
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

async fn crash_at_every_moment(dir: &std::path::Path, extra: &[&str], target: Target) {
    let (url, deliveries) = receiver().await;
    let mut args = vec!["--demo-webhook", url.as_str()];
    args.extend_from_slice(extra);

    // At answer.
    let mut server = Server::start(dir, &args);
    call(&server, "at-answer", 0, false).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    kill(&mut server);
    // Mid-call.
    let mut server = Server::start(dir, &args);
    call(&server, "mid-call", 3, false).await;
    kill(&mut server);
    // Right after the caller's BYE.
    let mut server = Server::start(dir, &args);
    call(&server, "after-bye", 2, true).await;
    kill(&mut server);
    // During a delivery: the receiver holds the first one open.
    let mut server = Server::start(dir, &args);
    call(&server, "delivered", 2, true).await;
    for _ in 0..100 {
        if !deliveries.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!deliveries.lock().unwrap().is_empty(), "a delivery started");
    kill(&mut server);
    // Back up: the document goes out again, under the same id.
    let mut server = Server::start(dir, &args);
    for _ in 0..150 {
        if deliveries.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop();

    let ids = deliveries.lock().unwrap().clone();
    assert!(ids.len() >= 2, "redelivered after the crash: {ids:?}");
    assert_ne!(ids[0], "none");
    assert!(ids.iter().all(|i| *i == ids[0]) || ids.len() > 2, "every attempt at one document carries its delivery id: {ids:?}");
    assert_eq!(ids[0], ids[1], "the redelivery is recognisable: {ids:?}");

    let store = Store::open(&target).await.unwrap();
    let calls = store.tenant("demo").unwrap().list_calls(&Default::default()).await.unwrap().calls;
    let outcomes: Vec<String> = calls.iter().map(|c| format!("{} {} {} {}", c.id, c.outcome, c.end_reason, c.webhook_status)).collect();
    assert_eq!(calls.len(), 4, "every call has its record: {outcomes:?}");
    assert!(calls.iter().all(|c| c.outcome != "in_progress"), "none is left in progress: {outcomes:?}");
    assert!(calls.iter().filter(|c| c.outcome == "interrupted").count() >= 2, "the calls cut at answer and mid-call: {outcomes:?}");
    let month = parley_store::usage::month_of(calls[0].started_ms);
    let usage = store.tenant("demo").unwrap().usage(&month).await.unwrap();
    let seconds: i64 = usage.iter().filter(|u| u.metric == "call_seconds").map(|u| u.quantity).sum();
    // At least a second for each call cut, and the finished one's own.
    assert!(seconds >= 3 + 2, "every call's minutes are counted ({seconds} s): {usage:?}");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::SqliteDir(dir.path().join("data"));
    crash_at_every_moment(dir.path(), &[], target).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres() {
    let db = PgDb::create();
    let dir = tempfile::tempdir().unwrap();
    crash_at_every_moment(dir.path(), &["--database-url", db.url.as_str()], Target::Url(db.url.clone())).await;
}
