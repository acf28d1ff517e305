//! A fresh store per test, on SQLite (a temp dir) or PostgreSQL (a database of its own on the
//! server at `PARLEY_TEST_POSTGRES`, default `postgres://root@127.0.0.1:5432/test`, dropped
//! afterwards even when the test fails).
#![allow(dead_code)]

use parley_store::{Store, Target};
use sqlx::{Connection, Executor};

pub struct TestDb {
    pub store: Store,
    /// A connection URL with the owner's rights (to tamper with data as an attacker with
    /// database access would).
    pub owner_url: String,
    _postgres: Option<EmptyPostgres>,
    _dir: Option<tempfile::TempDir>,
}

pub fn postgres_admin_url() -> String {
    std::env::var("PARLEY_TEST_POSTGRES").unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into())
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&Target::SqliteDir(dir.path().to_path_buf())).await.unwrap();
    let owner_url = format!("sqlite://{}", dir.path().join("parley.db").display());
    TestDb { store, owner_url, _postgres: None, _dir: Some(dir) }
}

/// A new, empty PostgreSQL database of its own (no migrations run), dropped with the value.
pub struct EmptyPostgres {
    pub url: String,
    admin: String,
    name: String,
}

pub async fn empty_postgres() -> EmptyPostgres {
    sqlx::any::install_default_drivers();
    let admin = postgres_admin_url();
    let name = format!("parley_t_{}", hex::encode(rand::random::<[u8; 6]>()));
    let mut conn = sqlx::AnyConnection::connect(&admin).await.expect("PostgreSQL at PARLEY_TEST_POSTGRES");
    conn.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
    conn.close().await.unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    EmptyPostgres { url: format!("{base}/{name}"), admin, name }
}

impl Drop for EmptyPostgres {
    fn drop(&mut self) {
        drop_in_background(self.admin.clone(), self.name.clone());
    }
}

/// Drops a test database from a drop handler: FORCE ends the test's connections server-side
/// (closing the pool here would wait on the test's runtime, which is blocked in this drop).
fn drop_in_background(admin: String, name: String) {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(drop_database(&admin, &name));
    })
    .join()
    .ok();
}

pub async fn postgres() -> TestDb {
    let empty = empty_postgres().await;
    let store = Store::open(&Target::Url(empty.url.clone())).await.unwrap();
    TestDb { store, owner_url: empty.url.clone(), _postgres: Some(empty), _dir: None }
}

/// Drops a test database and the login roles its migrations created (roles belong to the
/// whole server, not to one database).
pub async fn drop_database(admin: &str, name: &str) {
    let (base, _) = admin.rsplit_once('/').unwrap();
    let mut roles = Vec::new();
    if let Ok(mut c) = sqlx::AnyConnection::connect(&format!("{base}/{name}")).await {
        if let Ok(rows) = sqlx::query("SELECT role_name FROM parley_logins").fetch_all(&mut c).await {
            roles = rows.iter().map(|r| sqlx::Row::get::<String, _>(r, "role_name")).collect();
        }
        let _ = c.close().await;
    }
    if let Ok(mut c) = sqlx::AnyConnection::connect(admin).await {
        let _ = c.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
        for role in roles {
            let _ = c.execute(format!("DROP ROLE IF EXISTS \"{role}\"").as_str()).await;
        }
    }
}


/// Runs one async test body on SQLite and on PostgreSQL: `on_both!(name);` expects
/// `async fn name(db: &TestDb)` in the test file.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let db = super::common::sqlite().await;
                super::$name(&db).await;
            }
            #[tokio::test]
            async fn postgres() {
                let db = super::common::postgres().await;
                super::$name(&db).await;
            }
        }
    )*};
}

/// A finished call of `tenant` that started at `started_ms` and lasted a second; tests change
/// fields with struct update syntax.
pub fn call(tenant: &str, id: &str, started_ms: i64) -> parley_store::CallRecord {
    parley_store::CallRecord {
        id: id.into(),
        tenant_id: tenant.into(),
        agent: "demo".into(),
        caller_masked: "+155******04".into(),
        caller_hash: format!("hash-{id}"),
        callee: "demo".into(),
        transport: "udp".into(),
        started_ms,
        answered_ms: Some(started_ms + 100),
        ended_ms: started_ms + 1000,
        outcome: "resolved".into(),
        end_reason: "remote_bye".into(),
        routing: "agent:demo".into(),
        turns: 2,
        retries: 0,
        webhook_status: "none".into(),
        latency: None,
        timeline: Default::default(),
    }
}
