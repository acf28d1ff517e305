//! Starting `parley serve` for integration tests, on free loopback ports.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
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
        let (sip_port, http_port) = (free_port(), free_port());
        let data_dir = dir.join("data");
        let log = dir.join("parley.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
            .args(["serve", "--sip-listen", &format!("127.0.0.1:{sip_port}"), "--http-listen", &format!("127.0.0.1:{http_port}")])
            .arg("--data-dir")
            .arg(&data_dir)
            .args(extra)
            .env("PARLEY_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut secret = String::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            if let Some(s) = line.split("secret ").nth(1) {
                secret = s.trim().trim_end_matches(')').to_string();
                break;
            }
        }
        assert_eq!(secret.len(), 64, "parley serve started and printed its webhook secret");
        Server { child, sip_port, http_port, data_dir, log, secret }
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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
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
    assert!(status.success());
    std::fs::read_to_string(&log).unwrap()
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
}

pub fn caller_wav(dir: &Path, parts: &[Part<'_>]) -> PathBuf {
    let mut files = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let out = dir.join(format!("part{i}.wav"));
        match p {
            Part::Silence(s) => run(Command::new("sox").args(["-n", "-r", "8000", "-c", "1", "-b", "16"]).arg(&out).args(["trim", "0", &s.to_string()])),
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
        let name = format!("parley_t_{}", hex::encode(rand_bytes()));
        let ok = Command::new("psql").arg(&admin).args(["-qc", &format!("CREATE DATABASE {name}")]).status().unwrap().success();
        assert!(ok, "creating a database on {admin}");
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        PgDb { url, admin, name }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = Command::new("psql").arg(&self.admin).args(["-qc", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)]).status();
    }
}

fn rand_bytes() -> [u8; 6] {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let mixed = t ^ (u64::from(std::process::id()) << 32);
    mixed.to_le_bytes()[..6].try_into().unwrap()
}

/// The demo tenant's calls in the server's SQLite store, newest first.
pub async fn demo_calls(data_dir: &Path) -> Vec<parley_store::CallRecord> {
    let store = parley_store::Store::open(&parley_store::Target::SqliteDir(data_dir.to_path_buf())).await.unwrap();
    let page = store.tenant("demo").unwrap().list_calls(&Default::default()).await.unwrap();
    store.close().await;
    page.calls
}
