//! Operators, on both backends: created with a long enough password (stored as argon2id),
//! signed in by email and password only, sessions that work once issued and stop when signed
//! out, expired or disabled. On PostgreSQL the tenant role cannot read their table at all.

mod common;

use common::TestDb;
use parley_store::users::SESSION_TTL_MS;
use parley_store::StoreError;
use secrecy::{ExposeSecret, SecretString};

fn s(v: &str) -> SecretString {
    SecretString::from(v.to_string())
}

async fn operators_sign_in_and_out(db: &TestDb) {
    let p = db.store.platform();
    assert!(matches!(p.create_operator("ops@example.com", &s("short"), 1).await, Err(StoreError::Invalid(_))));
    assert!(matches!(p.create_operator("not an email", &s("a long passphrase"), 1).await, Err(StoreError::Invalid(_))));
    let op = p.create_operator("Ops@Example.com", &s("a long passphrase"), 1).await.unwrap();
    assert_eq!(op.email, "ops@example.com");
    assert!(matches!(p.create_operator("ops@example.com", &s("another passphrase"), 2).await, Err(StoreError::Conflict)));
    assert_eq!(p.list_operators().await.unwrap(), vec![op.clone()]);

    assert!(p.operator_sign_in("ops@example.com", &s("wrong passphrase"), 10).await.unwrap().is_none());
    assert!(p.operator_sign_in("nobody@example.com", &s("a long passphrase"), 10).await.unwrap().is_none());
    let issued = p.operator_sign_in("OPS@example.com", &s("a long passphrase"), 10).await.unwrap().unwrap();
    assert!(issued.token.expose_secret().starts_with("ops_"));
    let seen = p.authenticate_operator_session(&issued.token, 11).await.unwrap().unwrap();
    assert_eq!((seen.operator_id.as_str(), seen.id.as_str()), (op.id.as_str(), issued.item.id.as_str()));
    assert!(p.authenticate_operator_session(&s(&format!("{}x", issued.token.expose_secret())), 11).await.unwrap().is_none(), "a forged secret");
    assert!(p.authenticate_operator_session(&issued.token, 10 + SESSION_TTL_MS).await.unwrap().is_none(), "expired");
    // A tenant user's session token is no operator session, and the other way round.
    assert!(p.authenticate_operator_session(&s(&issued.token.expose_secret().replacen("ops_", "ses_", 1)), 11).await.unwrap().is_none());
    assert!(p.authenticate_session(&s(&issued.token.expose_secret().replacen("ops_", "ses_", 1)), 11).await.unwrap().is_none());

    p.operator_sign_out(&issued.item.id, 12).await.unwrap();
    assert!(p.authenticate_operator_session(&issued.token, 13).await.unwrap().is_none(), "signed out");

    let again = p.operator_sign_in("ops@example.com", &s("a long passphrase"), 20).await.unwrap().unwrap();
    p.disable_operator("ops@example.com", 21).await.unwrap();
    assert!(p.authenticate_operator_session(&again.token, 22).await.unwrap().is_none(), "disabled ends sessions");
    assert!(p.operator_sign_in("ops@example.com", &s("a long passphrase"), 23).await.unwrap().is_none());
    assert!(matches!(p.disable_operator("nobody@example.com", 24).await, Err(StoreError::NotFound)));

    use sqlx::{Connection, Row};
    let mut raw = sqlx::AnyConnection::connect(&db.owner_url).await.unwrap();
    let stored: String = sqlx::query("SELECT password_hash FROM operators").fetch_one(&mut raw).await.unwrap().get(0);
    assert!(stored.starts_with("$argon2id$") && !stored.contains("passphrase"));
}

on_both!(operators_sign_in_and_out);

#[tokio::test]
async fn the_tenant_role_cannot_read_operators() {
    let db = common::postgres().await;
    db.store.platform().create_operator("ops@example.com", &s("a long passphrase"), 1).await.unwrap();
    for table in ["operators", "operator_sessions"] {
        let denied = sqlx::query(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(db.store.pool()).await;
        assert!(denied.is_err_and(|e| e.to_string().contains("permission denied")), "{table}");
    }
}
