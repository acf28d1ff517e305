//! The audit log verifies when intact and names what an attacker with database access changed,
//! removed or reordered, including entries cut off after a signed head.

mod common;

use common::TestDb;
use parley_store::audit::{Anchor, Coverage, Event, HeadSigner};
use sqlx::{Connection, Executor};

/// `verify_audit`, also read one and two entries at a time (pages end inside and between
/// chains): every way gives the same report.
async fn verified(db: &TestDb, signer: &HeadSigner, external: &[parley_store::audit::SignedHead], coverage: Option<Coverage>) -> parley_store::audit::Report {
    let key = signer.public_key_hex();
    let report = db.store.verify_audit(Some(&key), external, coverage).await.unwrap();
    for page in [1, 2] {
        assert_eq!(db.store.verify_audit_in_pages(Some(&key), external, coverage, page).await.unwrap(), report, "read {page} at a time");
    }
    report
}

async fn append_sign_and_verify(db: &TestDb) -> HeadSigner {
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    for i in 0..5 {
        let e = a.audit(&Event { actor: "key:k1", action: "calls.read", object_id: &format!("c{i}"), at_ms: 100 + i }).await.unwrap();
        assert_eq!(e.seq, i + 1);
    }
    p.audit(&Event { actor: "cli", action: "tenants.create", object_id: "a", at_ms: 50 }).await.unwrap();
    let signer = HeadSigner::from_seed([9; 32]);
    assert_eq!(db.store.sign_heads(&signer, 1000).await.unwrap().len(), 2);
    assert_eq!(db.store.sign_heads(&signer, 1001).await.unwrap().len(), 0, "nothing new to sign");
    let report = verified(db, &signer, &[], None).await;
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!((report.chains, report.entries, report.heads), (2, 6, 2));
    let heads = a.audit_heads().await.unwrap();
    assert_eq!(heads.len(), 1);
    assert_eq!(heads[0].seq, 5);
    signer
}

async fn tamper(db: &TestDb, sql: &str) {
    let mut owner = sqlx::AnyConnection::connect(&db.owner_url).await.unwrap();
    owner.execute(sql).await.unwrap();
    owner.close().await.unwrap();
}

async fn a_changed_entry_is_found(db: &TestDb) {
    let signer = append_sign_and_verify(db).await;
    tamper(db, "UPDATE audit_log SET object_id = 'c9' WHERE tenant_id = 'a' AND seq = 3").await;
    let report = verified(db, &signer, &[], None).await;
    assert_eq!(report.problems, ["chain a: entry 3 was changed"]);
}

async fn a_removed_entry_is_found(db: &TestDb) {
    let signer = append_sign_and_verify(db).await;
    tamper(db, "DELETE FROM audit_log WHERE tenant_id = 'a' AND seq = 2").await;
    let report = verified(db, &signer, &[], None).await;
    assert!(!report.ok());
    assert!(report.problems.iter().any(|p| p.contains("removed")), "{:?}", report.problems);
}

async fn reordered_entries_are_found(db: &TestDb) {
    let signer = append_sign_and_verify(db).await;
    tamper(db, "UPDATE audit_log SET seq = -1 WHERE tenant_id = 'a' AND seq = 2").await;
    tamper(db, "UPDATE audit_log SET seq = 2 WHERE tenant_id = 'a' AND seq = 3").await;
    tamper(db, "UPDATE audit_log SET seq = 3 WHERE tenant_id = 'a' AND seq = -1").await;
    let report = verified(db, &signer, &[], None).await;
    assert!(!report.ok());
}

async fn a_cut_tail_is_found_by_the_signed_head(db: &TestDb) {
    let signer = append_sign_and_verify(db).await;
    tamper(db, "DELETE FROM audit_log WHERE tenant_id = 'a' AND seq = 5").await;
    let report = verified(db, &signer, &[], None).await;
    assert_eq!(report.problems, ["chain a: signed head 5 points past the end (entries removed)"]);
}

async fn heads_the_tenant_kept_catch_a_rewritten_log(db: &TestDb) {
    let signer = append_sign_and_verify(db).await;
    let kept = db.store.tenant("a").unwrap().audit_heads().await.unwrap();
    // The attacker removes entry 5 and the head that covered it: the log alone looks intact...
    tamper(db, "DELETE FROM audit_log WHERE tenant_id = 'a' AND seq = 5").await;
    tamper(db, "DELETE FROM audit_heads WHERE tenant_id = 'a'").await;
    assert!(verified(db, &signer, &[], None).await.ok());
    // ...but not against the heads the tenant exported earlier.
    let report = verified(db, &signer, &kept, None).await;
    assert!(!report.ok());
}

async fn a_rewrite_with_its_heads_deleted_fails_against_the_anchor(db: &TestDb) {
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    for i in 0..5 {
        a.audit(&Event { actor: "key:k1", action: "calls.read", object_id: &format!("c{i}"), at_ms: 100 + i }).await.unwrap();
    }
    let signer = HeadSigner::from_seed([9; 32]);
    let dir = tempfile::tempdir().unwrap();
    let anchor = Anchor::at(dir.path().join("audit-anchor.jsonl"));
    let signed = db.store.sign_heads(&signer, 1000).await.unwrap();
    anchor.append(&signed, db.store.audit_head_count().await.unwrap()).unwrap();
    let (kept, count) = anchor.read().unwrap();
    let later = Coverage { cutoff_ms: 10_000, min_heads: count };
    assert!(verified(db, &signer, &kept, Some(later)).await.ok());

    // The attacker rewrites entry 5 and re-hashes the chain consistently, then deletes the heads.
    let prev = a.audit_entries(4, 1).await.unwrap()[0].prev_hash.clone();
    let forged = parley_store::audit::entry_hash(&prev, "a", 5, 104, "key:k1", "calls.read", "nothing-to-see");
    tamper(db, &format!("UPDATE audit_log SET object_id = 'nothing-to-see', hash = '{forged}' WHERE tenant_id = 'a' AND seq = 5")).await;
    tamper(db, "DELETE FROM audit_heads").await;
    assert!(verified(db, &signer, &[], None).await.ok(), "the database alone looks intact");
    // Without the anchor's heads, the old unsigned entries and the count still give it away.
    let report = verified(db, &signer, &[], Some(later)).await;
    assert!(report.problems.iter().any(|p| p.contains("no signed head covers them")), "{:?}", report.problems);
    assert!(report.problems.iter().any(|p| p.contains("signed heads were removed")), "{:?}", report.problems);
    // With them, the rewritten entry differs from what was signed.
    let report = verified(db, &signer, &kept, Some(later)).await;
    assert!(report.problems.iter().any(|p| p.contains("differs from its signed head")), "{:?}", report.problems);
}

async fn an_untrusted_signer_is_refused(db: &TestDb) {
    append_sign_and_verify(db).await;
    let other = HeadSigner::from_seed([1; 32]);
    let report = db.store.verify_audit(Some(&other.public_key_hex()), &[], None).await.unwrap();
    assert_eq!(report.problems.len(), 2);
}

on_both!(
    a_changed_entry_is_found,
    a_removed_entry_is_found,
    reordered_entries_are_found,
    a_cut_tail_is_found_by_the_signed_head,
    heads_the_tenant_kept_catch_a_rewritten_log,
    a_rewrite_with_its_heads_deleted_fails_against_the_anchor,
    an_untrusted_signer_is_refused,
);
