//! # parley-store
//!
//! Persistence for Parley, on SQLite (the default, `<data dir>/parley.db`, WAL) or PostgreSQL
//! (`postgres://...`), behind one query layer.
//!
//! Every query runs inside a [`Scope`]: [`Store::tenant`] gives a [`TenantScope`] whose methods
//! only ever touch that tenant's rows, [`Store::platform`] a [`PlatformScope`] for operator work
//! (creating tenants, looking up an API key before its tenant is known, retention across
//! tenants). On PostgreSQL the tenant is also set in the transaction (`parley.tenant_id`), and
//! row-level security, enabled and forced on every tenant table, enforces it: tenant work logs
//! in as a role of `parley_app`, operator work as a role of `parley_platform`, neither the
//! owner nor owning a table (see `logins`). On SQLite the query layer is the only guard, so
//! every tenant query binds the tenant id.
//!
//! Main parts: [`tenants`], [`api_keys`] (roles, keys shown once, stored hashed), [`calls`]
//! (call metadata, filter and pages), [`crypto`] (envelope encryption, crypto-shredding), [`rotation`] (tenant key rotation over every sealed row),
//! [`outbox`] (sealed post-call documents until delivery, shredded after 72 h),
//! [`policy`] (per-tenant data policy), [`subjects`] (data-subject requests), [`retention`] (the idempotent retention job),
//! [`audit`] (hash-chained, ed25519-signed log), [`privacy`] (masking, keyed hashes), [`users`]
//! (invitations, argon2id passwords, sessions), [`operators`] (the installation's operators and
//! their sessions, readable by platform work only), [`directory`] (agents, numbers, routing),
//! [`agent_versions`] (every saved version of an agent, for history and rollback),
//! [`integrations`] (sealed secrets), [`trunks`] (where calls may come from: networks, digest credentials), [`usage`] (metering per month and day, limits),
//! [`timeline`] (a call's replies and tool calls in time, numbers only), [`latency_days`]
//! (voice to voice per day), [`artifacts`] (kept
//! transcripts and recordings), [`recipient`] (sealing to a tenant's key) and [`oplog`]
//! (operational events).
//! Phone numbers are stored masked plus an HMAC; audio and transcripts are never stored here in
//! clear.
//!
//! ```no_run
//! # async fn f() -> Result<(), parley_store::StoreError> {
//! use parley_store::{Store, Target};
//! let store = Store::open(&Target::SqliteDir("parley-data".into())).await?;
//! store.platform().create_tenant("acme", "Acme Inc", 0).await?;
//! let calls = store.tenant("acme")?.list_calls(&Default::default()).await?;
//! # Ok(()) }
//! ```
//!
//! Test with `cargo test -p parley-store`; the suite in `tests/` runs every behaviour on SQLite
//! and on the PostgreSQL server at `PARLEY_TEST_POSTGRES` (default
//! `postgres://root@127.0.0.1:5432/test`), each test in its own database.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod agent_versions;
pub mod api_keys;
pub mod artifacts;
pub mod audit;
pub mod calls;
pub mod crypto;
pub mod directory;
pub mod integrations;
pub mod label;
pub mod latency_days;
mod logins;
pub mod migrations;
pub mod operators;
pub mod oplog;
pub mod outbound;
pub mod outbox;
pub mod policy;
pub mod privacy;
pub mod recipient;
pub mod retention;
pub mod rotation;
pub mod subjects;
pub mod tenants;
pub mod timeline;
pub mod trunks;
pub mod usage;
pub mod users;

use std::path::PathBuf;
use std::sync::Arc;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Connection, Executor, Transaction};

pub use api_keys::{ApiKey, IssuedKey, Role};
pub use calls::{CallFilter, CallPage, CallRecord};
pub use tenants::Tenant;

