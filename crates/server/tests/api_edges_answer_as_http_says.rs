//! Small things an outside probe checks: a body over the limit gets 413 (not 400), names with
//! control or bidi formatting characters are refused, reading a tenant's outbound policy
//! leaves an audit entry like every other read, and every answer (an error, an unknown path, a
//! new API key) says `nosniff` and stays out of caches.

use crate::common;


use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_413_and_policy_reads_are_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, api, op) = common::operated(tmp.path(), &[]);
    api.tenant(&op, "t").await;

    // A client announcing 3 MiB: the answer comes before the body is read (a raw client, since
    // the server closes the connection on the unread rest).
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", server.http_port)).await.unwrap();
    let head = format!(
        "POST /v1/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {op}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{{\"id\": \"u\", \"name\": \"",
        3 * 1024 * 1024
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    // Past the 2 MiB limit (the server reads that far), less than announced.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), conn.write_all(&vec![b'x'; 2 * 1024 * 1024 + 64 * 1024])).await;
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), conn.read(&mut answer)).await.expect("an answer").unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // Names people read: no control characters, no bidi overrides or invisible formatting.
    for name in ["Acme\u{202E}gnp.exe", "Acme\nInjected: yes", "Acme\u{2066}x", "Acme\u{200B}"] {
        let (s, v) = api.call(Method::POST, "/v1/tenants", Some(&op), Some(json!({"id": "u", "name": name}))).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{name:?}: {v}");
        let hook = json!({"kind": "webhook", "name": name, "config": {"url": "https://hooks.example.com/x"}, "secret": "s"});
        let (s, v) = api.call(Method::POST, "/v1/tenants/t/integrations", Some(&op), Some(hook)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{name:?}: {v}");
    }
    let (s, _) = api.call(Method::POST, "/v1/tenants", Some(&op), Some(json!({"id": "u", "name": "Café Zürich ש"}))).await;
    assert_eq!(s, StatusCode::CREATED, "other scripts are fine");

    // A Google Calendar granted through an OAuth client takes its client secret and refresh
    // token as the secret; a bare string there is refused rather than failing on every call.
    let google = |secret: &str| json!({"kind": "google_calendar", "name": "clinic", "config": {"client_id": "1234-parley.apps.googleusercontent.com"}, "secret": secret});
    let (s, v) = api.call(Method::POST, "/v1/tenants/t/integrations", Some(&op), Some(google("1//refresh-token-alone"))).await;
    assert!(s == StatusCode::BAD_REQUEST && v.to_string().contains("refresh_token"), "{s} {v}");
    let (s, v) = api.call(Method::POST, "/v1/tenants/t/integrations", Some(&op), Some(google(r#"{"client_secret": "GOCSPX-x", "refresh_token": "1//r"}"#))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    assert_eq!(api.call(Method::GET, "/v1/tenants/t/outbound-policy", Some(&op), None).await.0, StatusCode::OK);
    let (s, v) = api.call(Method::GET, "/v1/tenants/t/audit/entries?limit=100", Some(&op), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["entries"].as_array().unwrap().iter().any(|e| e["action"] == "outbound_policy.read"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_says_nosniff_and_secrets_stay_out_of_caches() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, api, op) = common::operated(tmp.path(), &[]);
    api.tenant(&op, "t").await;
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", server.http_port);
    let answers = [
        ("a new API key", http.post(format!("{base}/v1/tenants/t/api-keys")).bearer_auth(&op).json(&json!({"name": "crm", "role": "admin"})).send().await.unwrap()),
        ("an API error", http.get(format!("{base}/v1/tenants")).send().await.unwrap()),
        ("an unknown path", http.get(format!("{base}/v1/../../etc/passwd")).send().await.unwrap()),
        ("a health check", http.get(format!("{base}/healthz")).send().await.unwrap()),
    ];
    let expected = [StatusCode::CREATED, StatusCode::UNAUTHORIZED, StatusCode::NOT_FOUND, StatusCode::OK];
    for ((what, r), status) in answers.into_iter().zip(expected) {
        assert_eq!(r.status(), status, "{what}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(r.headers()["cache-control"], "no-store", "{what}");
    }
    // A route that chose its own caching keeps it.
    let css = http.get(format!("{base}/assets/console.css")).send().await.unwrap();
    assert_eq!(css.headers()["cache-control"], "public, max-age=3600");
    assert_eq!(css.headers()["x-content-type-options"], "nosniff");
    drop(api);
}

/// Slow clients and connection floods: a client that never finishes its request head is cut
/// after 10 s, connections over `--http-max-connections` are closed at once while the others
/// are served, and with `--metrics-listen` the counts move off the API port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_heads_are_cut_connections_are_capped_and_metrics_can_move() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tmp = tempfile::tempdir().unwrap();
    let metrics_port = common::free_tcp_port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let server = common::Server::start(tmp.path(), &["--http-max-connections", "4", "--metrics-listen", &metrics_addr]);
    let addr = ("127.0.0.1", server.http_port);

    // Three idle connections and one slow head: four places taken.
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // The fifth is closed without an answer.
    let mut fifth = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = fifth.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), fifth.read(&mut buf)).await.expect("closed at once").unwrap_or(0);
    assert_eq!(n, 0, "over the cap: closed, {:?}", String::from_utf8_lossy(&buf[..n]));
    // The slow head is cut within the header deadline, which frees a place.
    let cut = tokio::time::timeout(std::time::Duration::from_secs(15), slow.read(&mut buf)).await.expect("cut within the deadline");
    assert!(!matches!(cut, Ok(n) if n > 0 && buf.starts_with(b"HTTP/1.1 200")), "the slow head got no answer");
    drop(idle);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let http = reqwest::Client::new();
    let ok = http.get(format!("http://127.0.0.1:{}/healthz", server.http_port)).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK, "places free again");

    // Metrics: on their own address, not on the API port.
    let on_api = http.get(format!("http://127.0.0.1:{}/metrics", server.http_port)).send().await.unwrap();
    assert_eq!(on_api.status(), StatusCode::NOT_FOUND);
    let own = http.get(format!("http://{metrics_addr}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(own.contains("parley_calls_total"), "{own}");
}
