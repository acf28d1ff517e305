//! Envelope encryption end to end: seal and open, bound to tenant and artifact; tenant key
//! rotation with re-wrapping; master key rotation; crypto-shredding.

mod common;

use common::TestDb;
use parley_store::crypto::MasterKey;
use sqlx::Row;

async fn sealed_artifacts_open_only_where_they_belong(db: &TestDb) {
    db.store.platform().create_tenant("a", "A", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    let master = MasterKey::generate();
    let sealed = a.seal(&master, "transcript", "call-1", b"caller said 1004", 1).await.unwrap();
    assert_eq!(a.open(&master, "transcript", "call-1", &sealed).await.unwrap().as_slice(), b"caller said 1004");
    assert!(a.open(&master, "transcript", "call-2", &sealed).await.is_err(), "bound to its artifact id");
    assert!(a.open(&master, "summary", "call-1", &sealed).await.is_err(), "bound to its kind");
    assert!(a.open(&MasterKey::generate(), "transcript", "call-1", &sealed).await.is_err(), "needs the master key");
    let mut tampered = sealed.clone();
    let last = tampered.ciphertext.len() - 1;
    tampered.ciphertext[last] ^= 0x80;
    assert!(a.open(&master, "transcript", "call-1", &tampered).await.is_err());
    // The database holds only the wrapped tenant key.
    let rows = sqlx::query("SELECT wrapped FROM tenant_keys").fetch_all(&mut *db.store.begin(parley_store::Scope::Platform).await.unwrap()).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<Vec<u8>, _>("wrapped").len(), 12 + 32 + 16);
}

async fn tenant_keys_rotate_and_artifacts_rewrap(db: &TestDb) {
    db.store.platform().create_tenant("a", "A", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    let master = MasterKey::generate();
    let old = a.seal(&master, "doc", "d1", b"payload", 1).await.unwrap();
    assert_eq!(old.key_version, 1);
    assert_eq!(a.rotate_key(&master, 2).await.unwrap(), 2);
    let new = a.rewrap(&master, "doc", "d1", &old, 3).await.unwrap();
    assert_eq!(new.key_version, 2);
    assert_eq!(new.ciphertext, old.ciphertext, "the data is not re-encrypted");
    assert_eq!(a.retire_keys_before(2).await.unwrap(), 1);
    assert_eq!(a.open(&master, "doc", "d1", &new).await.unwrap().as_slice(), b"payload");
    assert!(a.open(&master, "doc", "d1", &old).await.is_err(), "the retired version is gone");
    assert_eq!(a.seal(&master, "doc", "d2", b"x", 4).await.unwrap().key_version, 2);
}

async fn the_master_key_rotates_by_rewrapping(db: &TestDb) {
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    p.create_tenant("b", "B", 0).await.unwrap();
    let old = MasterKey::generate();
    let new = MasterKey::generate();
    let sa = db.store.tenant("a").unwrap().seal(&old, "doc", "1", b"a data", 1).await.unwrap();
    let sb = db.store.tenant("b").unwrap().seal(&old, "doc", "1", b"b data", 1).await.unwrap();
    assert_eq!(p.rewrap_tenant_keys(&old, &new).await.unwrap(), 2);
    assert_eq!(p.rewrap_tenant_keys(&old, &new).await.unwrap(), 0, "idempotent");
    assert_eq!(db.store.tenant("a").unwrap().open(&new, "doc", "1", &sa).await.unwrap().as_slice(), b"a data");
    assert_eq!(db.store.tenant("b").unwrap().open(&new, "doc", "1", &sb).await.unwrap().as_slice(), b"b data");
    assert!(db.store.tenant("a").unwrap().open(&old, "doc", "1", &sa).await.is_err());
}

async fn shredding_a_tenants_keys_makes_its_data_unreadable(db: &TestDb) {
    db.store.platform().create_tenant("a", "A", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    let master = MasterKey::generate();
    let sealed = a.seal(&master, "doc", "1", b"secret", 1).await.unwrap();
    assert_eq!(a.shred_keys().await.unwrap(), 1);
    assert!(a.open(&master, "doc", "1", &sealed).await.is_err());
}

on_both!(
    sealed_artifacts_open_only_where_they_belong,
    tenant_keys_rotate_and_artifacts_rewrap,
    the_master_key_rotates_by_rewrapping,
    shredding_a_tenants_keys_makes_its_data_unreadable,
);
