//! Closing a store closes every one of its connections before it returns. On SQLite a
//! connection left open keeps the WAL and its index in use: the next store opened in the same
//! process shares that stale index, and sees nothing another process writes afterwards.

/// How many descriptors this process holds on files under `dir`.
#[cfg(target_os = "linux")]
fn open_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().filter_map(|e| std::fs::read_link(e.ok()?.path()).ok()).filter(|p| p.starts_with(dir)).count()
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_store_holds_no_file_open() {
    use parley_store::{Store, Target};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let store = Store::open(&Target::SqliteDir(dir.clone())).await.unwrap();
    store.platform().ensure_tenant("demo", "Demo", 1).await.unwrap();
    store.close().await;
    // A connection used just before closing is handed back to the pool by a spawned task: the
    // race sqlx's own close loses now and then (launchbadge/sqlx#3217).
    for round in 0..60 {
        let store = Store::open(&Target::SqliteDir(dir.clone())).await.unwrap();
        store.platform().due(0, 10).await.unwrap();
        store.tenant("demo").unwrap().op_events(0, 10).await.unwrap();
        store.close().await;
        assert_eq!(open_under(&dir), 0, "round {round}: a connection outlived close()");
    }
}
