//! Operators: the people who run an installation (create tenants, set their limits and
//! outbound policy) and sign in to the console's operator pages. They belong to no tenant;
//! their accounts and sessions are readable by platform work only (on PostgreSQL the tenant
//! role has no rights on these tables at all). Passwords are argon2id like users'; a session
//! token is `ops_<id>_<secret>`, of which only the secret's SHA-256 is stored.

use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;

use crate::api_keys::{digest_eq, new_token, split_token};
use crate::users::{check_email, check_password, hash_password, hashing, password_matches, Issued, SESSION_TTL_MS};
use crate::{conflict_or, PlatformScope, StoreError};

/// An operator account.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Operator {
    /// Id.
    pub id: String,
    /// Sign-in email (lowercase).
    pub email: String,
    /// Creation time, unix ms.
    pub created_ms: i64,
    /// When it was disabled, if it was.
    pub disabled_ms: Option<i64>,
}

/// A signed-in operator's session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorSession {
    /// Session id.
    pub id: String,
    /// The operator.
    pub operator_id: String,
    /// Expiry, unix ms.
    pub expires_ms: i64,
}

fn operator_of(r: &sqlx::any::AnyRow) -> Result<Operator, StoreError> {
    Ok(Operator { id: r.try_get("id")?, email: r.try_get("email")?, created_ms: r.try_get("created_ms")?, disabled_ms: r.try_get("disabled_ms")? })
}

impl PlatformScope {
    /// Creates an operator (`Conflict` if the email has one, `Invalid` for a bad email or a
    /// short password).
    pub async fn create_operator(&self, email: &str, password: &SecretString, now_ms: i64) -> Result<Operator, StoreError> {
        let email = check_email(email)?;
        check_password(password.expose_secret())?;
        let pw = password.clone();
        let phc = hashing(move || hash_password(pw.expose_secret())).await??;
        let op = Operator { id: hex::encode(rand::random::<[u8; 8]>()), email, created_ms: now_ms, disabled_ms: None };
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO operators (id, email, password_hash, created_ms) VALUES ($1, $2, $3, $4)")
            .bind(&op.id)
            .bind(&op.email)
            .bind(phc)
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(conflict_or)?;
        tx.commit().await?;
        Ok(op)
    }

    /// The operators, by email.
    pub async fn list_operators(&self) -> Result<Vec<Operator>, StoreError> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query("SELECT id, email, created_ms, disabled_ms FROM operators ORDER BY email").fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.iter().map(operator_of).collect()
    }

    /// Disables an operator and ends their sessions.
    pub async fn disable_operator(&self, email: &str, now_ms: i64) -> Result<(), StoreError> {
        let email = check_email(email)?;
        let mut tx = self.begin().await?;
        let n = sqlx::query("UPDATE operators SET disabled_ms = $1 WHERE email = $2 AND disabled_ms IS NULL").bind(now_ms).bind(&email).execute(&mut *tx).await?.rows_affected();
        sqlx::query("UPDATE operator_sessions SET revoked_ms = $1 WHERE revoked_ms IS NULL AND operator_id IN (SELECT id FROM operators WHERE email = $2)").bind(now_ms).bind(&email).execute(&mut *tx).await?;
        tx.commit().await?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Signs an operator in: a session, or `None` for a wrong email or password or a disabled
    /// operator (alike, and in about the same time).
    pub async fn operator_sign_in(&self, email: &str, password: &SecretString, now_ms: i64) -> Result<Option<Issued<OperatorSession>>, StoreError> {
        let Ok(email) = check_email(email) else { return Ok(None) };
        let mut tx = self.begin().await?;
        let row = sqlx::query("SELECT id, email, created_ms, disabled_ms, password_hash FROM operators WHERE email = $1").bind(&email).fetch_optional(&mut *tx).await?;
        tx.commit().await?;
        let (op, phc) = match &row {
            Some(r) => (Some(operator_of(r)?), Some(r.try_get::<String, _>("password_hash")?)),
            None => (None, None),
        };
        let matches = password_matches(phc, password).await?;
        let Some(op) = op.filter(|o| matches && o.disabled_ms.is_none()) else { return Ok(None) };
        let (token, id, digest) = new_token("ops");
        let session = OperatorSession { id, operator_id: op.id, expires_ms: now_ms + SESSION_TTL_MS };
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO operator_sessions (id, operator_id, secret_hash, created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(&session.id)
            .bind(&session.operator_id)
            .bind(digest)
            .bind(now_ms)
            .bind(session.expires_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(Issued { item: session, token: SecretString::from(token) }))
    }

    /// The live session a token opens (not expired, not signed out, its operator enabled).
    pub async fn authenticate_operator_session(&self, token: &SecretString, now_ms: i64) -> Result<Option<OperatorSession>, StoreError> {
        let Some((id, given)) = split_token("ops", token.expose_secret()) else { return Ok(None) };
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "SELECT s.operator_id, s.secret_hash, s.expires_ms, s.revoked_ms, o.disabled_ms \
             FROM operator_sessions s JOIN operators o ON o.id = s.operator_id WHERE s.id = $1",
        )
        .bind(&id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        let Some(r) = row else { return Ok(None) };
        let stored: String = r.try_get("secret_hash")?;
        let expires_ms: i64 = r.try_get("expires_ms")?;
        let live = r.try_get::<Option<i64>, _>("revoked_ms")?.is_none() && r.try_get::<Option<i64>, _>("disabled_ms")?.is_none() && now_ms < expires_ms;
        if !digest_eq(&stored, &given) || !live {
            return Ok(None);
        }
        Ok(Some(OperatorSession { id, operator_id: r.try_get("operator_id")?, expires_ms }))
    }

    /// Ends an operator's session.
    pub async fn operator_sign_out(&self, session_id: &str, now_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE operator_sessions SET revoked_ms = $1 WHERE id = $2 AND revoked_ms IS NULL").bind(now_ms).bind(session_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
}
