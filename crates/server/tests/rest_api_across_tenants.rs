//! The REST API against a running `parley serve`, on SQLite and on PostgreSQL: every tenant
//! endpoint, called with each tenant's key on every other tenant's paths, answers 404 and shows
//! nothing of the other tenant; roles limit what a key does; interleaved requests never cross;
//! every read or change leaves an audit entry and `parley audit verify` passes.

use crate::common;

use std::collections::HashMap;
use std::path::Path;

use common::{create_key, Api, PgDb, Server};
use parley_store::{Store, Target};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

async fn run(dir: &Path, database_url: Option<&str>) {
    let extra: Vec<&str> = database_url.map(|u| vec!["--database-url", u]).unwrap_or_default();
    let mut server = Server::start(dir, &extra);
    let api = Api { http: Client::new(), base: format!("http://127.0.0.1:{}", server.http_port) };
    let op = create_key(&server.data_dir, &[&["--role", "platform-admin"], extra.as_slice()].concat());

    // Tenants: only operators create them.
    let tenants = ["t-a", "t-b", "t-c"];
    for t in tenants {
        let (s, v) = api.call(Method::POST, "/v1/tenants", Some(&op), Some(json!({"id": t, "name": format!("Tenant {t}")}))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    assert_eq!(api.call(Method::POST, "/v1/tenants", Some(&op), Some(json!({"id": "t-a", "name": "again"}))).await.0, StatusCode::CONFLICT);
    assert_eq!(api.call(Method::POST, "/v1/tenants", Some(&op), Some(json!({"id": "Bad Id", "name": "x"}))).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(api.call(Method::POST, "/v1/tenants", None, Some(json!({"id": "t-z", "name": "x"}))).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api.call(Method::GET, "/v1/tenants", Some("pk_0000000000000000_nope"), None).await.0, StatusCode::UNAUTHORIZED);

    // Each tenant: an owner key from the operator, then admin and viewer keys from the owner,
    // and two calls written by the call path's store layer.
    let store = Store::open(&match database_url {
        Some(u) => Target::Url(u.into()),
        None => Target::SqliteDir(server.data_dir.clone()),
    })
    .await
    .unwrap();
    let master = parley_store::crypto::MasterKey::from_hex(&std::fs::read_to_string(server.data_dir.join("master-key")).unwrap()).unwrap();
    let mut keys: HashMap<&str, HashMap<&str, (String, String)>> = HashMap::new();
    let mut ids: HashMap<&str, (String, String, String)> = HashMap::new();
    for (n, t) in tenants.iter().enumerate() {
        let mut mine = HashMap::new();
        let (s, v) = api.call(Method::POST, &format!("/v1/tenants/{t}/api-keys"), Some(&op), Some(json!({"name": "owner", "role": "owner"}))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let owner = v["token"].as_str().unwrap().to_string();
        mine.insert("owner", (owner.clone(), v["key"]["id"].as_str().unwrap().to_string()));
        for role in ["admin", "viewer"] {
            let (s, v) = api.call(Method::POST, &format!("/v1/tenants/{t}/api-keys"), Some(&owner), Some(json!({"name": role, "role": role}))).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            mine.insert(role, (v["token"].as_str().unwrap().to_string(), v["key"]["id"].as_str().unwrap().to_string()));
        }
        keys.insert(t, mine);
        let scope = store.tenant(t).unwrap();
        for i in 0..2 {
            scope.record_call(&common::sample_call(t, &format!("{t}-call-{i}"), 10_000 + (n * 10 + i) as i64)).await.unwrap();
        }
        // A kept transcript, an agent, an integration and a user to act on.
        let turns = serde_json::to_vec(&json!([{"speaker": "caller", "text": format!("{t}-words"), "start_ms": 0, "end_ms": 1}])).unwrap();
        let recipient = parley_store::artifacts::Recipient::Platform;
        scope.keep_artifact(&master, &format!("{t}-call-0"), "transcript", "h", recipient, &turns, 30, 10_000).await.unwrap();
        let definition = json!({"business": "B", "greeting": "Hello", "hours": "always"});
        let (s, v) = api.call(Method::PUT, &format!("/v1/tenants/{t}/agents/agent-{t}"), Some(&owner), Some(definition)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = api.call(Method::POST, &format!("/v1/tenants/{t}/integrations"), Some(&owner),
            Some(json!({"kind": "shopify", "name": "shop", "config": {"shop": format!("{t}.example")}, "secret": "shpat_secret"}))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert!(!v.to_string().contains("shpat_secret"), "a secret never comes back: {v}");
        let integration = v["id"].as_str().unwrap().to_string();
        let trunk = json!({"name": "pbx", "credentials": {"username": format!("pbx-{t}"), "password": "trunk-secret-pw"}});
        let (s, v) = api.call(Method::POST, &format!("/v1/tenants/{t}/trunks"), Some(&owner), Some(trunk)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert!(!v.to_string().contains("trunk-secret-pw"), "a trunk password never comes back: {v}");
        let trunk = v["id"].as_str().unwrap().to_string();
        let (s, v) = api.call(Method::POST, &format!("/v1/tenants/{t}/invitations"), Some(&owner), Some(json!({"email": "ann@example.com", "role": "viewer"}))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, v) = api.call(Method::POST, "/v1/invitations/accept", None, Some(json!({"token": v["token"], "password": "a long passphrase"}))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        ids.insert(t, (integration, v["id"].as_str().unwrap().to_string(), trunk));
    }

    // Every endpoint, every ordered pair of tenants.
    let endpoints = |t: &str, own: &HashMap<&str, (String, String)>, (integration, user, trunk): &(String, String, String)| -> Vec<(Method, String, Option<Value>)> {
        let n = tenants.iter().position(|x| *x == t).unwrap();
        vec![
            (Method::GET, format!("/v1/tenants/{t}/calls/{t}-call-0/transcript"), None),
            (Method::GET, format!("/v1/tenants/{t}/invitations"), None),
            (Method::POST, format!("/v1/tenants/{t}/invitations"), Some(json!({"email": "bob@example.com", "role": "admin"}))),
            (Method::GET, format!("/v1/tenants/{t}/users"), None),
            (Method::DELETE, format!("/v1/tenants/{t}/users/{user}"), None),
            (Method::GET, format!("/v1/tenants/{t}/agents"), None),
            (Method::GET, format!("/v1/tenants/{t}/agents/agent-{t}"), None),
            (Method::GET, format!("/v1/tenants/{t}/agents/agent-{t}/versions"), None),
            (Method::GET, format!("/v1/tenants/{t}/agents/agent-{t}/versions/1"), None),
            (Method::POST, format!("/v1/tenants/{t}/agents/agent-{t}/versions/1/restore"), None),
            (Method::PUT, format!("/v1/tenants/{t}/agents/extra-{t}"), Some(json!({"business": "B", "greeting": "Hi", "hours": "never"}))),
            (Method::DELETE, format!("/v1/tenants/{t}/agents/extra-{t}"), None),
            (Method::POST, format!("/v1/tenants/{t}/numbers"), Some(json!({"number": format!("+1555010{n}000"), "agent": format!("agent-{t}")}))),
            (Method::GET, format!("/v1/tenants/{t}/numbers"), None),
            (Method::DELETE, format!("/v1/tenants/{t}/numbers/%2B1555010{n}000"), None),
            (Method::GET, format!("/v1/tenants/{t}/integrations"), None),
            (Method::GET, format!("/v1/tenants/{t}/integrations/{integration}"), None),
            (Method::DELETE, format!("/v1/tenants/{t}/integrations/{integration}"), None),
            (Method::GET, format!("/v1/tenants/{t}/trunks"), None),
            (Method::POST, format!("/v1/tenants/{t}/trunks"), Some(json!({"name": "carrier", "allowed_ips": [format!("192.0.2.{n}/32")]}))),
            (Method::DELETE, format!("/v1/tenants/{t}/trunks/{trunk}"), None),
            (Method::GET, format!("/v1/tenants/{t}/usage?month=2026-11"), None),
            (Method::GET, format!("/v1/tenants/{t}/limits"), None),
            (Method::GET, format!("/v1/tenants/{t}/operational-events"), None),
            (Method::POST, format!("/v1/tenants/{t}/data-subject-requests"), Some(json!({"kind": "access", "phone": "+15550100004"}))),
            (Method::GET, format!("/v1/tenants/{t}"), None),
            (Method::GET, format!("/v1/tenants/{t}/api-keys"), None),
            (Method::POST, format!("/v1/tenants/{t}/api-keys"), Some(json!({"name": "extra", "role": "viewer"}))),
            (Method::GET, format!("/v1/tenants/{t}/data-policy"), None),
            (Method::PUT, format!("/v1/tenants/{t}/data-policy"), Some(json!({"recording_days": 0, "transcript_days": 0,
                "call_metadata_days": 90, "operational_log_days": 30, "redact_pii": true, "allowed_providers": ["embedded"]}))),
            (Method::GET, format!("/v1/tenants/{t}/calls"), None),
            (Method::GET, format!("/v1/tenants/{t}/calls?limit=1&outcome=resolved"), None),
            (Method::GET, format!("/v1/tenants/{t}/calls/{t}-call-0"), None),
            (Method::GET, format!("/v1/tenants/{t}/latency?days=7"), None),
            (Method::GET, format!("/v1/tenants/{t}/audit/entries"), None),
            (Method::GET, format!("/v1/tenants/{t}/audit/heads"), None),
            (Method::DELETE, format!("/v1/tenants/{t}/api-keys/{}", own["viewer"].1), None),
        ]
    };
    for x in tenants {
        for y in tenants {
            let owner = keys[x]["owner"].0.clone();
            for (method, path, body) in endpoints(y, &keys[y], &ids[y]) {
                let (s, v) = api.call(method.clone(), &path, Some(&owner), body).await;
                let text = v.to_string();
                if x == y {
                    assert!(s.is_success(), "{x} on its own {method} {path}: {s} {v}");
                    for other in tenants.iter().filter(|o| **o != x) {
                        for mark in [format!("{other}-call"), format!("hash-of-{other}"), format!("{other}-words"), format!("agent-{other}"), format!("{other}.example")] {
                            assert!(!text.contains(&mark), "{x} saw {other}: {text}");
                        }
                    }
                } else {
                    assert_eq!(s, StatusCode::NOT_FOUND, "{x} on {y}'s {method} {path}: {v}");
                    assert!(!text.contains(y) || text.contains("not found"), "{text}");
                }
            }
        }
    }
    // The DELETE above revoked each viewer key on its own tenant only.
    for t in tenants {
        let (s, _) = api.call(Method::GET, &format!("/v1/tenants/{t}/calls"), Some(&keys[t]["viewer"].0), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "revoked key");
    }

    // Roles.
    let (viewer, _) = {
        let (s, v) = api.call(Method::POST, "/v1/tenants/t-a/api-keys", Some(&keys["t-a"]["admin"].0), Some(json!({"name": "v2", "role": "viewer"}))).await;
        assert_eq!(s, StatusCode::CREATED);
        (v["token"].as_str().unwrap().to_string(), ())
    };
    assert_eq!(api.call(Method::GET, "/v1/tenants/t-a/calls", Some(&viewer), None).await.0, StatusCode::OK);
    assert_eq!(api.call(Method::GET, "/v1/tenants/t-a/api-keys", Some(&viewer), None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(api.call(Method::GET, "/v1/tenants", Some(&viewer), None).await.0, StatusCode::FORBIDDEN);
    let (s, _) = api.call(Method::POST, "/v1/tenants/t-a/api-keys", Some(&keys["t-a"]["admin"].0), Some(json!({"name": "o", "role": "owner"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "an admin cannot mint an owner");
    let (s, _) = api.call(Method::DELETE, &format!("/v1/tenants/t-a/api-keys/{}", keys["t-a"]["owner"].1), Some(&keys["t-a"]["admin"].0), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "an admin cannot revoke an owner");
    assert_eq!(api.call(Method::GET, "/v1/tenants/t-a/calls?limit=0", Some(&viewer), None).await.0, StatusCode::BAD_REQUEST);
    let (s, v) = api.call(Method::GET, "/v1/tenants/t-a/data-policy", Some(&viewer), None).await;
    assert_eq!((s, v["call_metadata_days"].as_i64()), (StatusCode::OK, Some(90)));
    let too_long = json!({"recording_days": 0, "transcript_days": 0, "call_metadata_days": 400, "operational_log_days": 30, "redact_pii": true, "allowed_providers": []});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-a/data-policy", Some(&keys["t-a"]["owner"].0), Some(too_long)).await.0, StatusCode::BAD_REQUEST);
    let policy = json!({"recording_days": 0, "transcript_days": 0, "call_metadata_days": 30, "operational_log_days": 30, "redact_pii": true, "allowed_providers": []});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-a/data-policy", Some(&keys["t-a"]["admin"].0), Some(policy)).await.0, StatusCode::FORBIDDEN, "policy is the owner's");
    assert_eq!(api.call(Method::GET, "/v1/tenants/t-a/calls?cursor=nonsense", Some(&viewer), None).await.0, StatusCode::BAD_REQUEST);

    // Limits are the operator's; sessions act for their user's tenant only, and end.
    let limits = json!({"max_concurrent_calls": 2, "max_minutes_per_month": 100});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-a/limits", Some(&keys["t-a"]["owner"].0), Some(limits.clone())).await.0, StatusCode::FORBIDDEN);
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-a/limits", Some(&op), Some(limits.clone())).await.0, StatusCode::OK);
    assert_eq!(api.call(Method::GET, "/v1/tenants/t-a/limits", Some(&keys["t-a"]["owner"].0), None).await.1, limits);
    let (s, v) = api.call(Method::POST, "/v1/tenants/t-a/invitations", Some(&keys["t-a"]["owner"].0), Some(json!({"email": "cy@example.com", "role": "admin"}))).await;
    assert_eq!(s, StatusCode::CREATED);
    api.call(Method::POST, "/v1/invitations/accept", None, Some(json!({"token": v["token"], "password": "another long one"}))).await;
    let wrong = json!({"tenant": "t-b", "email": "cy@example.com", "password": "another long one"});
    assert_eq!(api.call(Method::POST, "/v1/sessions", None, Some(wrong)).await.0, StatusCode::UNAUTHORIZED);
    let (s, v) = api.call(Method::POST, "/v1/sessions", None, Some(json!({"tenant": "t-a", "email": "cy@example.com", "password": "another long one"}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let session = v["token"].as_str().unwrap().to_string();
    assert_eq!(api.call(Method::GET, "/v1/tenants/t-a/calls", Some(&session), None).await.0, StatusCode::OK);
    assert_eq!(api.call(Method::GET, "/v1/tenants/t-b/calls", Some(&session), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.call(Method::POST, "/v1/tenants/t-a/api-keys", Some(&session), Some(json!({"name": "o", "role": "owner"}))).await.0, StatusCode::FORBIDDEN);
    assert_eq!(api.call(Method::DELETE, "/v1/sessions/current", Some(&keys["t-a"]["owner"].0), None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(api.call(Method::DELETE, "/v1/sessions/current", Some(&session), None).await.0, StatusCode::OK);
    assert_eq!(api.call(Method::GET, "/v1/tenants/t-a/calls", Some(&session), None).await.0, StatusCode::UNAUTHORIZED);
    let (_, v) = api.call(Method::GET, "/v1/tenants/t-b/operational-events", Some(&keys["t-b"]["owner"].0), None).await;
    assert_eq!(v["events"][0]["kind"], "auth.failed", "the failed sign-in is in t-b's operational log: {v}");

    // Interleaved requests of all tenants on the shared pool.
    let mut tasks = Vec::new();
    for t in tenants {
        for _ in 0..3 {
            let token = keys[t]["admin"].0.clone();
            let base = api.base.clone();
            tasks.push(tokio::spawn(async move {
                let api = Api { http: Client::new(), base };
                for _ in 0..10 {
                    let (s, v) = api.call(Method::GET, &format!("/v1/tenants/{t}/calls"), Some(&token), None).await;
                    assert_eq!(s, StatusCode::OK);
                    let calls = v["calls"].as_array().unwrap();
                    assert_eq!(calls.len(), 2);
                    assert!(calls.iter().all(|c| c["id"].as_str().unwrap().starts_with(t)), "{v}");
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }

    // Audit: reads and changes are in each tenant's own chain, under the key that made them.
    let (s, v) = api.call(Method::GET, "/v1/tenants/t-b/audit/entries?limit=1000", Some(&keys["t-b"]["owner"].0), None).await;
    assert_eq!(s, StatusCode::OK);
    let entries = v["entries"].as_array().unwrap();
    let admin_id = &keys["t-b"]["admin"].1;
    let lists_by_admin = entries.iter().filter(|e| e["action"] == "calls.list" && e["actor"] == format!("key:{admin_id}")).count();
    assert_eq!(lists_by_admin, 30);
    assert!(entries.iter().any(|e| e["action"] == "calls.read" && e["object_id"] == "t-b-call-0"));
    assert!(entries.iter().all(|e| !e.to_string().contains("t-a-call") && !e.to_string().contains("t-c-call")));

    store.close().await;
    server.stop();
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["audit", "verify", "--data-dir"])
        .arg(&server.data_dir)
        .args(&extra)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{out}");
    assert!(out.contains("verified"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres() {
    let db = PgDb::create();
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), Some(&db.url)).await;
}
