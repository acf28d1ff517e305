//! Dashboard users, their sessions, and invitations.
//!
//! A user belongs to one tenant, has one [`Role`] (never `platform-admin`) and a password stored
//! only as an argon2id hash (PHC string, per-user salt). A user joins by accepting an invitation
//! (`inv_<id>_<secret>`, valid 7 days, single use) and signs in with tenant, email and password
//! for a session (`ses_<id>_<secret>`, valid 12 hours, revocable). Invitation and session tokens
//! are shown once and stored as the SHA-256 of their secret, like API keys.

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::Argon2;
use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;

use crate::api_keys::{digest_eq, new_token, split_token};
use crate::{PlatformScope, Role, StoreError, TenantScope};

/// How long an invitation may be accepted.
pub const INVITATION_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
/// How long a session lasts.
pub const SESSION_TTL_MS: i64 = 12 * 3600 * 1000;
/// Shortest password accepted (NIST SP 800-63B asks for at least 8; we ask for 12).
pub const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_BYTES: usize = 1024;

/// A dashboard user (without the password hash).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// User id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Sign-in email (lower case).
    pub email: String,
    /// Role within the tenant.
    pub role: Role,
    /// Creation time, unix ms.
    pub created_ms: i64,
    /// When the user was disabled, if they were.
    pub disabled_ms: Option<i64>,
}

/// An invitation (without its secret).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Invitation {
    /// Invitation id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Who is invited.
    pub email: String,
    /// The role they will have.
    pub role: Role,
    /// Creation time, unix ms.
    pub created_ms: i64,
    /// After this it cannot be accepted.
    pub expires_ms: i64,
    /// When it was accepted.
    pub accepted_ms: Option<i64>,
}

/// A signed-in session (without its secret).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Session {
    /// Session id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// The user.
    pub user_id: String,
    /// The user's role.
    pub role: Role,
    /// Expiry, unix ms.
    pub expires_ms: i64,
}

/// An invitation or session just issued, with its token (shown once).
pub struct Issued<T> {
    /// The stored part.
    pub item: T,
    /// The bearer token.
    pub token: SecretString,
}

/// Normalises and checks an email address (one `@`, both sides non-empty, no spaces, ≤ 254).
pub fn check_email(email: &str) -> Result<String, StoreError> {
    let e = email.trim().to_ascii_lowercase();
    let ok = e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(e.split_once('@'), Some((l, d)) if !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.') && !d.contains('@'));
    if ok {
        Ok(e)
    } else {
        Err(StoreError::Invalid("email must look like name@example.com".into()))
    }
}

pub(crate) fn check_password(p: &str) -> Result<(), StoreError> {
    if p.chars().count() < MIN_PASSWORD_CHARS || p.len() > MAX_PASSWORD_BYTES {
        return Err(StoreError::Invalid(format!("password must be {MIN_PASSWORD_CHARS} characters to {MAX_PASSWORD_BYTES} bytes")));
    }
    Ok(())
}

/// The argon2id PHC string of a password (fresh random salt).
pub fn hash_password(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|_| StoreError::Crypto("salt"))?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|_| StoreError::Crypto("argon2"))
}

/// Whether `password` matches a PHC string. The argon2 working memory (19 MiB with the
/// default parameters) is this thread's, reused from one check to the next: a fresh
/// allocation per check is kept by the allocator and adds up under a flood of sign-ins.
pub fn verify_password(phc: &str, password: &str) -> bool {
    thread_local! {
        static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let check = || -> Option<bool> {
        let h = PasswordHash::new(phc).ok()?;
        let params = argon2::Params::try_from(&h).ok()?;
        let algorithm = argon2::Algorithm::try_from(h.algorithm).ok()?;
        let version = argon2::Version::try_from(h.version.unwrap_or(0x13)).ok()?;
        let mut salt = [0u8; 64];
        let salt = h.salt?.decode_b64(&mut salt).ok()?;
        let expected = h.hash?;
        let mut out = vec![0u8; expected.len()];
        BLOCKS.with(|blocks| {
            let mut blocks = blocks.borrow_mut();
            blocks.resize(params.block_count(), argon2::Block::default());
            Argon2::new(algorithm, version, params).hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut blocks[..]).ok()
        })?;
        Some(expected.as_bytes().len() == out.len() && expected.as_bytes().iter().zip(&out).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0)
    };
    check().unwrap_or(false)
}

fn parse_role(r: &sqlx::any::AnyRow) -> Result<Role, StoreError> {
    let role: String = r.try_get("role")?;
    Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))
}

fn user_of(r: &sqlx::any::AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        email: r.try_get("email")?,
        role: parse_role(r)?,
        created_ms: r.try_get("created_ms")?,
        disabled_ms: r.try_get("disabled_ms")?,
    })
}

fn invitation_of(r: &sqlx::any::AnyRow) -> Result<Invitation, StoreError> {
    Ok(Invitation {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        email: r.try_get("email")?,
        role: parse_role(r)?,
        created_ms: r.try_get("created_ms")?,
        expires_ms: r.try_get("expires_ms")?,
        accepted_ms: r.try_get("accepted_ms")?,
    })
}

