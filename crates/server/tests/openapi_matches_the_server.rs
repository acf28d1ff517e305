//! The OpenAPI document at /v1/openapi.json describes what the server does: schemathesis
//! (PyPI, installed by `scripts/setup.sh --test-peers`) generates requests from it, valid and
//! invalid, runs its stateful scenarios, and checks every response (status codes, content
//! types, bodies against their schemas, auth enforced, no 5xx) with all its checks.

use crate::common;

use common::{create_key, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_difference() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let op = create_key(&server.data_dir, &["--role", "platform-admin"]);
    let base = format!("http://127.0.0.1:{}", server.http_port);
    // Some data for the generated requests to find.
    let http = reqwest::Client::new();
    let r = http.post(format!("{base}/v1/tenants")).bearer_auth(&op).json(&serde_json::json!({"id": "acme", "name": "Acme"})).send().await.unwrap();
    assert_eq!(r.status(), 201);

    // An agent's flow is checked beyond what a JSON Schema can say (the nodes a node goes to
    // exist, its intents and tools are declared, no loop runs without the caller): a flow that
    // fits the schema may still be refused, with a 400 naming the node. Everything else about
    // the operation is checked as for the others.
    let config = "[[operations]]\ninclude-name = \"PUT /v1/tenants/{tenant}/agents/{name}\"\nchecks.positive_data_acceptance.expected-statuses = [200, 400, 401, 403, 404]\n";
    std::fs::write(dir.path().join("schemathesis.toml"), config).unwrap();
    let out = tokio::process::Command::new(common::test_peer("schemathesis"))
        .args(["run", &format!("{base}/v1/openapi.json"), "--checks", "all", "--max-examples", "25", "--seed", "7", "--workers", "1"])
        .args(["-H", &format!("Authorization: Bearer {op}")])
        .env("NO_COLOR", "1")
        .current_dir(dir.path())
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "schemathesis found differences:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let spec: serde_json::Value = http.get(format!("{base}/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let operations: usize = spec["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
    assert!(operations >= 12);
    assert!(text.contains(&format!("{operations} selected / {operations} total")), "every operation was tested:\n{text}");
}
