//! Retention with a moved clock: each tenant's calls go when its policy says, not before, the
//! job is idempotent, and every deletion is audited.

mod common;

use common::TestDb;
use parley_store::policy::{DataPolicy, DEFAULT_MAX_DAYS};
use parley_store::CallRecord;

/// A call that ended at `ended_ms`.
fn call(tenant: &str, id: &str, ended_ms: i64) -> CallRecord {
    common::call(tenant, id, ended_ms - 1000)
}

const DAY: i64 = 24 * 3600 * 1000;
const NOW: i64 = 1_800_000_000_000;


async fn calls_go_when_the_policy_says(db: &TestDb) {
    let p = db.store.platform();
    p.create_tenant("short", "30 days", 0).await.unwrap();
    p.create_tenant("default", "365 days", 0).await.unwrap();
    let short = db.store.tenant("short").unwrap();
    let default = db.store.tenant("default").unwrap();
    short.set_policy(&DataPolicy { call_metadata_days: 30, ..Default::default() }, DEFAULT_MAX_DAYS, 0).await.unwrap();
    assert_eq!(short.policy().await.unwrap().call_metadata_days, 30);
    assert_eq!(default.policy().await.unwrap(), DataPolicy::default());
    assert!(short.set_policy(&DataPolicy { call_metadata_days: 400, ..Default::default() }, DEFAULT_MAX_DAYS, 0).await.is_err());

    for (t, scope) in [("short", &short), ("default", &default)] {
        scope.record_call(&call(t, &format!("{t}-new"), NOW - DAY)).await.unwrap();
        scope.record_call(&call(t, &format!("{t}-31d"), NOW - 31 * DAY)).await.unwrap();
        scope.record_call(&call(t, &format!("{t}-366d"), NOW - 366 * DAY)).await.unwrap();
    }
    let ids = |s: parley_store::TenantScope| async move {
        s.list_calls(&Default::default()).await.unwrap().calls.into_iter().map(|c| c.id).collect::<Vec<_>>()
    };

    let r = p.run_retention(NOW).await.unwrap();
    assert_eq!(r.tenants, 2);
    assert_eq!(r.calls_deleted, [("default".to_string(), 1), ("short".to_string(), 2)]);
    assert_eq!(ids(short.clone()).await, ["short-new"]);
    assert_eq!(ids(default.clone()).await, ["default-new", "default-31d"]);

    let again = p.run_retention(NOW).await.unwrap();
    assert!(again.calls_deleted.is_empty(), "idempotent");
    let audited = short.audit_entries(0, 100).await.unwrap();
    assert_eq!(audited.len(), 1, "one entry for the one deletion, none for the no-op run");
    assert_eq!((audited[0].actor.as_str(), audited[0].action.as_str()), ("system:retention", "retention.calls.delete"));

    // A year later everything of today is gone too.
    let later = p.run_retention(NOW + 366 * DAY).await.unwrap();
    assert_eq!(later.calls_deleted, [("default".to_string(), 2), ("short".to_string(), 1)]);
    assert!(ids(short).await.is_empty());
    assert!(ids(default).await.is_empty());
    assert!(db.store.verify_audit(None, &[], None).await.unwrap().ok());
}

async fn undelivered_documents_expire_in_the_retention_run(db: &TestDb) {
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    a.record_call(&CallRecord { webhook_status: "pending".into(), ..call("a", "c1", NOW) }).await.unwrap();
    let master = parley_store::crypto::MasterKey::generate();
    a.enqueue(&master, "c1", "http://127.0.0.1:9/", b"{}", NOW).await.unwrap();
    assert!(p.run_retention(NOW + 71 * 3600 * 1000).await.unwrap().outbox_shredded.is_empty());
    let r = p.run_retention(NOW + 72 * 3600 * 1000).await.unwrap();
    assert_eq!(r.outbox_shredded.len(), 1);
    assert_eq!(a.get_call("c1").await.unwrap().webhook_status, "expired");
}

on_both!(calls_go_when_the_policy_says, undelivered_documents_expire_in_the_retention_run);
