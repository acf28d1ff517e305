//! Graceful drain: on SIGTERM `parley serve` stops taking calls (INVITE and OPTIONS get 503
//! with Retry-After), lets the call in progress finish, writes its record, then exits 0; with a
//! short drain limit it hangs up the calls still up (BYE) and exits once their work is done.

use crate::common;

use std::time::Duration;

use common::{invite, options, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_then_exits_when_the_last_call_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(tmp.path(), &["--drain-seconds", "60"]);
    let srv = format!("127.0.0.1:{}", server.sip_port);
    let s = srv.clone();
    let leg = tokio::task::spawn_blocking(move || invite(&s, "drain-a", "+15550100021", "demo", "demo", "").1.unwrap()).await.unwrap();
    assert!(options(&srv).starts_with("SIP/2.0 200"), "healthy before the drain");

    server.terminate();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let s = srv.clone();
    let (code, _) = tokio::task::spawn_blocking(move || invite(&s, "drain-b", "+15550100022", "demo", "demo", "")).await.unwrap();
    assert_eq!(code, 503, "new calls are refused while draining");
    let probe = options(&srv);
    assert!(probe.starts_with("SIP/2.0 503"), "{probe}");
    assert!(probe.contains("Retry-After: 30"), "{probe}");
    assert!(server.exited_within(Duration::from_secs(2)).is_none(), "still serving the call in progress");

    tokio::task::spawn_blocking(move || leg.bye("demo")).await.unwrap();
    let status = server.exited_within(Duration::from_secs(20)).expect("exits once the last call is done");
    assert!(status.success(), "{status:?}");
    let calls = common::demo_calls(&server.data_dir).await;
    assert_eq!(calls.len(), 1, "the drained call was recorded, the refused one never became a call");
    assert_eq!(calls[0].end_reason, "remote_bye");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_drain_limit_calls_are_hung_up_and_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(tmp.path(), &["--drain-seconds", "1"]);
    let srv = format!("127.0.0.1:{}", server.sip_port);
    let leg = tokio::task::spawn_blocking(move || invite(&srv, "drain-c", "+15550100023", "demo", "demo", "").1.unwrap()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.terminate();
    let got_bye = tokio::task::spawn_blocking(move || leg.answer_bye(Duration::from_secs(10))).await.unwrap();
    assert!(got_bye, "the server hung up the call when the drain limit passed");
    let status = server.exited_within(Duration::from_secs(20)).expect("exits after hanging up");
    assert!(status.success(), "{status:?}");
    let calls = common::demo_calls(&server.data_dir).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].end_reason, "agent_hangup", "{:?}", calls[0]);
}
