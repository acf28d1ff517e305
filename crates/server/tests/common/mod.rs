//! Starting `parley serve` for integration tests, on free loopback ports.
#![allow(dead_code)]

pub mod fake_stripe;
pub mod fake_twilio;
mod sip_client;

pub use sip_client::*;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A loopback port P free for UDP and TCP right now, with P+1 free for TCP too: SIP listens on
/// both protocols (a port picked for one only can be taken on the other, by a test's web server
/// for instance), and baresip's `sip_listen P` also puts its TLS listener on P+1 (it exits 98
/// when that one is taken).
pub fn free_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if port == u16::MAX {
            continue;
        }
        let tcp = std::net::TcpListener::bind(("127.0.0.1", port));
        let tls = std::net::TcpListener::bind(("127.0.0.1", port + 1));
        if tcp.is_ok() && tls.is_ok() {
            return port;
        }
    }
}

/// A running `parley serve`; killed when dropped.
pub struct Server {
    pub child: Child,
    pub sip_port: u16,
    pub http_port: u16,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    pub secret: String,
}

impl Server {
    /// Starts the server with its data and log under `dir`; returns once it printed its banner.
    pub fn start(dir: &Path, extra: &[&str]) -> Server {
        // A port found free may be taken by a test running alongside before the server binds
        // it; the server then exits at once, and starts again on other ports.
        for _ in 0..5 {
            match Server::try_start(dir, extra) {
                Ok(server) => return server,
                Err(log) if log.contains("Address already in use") => continue,
                Err(log) => panic!("parley serve did not start; its log:\n{log}"),
            }
        }
        panic!("parley serve found its ports taken 5 times in a row");
    }

    /// One start; `Err` with the server's log when it did not start.
    fn try_start(dir: &Path, extra: &[&str]) -> Result<Server, String> {
        let sip_port = free_port();
        let http_port = std::iter::repeat_with(free_port).find(|p| *p != sip_port).unwrap();
        let data_dir = dir.join("data");
        let log = dir.join("parley.log");
        // The server's temp dir, so privacy tests can look in it.
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
            .args(["serve", "--sip-listen", &format!("127.0.0.1:{sip_port}"), "--http-listen", &format!("127.0.0.1:{http_port}")])
            .arg("--data-dir")
            .arg(&data_dir)
            .args(extra)
            // The tests' receivers and fakes listen on loopback, which tenant URLs may not
            // reach by default; a test that checks the refusal passes its own --egress-allow.
            .args(if extra.contains(&"--egress-allow") { &[][..] } else { &["--egress-allow", "127.0.0.0/8"][..] })
            .env("PARLEY_LOG", "debug")
            .env("TMPDIR", dir.join("tmp"))
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        // The banner's last line says where the webhook secret is kept (it never prints it).
        let mut secret = String::new();
        let mut banner = String::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            banner.push_str(&line);
            if line.contains("webhook-secret") {
                secret = std::fs::read_to_string(data_dir.join("webhook-secret")).unwrap_or_default().trim().to_string();
                assert!(!banner.contains(&secret), "the banner prints no secret:\n{banner}");
                break;
            }
        }
        if secret.len() != 64 {
            let _ = child.wait();
            return Err(std::fs::read_to_string(&log).unwrap_or_default());
        }
        Ok(Server { child, sip_port, http_port, data_dir, log, secret })
    }

    /// Sends SIGTERM (a drain starts) without waiting.
    pub fn terminate(&self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
    }

    /// Its exit status, if it exits within `limit`.
    pub fn exited_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// What the server has logged so far (for failure messages).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the server with SIGTERM and waits for it.
    pub fn stop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real HTTP server that receives one post-call webhook.
pub struct WebhookReceiver {
    pub url: String,
    done: tokio::sync::oneshot::Receiver<(axum::http::HeaderMap, axum::body::Bytes)>,
}

impl WebhookReceiver {
    pub async fn start() -> WebhookReceiver {
        WebhookReceiver::start_on(0).await
    }