/// Storage errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database URL names no supported backend.
    #[error("unsupported database URL (use sqlite://PATH or postgres://...)")]
    UnsupportedUrl,
    /// A tenant id is not 1 to 63 of `a-z 0-9 -`, starting with a letter or digit.
    #[error("invalid tenant id {0:?}")]
    InvalidTenantId(String),
    /// An argument the operation cannot take.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The object does not exist (or belongs to another tenant).
    #[error("not found")]
    NotFound,
    /// The object already exists.
    #[error("already exists")]
    Conflict,
    /// Sealing or opening failed: wrong key, tampered data, or the key was shredded.
    #[error("crypto: {0}")]
    Crypto(&'static str),
    /// A stored value does not have the shape the code expects.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Too much work is waiting (password hashing): try again shortly.
    #[error("busy")]
    Busy,
    /// The data directory or database file could not be made private.
    #[error("data directory: {0}")]
    Io(#[from] std::io::Error),
}

/// Makes the data directory 0700 and the database 0600 (created empty when missing, so it is
/// never readable by others, even for a moment); SQLite gives its `-wal` and `-shm` files the
/// database's mode, and those already there are tightened too.
fn private_files(dir: &std::path::Path) -> Result<(), std::io::Error> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        // Created 0600 when missing. An existing database is never opened here: closing any
        // descriptor of it would drop every POSIX lock this process holds on it, the locks of
        // another open store's SQLite connections included ("How To Corrupt An SQLite
        // Database File", section 2.2).
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(dir.join("parley.db")) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
        for name in ["parley.db", "parley.db-wal", "parley.db-shm"] {
            match std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o600)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Where the data lives.
#[derive(Clone, Debug)]
pub enum Target {
    /// `parley.db` in this directory (created if needed).
    SqliteDir(PathBuf),
    /// A database URL: `sqlite://PATH` or `postgres://...` / `postgresql://...`.
    Url(String),
}

/// The database engine behind a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The store handle (cheap to clone).
#[derive(Clone)]
pub struct Store {
    /// Tenant work (on PostgreSQL, logged in as the tenant login role).
    pool: AnyPool,
    /// Operator work across tenants (on PostgreSQL, the platform login role; on SQLite, the
    /// same pool).
    platform_pool: AnyPool,
    backend: Backend,
    /// Serialises audit appends from this process (other nodes are caught by the primary key).
    audit_lock: Arc<tokio::sync::Mutex<()>>,
}

/// Who a transaction works for.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    /// One tenant's rows.
    Tenant(&'a str),
    /// Operator work across tenants.
    Platform,
}

impl Store {
    /// Opens the database, creating it where that is possible, and runs the migrations.
    pub async fn open(target: &Target) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let url = match target {
            Target::SqliteDir(dir) => {
                private_files(dir)?;
                format!("sqlite://{}?mode=rwc", dir.join("parley.db").display())
            }
            Target::Url(u) => u.clone(),
        };
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let opts: AnyConnectOptions = url.parse()?;
        // Migrations run as the connecting (owner) role; on PostgreSQL the pools then log in
        // as the tenant and platform roles (see `logins`).
        let mut owner = sqlx::AnyConnection::connect_with(&opts).await?;
        let store = match backend {
            Backend::Sqlite => {
                owner.execute("PRAGMA journal_mode = WAL").await?;
                migrations::migrator(Backend::Sqlite).run(&mut owner).await?;
                owner.close().await?;
                let pool = AnyPoolOptions::new()
                    .max_connections(4)
                    .after_connect(|conn, _| Box::pin(async move { conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000").await.map(|_| ()) }))
                    .connect_with(opts)
                    .await?;
                Store { platform_pool: pool.clone(), pool, backend, audit_lock: Default::default() }
            }
            Backend::Postgres => {
                migrations::migrator(Backend::Postgres).run(&mut owner).await?;
                let logins = logins::read(&mut owner, &opts).await?;
                owner.close().await?;
                let pool = AnyPoolOptions::new().max_connections(16).connect_with(logins.tenant).await?;
                let platform_pool = AnyPoolOptions::new().max_connections(8).connect_with(logins.platform).await?;
                Store { pool, platform_pool, backend, audit_lock: Default::default() }
            }
        };
        Ok(store)
    }

    /// The engine in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A handle for one tenant's data.
    pub fn tenant(&self, tenant_id: &str) -> Result<TenantScope, StoreError> {
        tenants::check_id(tenant_id)?;
        Ok(TenantScope { store: self.clone(), tenant_id: tenant_id.to_string() })
    }

    /// A handle for operator work across tenants.
    pub fn platform(&self) -> PlatformScope {
        PlatformScope { store: self.clone() }
    }

    /// Begins a transaction that works for `scope` (on PostgreSQL, sets the RLS context). On
    /// SQLite it takes the write lock up front (`BEGIN IMMEDIATE`), so a read-then-write
    /// transaction waits its turn instead of failing with a stale snapshot.
    pub async fn begin(&self, scope: Scope<'_>) -> Result<Transaction<'static, Any>, StoreError> {
        let pool = match scope {
            Scope::Tenant(_) => &self.pool,
            Scope::Platform => &self.platform_pool,
        };
        let mut tx = match self.backend {
            Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => pool.begin().await?,
        };
        if let (Backend::Postgres, Scope::Tenant(t)) = (self.backend, scope) {
            sqlx::query("SELECT set_config('parley.tenant_id', $1, true)").bind(t).execute(&mut *tx).await?;
        }
        Ok(tx)
    }

    /// The tenant-work pool, for checks that must run raw SQL (tests, `parley admin`).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes the pool.
    /// Closes the pool, and returns once every connection is closed.
    ///
    /// sqlx's `Pool::close` can return with a connection still open (launchbadge/sqlx#3217): a
    /// connection released just before is handed back by a spawned task, which can put it in
    /// the idle queue after `close` drained that queue. Closing again drains it. On SQLite an
    /// open straggler keeps the WAL and its index alive behind the caller's back.
    pub async fn close(&self) {
        for pool in [&self.pool, &self.platform_pool] {
            pool.close().await;
            for _ in 0..1000 {
                if pool.size() == 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                pool.close().await;
            }
            if pool.size() > 0 {
                tracing::warn!(open = pool.size(), "store connections still open after closing");
            }
        }
    }
}

/// One tenant's data. Every method binds the tenant id; on PostgreSQL RLS enforces it too.
#[derive(Clone)]
pub struct TenantScope {
    store: Store,
    tenant_id: String,
}

impl TenantScope {
    /// The tenant.
    pub fn id(&self) -> &str {
        &self.tenant_id
    }

    /// The store behind this scope.
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        self.store.begin(Scope::Tenant(&self.tenant_id)).await
    }
}

/// Operator work across tenants.
#[derive(Clone)]
pub struct PlatformScope {
    store: Store,
}

impl PlatformScope {
    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        self.store.begin(Scope::Platform).await
    }
}

/// Maps a unique-constraint failure to [`StoreError::Conflict`].
pub(crate) fn conflict_or(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Db(e),
    }
}
