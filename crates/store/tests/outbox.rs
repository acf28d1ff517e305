//! The outbox keeps post-call documents sealed until delivery, retries on a schedule, and
//! shreds what is delivered or past the 72 h hard limit.

mod common;

use common::TestDb;
use parley_store::crypto::MasterKey;
use parley_store::outbox::{Expired, HARD_LIMIT_MS};
use sqlx::Row;

const DOC: &[u8] = br#"{"transcript":[{"speaker":"caller","text":"canary phrase purple walrus"}]}"#;

async fn documents_wait_sealed_and_leave_with_their_key(db: &TestDb) {
    db.store.platform().create_tenant("a", "A", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    let master = MasterKey::generate();
    let id = a.enqueue(&master, "call-1", "http://127.0.0.1:9/hook", DOC, 1_000).await.unwrap();

    // At rest: only ciphertext.
    let mut tx = db.store.begin(parley_store::Scope::Platform).await.unwrap();
    let row = sqlx::query("SELECT ciphertext, wrapped_key FROM outbox").fetch_one(&mut *tx).await.unwrap();
    drop(tx);
    let ct: Vec<u8> = row.get("ciphertext");
    assert!(!ct.windows(6).any(|w| w == b"walrus"));

    let p = db.store.platform();
    assert!(p.due(999, 10).await.unwrap().is_empty());
    let due = p.due(1_000, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].id.as_str(), due[0].call_id.as_str(), due[0].attempts), (id.as_str(), "call-1", 0));
    assert_eq!(a.open_item(&master, &id).await.unwrap().as_slice(), DOC);

    a.retry_later(&id, 5_000, "503").await.unwrap();
    assert!(p.due(4_999, 10).await.unwrap().is_empty());
    assert_eq!(p.next_outbox_event_ms().await.unwrap(), Some(5_000));
    assert_eq!(p.due(5_000, 10).await.unwrap()[0].attempts, 1);

    a.delivered(&id).await.unwrap();
    assert!(a.open_item(&master, &id).await.is_err(), "gone with its key");
    assert_eq!(p.next_outbox_event_ms().await.unwrap(), None);
}

async fn undelivered_documents_are_shredded_at_the_hard_limit(db: &TestDb) {
    db.store.platform().create_tenant("a", "A", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    let master = MasterKey::generate();
    let id = a.enqueue(&master, "call-9", "http://127.0.0.1:9/hook", DOC, 0).await.unwrap();
    let p = db.store.platform();
    assert!(p.shred_expired(HARD_LIMIT_MS - 1).await.unwrap().is_empty());
    a.retry_later(&id, HARD_LIMIT_MS + 10, "unreachable").await.unwrap();
    assert!(p.due(HARD_LIMIT_MS + 10, 10).await.unwrap().is_empty(), "never attempted past the limit");
    assert_eq!(p.shred_expired(HARD_LIMIT_MS).await.unwrap(), [Expired { tenant_id: "a".into(), call_id: "call-9".into(), destination: "http://127.0.0.1:9/hook".into() }]);
    assert!(p.shred_expired(HARD_LIMIT_MS).await.unwrap().is_empty(), "idempotent");
    assert!(a.open_item(&master, &id).await.is_err());
}

on_both!(documents_wait_sealed_and_leave_with_their_key, undelivered_documents_are_shredded_at_the_hard_limit);