    /// Listens on a given loopback port (0: any).
    pub async fn start_on(port: u16) -> WebhookReceiver {
        use std::sync::{Arc, Mutex};
        let (tx, done) = tokio::sync::oneshot::channel();
        let tx = Arc::new(Mutex::new(Some(tx)));
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |h: axum::http::HeaderMap, b: axum::body::Bytes| async move {
                if let Some(tx) = tx.lock().unwrap().take() {
                    let _ = tx.send((h, b));
                }
                "ok"
            }),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        WebhookReceiver { url, done }
    }

    /// The first document received (headers and body), within 30 s.
    pub async fn document(self) -> (axum::http::HeaderMap, axum::body::Bytes) {
        tokio::time::timeout(std::time::Duration::from_secs(30), self.done).await.expect("webhook arrives").unwrap()
    }
}

/// Writes a baresip config dir `dir/name` listening on `port`, playing `wav`, recording into
/// `record_into` when given.
pub fn baresip_dir(dir: &Path, name: &str, port: u16, wav: &Path, user: &str, record_into: Option<&Path>) -> PathBuf {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    let (sndfile, snd_path) = match record_into {
        Some(p) => ("module sndfile.so\n".to_string(), format!("snd_path {}\n", p.display())),
        None => (String::new(), String::new()),
    };
    std::fs::write(
        d.join("config"),
        format!(
            "sip_listen 127.0.0.1:{port}\nnet_interface 127.0.0.1\naudio_source aufile,{}\naudio_player aufile,/dev/null\n\
             audio_alert aufile,/dev/null\nmodule_path /usr/lib/baresip/modules\nmodule stdio.so\nmodule g711.so\n\
             module aufile.so\n{sndfile}module account.so\nmodule menu.so\n{snd_path}",
            wav.display()
        ),
    )
    .unwrap();
    std::fs::write(d.join("accounts"), format!("<sip:{user}@127.0.0.1:{port}>;auth_pass=none;regint=0\n")).unwrap();
    d
}

/// Runs baresip from `config` dialling `target` for `secs` seconds; returns its output.
pub async fn baresip_call(config: PathBuf, target: String, secs: u32, log: PathBuf) -> String {
    let out = std::fs::File::create(&log).unwrap();
    let status = tokio::task::spawn_blocking(move || {
        Command::new("baresip")
            .arg("-f")
            .arg(&config)
            .args(["-e", &format!("/dial {target}"), "-t", &secs.to_string()])
            .stdout(out)
            .stderr(Stdio::null())
            .status()
            .expect("baresip installed (scripts/setup.sh --test-peers)")
    })
    .await
    .unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "baresip exited with {status}:\n{text}");
    text
}

/// Runs a command that must succeed (sox, espeak-ng).
pub fn run(cmd: &mut Command) {
    let st = cmd.status().unwrap_or_else(|e| panic!("{cmd:?}: {e} (run scripts/setup.sh --test-peers)"));
    assert!(st.success(), "{cmd:?} failed");
}

/// Caller audio: `secs` of silence or a phrase spoken by espeak-ng, 8 kHz, joined in order.
pub enum Part<'a> {
    Silence(u32),
    Say(&'a str),
    /// A sine tone: frequency (Hz) and seconds, at half scale.
    Tone(u32, u32),
}

pub fn caller_wav(dir: &Path, parts: &[Part<'_>]) -> PathBuf {
    let mut files = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let out = dir.join(format!("part{i}.wav"));
        match p {
            Part::Silence(s) => run(Command::new("sox").args(["-n", "-r", "8000", "-c", "1", "-b", "16"]).arg(&out).args(["trim", "0", &s.to_string()])),
            Part::Tone(hz, secs) => {
                run(Command::new("sox").args(["-n", "-r", "8000", "-c", "1", "-b", "16"]).arg(&out).args(["synth", &secs.to_string(), "sine", &hz.to_string(), "vol", "0.5"]))
            }
            Part::Say(text) => {
                let raw = dir.join(format!("part{i}-raw.wav"));
                run(Command::new("espeak-ng").args(["-v", "en-us", "-s", "140", "-w"]).arg(&raw).arg(text));
                run(Command::new("sox").arg(&raw).args(["-r", "8000", "-c", "1", "-b", "16"]).arg(&out));
            }
        }
        files.push(out);
    }
    let wav = dir.join("caller.wav");
    run(Command::new("sox").args(&files).arg(&wav));
    wav
}

