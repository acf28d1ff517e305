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
