//! `parley admin ...` and `parley audit ...`: operator commands on the store, and the keys the
//! server keeps in its data directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use parley_store::audit::{Anchor, Coverage, Event, HeadSigner, SignedHead};
use parley_store::crypto::MasterKey;
use parley_store::{Role, Store, Target};
use secrecy::ExposeSecret;

use crate::api::now_ms;

/// Where the store is: a database URL, else SQLite in the data directory.
#[derive(clap::Args)]
pub struct StoreArgs {
    /// Data directory (SQLite database and keys).
    #[arg(long, env = "PARLEY_DATA_DIR", default_value = "parley-data")]
    data_dir: PathBuf,
    /// Database URL (`postgres://...`).
    #[arg(long, env = "PARLEY_DATABASE_URL")]
    database_url: Option<String>,
}

/// `parley admin`.
#[derive(clap::Subcommand)]
pub enum AdminCommand {
    /// Prints a new API key (the first way in on a fresh install: `--role platform-admin`).
    CreateKey {
        /// `platform-admin`, or a tenant role (`owner`, `admin`, `agent-editor`, `viewer`) with `--tenant`.
        #[arg(long)]
        role: String,
        /// Tenant of a tenant role.
        #[arg(long)]
        tenant: Option<String>,
        /// Label.
        #[arg(long, default_value = "created with parley admin")]
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Creates an operator, who signs in to the console's operator pages (tenants, their limits
    /// and outbound policy) with this email and the password read from standard input (its
    /// first line, 12 characters or more).
    CreateOperator {
        /// Sign-in email.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Disables an operator and ends their sessions.
    DisableOperator {
        /// Sign-in email.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Starts a new tenant key version, re-wraps every sealed item under it and retires the old
    /// versions (all tenants, or one with `--tenant`); prints what it did (JSON).
    RotateTenantKeys {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Re-wraps every tenant key under a new master key. Without `--new-key-file` a new key is
    /// generated into `<data dir>/master-key.new` and replaces `master-key` once the store holds
    /// no key wrapped under the old one; if interrupted, run it again to finish.
    RotateMasterKey {
        /// The new key (64 hex digits); needed when the key comes from `PARLEY_MASTER_KEY`.
        #[arg(long)]
        new_key_file: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `parley audit`.
#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Checks every chain and signed head; exits 1 and names each problem if any.
    Verify {
        /// The signing key to trust (hex); default: the one in the data directory.
        #[arg(long)]
        public_key: Option<String>,
        /// Heads a tenant exported earlier (JSON from GET .../audit/heads), to check against.
        #[arg(long)]
        heads: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// The store location.
pub fn target(database_url: Option<&str>, data_dir: &Path) -> Target {
    match database_url {
        Some(url) => Target::Url(url.to_string()),
        None => Target::SqliteDir(data_dir.to_path_buf()),
    }
}

async fn open(args: &StoreArgs) -> anyhow::Result<Store> {
    if args.database_url.is_none() {
        std::fs::create_dir_all(&args.data_dir).with_context(|| format!("creating {}", args.data_dir.display()))?;
    }
    Store::open(&target(args.database_url.as_deref(), &args.data_dir)).await.context("opening the store")
}

/// The audit head signer: `PARLEY_AUDIT_SIGNING_KEY` (64 hex digits), else the data
/// directory's `audit-signing-key` file (created 0600 on first use).
pub fn audit_signer(data_dir: &Path) -> anyhow::Result<Arc<HeadSigner>> {
    let seed = match std::env::var("PARLEY_AUDIT_SIGNING_KEY") {
        Ok(hex_seed) => hex::decode(hex_seed.trim()).context("PARLEY_AUDIT_SIGNING_KEY is not hex")?,
        Err(_) => {
            std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
            crate::secret_file(&data_dir.join("audit-signing-key"))?
        }
    };
    let seed: [u8; 32] = seed.as_slice().try_into().map_err(|_| anyhow::anyhow!("the audit signing key must be 32 bytes"))?;
    Ok(Arc::new(HeadSigner::from_seed(seed)))
}

/// The master key: `PARLEY_MASTER_KEY` (64 hex digits), else the data directory's
/// `master-key` file (created 0600 on first use). Losing it makes every sealed item unreadable.
pub fn master_key(data_dir: &Path) -> anyhow::Result<Arc<MasterKey>> {
    let key = match std::env::var("PARLEY_MASTER_KEY") {
        Ok(text) => MasterKey::from_hex(&text).context("PARLEY_MASTER_KEY")?,
        Err(_) => {
            if data_dir.join(NEW_MASTER_KEY).exists() {
                bail!("{} exists: a master key rotation was interrupted; run `parley admin rotate-master-key` again to finish it", data_dir.join(NEW_MASTER_KEY).display());
            }
            key_file(&data_dir.join("master-key"))?
        }
    };
    Ok(Arc::new(key))
}

/// Where `rotate-master-key` keeps the new key until the store no longer needs the old one.
const NEW_MASTER_KEY: &str = "master-key.new";

/// A master key file (hex), created 0600 with a new key if missing.
fn key_file(path: &Path) -> anyhow::Result<MasterKey> {
    let bytes = zeroize::Zeroizing::new(crate::secret_file(path)?);
    let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| anyhow::anyhow!("{} must hold 32 bytes", path.display()))?;
    Ok(MasterKey::from_bytes(arr))
}

/// `parley admin rotate-master-key`: the old key as the server loads it, the new one from the
/// given file or `master-key.new`; re-wraps, then puts the new key in place.
async fn rotate_master_key(new_key_file: Option<PathBuf>, store: &StoreArgs) -> anyhow::Result<()> {
    let from_env = std::env::var_os("PARLEY_MASTER_KEY").is_some();
    let old = match from_env {
        true => MasterKey::from_hex(&std::env::var("PARLEY_MASTER_KEY")?).context("PARLEY_MASTER_KEY")?,
        false => key_file(&store.data_dir.join("master-key"))?,
    };
    let new = match (&new_key_file, from_env) {
        (Some(path), _) => {
            let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?);
            MasterKey::from_hex(&text).with_context(|| format!("{}", path.display()))?
        }
        (None, true) => bail!("PARLEY_MASTER_KEY is set: give the new key with --new-key-file (64 hex digits), then set PARLEY_MASTER_KEY to it"),
        (None, false) => key_file(&store.data_dir.join(NEW_MASTER_KEY))?,
    };
    if old.id() == new.id() {
        bail!("the new master key is the current one");
    }
    let staged = store.data_dir.join(NEW_MASTER_KEY);
    if !from_env && new_key_file.is_some() {
        // On disk before the store changes, so an interrupted rotation keeps the key it needs.
        crate::write_secret_file(&staged, new.to_hex().as_str())?;
    }
    let db = open(store).await?;
    let n = db.platform().rewrap_tenant_keys(&old, &new).await?;
    db.platform().audit(&Event { actor: "cli", action: "master_key.rotate", object_id: new.id(), at_ms: now_ms() }).await?;
    close_signed(db, &store.data_dir).await?;
    if !from_env {
        let key_path = store.data_dir.join("master-key");
        std::fs::rename(&staged, &key_path).with_context(|| format!("replacing {}", key_path.display()))?;
    }
    println!("re-wrapped {n} tenant keys under master key {}", new.id());
    if from_env {
        eprintln!("Set PARLEY_MASTER_KEY to the new key before the next start.");
    }
    Ok(())
}

/// Signs new chain heads every minute (and at once).
pub async fn sign_audit_heads(store: Store, signer: Arc<HeadSigner>, data_dir: PathBuf) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(e) = sign_and_anchor(&store, &signer, &data_dir).await {
            tracing::error!(error = %e, "signing audit heads failed");
        }
    }
}

/// The anchor of signed heads in a data directory (see [`parley_store::audit::Anchor`]).
fn anchor(data_dir: &Path) -> Anchor {
    Anchor::at(data_dir.join("audit-anchor.jsonl"))
}

/// Signs the heads of chains that grew and appends them to the data directory's anchor.
pub async fn sign_and_anchor(store: &Store, signer: &HeadSigner, data_dir: &Path) -> anyhow::Result<()> {
    let signed = store.sign_heads(signer, now_ms()).await?;
    if !signed.is_empty() {
        let total = store.audit_head_count().await?;
        anchor(data_dir).append(&signed, total).context("appending to the audit anchor")?;
    }
    Ok(())
}

/// Closes a store a command wrote audit entries to, signing and anchoring them first (no
/// server may run to do it).
async fn close_signed(db: Store, data_dir: &Path) -> anyhow::Result<()> {
    let signed = sign_and_anchor(&db, &*audit_signer(data_dir)?, data_dir).await;
    db.close().await;
    signed
}

/// Entries this much older than now must be covered by a signed head when verifying (heads
/// are signed every minute while a server runs, at its start and stop, and after each
/// command that writes the log).
const UNSIGNED_GRACE_MS: i64 = 5 * 60_000;

/// `parley retention`.
#[derive(clap::Subcommand)]
pub enum RetentionCommand {
    /// Deletes what each tenant's policy no longer allows; prints what it removed (JSON).
    Run {
        /// The clock to use: unix milliseconds or RFC 3339 (`2027-01-01T00:00:00Z`); default now.
        #[arg(long)]
        now: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Runs the retention job now, then every hour.
pub async fn retention_every_hour(store: Store) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match store.platform().run_retention(now_ms()).await {
            Ok(r) => {
                let calls: u64 = r.calls_deleted.iter().map(|(_, n)| n).sum();
                tracing::info!(calls_deleted = calls, outbox_shredded = r.outbox_shredded.len(), "retention run");
            }
            Err(e) => tracing::error!(error = %e, "retention run failed"),
        }
    }
}

fn parse_now(text: &str) -> anyhow::Result<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let t = humantime::parse_rfc3339_weak(text).with_context(|| format!("--now {text:?} is neither unix ms nor RFC 3339"))?;
    Ok(t.duration_since(std::time::UNIX_EPOCH).context("--now before 1970")?.as_millis() as i64)
}

/// Runs `parley retention`.
pub async fn retention(cmd: RetentionCommand) -> anyhow::Result<()> {
    match cmd {
        RetentionCommand::Run { now, store } => {
            let now = match now {
                Some(t) => parse_now(&t)?,
                None => now_ms(),
            };
            let db = open(&store).await?;
            let report = db.platform().run_retention(now).await?;
            close_signed(db, &store.data_dir).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
    }
}

/// Runs `parley admin`.
pub async fn admin(cmd: AdminCommand) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::CreateKey { role, tenant, name, store } => {
            let role = Role::parse(&role).with_context(|| format!("unknown role {role:?}"))?;
            let db = open(&store).await?;
            let issued = match (role, tenant) {
                (Role::PlatformAdmin, None) => db.platform().create_operator_key(&name, now_ms()).await?,
                (Role::PlatformAdmin, Some(_)) => bail!("platform-admin keys belong to no tenant: drop --tenant"),
                (_, None) => bail!("a tenant role needs --tenant"),
                (role, Some(t)) => {
                    let scope = db.tenant(&t)?;
                    scope.get().await.with_context(|| format!("no tenant {t:?}"))?;
                    scope.create_key(role, &name, now_ms()).await?
                }
            };
            let object = issued.key.id.clone();
            match &issued.key.tenant_id {
                Some(t) => db.tenant(t)?.audit(&Event { actor: "cli", action: "api_keys.create", object_id: &object, at_ms: now_ms() }).await?,
                None => db.platform().audit(&Event { actor: "cli", action: "api_keys.create", object_id: &object, at_ms: now_ms() }).await?,
            };
            println!("{}", issued.token.expose_secret());
            eprintln!("API key {} ({}) created; it is shown only this once.", issued.key.id, issued.key.role.as_str());
            close_signed(db, &store.data_dir).await?;
            Ok(())
        }
        AdminCommand::CreateOperator { email, store } => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password).context("reading the password from standard input")?;
            let password = secrecy::SecretString::from(password.trim_end_matches(['\r', '\n']).to_string());
            let db = open(&store).await?;
            let op = db.platform().create_operator(&email, &password, now_ms()).await.map_err(|e| match e {
                parley_store::StoreError::Conflict => anyhow::anyhow!("an operator with that email exists"),
                e => e.into(),
            })?;
            db.platform().audit(&Event { actor: "cli", action: "operators.create", object_id: &op.id, at_ms: now_ms() }).await?;
            eprintln!("operator {} ({}) created; sign in at /operator/sign-in", op.id, op.email);
            close_signed(db, &store.data_dir).await?;
            Ok(())
        }
        AdminCommand::DisableOperator { email, store } => {
            let db = open(&store).await?;
            db.platform().disable_operator(&email, now_ms()).await.map_err(|e| match e {
                parley_store::StoreError::NotFound => anyhow::anyhow!("no enabled operator with that email"),
                e => e.into(),
            })?;
            db.platform().audit(&Event { actor: "cli", action: "operators.disable", object_id: &email.trim().to_ascii_lowercase(), at_ms: now_ms() }).await?;
            eprintln!("operator {email} disabled; their sessions ended");
            close_signed(db, &store.data_dir).await?;
            Ok(())
        }
        AdminCommand::RotateTenantKeys { tenant, store } => {
            let master = master_key(&store.data_dir)?;
            let db = open(&store).await?;
            let tenants = match tenant {
                Some(t) => vec![t],
                None => db.platform().list_tenants().await?.into_iter().map(|t| t.id).collect(),
            };
            let mut done = Vec::new();
            for t in tenants {
                let scope = db.tenant(&t)?;
                scope.get().await.with_context(|| format!("no tenant {t:?}"))?;
                let rotation = scope.rotate_keys(&master, now_ms()).await.with_context(|| format!("rotating the keys of {t}"))?;
                scope.audit(&Event { actor: "cli", action: "tenant_key.rotate", object_id: &rotation.key_version.to_string(), at_ms: now_ms() }).await?;
                done.push(rotation);
            }
            close_signed(db, &store.data_dir).await?;
            println!("{}", serde_json::to_string_pretty(&done)?);
            Ok(())
        }
        AdminCommand::RotateMasterKey { new_key_file, store } => rotate_master_key(new_key_file, &store).await,
    }
}