/// Runs `parley admin create-key` and returns the printed token.
pub fn create_key(data_dir: &Path, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_parley")).args(["admin", "create-key"]).arg("--data-dir").arg(data_dir).args(extra).output().unwrap();
    assert!(out.status.success(), "create-key: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Creates an operator with the CLI, the password on standard input.
pub fn create_operator(data_dir: &std::path::Path, email: &str, password: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["admin", "create-operator", "--email", email, "--data-dir"])
        .arg(data_dir)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "create-operator: {}", String::from_utf8_lossy(&out.stderr));
}

/// A PostgreSQL database of the test's own on the server at `PARLEY_TEST_POSTGRES` (default
/// `postgres://root@127.0.0.1:5432/test`), dropped when this is dropped.
pub struct PgDb {
    pub url: String,
    admin: String,
    name: String,
}

impl PgDb {
    pub fn create() -> PgDb {
        let admin = std::env::var("PARLEY_TEST_POSTGRES").unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into());
        let name = format!("parley_t_{}", hex::encode(rand::random::<[u8; 6]>()));
        let ok = Command::new("psql").arg(&admin).args(["-qc", &format!("CREATE DATABASE {name}")]).status().unwrap().success();
        assert!(ok, "creating a database on {admin}");
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        PgDb { url, admin, name }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        // The login roles its migrations created belong to the whole server: they go too.
        let roles = Command::new("psql").arg(&self.url).args(["-Atc", "SELECT role_name FROM parley_logins"]).stderr(Stdio::null()).output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
        let _ = Command::new("psql").arg(&self.admin).args(["-qc", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)]).status();
        for role in roles.lines().filter(|r| r.starts_with("parley_")) {
            let _ = Command::new("psql").arg(&self.admin).args(["-qc", &format!("DROP ROLE IF EXISTS \"{role}\"")]).status();
        }
    }
}

/// The demo tenant's calls in the server's SQLite store, newest first.
pub async fn demo_calls(data_dir: &Path) -> Vec<parley_store::CallRecord> {
    let store = parley_store::Store::open(&parley_store::Target::SqliteDir(data_dir.to_path_buf())).await.unwrap();
    let page = store.tenant("demo").unwrap().list_calls(&Default::default()).await.unwrap();
    store.close().await;
    page.calls
}

/// A loopback TCP port nothing listens on (yet).
pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A one-second call to `number` (answered, then BYE), from a blocking task.
pub async fn second_long_call(server: &Server, call_id: &str, number: &str) {
    let (srv, call_id, number) = (format!("127.0.0.1:{}", server.sip_port), call_id.to_string(), number.to_string());
    tokio::task::spawn_blocking(move || {
        let (code, leg) = invite(&srv, &call_id, "+15550100001", &number, &number, "");
        assert_eq!(code, 200);
        std::thread::sleep(std::time::Duration::from_secs(1));
        leg.unwrap().bye(&number);
    })
    .await
    .unwrap();
}

/// A started server, its REST API and a platform-admin (operator) key.
pub fn operated(dir: &Path, extra: &[&str]) -> (Server, Api, String) {
    let server = Server::start(dir, extra);
    let api = Api { http: reqwest::Client::new(), base: format!("http://127.0.0.1:{}", server.http_port) };
    let op = create_key(&server.data_dir, &["--role", "platform-admin"]);
    (server, api, op)
}

