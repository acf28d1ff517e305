//! Caller hashes are keyed per tenant: rows written when they were keyed per installation are
//! re-keyed once, in place, so one caller's records in two tenants no longer share a hash and
//! each tenant's data-subject requests still find them.

mod common;

use common::{call, TestDb};
use parley_store::privacy::caller_hash;

/// What caller hashes were before: HMAC-SHA256 under the installation key, 16 bytes in hex.
fn installation_hash(key: &[u8], n: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(n.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

async fn old_rows_are_rekeyed_once(db: &TestDb) {
    let key = b"installation-key";
    let p = db.store.platform();
    for t in ["a", "b"] {
        p.create_tenant(t, t, 0).await.unwrap();
    }
    let old = installation_hash(key, "+15550100004");
    for t in ["a", "b"] {
        let scope = db.store.tenant(t).unwrap();
        scope.record_call(&parley_store::CallRecord { caller_hash: old.clone(), ..call(t, &format!("{t}-1"), 1000) }).await.unwrap();
        scope.restrict_caller(&old, true, 1000).await.unwrap();
    }
    assert_eq!(p.key_caller_hashes_per_tenant(key, 2000).await.unwrap(), 2);
    assert_eq!(p.key_caller_hashes_per_tenant(key, 3000).await.unwrap(), 0, "once");
    let (a, b) = (caller_hash(key, "a", "+15550100004"), caller_hash(key, "b", "+15550100004"));
    assert_ne!(a, b, "two tenants' records of one caller are not linkable");
    for (t, h) in [("a", &a), ("b", &b)] {
        let scope = db.store.tenant(t).unwrap();
        assert_eq!(scope.calls_of_caller(h).await.unwrap().len(), 1, "found by the tenant's own hash");
        assert!(scope.is_restricted(h).await.unwrap());
        assert!(scope.calls_of_caller(&old).await.unwrap().is_empty());
    }
}

on_both!(old_rows_are_rekeyed_once);
