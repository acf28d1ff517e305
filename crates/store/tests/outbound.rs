//! Outbound calling: gateways (password sealed, never listed, opened for the SIP layer) and the
//! outbound policy (off by default); tenants see only their own.

mod common;

use common::TestDb;
use parley_store::crypto::MasterKey;
use parley_store::outbound::{NewGateway, OutboundPolicy};
use parley_store::StoreError;
use secrecy::{ExposeSecret, SecretString};

async fn gateways_and_outbound_policy_per_tenant(db: &TestDb) {
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    p.create_tenant("b", "B", 0).await.unwrap();
    let (a, b) = (db.store.tenant("a").unwrap(), db.store.tenant("b").unwrap());
    let master = MasterKey::generate();
    let pw = SecretString::from("provider-password".to_string());
    let gw = |name| NewGateway { name, proxy: "203.0.113.5:5060", transport: "udp", domain: "", caller_id: "+4930123456", credentials: Some(("4930123456", &pw)), register: true, register_expires: 0 };
    let carrier = a.add_gateway(&master, &gw("carrier"), 1).await.unwrap();
    assert_eq!((carrier.domain.as_str(), carrier.register_expires), ("203.0.113.5", 3600), "the proxy's IP and an hour by default");
    assert!(matches!(a.add_gateway(&master, &gw("carrier"), 2).await, Err(StoreError::Conflict)));
    let plain = b.add_gateway(&master, &NewGateway { credentials: None, register: false, domain: "sip.Example.net", ..gw("plain") }, 3).await.unwrap();
    assert_eq!(plain.domain, "sip.example.net");
    for bad in [
        NewGateway { proxy: "sip.example.net", ..gw("x") },
        NewGateway { proxy: "sip example.net:5060", ..gw("x") },
        NewGateway { transport: "sctp", ..gw("x") },
        NewGateway { caller_id: "", ..gw("x") },
        NewGateway { caller_id: "<sip:x>", ..gw("x") },
        NewGateway { register_expires: 10, ..gw("x") },
        NewGateway { name: " ", ..gw("x") },
    ] {
        assert!(matches!(a.add_gateway(&master, &bad, 4).await, Err(StoreError::Invalid(_))), "{bad:?}");
    }
    let listed = a.list_gateways().await.unwrap();
    assert_eq!(listed, vec![carrier.clone()]);
    assert!(!format!("{listed:?}").contains("provider-password"));
    let opened = a.gateway_access(&master, &carrier.id).await.unwrap();
    assert_eq!(opened.credentials.as_ref().map(|(u, p)| (u.as_str(), p.expose_secret())), Some(("4930123456", "provider-password")));
    assert_eq!(opened.gateway.proxy, "203.0.113.5:5060");
    let named = a.add_gateway(&master, &NewGateway { proxy: "SIP.Carrier.example:5080", ..gw("named") }, 3).await.unwrap();
    assert_eq!((named.proxy.as_str(), named.domain.as_str()), ("sip.carrier.example:5080", "sip.carrier.example"), "a host name is kept (resolved when used) and is the default domain");
    a.delete_gateway(&named.id).await.unwrap();
    assert!(matches!(b.gateway_access(&master, &carrier.id).await, Err(StoreError::NotFound)), "b cannot open a's gateway");
    let registering = p.registering_gateways(&master).await.unwrap();
    assert_eq!(registering.iter().map(|g| g.gateway.name.as_str()).collect::<Vec<_>>(), ["carrier"]);
    // Key rotation re-wraps the gateway password too.
    a.rotate_keys(&master, 10).await.unwrap();
    assert!(a.gateway_access(&master, &carrier.id).await.unwrap().credentials.is_some());

    // Outbound is off until enabled.
    assert_eq!(a.outbound_policy().await.unwrap(), OutboundPolicy::default());
    assert!(!a.outbound_policy().await.unwrap().enabled);
    let policy = OutboundPolicy { enabled: true, calls_per_second: 5, max_concurrent: 20, allowed_prefixes: vec!["+49".into()] };
    a.set_outbound_policy(&policy, 11).await.unwrap();
    assert_eq!(a.outbound_policy().await.unwrap(), policy);
    assert_eq!(b.outbound_policy().await.unwrap(), OutboundPolicy::default(), "b's stays off");
    let bad = OutboundPolicy { allowed_prefixes: vec!["49".into()], ..policy.clone() };
    assert!(matches!(a.set_outbound_policy(&bad, 12).await, Err(StoreError::Invalid(_))));
    a.set_outbound_policy(&OutboundPolicy { enabled: false, ..policy }, 13).await.unwrap();
    assert!(!a.outbound_policy().await.unwrap().enabled);

    assert!(matches!(b.delete_gateway(&carrier.id).await, Err(StoreError::NotFound)));
    a.delete_gateway(&carrier.id).await.unwrap();
    assert!(a.list_gateways().await.unwrap().is_empty());
}

on_both!(gateways_and_outbound_policy_per_tenant);
