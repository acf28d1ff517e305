//! Who the PostgreSQL pools log in as.
//!
//! Migrations run as the owner the database URL names. Tenant work then logs in as
//! `parley_tenant_<id>`, a member of `parley_app`, and operator work as
//! `parley_platform_<id>`, a member of `parley_platform`: two login roles that migration 0011
//! created with random passwords, kept in `parley_logins`, which only the owner reads. Neither
//! owns a table, so row-level security binds both; only the platform role sees across tenants
//! (`parley_may_see` asks for membership of `parley_platform`), and nothing a session sets
//! changes which role it is. A tenant session cannot `SET ROLE` to the owner or to the
//! platform either: it is a member of neither.

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, Row};

use crate::StoreError;

/// The connect options of the two pools.
pub(crate) struct Logins {
    /// Tenant work (`parley_app`).
    pub tenant: AnyConnectOptions,
    /// Operator work across tenants (`parley_platform`).
    pub platform: AnyConnectOptions,
}

/// Reads the login roles with the owner's connection and derives their connect options from
/// the owner's (same host, database and TLS settings).
pub(crate) async fn read(owner: &mut AnyConnection, owner_opts: &AnyConnectOptions) -> Result<Logins, StoreError> {
    let rows = sqlx::query("SELECT scope, role_name, password FROM parley_logins").fetch_all(&mut *owner).await?;
    let (mut tenant, mut platform) = (None, None);
    for r in rows {
        let scope: String = r.try_get("scope")?;
        let opts = as_role(owner_opts, &r.try_get::<String, _>("role_name")?, &r.try_get::<String, _>("password")?)?;
        match scope.as_str() {
            "tenant" => tenant = Some(opts),
            "platform" => platform = Some(opts),
            other => return Err(StoreError::Corrupt(format!("parley_logins names scope {other:?}"))),
        }
    }
    match (tenant, platform) {
        (Some(tenant), Some(platform)) => Ok(Logins { tenant, platform }),
        _ => Err(StoreError::Corrupt("parley_logins lacks a login role".into())),
    }
}

/// The owner's options with another user and password. The URL's own user and password go;
/// `user` and `password` parameters are set instead, which also works for socket URLs that
/// name no host.
fn as_role(owner: &AnyConnectOptions, role: &str, password: &str) -> Result<AnyConnectOptions, StoreError> {
    let mut url = owner.database_url.clone();
    let kept: Vec<(String, String)> = url.query_pairs().filter(|(k, _)| k != "user" && k != "password").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    // Fails only for URLs without a host, which carry no user there anyway.
    let _ = url.set_password(None);
    let _ = url.set_username("");
    url.query_pairs_mut().clear().extend_pairs(kept).append_pair("user", role).append_pair("password", password);
    let mut opts: AnyConnectOptions = url.as_str().parse()?;
    opts.log_settings = owner.log_settings.clone();
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_is_replaced_and_the_rest_kept() {
        sqlx::any::install_default_drivers();
        let owner: AnyConnectOptions = "postgres://admin:secret@db.example:5433/parley?sslmode=require&user=admin".parse().unwrap();
        let opts = as_role(&owner, "parley_tenant_0a1b", "pw-1").unwrap();
        let url = opts.database_url.as_str();
        assert!(!url.contains("admin") && !url.contains("secret"), "{url}");
        assert!(url.starts_with("postgres://db.example:5433/parley?"), "{url}");
        assert!(url.contains("sslmode=require") && url.contains("user=parley_tenant_0a1b") && url.contains("password=pw-1"), "{url}");

        let socket: AnyConnectOptions = "postgres:///parley?host=/run/postgresql".parse().unwrap();
        let opts = as_role(&socket, "parley_platform_0a1b", "pw-2").unwrap();
        assert!(opts.database_url.as_str().contains("host=%2Frun%2Fpostgresql"), "{}", opts.database_url);
    }
}