const USER_COLUMNS: &str = "id, tenant_id, email, role, created_ms, disabled_ms";
const INVITATION_COLUMNS: &str = "id, tenant_id, email, role, created_ms, expires_ms, accepted_ms";

impl TenantScope {
    /// Invites `email` with `role` (a tenant role). The token is shown once.
    pub async fn invite(&self, email: &str, role: Role, now_ms: i64) -> Result<Issued<Invitation>, StoreError> {
        if role == Role::PlatformAdmin {
            return Err(StoreError::Invalid("platform-admin is not a tenant role".into()));
        }
        let email = check_email(email)?;
        let (token, id, digest) = new_token("inv");
        let mut tx = self.begin().await?;
        let taken = sqlx::query("SELECT id FROM users WHERE tenant_id = $1 AND email = $2")
            .bind(self.id())
            .bind(&email)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict);
        }
        let item = Invitation { id, tenant_id: self.id().into(), email, role, created_ms: now_ms, expires_ms: now_ms + INVITATION_TTL_MS, accepted_ms: None };
        sqlx::query("INSERT INTO invitations (id, tenant_id, email, role, secret_hash, created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&item.id)
            .bind(self.id())
            .bind(&item.email)
            .bind(role.as_str())
            .bind(digest)
            .bind(now_ms)
            .bind(item.expires_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Issued { item, token: SecretString::from(token) })
    }

    /// This tenant's invitations, newest first.
    pub async fn list_invitations(&self) -> Result<Vec<Invitation>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(&format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE tenant_id = $1 ORDER BY created_ms DESC, id"))
            .bind(self.id())
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter().map(invitation_of).collect()
    }

    /// This tenant's users, by email.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY email"))
            .bind(self.id())
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter().map(user_of).collect()
    }

    /// One user.
    pub async fn get_user(&self, user_id: &str) -> Result<User, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2"))
            .bind(self.id())
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        user_of(&row.ok_or(StoreError::NotFound)?)
    }

    /// Disables a user and ends their sessions.
    pub async fn disable_user(&self, user_id: &str, now_ms: i64) -> Result<User, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2"))
            .bind(self.id())
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut user = user_of(&row)?;
        if user.disabled_ms.is_none() {
            sqlx::query("UPDATE users SET disabled_ms = $1 WHERE tenant_id = $2 AND id = $3").bind(now_ms).bind(self.id()).bind(user_id).execute(&mut *tx).await?;
            user.disabled_ms = Some(now_ms);
        }
        sqlx::query("UPDATE sessions SET revoked_ms = $1 WHERE tenant_id = $2 AND user_id = $3 AND revoked_ms IS NULL")
            .bind(now_ms)
            .bind(self.id())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Signs a user in: a session if the email and password match an enabled user. A wrong
    /// email costs the same argon2 work as a wrong password.
    pub async fn sign_in(&self, email: &str, password: &SecretString, now_ms: i64) -> Result<Option<Issued<Session>>, StoreError> {
        let Ok(email) = check_email(email) else { return Ok(None) };
        // Read, then hash with no transaction open (on SQLite one holds the write lock).
        let mut tx = self.begin().await?;
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE tenant_id = $1 AND email = $2"))
            .bind(self.id())
            .bind(&email)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        let (user, phc) = match &row {
            Some(r) => (Some(user_of(r)?), Some(r.try_get::<String, _>("password_hash")?)),
            None => (None, None),
        };
        let matches = password_matches(phc, password).await?;
        let Some(user) = user.filter(|u| matches && u.disabled_ms.is_none()) else { return Ok(None) };
        let mut tx = self.begin().await?;
        let (token, id, digest) = new_token("ses");
        let session = Session { id, tenant_id: self.id().into(), user_id: user.id.clone(), role: user.role, expires_ms: now_ms + SESSION_TTL_MS };
        sqlx::query("INSERT INTO sessions (id, tenant_id, user_id, secret_hash, created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&session.id)
            .bind(self.id())
            .bind(&user.id)
            .bind(digest)
            .bind(now_ms)
            .bind(session.expires_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(Issued { item: session, token: SecretString::from(token) }))
    }

    /// Ends a session.
    pub async fn sign_out(&self, session_id: &str, now_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE sessions SET revoked_ms = $1 WHERE tenant_id = $2 AND id = $3 AND revoked_ms IS NULL")
            .bind(now_ms)
            .bind(self.id())
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Runs password hashing (argon2id: about 19 MB and a core's worth of work each) on a pool of
/// its own, one thread per core, so at most that many run at once and a flood of sign-ins can
/// neither take the memory nor starve the rest of the server. Fixed threads also keep the
/// allocator's per-thread arenas, which hold on to freed hashing memory, to one per core. At
/// most 256 wait; past that the answer is [`StoreError::Busy`].
pub(crate) async fn hashing<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, StoreError> {
    type Job = Box<dyn FnOnce() + Send>;
    static POOL: std::sync::OnceLock<std::sync::mpsc::SyncSender<Job>> = std::sync::OnceLock::new();
    let pool = POOL.get_or_init(|| {
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(256);
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        for _ in 0..std::thread::available_parallelism().map_or(2, usize::from) {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new().name("parley-argon2".into()).spawn(move || loop {
                let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                match job {
                    Ok(job) => job(),
                    Err(_) => return,
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "starting a password hashing thread failed");
            }
        }
        jobs
    });
    let (done, result) = tokio::sync::oneshot::channel();
    pool.try_send(Box::new(move || {
        let _ = done.send(work());
    }))
    .map_err(|_| StoreError::Busy)?;
    result.await.map_err(|_| StoreError::Crypto("argon2"))
}

/// Whether `password` matches an account's stored hash `phc`, on the hashing pool. An unknown
/// account (`None`) is checked against a dummy hash, so it costs the same argon2 work and time
/// as a wrong password, and never matches.
pub(crate) async fn password_matches(phc: Option<String>, password: &SecretString) -> Result<bool, StoreError> {
    let known = phc.is_some();
    let phc = phc.unwrap_or_else(|| DUMMY_HASH.to_string());
    let pw = password.clone();
    Ok(hashing(move || verify_password(&phc, pw.expose_secret())).await? && known)
}

/// An argon2id hash of a random password, verified against when the email is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Vp2ddfBHmrVgRhcw3mQvTU7nmEnxE7Ggd6QDtTj4VW8";

impl PlatformScope {
    /// Accepts an invitation: creates the user with `password`. Fails with `NotFound` for an
    /// unknown, expired or used invitation.
    pub async fn accept_invitation(&self, token: &SecretString, password: &SecretString, now_ms: i64) -> Result<User, StoreError> {
        check_password(password.expose_secret())?;
        let (id, given) = split_token("inv", token.expose_secret()).ok_or(StoreError::NotFound)?;
        // The token first: nothing is hashed for an unknown, used or expired invitation.
        let inv = self.open_invitation(&id, &given, now_ms).await?;
        let pw = password.clone();
        let phc = hashing(move || hash_password(pw.expose_secret())).await??;
        let mut tx = self.begin().await?;
        let user = User { id: hex::encode(rand::random::<[u8; 8]>()), tenant_id: inv.tenant_id.clone(), email: inv.email, role: inv.role, created_ms: now_ms, disabled_ms: None };
        sqlx::query("INSERT INTO users (id, tenant_id, email, password_hash, role, created_ms) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&user.id)
            .bind(&user.tenant_id)
            .bind(&user.email)
            .bind(phc)
            .bind(user.role.as_str())
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(crate::conflict_or)?;
        // Accepted once: a second acceptance racing this one finds it taken.
        let taken = sqlx::query("UPDATE invitations SET accepted_ms = $1 WHERE id = $2 AND accepted_ms IS NULL").bind(now_ms).bind(&id).execute(&mut *tx).await?;
        if taken.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(user)
    }

    /// The invitation `id` if `given` is its secret and it is neither used nor expired.
    async fn open_invitation(&self, id: &str, given: &str, now_ms: i64) -> Result<Invitation, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(&format!("SELECT {INVITATION_COLUMNS}, secret_hash FROM invitations WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        let inv = invitation_of(&row)?;
        let stored: String = row.try_get("secret_hash")?;
        if !digest_eq(&stored, given) || inv.accepted_ms.is_some() || now_ms >= inv.expires_ms {
            return Err(StoreError::NotFound);
        }
        Ok(inv)
    }

    /// The live session a bearer token names, if any.
    pub async fn authenticate_session(&self, token: &SecretString, now_ms: i64) -> Result<Option<Session>, StoreError> {
        let Some((id, given)) = split_token("ses", token.expose_secret()) else { return Ok(None) };
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "SELECT s.id, s.tenant_id, s.user_id, s.secret_hash, s.expires_ms, s.revoked_ms, u.role, u.disabled_ms \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1",
        )
        .bind(&id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        let Some(r) = row else { return Ok(None) };
        let stored: String = r.try_get("secret_hash")?;
        let live = r.try_get::<Option<i64>, _>("revoked_ms")?.is_none()
            && r.try_get::<Option<i64>, _>("disabled_ms")?.is_none()
            && now_ms < r.try_get::<i64, _>("expires_ms")?;
        if !digest_eq(&stored, &given) || !live {
            return Ok(None);
        }
        Ok(Some(Session { id, tenant_id: r.try_get("tenant_id")?, user_id: r.try_get("user_id")?, role: parse_role(&r)?, expires_ms: r.try_get("expires_ms")? }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_a_fresh_salt() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "salted");
        assert!(verify_password(&a, "correct horse battery"));
        assert!(!verify_password(&a, "correct horse batterY"));
        assert!(!verify_password("not a phc string", "x"));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn emails_and_passwords_are_checked() {
        assert_eq!(check_email(" Ann@Example.COM ").unwrap(), "ann@example.com");
        for bad in ["", "ann", "@example.com", "ann@", "ann@example", "a n@example.com", "ann@@example.com", "ann@.com"] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
        assert!(check_password("short").is_err());
        assert!(check_password("twelve chars").is_ok());
    }
}
