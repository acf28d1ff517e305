//! The SQLite data directory is the owner's alone: the directory 0700, the database and its
//! WAL files 0600, also when an older installation left them readable.

#[cfg(unix)]
#[tokio::test]
async fn the_data_dir_and_database_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let store = parley_store::Store::open(&parley_store::Target::SqliteDir(dir.clone())).await.unwrap();
    store.platform().op_events(0, 1).await.unwrap();
    assert_eq!(mode(&dir), 0o700);
    for name in ["parley.db", "parley.db-wal", "parley.db-shm"] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
    store.close().await;

    // Opened again after someone loosened them.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(dir.join("parley.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = parley_store::Store::open(&parley_store::Target::SqliteDir(dir.clone())).await.unwrap();
    assert_eq!((mode(&dir), mode(&dir.join("parley.db"))), (0o700, 0o600));
    store.close().await;
}