/// The REST API of a running server.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub async fn call(&self, method: reqwest::Method, path: &str, token: Option<&str>, body: Option<serde_json::Value>) -> (reqwest::StatusCode, serde_json::Value) {
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
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
    }

    /// Creates tenant `id` (201 expected).
    pub async fn tenant(&self, op: &str, id: &str) {
        let (s, v) = self.call(reqwest::Method::POST, "/v1/tenants", Some(op), Some(serde_json::json!({"id": id, "name": id}))).await;
        assert_eq!(s, reqwest::StatusCode::CREATED, "{v}");
    }

    /// A dashboard user of tenant `tenant` with `role`, invited by `op` and signed up with
    /// `password`.
    pub async fn user(&self, op: &str, tenant: &str, email: &str, role: &str, password: &str) {
        use reqwest::{Method, StatusCode};
        let (s, v) = self.call(Method::POST, &format!("/v1/tenants/{tenant}/invitations"), Some(op), Some(serde_json::json!({"email": email, "role": role}))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, v) = self.call(Method::POST, "/v1/invitations/accept", None, Some(serde_json::json!({"token": v["token"], "password": password}))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }

    /// Creates tenant `id` with a plain agent `front` that answers `number`.
    pub async fn tenant_answering(&self, op: &str, id: &str, number: &str) {
        use reqwest::{Method, StatusCode};
        self.tenant(op, id).await;
        let agent = serde_json::json!({"business": id, "greeting": "Hello.", "hours": "always"});
        assert_eq!(self.call(Method::PUT, &format!("/v1/tenants/{id}/agents/front"), Some(op), Some(agent)).await.0, StatusCode::OK);
        let n = serde_json::json!({"number": number, "agent": "front"});
        assert_eq!(self.call(Method::POST, &format!("/v1/tenants/{id}/numbers"), Some(op), Some(n)).await.0, StatusCode::CREATED);
    }
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A finished call of `tenant` that ended at `ended_ms`, for tests that write records directly.
pub fn sample_call(tenant: &str, id: &str, ended_ms: i64) -> parley_store::CallRecord {
    parley_store::CallRecord {
        id: id.into(),
        tenant_id: tenant.into(),
        agent: "demo".into(),
        caller_masked: "+155******04".into(),
        caller_hash: format!("hash-of-{tenant}"),
        callee: "demo".into(),
        transport: "udp".into(),
        started_ms: ended_ms - 9000,
        answered_ms: Some(ended_ms - 8950),
        ended_ms,
        outcome: "resolved".into(),
        end_reason: "remote_bye".into(),
        routing: "agent:demo".into(),
        turns: 3,
        retries: 0,
        webhook_status: "delivered".into(),
        latency: None,
        timeline: Default::default(),
    }
}

/// A self-signed certificate for 127.0.0.1 and its key (`cert.pem`, `key.pem` in `dir`), made
/// by openssl. rustls peers want it marked as a server's leaf (`CA:FALSE`, serverAuth; webpki
/// refuses a CA certificate as the server's); OpenSSL peers such as baresip trust it as their
/// anchor only as openssl's default self-signed CA, so `for_openssl_peers` leaves those out.
pub fn self_signed_cert(dir: &Path, for_openssl_peers: bool) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let mut cmd = Command::new("openssl");
    cmd.args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=parley-test"]);
    cmd.args(["-addext", "subjectAltName=IP:127.0.0.1"]);
    if !for_openssl_peers {
        cmd.args(["-addext", "basicConstraints=critical,CA:FALSE", "-addext", "extendedKeyUsage=serverAuth"]);
    }
    let out = cmd.arg("-keyout").arg(&key).arg("-out").arg(&cert).output().expect("openssl installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (cert, key)
}

/// The 16-bit samples of a canonical (44-byte header) WAV file.
pub fn wav_pcm(path: &Path) -> Vec<i16> {
    let data = std::fs::read(path).unwrap();
    data[44..].chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect()
}

/// The RMS level of a WAV file's samples.
pub fn wav_rms(path: &Path) -> f64 {
    let pcm = wav_pcm(path);
    (pcm.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / pcm.len().max(1) as f64).sqrt()
}

/// A plain HTTP/1.1 GET on loopback `port`; the response body.
pub fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default()
}

/// A peer process (kamailio, sipp) stopped when dropped: SIGTERM first, so a Kamailio main
/// process takes its worker children down with it (SIGKILL would leave them running), then
/// SIGKILL if it has not exited within 5 s.
pub struct Peer(pub Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where `scripts/setup.sh --test-peers` puts the test peers.
pub fn test_peers_dir() -> PathBuf {
    std::env::var_os("PARLEY_TEST_PEERS_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".local/share/parley/test-peers"))
}

/// A program of the PyPI test peers (`scripts/setup.sh --test-peers`): schemathesis, aiosmtpd.
pub fn test_peer(name: &str) -> PathBuf {
    let bin = test_peers_dir().join("venv/bin").join(name);
    assert!(bin.exists(), "{name} not installed: run scripts/setup.sh --test-peers");
    bin
}
