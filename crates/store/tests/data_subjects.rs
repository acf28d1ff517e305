//! Data-subject requests by caller: access finds every record about them and nothing else,
//! deletion removes records and undelivered documents, restriction is recorded and lifted.

mod common;

use common::TestDb;
use parley_store::crypto::MasterKey;
use parley_store::CallRecord;

fn call(id: &str, caller_hash: &str, started_ms: i64) -> CallRecord {
    CallRecord { caller_hash: caller_hash.into(), webhook_status: "pending".into(), ..common::call("a", id, started_ms) }
}


async fn access_delete_and_restrict(db: &TestDb) {
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    p.create_tenant("b", "B", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    let b = db.store.tenant("b").unwrap();
    for i in 0..205 {
        a.record_call(&call(&format!("s{i:03}"), "subject", i)).await.unwrap();
    }
    a.record_call(&call("other", "someone-else", 1)).await.unwrap();
    b.record_call(&CallRecord { tenant_id: "b".into(), ..call("b-subject", "subject", 1) }).await.unwrap();
    let master = MasterKey::generate();
    a.enqueue(&master, "s000", "http://127.0.0.1:9/", b"{}", 0).await.unwrap();
    a.enqueue(&master, "other", "http://127.0.0.1:9/", b"{}", 0).await.unwrap();

    let found = a.calls_of_caller("subject").await.unwrap();
    assert_eq!(found.len(), 205, "all pages");
    assert!(found.iter().all(|c| c.caller_hash == "subject" && c.tenant_id == "a"));

    let erased = a.erase_caller("subject").await.unwrap();
    assert_eq!((erased.calls, erased.documents, erased.artifacts), (205, 1, 0));
    assert!(a.calls_of_caller("subject").await.unwrap().is_empty());
    assert_eq!(a.calls_of_caller("someone-else").await.unwrap().len(), 1);
    assert_eq!(b.calls_of_caller("subject").await.unwrap().len(), 1, "another tenant's data is its own");
    assert_eq!(p.due(1, 10).await.unwrap().len(), 1);

    assert!(!a.is_restricted("subject").await.unwrap());
    a.restrict_caller("subject", true, 5).await.unwrap();
    a.restrict_caller("subject", true, 6).await.unwrap();
    assert!(a.is_restricted("subject").await.unwrap());
    assert!(!b.is_restricted("subject").await.unwrap());
    a.restrict_caller("subject", false, 7).await.unwrap();
    assert!(!a.is_restricted("subject").await.unwrap());
}

on_both!(access_delete_and_restrict);
