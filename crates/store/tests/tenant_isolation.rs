//! Tenants see and change only their own rows, through every scoped operation, also when their
//! requests interleave on one shared pool.

mod common;

use common::{call, TestDb};
use parley_store::audit::Event;
use parley_store::crypto::MasterKey;
use parley_store::{CallFilter, Role, StoreError};


async fn every_operation_stays_in_its_tenant(db: &TestDb) {
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    p.create_tenant("b", "B", 0).await.unwrap();
    assert!(matches!(p.create_tenant("a", "again", 0).await, Err(StoreError::Conflict)));
    let a = db.store.tenant("a").unwrap();
    let b = db.store.tenant("b").unwrap();

    a.record_call(&call("a", "ca", 1000)).await.unwrap();
    b.record_call(&call("b", "cb", 2000)).await.unwrap();
    assert!(matches!(a.record_call(&call("b", "x", 1)).await, Err(StoreError::InvalidTenantId(_))));
    assert_eq!(a.get().await.unwrap().name, "A");

    // Reads.
    let la = a.list_calls(&CallFilter::default()).await.unwrap();
    assert_eq!(la.calls.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["ca"]);
    assert!(matches!(a.get_call("cb").await, Err(StoreError::NotFound)));
    assert!(matches!(b.get_call("ca").await, Err(StoreError::NotFound)));
    // Writes.
    assert!(matches!(b.set_webhook_status("ca", "delivered").await, Err(StoreError::NotFound)));
    assert_eq!(a.get_call("ca").await.unwrap().webhook_status, "none");

    // Keys.
    let ka = a.create_key(Role::Admin, "a admin", 1).await.unwrap();
    assert!(b.list_keys().await.unwrap().is_empty());
    assert!(matches!(b.revoke_key(&ka.key.id, 2).await, Err(StoreError::NotFound)));
    assert!(matches!(b.get_key(&ka.key.id).await, Err(StoreError::NotFound)));
    assert_eq!(a.get_key(&ka.key.id).await.unwrap().role, Role::Admin);
    assert!(p.authenticate(&ka.token).await.unwrap().is_some());

    // Sealed data.
    let master = MasterKey::generate();
    let sealed = a.seal(&master, "doc", "ca", b"for a only", 1).await.unwrap();
    assert_eq!(a.open(&master, "doc", "ca", &sealed).await.unwrap().as_slice(), b"for a only");
    assert!(b.open(&master, "doc", "ca", &sealed).await.is_err(), "b cannot open a's artifact");

    // Audit chains.
    a.audit(&Event { actor: "key:x", action: "calls.read", object_id: "ca", at_ms: 1 }).await.unwrap();
    assert_eq!(a.audit_entries(0, 10).await.unwrap().len(), 1);
    assert!(b.audit_entries(0, 10).await.unwrap().is_empty());
}

async fn interleaved_requests_on_a_shared_pool_never_cross(db: &TestDb) {
    let p = db.store.platform();
    let tenants = ["t0", "t1", "t2", "t3"];
    for t in tenants {
        p.create_tenant(t, t, 0).await.unwrap();
    }
    let mut tasks = Vec::new();
    for (n, t) in tenants.iter().enumerate() {
        let scope = db.store.tenant(t).unwrap();
        tasks.push(tokio::spawn(async move {
            for i in 0..15 {
                scope.record_call(&call(scope.id(), &format!("{}-{i}", scope.id()), (i * 10 + n) as i64)).await.unwrap();
                let page = scope.list_calls(&CallFilter::default()).await.unwrap();
                assert!(page.calls.iter().all(|c| c.tenant_id == scope.id() && c.id.starts_with(scope.id())));
                scope.audit(&Event { actor: "key:x", action: "calls.list", object_id: "-", at_ms: i as i64 }).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for t in tenants {
        let scope = db.store.tenant(t).unwrap();
        let page = scope.list_calls(&CallFilter { limit: Some(200), ..Default::default() }).await.unwrap();
        assert_eq!(page.calls.len(), 15);
        assert_eq!(scope.audit_entries(0, 100).await.unwrap().len(), 15);
    }
    let report = db.store.verify_audit(None, &[], None).await.unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.chains, 4);
}

on_both!(every_operation_stays_in_its_tenant, interleaved_requests_on_a_shared_pool_never_cross);
