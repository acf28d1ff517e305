//! Agent versions, on both backends: each change is a numbered version with its author, an
//! unchanged save adds none, a rollback is a new version naming the one it copied, only the
//! newest are kept, versions stay within their tenant and go with their agent.

mod common;

use common::TestDb;
use parley_store::agent_versions::{AgentChange, VERSIONS_KEPT};
use parley_store::StoreError;

const BY_ANN: AgentChange<'static> = AgentChange { author: "user:ann", restored_from: None };

async fn versions_grow_and_roll_back(db: &TestDb) {
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    p.create_tenant("b", "B", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    let b = db.store.tenant("b").unwrap();
    assert!(matches!(a.list_agent_versions("front").await, Err(StoreError::NotFound)));

    assert_eq!(a.put_agent("front", "name: front\ngreeting: one\n", &BY_ANN, 10).await.unwrap().version, 1);
    let second = a.put_agent("front", "name: front\ngreeting: two\n", &AgentChange { author: "key:k1", restored_from: None }, 20).await.unwrap();
    assert_eq!((second.version, second.updated_ms), (2, 20));
    let same = a.put_agent("front", "name: front\ngreeting: two\n", &BY_ANN, 30).await.unwrap();
    assert_eq!((same.version, same.updated_ms), (2, 20), "an unchanged document is no new version");

    let first = a.get_agent_version("front", 1).await.unwrap();
    assert_eq!((first.spec.as_str(), first.author.as_str(), first.created_ms), ("name: front\ngreeting: one\n", "user:ann", 10));
    let rolled = a.put_agent("front", &first.spec, &AgentChange { author: "user:bob", restored_from: Some(1) }, 40).await.unwrap();
    assert_eq!((rolled.version, rolled.spec.as_str()), (3, "name: front\ngreeting: one\n"));
    assert_eq!(a.get_agent("front").await.unwrap().version, 3);
    let list = a.list_agent_versions("front").await.unwrap();
    assert_eq!(list.iter().map(|v| (v.version, v.author.as_str(), v.restored_from)).collect::<Vec<_>>(), [(3, "user:bob", Some(1)), (2, "key:k1", None), (1, "user:ann", None)]);

    // Another tenant sees none of it, even with the same agent name.
    assert!(matches!(b.list_agent_versions("front").await, Err(StoreError::NotFound)));
    assert!(matches!(b.get_agent_version("front", 1).await, Err(StoreError::NotFound)));
    b.put_agent("front", "name: front\n", &BY_ANN, 50).await.unwrap();
    assert_eq!(b.list_agent_versions("front").await.unwrap().len(), 1);
    assert_eq!(a.list_agent_versions("front").await.unwrap().len(), 3);

    // Only the newest are kept.
    for i in 0..VERSIONS_KEPT {
        a.put_agent("front", &format!("name: front\ngreeting: n{i}\n"), &BY_ANN, 100 + i).await.unwrap();
    }
    let list = a.list_agent_versions("front").await.unwrap();
    assert_eq!(list.len() as i64, VERSIONS_KEPT);
    assert_eq!((list[0].version, list.last().unwrap().version), (3 + VERSIONS_KEPT, 4));
    assert!(matches!(a.get_agent_version("front", 3).await, Err(StoreError::NotFound)));

    // Deleting the agent deletes its versions; a new agent of that name starts again at 1.
    a.delete_agent("front").await.unwrap();
    assert!(matches!(a.list_agent_versions("front").await, Err(StoreError::NotFound)));
    assert_eq!(a.put_agent("front", "name: front\n", &BY_ANN, 1_000).await.unwrap().version, 1);
}

/// Runs the migrations from before agent versions on a new database, with a tenant and an agent
/// in it, as an installation upgrading would have.
async fn before_versions(url: &str, mut migrator: sqlx::migrate::Migrator) {
    use sqlx::Connection;
    migrator.migrations = std::borrow::Cow::Owned(migrator.migrations.iter().filter(|m| m.version < 13).cloned().collect());
    let mut owner = sqlx::AnyConnection::connect(url).await.unwrap();
    migrator.run(&mut owner).await.unwrap();
    let mut tx = owner.begin().await.unwrap();
    if url.starts_with("postgres") {
        sqlx::query("SELECT set_config('parley.platform', 'on', true)").execute(&mut *tx).await.unwrap();
    }
    sqlx::query("INSERT INTO tenants (id, name, created_ms) VALUES ('a', 'A', 1)").execute(&mut *tx).await.unwrap();
    sqlx::query("INSERT INTO agents (tenant_id, name, spec, created_ms, updated_ms) VALUES ('a', 'front', 'name: front\n', 1, 5)").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    owner.close().await.unwrap();
}

async fn agents_from_before_versions_are_version_1(store: &parley_store::Store) {
    let a = store.tenant("a").unwrap();
    assert_eq!(a.get_agent("front").await.unwrap().version, 1);
    let v = a.list_agent_versions("front").await.unwrap();
    assert_eq!(v.iter().map(|v| (v.version, v.spec.as_str(), v.author.as_str(), v.created_ms)).collect::<Vec<_>>(), [(1, "name: front\n", "-", 5)]);
    assert_eq!(a.put_agent("front", "name: front\ngreeting: hi\n", &BY_ANN, 9).await.unwrap().version, 2);
}

#[tokio::test]
async fn an_upgraded_sqlite_database_keeps_its_agents_as_version_1() {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    before_versions(&format!("sqlite://{}?mode=rwc", dir.path().join("parley.db").display()), parley_store::migrations::migrator(parley_store::Backend::Sqlite)).await;
    let store = parley_store::Store::open(&parley_store::Target::SqliteDir(dir.path().to_path_buf())).await.unwrap();
    agents_from_before_versions_are_version_1(&store).await;
}

#[tokio::test]
async fn an_upgraded_postgres_database_keeps_its_agents_as_version_1() {
    let db = common::empty_postgres().await;
    before_versions(&db.url, parley_store::migrations::migrator(parley_store::Backend::Postgres)).await;
    let store = parley_store::Store::open(&parley_store::Target::Url(db.url.clone())).await.unwrap();
    agents_from_before_versions_are_version_1(&store).await;
}

on_both!(versions_grow_and_roll_back);
