//! Call metadata lists filter by time, outcome, agent and caller, and page newest first with a
//! cursor that neither repeats nor skips a call.

mod common;

use common::TestDb;
use parley_store::calls::Cursor;
use parley_store::{CallFilter, CallRecord};

fn call(id: &str, started_ms: i64, outcome: &str, agent: &str) -> CallRecord {
    CallRecord {
        agent: agent.into(),
        callee: agent.into(),
        caller_hash: if id == "c3" { "h3".into() } else { "h".into() },
        outcome: outcome.into(),
        routing: format!("agent:{agent}"),
        ..common::call("a", id, started_ms)
    }
}


async fn filters_and_pages(db: &TestDb) {
    db.store.platform().create_tenant("a", "A", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    // c4 and c5 start in the same millisecond: the id breaks the tie.
    let rows = [("c1", 100, "resolved", "demo"), ("c2", 200, "transferred", "demo"), ("c3", 300, "resolved", "sales"),
        ("c4", 400, "resolved", "demo"), ("c5", 400, "abandoned", "demo"), ("c6", 500, "resolved", "demo"), ("c7", 600, "resolved", "demo")];
    for (id, t, o, ag) in rows {
        a.record_call(&call(id, t, o, ag)).await.unwrap();
    }
    let ids = |page: &parley_store::CallPage| page.calls.iter().map(|c| c.id.clone()).collect::<Vec<_>>();

    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = a.list_calls(&CallFilter { limit: Some(3), cursor: cursor.clone(), ..Default::default() }).await.unwrap();
        seen.extend(ids(&page));
        match page.next {
            Some(c) => cursor = Cursor::parse(&c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ["c7", "c6", "c5", "c4", "c3", "c2", "c1"]);

    let f = |f: CallFilter| {
        let a = a.clone();
        async move { ids(&a.list_calls(&f).await.unwrap()) }
    };
    assert_eq!(f(CallFilter { outcome: Some("resolved".into()), ..Default::default() }).await, ["c7", "c6", "c4", "c3", "c1"]);
    assert_eq!(f(CallFilter { agent: Some("sales".into()), ..Default::default() }).await, ["c3"]);
    assert_eq!(f(CallFilter { since_ms: Some(200), until_ms: Some(400), ..Default::default() }).await, ["c3", "c2"]);
    assert_eq!(f(CallFilter { caller_hash: Some("h3".into()), ..Default::default() }).await, ["c3"]);
    assert!(f(CallFilter { outcome: Some("nope".into()), ..Default::default() }).await.is_empty());
    assert_eq!(a.list_calls(&CallFilter { limit: Some(0), ..Default::default() }).await.unwrap().calls.len(), 1, "limit clamps to 1..=200");
}

on_both!(filters_and_pages);

/// A call's reply latency (numbers only) is kept with it and read back; a call without replies
/// has none; a provisional record replaced by the final one takes its figures.
async fn latency_is_kept_with_the_call(db: &TestDb) {
    db.store.platform().create_tenant("a", "A", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    let latency = parley_store::calls::CallLatency {
        replies: 7,
        end_of_turn_ms: 540,
        recognition_ms: 0,
        agent_ms: 1,
        synthesis_ms: 160,
        voice_to_voice_ms: 680,
        voice_to_voice_p90_ms: 1227,
    };
    a.record_call(&CallRecord { latency: Some(latency), ..call("c1", 100, "resolved", "demo") }).await.unwrap();
    a.record_call(&call("c2", 200, "abandoned", "demo")).await.unwrap();
    assert_eq!(a.get_call("c1").await.unwrap().latency, Some(latency));
    assert_eq!(a.get_call("c2").await.unwrap().latency, None);
    let listed = a.list_calls(&CallFilter::default()).await.unwrap();
    assert_eq!(listed.calls.iter().map(|c| c.latency).collect::<Vec<_>>(), [None, Some(latency)]);
}

on_both!(latency_is_kept_with_the_call);
