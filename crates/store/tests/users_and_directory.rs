//! Users (invitations, argon2 passwords, sessions), agents, phone numbers and integrations, on
//! both backends: each stays within its tenant, tokens work once and only as issued, secrets
//! are sealed at rest.

mod common;

use common::TestDb;
use parley_store::agent_versions::AgentChange;
use parley_store::crypto::MasterKey;
use parley_store::{Role, StoreError};
use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;

fn ed() -> AgentChange<'static> {
    AgentChange { author: "user:u1", restored_from: None }
}

fn s(v: &str) -> SecretString {
    SecretString::from(v.to_string())
}

async fn invitations_passwords_and_sessions(db: &TestDb) {
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    p.create_tenant("b", "B", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    let b = db.store.tenant("b").unwrap();
    assert!(matches!(a.invite("ann@example.com", Role::PlatformAdmin, 0).await, Err(StoreError::Invalid(_))));
    let inv = a.invite("Ann@Example.com", Role::Admin, 1_000).await.unwrap();
    assert_eq!(inv.item.email, "ann@example.com");
    assert!(inv.token.expose_secret().starts_with("inv_"));

    // Too short a password, a forged token and an expired one are refused; the invitation survives them.
    assert!(matches!(p.accept_invitation(&inv.token, &s("short"), 2_000).await, Err(StoreError::Invalid(_))));
    let forged = format!("{}x", inv.token.expose_secret());
    assert!(matches!(p.accept_invitation(&s(&forged), &s("a long passphrase"), 2_000).await, Err(StoreError::NotFound)));
    let late = 1_000 + parley_store::users::INVITATION_TTL_MS;
    assert!(matches!(p.accept_invitation(&inv.token, &s("a long passphrase"), late).await, Err(StoreError::NotFound)));
    let user = p.accept_invitation(&inv.token, &s("a long passphrase"), 2_000).await.unwrap();
    assert_eq!((user.tenant_id.as_str(), user.role), ("a", Role::Admin));
    assert!(matches!(p.accept_invitation(&inv.token, &s("a long passphrase"), 3_000).await, Err(StoreError::NotFound)), "single use");
    assert_eq!(a.list_invitations().await.unwrap()[0].accepted_ms, Some(2_000));
    assert!(matches!(a.invite("ann@example.com", Role::Viewer, 4_000).await, Err(StoreError::Conflict)));

    // The password is stored as argon2id, never in clear.
    let mut raw = sqlx::AnyConnection::connect(&db.owner_url).await.unwrap();
    use sqlx::Connection;
    let stored: String = sqlx::query("SELECT password_hash FROM users").fetch_one(&mut raw).await.unwrap().get(0);
    assert!(stored.starts_with("$argon2id$") && !stored.contains("passphrase"));

    // Sign in: only the right tenant, email and password.
    assert!(a.sign_in("ann@example.com", &s("wrong passphrase"), 5_000).await.unwrap().is_none());
    assert!(b.sign_in("ann@example.com", &s("a long passphrase"), 5_000).await.unwrap().is_none(), "another tenant has no such user");
    assert!(a.sign_in("bob@example.com", &s("a long passphrase"), 5_000).await.unwrap().is_none());
    let session = a.sign_in("ANN@example.com", &s("a long passphrase"), 5_000).await.unwrap().unwrap();
    let seen = p.authenticate_session(&session.token, 6_000).await.unwrap().unwrap();
    assert_eq!((seen.tenant_id.as_str(), seen.role, seen.user_id.as_str()), ("a", Role::Admin, user.id.as_str()));
    assert!(p.authenticate_session(&s(&format!("{}x", session.token.expose_secret())), 6_000).await.unwrap().is_none());
    assert!(p.authenticate_session(&session.token, 5_000 + parley_store::users::SESSION_TTL_MS).await.unwrap().is_none(), "expired");
    a.sign_out(&session.item.id, 7_000).await.unwrap();
    assert!(p.authenticate_session(&session.token, 7_001).await.unwrap().is_none(), "signed out");

    // Disabling a user ends their sessions and stops sign-in.
    let again = a.sign_in("ann@example.com", &s("a long passphrase"), 8_000).await.unwrap().unwrap();
    assert!(matches!(b.disable_user(&user.id, 9_000).await, Err(StoreError::NotFound)), "not b's user");
    a.disable_user(&user.id, 9_000).await.unwrap();
    assert!(p.authenticate_session(&again.token, 9_001).await.unwrap().is_none());
    assert!(a.sign_in("ann@example.com", &s("a long passphrase"), 9_002).await.unwrap().is_none());
    assert!(b.list_users().await.unwrap().is_empty());
}

async fn agents_numbers_and_routes(db: &TestDb) {
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    p.create_tenant("b", "B", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    let b = db.store.tenant("b").unwrap();
    a.put_agent("sales", "name: sales\n", &ed(), 1).await.unwrap();
    let changed = a.put_agent("sales", "name: sales\ngreeting: hi\n", &ed(), 2).await.unwrap();
    assert_eq!((changed.created_ms, changed.updated_ms), (1, 2));
    assert!(matches!(a.put_agent("Bad Name", "x", &ed(), 1).await, Err(StoreError::Invalid(_))));
    assert!(matches!(b.get_agent("sales").await, Err(StoreError::NotFound)));
    assert!(matches!(b.add_number("+15550102000", "sales", 3).await, Err(StoreError::Invalid(_))), "b has no agent sales");
    a.add_number("+15550102000", "sales", 3).await.unwrap();
    b.put_agent("front", "name: front\n", &ed(), 3).await.unwrap();
    assert!(matches!(b.add_number("+15550102000", "front", 4).await, Err(StoreError::Conflict)), "a number has one tenant");
    assert!(matches!(a.add_number("5550102000", "sales", 4).await, Err(StoreError::Invalid(_))));
    b.add_number("+442071838750", "front", 4).await.unwrap();
    assert_eq!(a.list_numbers().await.unwrap().len(), 1);
    assert!(matches!(a.delete_agent("sales").await, Err(StoreError::Conflict)), "a number still routes to it");
    assert!(matches!(b.delete_number("+15550102000").await, Err(StoreError::NotFound)));

    let routes = p.routes().await.unwrap();
    assert_eq!(routes.len(), 2);
    assert_eq!((routes[0].number.as_str(), routes[0].tenant_id.as_str(), routes[0].agent.as_str()), ("+15550102000", "a", "sales"));
    assert!(routes[0].spec.contains("greeting: hi"));

    a.delete_number("+15550102000").await.unwrap();
    a.delete_agent("sales").await.unwrap();
    assert_eq!(p.routes().await.unwrap().len(), 1);
}

async fn integration_secrets_are_sealed(db: &TestDb) {
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    p.create_tenant("b", "B", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    let b = db.store.tenant("b").unwrap();
    let master = MasterKey::generate();
    let config = serde_json::json!({"shop": "acme.myshopify.com"});
    let secret = s("shpat_canary_0123456789");
    assert!(matches!(a.add_integration(&master, "fax", "x", &config, &secret, 1).await, Err(StoreError::Invalid(_))));
    assert!(matches!(a.add_integration(&master, "shopify", "x", &serde_json::json!([1]), &secret, 1).await, Err(StoreError::Invalid(_))));
    let i = a.add_integration(&master, "shopify", "Main shop", &config, &secret, 1).await.unwrap();
    assert!(matches!(a.add_integration(&master, "shopify", "Main shop", &config, &secret, 1).await, Err(StoreError::Conflict)));
    assert_eq!(a.get_integration(&i.id).await.unwrap().config, config);
    assert_eq!(a.integration_secret(&master, &i.id).await.unwrap().expose_secret(), "shpat_canary_0123456789");
    assert!(matches!(b.get_integration(&i.id).await, Err(StoreError::NotFound)));
    assert!(matches!(b.integration_secret(&master, &i.id).await, Err(StoreError::NotFound)));
    assert!(a.integration_secret(&MasterKey::generate(), &i.id).await.is_err(), "another master key opens nothing");

    use sqlx::Connection;
    let mut raw = sqlx::AnyConnection::connect(&db.owner_url).await.unwrap();
    let row = sqlx::query("SELECT config, ciphertext FROM integrations").fetch_one(&mut raw).await.unwrap();
    let ct: Vec<u8> = row.get("ciphertext");
    assert!(!String::from_utf8_lossy(&ct).contains("canary"), "the secret is not stored in clear");

    a.delete_integration(&i.id).await.unwrap();
    assert!(a.list_integrations().await.unwrap().is_empty());
}

on_both!(invitations_passwords_and_sessions, agents_numbers_and_routes, integration_secrets_are_sealed);
