//! Trunks: networks and digest credentials per tenant; the password is sealed, never listed,
//! opened only for the SIP layer, and re-wrapped on key rotation; tenants see only their own.

mod common;

use common::TestDb;
use parley_store::crypto::MasterKey;
use parley_store::trunks::NewTrunk;
use parley_store::StoreError;
use secrecy::{ExposeSecret, SecretString};

async fn trunks_admit_networks_and_credentials_per_tenant(db: &TestDb) {
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    p.create_tenant("b", "B", 0).await.unwrap();
    let (a, b) = (db.store.tenant("a").unwrap(), db.store.tenant("b").unwrap());
    let master = MasterKey::generate();
    let pw = SecretString::from("trunk-password-1".to_string());
    let trunk = |name, allowed_ips, credentials| NewTrunk { name, allowed_ips, credentials, digest_algorithms: &[], requests_per_second: None };
    let nets = ["203.0.113.0/24".to_string(), "2001:db8::/32".to_string()];
    let carrier = a.add_trunk(&master, &trunk("carrier", &nets, None), 1).await.unwrap();
    assert_eq!(carrier.allowed_ips, vec!["203.0.113.0/24", "2001:db8::/32"]);
    assert_eq!(carrier.digest_algorithms, vec!["SHA-256", "MD5"], "both by default, SHA-256 first");
    let pbx = a.add_trunk(&master, &trunk("pbx", &[], Some(("pbx-a", &pw))), 2).await.unwrap();
    let md5_only = ["md5".to_string()];
    let old = b.add_trunk(&master, &NewTrunk { digest_algorithms: &md5_only, ..trunk("pbx", &[], Some(("pbx-a", &pw))) }, 3).await.unwrap();
    assert_eq!(old.digest_algorithms, vec!["MD5"]);
    let ten = ["10.0.0.0/8".to_string()];
    assert!(matches!(a.add_trunk(&master, &trunk("pbx", &ten, None), 4).await, Err(StoreError::Conflict)));
    let short = SecretString::from("short".to_string());
    let (host_bits, unknown) = (["10.0.0.0/33".to_string()], ["SHA-512".to_string()]);
    for bad in [trunk("bad", &host_bits, None), trunk("", &[], None), trunk("bad", &[], Some(("u", &short))), NewTrunk { digest_algorithms: &unknown, ..trunk("bad", &[], Some(("u", &pw))) }] {
        assert!(matches!(a.add_trunk(&master, &bad, 5).await, Err(StoreError::Invalid(_))), "{bad:?}");
    }

    let listed = a.list_trunks().await.unwrap();
    assert_eq!(listed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["carrier", "pbx"]);
    assert_eq!(listed[1].username.as_deref(), Some("pbx-a"));
    assert!(!format!("{listed:?}").contains("trunk-password"), "listing never shows the password");
    assert!(matches!(b.delete_trunk(&pbx.id).await, Err(StoreError::NotFound)), "b cannot delete a's trunk");

    let access = p.trunk_access(&master).await.unwrap();
    assert_eq!(access.len(), 3);
    let a_pbx = access.iter().find(|t| t.tenant_id == "a" && t.name == "pbx").unwrap();
    let (user, secret) = a_pbx.credentials.as_ref().unwrap();
    assert_eq!((user.as_str(), secret.expose_secret()), ("pbx-a", "trunk-password-1"));
    assert!(access.iter().find(|t| t.name == "carrier").unwrap().allowed[0].contains("203.0.113.9".parse().unwrap()));

    let r = a.rotate_keys(&master, 10).await.unwrap();
    assert_eq!((r.rewrapped, r.retired), (1, 1), "the trunk password is re-wrapped");
    assert_eq!(p.trunk_access(&master).await.unwrap().len(), 3, "and still opens");
    a.delete_trunk(&pbx.id).await.unwrap();
    assert_eq!(a.list_trunks().await.unwrap().len(), 1);
}

on_both!(trunks_admit_networks_and_credentials_per_tenant);
