//! PostgreSQL enforces tenancy itself: every table with a tenant column has row-level security
//! enabled and forced, the roles the application logs in as own no table and are not the
//! owner, a query that forgets its tenant (or names another one) sees and changes nothing, and
//! no setting a tenant session can change lets it see across tenants.

mod common;

use sqlx::{Connection, Row};

#[tokio::test]
async fn every_tenant_table_is_guarded_and_the_app_role_owns_nothing() {
    let db = common::postgres().await;
    let mut owner = sqlx::AnyConnection::connect(&db.owner_url).await.unwrap();
    let tables = sqlx::query(
        "SELECT c.relname::text AS name, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced, pg_get_userbyid(c.relowner)::text AS owner, \
         EXISTS (SELECT 1 FROM information_schema.columns i WHERE i.table_schema = 'public' AND i.table_name = c.relname \
                 AND i.column_name IN ('tenant_id')) OR c.relname = 'tenants' AS tenant_table \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname",
    )
    .fetch_all(&mut owner)
    .await
    .unwrap();
    let mut guarded = Vec::new();
    for t in &tables {
        let name: String = t.get("name");
        let owner_role: String = t.get("owner");
        assert_ne!(owner_role, "parley_app", "the app role owns {name}");
        if t.get::<bool, _>("tenant_table") {
            assert!(t.get::<bool, _>("rls"), "{name}: row-level security not enabled");
            assert!(t.get::<bool, _>("forced"), "{name}: row-level security not forced");
            guarded.push(name);
        }
    }
    for expected in ["tenants", "calls", "api_keys", "tenant_keys", "audit_log", "audit_heads", "outbox", "data_policies", "restrictions", "agent_versions", "usage_daily"] {
        assert!(guarded.iter().any(|g| g == expected), "{expected} not checked; saw {guarded:?}");
    }
    let role = sqlx::query("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'parley_app'").fetch_one(&mut owner).await.unwrap();
    assert!(!role.get::<bool, _>("rolsuper") && !role.get::<bool, _>("rolbypassrls"));
}

#[tokio::test]
async fn a_query_without_the_right_tenant_sees_and_changes_nothing() {
    let db = common::postgres().await;
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    p.create_tenant("b", "B", 0).await.unwrap();
    db.store.tenant("a").unwrap().record_call(&common::call("a", "ca", 1)).await.unwrap();

    // The tenant pool logs in as a role of parley_app; a statement outside any scope sees no
    // row at all.
    let pool = db.store.pool();
    let user: String = sqlx::query("SELECT current_user::text AS u").fetch_one(pool).await.unwrap().get("u");
    assert!(user.starts_with("parley_tenant_"), "{user}");
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM calls").fetch_one(pool).await.unwrap().get("n");
    assert_eq!(n, 0, "unscoped read saw rows");
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM tenants").fetch_one(pool).await.unwrap().get("n");
    assert_eq!(n, 0);

    // Scoped to b, a raw query that forgets its WHERE clause still sees only b's rows.
    let mut tx = db.store.begin(parley_store::Scope::Tenant("b")).await.unwrap();
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM calls").fetch_one(&mut *tx).await.unwrap().get("n");
    assert_eq!(n, 0);
    let changed = sqlx::query("UPDATE calls SET outcome = 'hijacked'").execute(&mut *tx).await.unwrap().rows_affected();
    assert_eq!(changed, 0);
    let deleted = sqlx::query("DELETE FROM calls").execute(&mut *tx).await.unwrap().rows_affected();
    assert_eq!(deleted, 0);
    // Writing a row for another tenant is refused by the policy's WITH CHECK.
    let err = sqlx::query("INSERT INTO api_keys (id, tenant_id, role, name, secret_sha256, created_ms) VALUES ('k', 'a', 'owner', 'x', 'x', 0)")
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    drop(tx);

    // The audit log is append-only for the app, even in platform scope.
    db.store.tenant("a").unwrap().audit(&parley_store::audit::Event { actor: "t", action: "x", object_id: "y", at_ms: 1 }).await.unwrap();
    let mut tx = db.store.begin(parley_store::Scope::Platform).await.unwrap();
    let err = sqlx::query("DELETE FROM audit_log").execute(&mut *tx).await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    drop(tx);

    let a = db.store.tenant("a").unwrap().get_call("ca").await.unwrap();
    assert_eq!(a.outcome, "resolved");
}


#[tokio::test]
async fn a_tenant_session_cannot_make_itself_the_platform() {
    let db = common::postgres().await;
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    p.create_tenant("b", "B", 0).await.unwrap();
    db.store.tenant("a").unwrap().record_call(&common::call("a", "ca", 1)).await.unwrap();
    db.store.tenant("b").unwrap().record_call(&common::call("b", "cb", 1)).await.unwrap();

    // Neither login is the owner, a superuser, or able to create roles or bypass RLS; only the
    // platform login is a member of parley_platform.
    let mut owner = sqlx::AnyConnection::connect(&db.owner_url).await.unwrap();
    let logins = sqlx::query(
        "SELECT l.scope, r.rolsuper, r.rolcreaterole, r.rolbypassrls, pg_has_role(l.role_name, 'parley_platform', 'MEMBER') AS platform \
         FROM parley_logins l JOIN pg_roles r ON r.rolname = l.role_name ORDER BY l.scope",
    )
    .fetch_all(&mut owner)
    .await
    .unwrap();
    let seen: Vec<(String, bool)> = logins.iter().map(|r| (r.get::<String, _>("scope"), r.get::<bool, _>("platform"))).collect();
    assert_eq!(seen, [("platform".to_string(), true), ("tenant".to_string(), false)]);
    for r in &logins {
        assert!(!r.get::<bool, _>("rolsuper") && !r.get::<bool, _>("rolcreaterole") && !r.get::<bool, _>("rolbypassrls"));
    }
    let owner_name: String = sqlx::query("SELECT current_user::text AS u").fetch_one(&mut owner).await.unwrap().get("u");
    owner.close().await.unwrap();

    // A tenant transaction that turns the old platform flag on, or names no tenant, still
    // sees only its own rows.
    let mut tx = db.store.begin(parley_store::Scope::Tenant("a")).await.unwrap();
    sqlx::query("SELECT set_config('parley.platform', 'on', true)").execute(&mut *tx).await.unwrap();
    let ids: Vec<String> = sqlx::query("SELECT id FROM calls ORDER BY id").fetch_all(&mut *tx).await.unwrap().iter().map(|r| r.get("id")).collect();
    assert_eq!(ids, ["ca"]);
    drop(tx);

    // It cannot become the platform, the owner or anyone else, nor read the login passwords.
    let statements = ["SET ROLE parley_platform".to_string(), format!("SET ROLE {owner_name}"), format!("SET SESSION AUTHORIZATION {owner_name}"), "SELECT * FROM parley_logins".to_string()];
    for statement in &statements {
        let mut tx = db.store.begin(parley_store::Scope::Tenant("a")).await.unwrap();
        let err = sqlx::query(statement).execute(&mut *tx).await.unwrap_err().to_string();
        assert!(err.contains("permission denied"), "{statement}: {err}");
    }

    // The platform pool sees both tenants.
    let mut tx = db.store.begin(parley_store::Scope::Platform).await.unwrap();
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM calls").fetch_one(&mut *tx).await.unwrap().get("n");
    assert_eq!(n, 2);
}
