//! Envelope encryption end to end: seal and open, bound to tenant and artifact; tenant key
//! rotation with re-wrapping; master key rotation; crypto-shredding.

mod common;

use common::TestDb;
use parley_store::artifacts::Recipient;
use parley_store::crypto::MasterKey;
use secrecy::{ExposeSecret, SecretString};
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

async fn rotation_rewraps_every_sealed_row_and_retires_old_keys(db: &TestDb) {
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    p.create_tenant("b", "B", 0).await.unwrap();
    let (a, b) = (db.store.tenant("a").unwrap(), db.store.tenant("b").unwrap());
    let master = MasterKey::generate();
    let secret = SecretString::from("whsec-a".to_string());
    let hook = a.add_integration(&master, "webhook", "hook", &serde_json::json!({"url": "http://127.0.0.1:1/x"}), &secret, 1).await.unwrap();
    let item = a.enqueue(&master, "c1", "integration:x", b"document a", 1).await.unwrap();
    a.keep_artifact(&master, "c1", "transcript", "h", Recipient::Platform, b"kept words", 7, 1).await.unwrap();
    a.keep_artifact(&master, "c1", "recording", "h", Recipient::Platform, b"RIFF", 7, 1).await.unwrap();
    let item_b = b.enqueue(&master, "c9", "integration:y", b"document b", 1).await.unwrap();

    let r = a.rotate_keys(&master, 2).await.unwrap();
    assert_eq!((r.key_version, r.rewrapped, r.retired), (2, 4, 1));
    let r = a.rotate_keys(&master, 3).await.unwrap();
    assert_eq!((r.key_version, r.rewrapped, r.retired), (3, 4, 1), "a second rotation moves everything again");
    // Everything still opens, under the newest version only.
    assert_eq!(a.integration_secret(&master, &hook.id).await.unwrap().expose_secret(), "whsec-a");
    assert_eq!(a.open_item(&master, &item).await.unwrap().as_slice(), b"document a");
    assert_eq!(a.open_artifact(&master, "c1", "transcript").await.unwrap().1.as_slice(), b"kept words");
    assert_eq!(a.open_artifact(&master, "c1", "recording").await.unwrap().1.as_slice(), b"RIFF");
    let mut tx = db.store.begin(parley_store::Scope::Platform).await.unwrap();
    let versions: Vec<(String, i64)> = sqlx::query("SELECT tenant_id, version FROM tenant_keys ORDER BY tenant_id, version")
        .fetch_all(&mut *tx)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("tenant_id"), r.get("version")))
        .collect();
    tx.commit().await.unwrap();
    assert_eq!(versions, vec![("a".into(), 3), ("b".into(), 1)], "old versions of a retired; b untouched");
    assert_eq!(b.open_item(&master, &item_b).await.unwrap().as_slice(), b"document b");
}

async fn rotation_reaches_every_sealed_table(db: &TestDb) {
    let sql = match db.store.backend() {
        parley_store::Backend::Sqlite => "SELECT m.name AS t FROM sqlite_master m, pragma_table_info(m.name) c WHERE m.type = 'table' AND c.name = 'wrapped_key'",
        _ => "SELECT table_name::text AS t FROM information_schema.columns WHERE column_name = 'wrapped_key' AND table_schema = current_schema()",
    };
    let mut tx = db.store.begin(parley_store::Scope::Platform).await.unwrap();
    let mut tables: Vec<String> = sqlx::query(sql).fetch_all(&mut *tx).await.unwrap().iter().map(|r| r.get("t")).collect();
    tx.commit().await.unwrap();
    tables.sort();
    let mut rotated: Vec<String> = parley_store::rotation::sealed_tables().map(String::from).collect();
    rotated.sort();
    assert_eq!(tables, rotated, "every table with sealed rows is re-wrapped on rotation");
}

on_both!(
    rotation_rewraps_every_sealed_row_and_retires_old_keys,
    rotation_reaches_every_sealed_table,
    sealed_artifacts_open_only_where_they_belong,
    tenant_keys_rotate_and_artifacts_rewrap,
    the_master_key_rotates_by_rewrapping,
    shredding_a_tenants_keys_makes_its_data_unreadable,
);
