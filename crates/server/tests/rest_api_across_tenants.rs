//! The REST API against a running `parley serve`, on SQLite and on PostgreSQL: every tenant
//! endpoint, called with each tenant's key on every other tenant's paths, answers 404 and shows
//! nothing of the other tenant; roles limit what a key does; interleaved requests never cross;
//! every read or change leaves an audit entry and `parley audit verify` passes.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::{create_key, PgDb, Server};
use parley_store::{Store, Target};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

struct Api {
    http: Client,
    base: String,
}

impl Api {
    async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}


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
    let mut keys: HashMap<&str, HashMap<&str, (String, String)>> = HashMap::new();
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
    }

    // Every endpoint, every ordered pair of tenants.
    let endpoints = |t: &str, own: &HashMap<&str, (String, String)>| -> Vec<(Method, String, Option<Value>)> {
        vec![
            (Method::GET, format!("/v1/tenants/{t}"), None),
            (Method::GET, format!("/v1/tenants/{t}/api-keys"), None),
            (Method::POST, format!("/v1/tenants/{t}/api-keys"), Some(json!({"name": "extra", "role": "viewer"}))),
            (Method::GET, format!("/v1/tenants/{t}/data-policy"), None),
            (Method::PUT, format!("/v1/tenants/{t}/data-policy"), Some(json!({"recording_days": 0, "transcript_days": 0,
                "call_metadata_days": 90, "operational_log_days": 30, "redact_pii": true, "allowed_providers": ["embedded"]}))),
            (Method::GET, format!("/v1/tenants/{t}/calls"), None),
            (Method::GET, format!("/v1/tenants/{t}/calls?limit=1&outcome=resolved"), None),
            (Method::GET, format!("/v1/tenants/{t}/calls/{t}-call-0"), None),
            (Method::GET, format!("/v1/tenants/{t}/audit/entries"), None),
            (Method::GET, format!("/v1/tenants/{t}/audit/heads"), None),
            (Method::DELETE, format!("/v1/tenants/{t}/api-keys/{}", own["viewer"].1), None),
        ]
    };
    for x in tenants {
        for y in tenants {
            let owner = keys[x]["owner"].0.clone();
            for (method, path, body) in endpoints(y, &keys[y]) {
                let (s, v) = api.call(method.clone(), &path, Some(&owner), body).await;
                let text = v.to_string();
                if x == y {
                    assert!(s.is_success(), "{x} on its own {method} {path}: {s} {v}");
                    for other in tenants.iter().filter(|o| **o != x) {
                        assert!(!text.contains(&format!("{other}-call")) && !text.contains(&format!("hash-of-{other}")), "{x} saw {other}: {text}");
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