/// Runs `parley audit`.
pub async fn audit(cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify { public_key, heads, store } => {
            let trusted = match public_key {
                Some(k) => k,
                None => audit_signer(&store.data_dir)?.public_key_hex(),
            };
            let external: Vec<SignedHead> = match heads {
                Some(path) => {
                    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                    let v: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
                    serde_json::from_value(v.get("heads").cloned().unwrap_or(v)).with_context(|| format!("{} holds no heads", path.display()))?
                }
                None => Vec::new(),
            };
            // Heads anchored outside the database: a rewrite that deleted heads no longer
            // matches them, and the database may not hold fewer heads than they counted.
            let (anchored, min_heads) = anchor(&store.data_dir).read().context("reading the audit anchor")?;
            let external: Vec<SignedHead> = external.into_iter().chain(anchored).collect();
            let coverage = Coverage { cutoff_ms: now_ms() - UNSIGNED_GRACE_MS, min_heads };
            let db = open(&store).await?;
            let report = db.verify_audit(Some(&trusted), &external, Some(coverage)).await?;
            db.close().await;
            for p in &report.problems {
                println!("PROBLEM {p}");
            }
            println!("{} chains, {} entries, {} signed heads: {}", report.chains, report.entries, report.heads, if report.ok() { "verified" } else { "NOT verified" });
            if !report.ok() {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}
