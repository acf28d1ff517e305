//! Calls in progress: the provisional record written at answer is replaced by the finished one
//! together with its usage; one its node left behind is finished as `interrupted` with the
//! minutes up to its last heartbeat, once, and a live node's calls are left alone.

mod common;

use common::{call, TestDb};

async fn provisional_then_final_or_interrupted(db: &TestDb) {
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    let t0 = 1_800_000_000_000;
    let live = |id: &str| parley_store::CallRecord { outcome: "in_progress".into(), end_reason: "in_progress".into(), ended_ms: t0 + 100, ..call("a", id, t0) };

    // Finished normally: the final record replaces the provisional one, with its usage.
    a.start_call(&live("c1"), "node-1").await.unwrap();
    a.finish_call(&call("a", "c1", t0), &[("call_seconds", "sip", 1)]).await.unwrap();
    a.start_call(&live("c1"), "node-1").await.unwrap();
    assert_eq!(a.get_call("c1").await.unwrap().outcome, "resolved", "a late provisional write changes nothing");

    // Cut by a crash: heartbeats moved its end to 61 s after answer.
    a.start_call(&live("c2"), "node-1").await.unwrap();
    a.heartbeat("c2", t0 + 61_100).await.unwrap();
    // Another node's live call, heartbeat fresh.
    a.start_call(&live("c3"), "node-2").await.unwrap();
    a.heartbeat("c3", t0 + 100_000).await.unwrap();

    let done = p.finish_interrupted("node-1", t0 + 50_000, "sip").await.unwrap();
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!((done[0].call_id.as_str(), done[0].seconds), ("c2", 61));
    assert_eq!(a.get_call("c2").await.unwrap().outcome, "interrupted");
    assert_eq!(a.get_call("c3").await.unwrap().outcome, "in_progress", "a live node's call is left alone");
    assert!(p.finish_interrupted("node-1", t0 + 50_000, "sip").await.unwrap().is_empty(), "finished once");
    // node-2 goes silent: the sweep finishes its call too.
    assert_eq!(p.finish_interrupted("", t0 + 200_000, "sip").await.unwrap().len(), 1);
    let month = parley_store::usage::month_of(t0);
    let seconds: i64 = a.usage(&month).await.unwrap().iter().filter(|u| u.metric == "call_seconds").map(|u| u.quantity).sum();
    assert_eq!(seconds, 1 + 61 + 100);
}

on_both!(provisional_then_final_or_interrupted);
