//! API keys: issued once, authenticated by their secret only, revocable, scoped by role.

mod common;

use common::TestDb;
use parley_store::{Role, StoreError};
use secrecy::{ExposeSecret, SecretString};

async fn keys_authenticate_until_revoked(db: &TestDb) {
    let p = db.store.platform();
    let op = p.create_operator_key("first operator", 1).await.unwrap();
    let got = p.authenticate(&op.token).await.unwrap().unwrap();
    assert_eq!((got.role, got.tenant_id.as_deref()), (Role::PlatformAdmin, None));

    p.create_tenant("a", "A", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    let viewer = a.create_key(Role::Viewer, "dashboard", 2).await.unwrap();
    let got = p.authenticate(&viewer.token).await.unwrap().unwrap();
    assert_eq!((got.role, got.tenant_id.as_deref()), (Role::Viewer, Some("a")));
    assert!(matches!(a.create_key(Role::PlatformAdmin, "x", 2).await, Err(StoreError::Invalid(_))));

    // A wrong secret for a real id, garbage, and truncated tokens all fail the same way.
    let token = viewer.token.expose_secret().to_string();
    // `pk_` and a 16-digit id, then `_` and the secret (URL-safe base64, which may hold `_`).
    let id_end = "pk_".len() + 16;
    let (prefix, secret) = (&token[..id_end], &token[id_end + 1..]);
    let mut wrong = secret.to_string();
    wrong.replace_range(0..1, if secret.starts_with('A') { "B" } else { "A" });
    for bad in [format!("{prefix}_{wrong}"), "pk_".into(), "Bearer x".into(), format!("{prefix}_"), token[..token.len() - 1].to_string(), "pk_zzzzzzzzzzzzzzzz_x".into()] {
        assert!(p.authenticate(&SecretString::from(bad.clone())).await.unwrap().is_none(), "{bad}");
    }

    let listed = a.list_keys().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!format!("{listed:?}").contains(secret), "listing never shows the secret");
    let revoked = a.revoke_key(&viewer.key.id, 3).await.unwrap();
    assert_eq!(revoked.revoked_ms, Some(3));
    assert_eq!(a.revoke_key(&viewer.key.id, 4).await.unwrap().revoked_ms, Some(3), "first revocation time kept");
    assert!(p.authenticate(&viewer.token).await.unwrap().is_none());
}

on_both!(keys_authenticate_until_revoked);
