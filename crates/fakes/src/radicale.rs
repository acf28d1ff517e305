//! Not a fake: the real CalDAV server Radicale (PyPI, installed by `scripts/setup.sh
//! --test-peers`), started on a loopback port with its own storage, one user (`clinic`, password
//! `secret`, HTTP Basic) and one calendar collection, for the calendar tools' tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The user and password Radicale accepts.
pub const USER: (&str, &str) = ("clinic", "secret");

/// A running Radicale; stopped when dropped.
pub struct Radicale {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The calendar collection's URL (ends in `/`).
    pub calendar: String,
}

/// A program of the test peers' venv.
pub fn test_peer(name: &str) -> PathBuf {
    let dir = std::env::var_os("PARLEY_TEST_PEERS_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".local/share/parley/test-peers"));
    let bin = dir.join("venv/bin").join(name);
    assert!(bin.exists(), "{name} not installed: run scripts/setup.sh --test-peers");
    bin
}

impl Radicale {
    /// Starts Radicale with its files under `dir` and creates the calendar `appointments`.
    pub async fn start(dir: &Path) -> Radicale {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port");
        std::fs::create_dir_all(dir).expect("radicale's directory");
        let users = dir.join("users");
        std::fs::write(&users, format!("{}:{}\n", USER.0, USER.1)).expect("the htpasswd file");
        let config = dir.join("config");
        std::fs::write(&config, format!(
            "[server]\nhosts = 127.0.0.1:{port}\n[auth]\ntype = htpasswd\nhtpasswd_filename = {}\nhtpasswd_encryption = plain\n[storage]\nfilesystem_folder = {}\n[rights]\ntype = owner_only\n[logging]\nlevel = warning\n",
            users.display(),
            dir.join("collections").display()
        )).expect("radicale's config");
        let child = Command::new(test_peer("radicale")).arg("--config").arg(&config).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("radicale starts");
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let calendar = format!("{url}/{}/appointments/", USER.0);
        let body = r#"<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>Appointments</D:displayname></D:prop></D:set></C:mkcalendar>"#;
        let made = http.request(reqwest::Method::from_bytes(b"MKCALENDAR").expect("a method"), &calendar).basic_auth(USER.0, Some(USER.1)).body(body).send().await.expect("MKCALENDAR");
        assert_eq!(made.status().as_u16(), 201, "the calendar is created");
        Radicale { child, url, calendar }
    }

    /// Puts an event (as a person using a calendar app would), `start`/`end` as
    /// `20261204T150000Z`.
    pub async fn put_event(&self, uid: &str, start: &str, end: &str) {
        let ics = format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:{start}\r\nDTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:Staff meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let r = reqwest::Client::new().put(format!("{}{uid}.ics", self.calendar)).basic_auth(USER.0, Some(USER.1)).header("content-type", "text/calendar").body(ics).send().await.expect("PUT");
        assert!(r.status().is_success(), "{}", r.status());
    }

    /// The calendar's events (their iCalendar texts).
    pub async fn events(&self) -> Vec<String> {
        let body = r#"<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter></C:filter></C:calendar-query>"#;
        let r = reqwest::Client::new().request(reqwest::Method::from_bytes(b"REPORT").expect("a method"), &self.calendar).basic_auth(USER.0, Some(USER.1)).header("Depth", "1").body(body).send().await.expect("REPORT");
        let text = r.text().await.unwrap_or_default();
        text.split("BEGIN:VEVENT").skip(1).map(|e| e.split("END:VEVENT").next().unwrap_or_default().to_string()).collect()
    }
}

impl Drop for Radicale {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
