//! Small things an outside probe checks: a body over the limit gets 413 (not 400), and reading
//! a tenant's outbound policy leaves an audit entry like every other read.

mod common;

use common::{Api, Server};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_413_and_policy_reads_are_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &[]);
    let api = Api { http: Client::new(), base: format!("http://127.0.0.1:{}", server.http_port) };
    let op = common::create_key(&server.data_dir, &["--role", "platform-admin"]);
    assert_eq!(api.call(Method::POST, "/v1/tenants", Some(&op), Some(json!({"id": "t", "name": "T"}))).await.0, StatusCode::CREATED);

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

    assert_eq!(api.call(Method::GET, "/v1/tenants/t/outbound-policy", Some(&op), None).await.0, StatusCode::OK);
    let (s, v) = api.call(Method::GET, "/v1/tenants/t/audit/entries?limit=100", Some(&op), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["entries"].as_array().unwrap().iter().any(|e| e["action"] == "outbound_policy.read"), "{v}");
}
