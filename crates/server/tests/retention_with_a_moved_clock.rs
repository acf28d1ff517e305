//! `parley retention run --now T` applies each tenant's policy as of T: run twice it changes
//! nothing the second time, and a clock a year on removes what the default policy keeps.

use crate::common;

use parley_store::policy::{DataPolicy, DEFAULT_MAX_DAYS};
use common::sample_call as call;
use parley_store::{Store, Target};

fn run(data_dir: &std::path::Path, now: &str) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["retention", "run", "--now", now, "--data-dir"])
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}


#[tokio::test]
async fn retention_follows_the_clock_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&Target::SqliteDir(dir.path().to_path_buf())).await.unwrap();
    store.platform().create_tenant("shop", "Shop", 0).await.unwrap();
    let shop = store.tenant("shop").unwrap();
    shop.set_policy(&DataPolicy { call_metadata_days: 7, ..Default::default() }, DEFAULT_MAX_DAYS, 0).await.unwrap();
    // 2027-01-01T00:00:00Z and ten days before.
    let jan1 = 1_798_761_600_000i64;
    shop.record_call(&call("shop", "recent", jan1)).await.unwrap();
    shop.record_call(&call("shop", "old", jan1 - 10 * 86_400_000)).await.unwrap();
    store.close().await;

    let r = run(dir.path(), "2027-01-02T00:00:00Z");
    assert_eq!(r["now_ms"], jan1 + 86_400_000);
    assert_eq!(r["calls_deleted"], serde_json::json!([["shop", 1]]));
    assert_eq!(run(dir.path(), "2027-01-02T00:00:00Z")["calls_deleted"], serde_json::json!([]), "idempotent");
    assert_eq!(run(dir.path(), &(jan1 + 8 * 86_400_000).to_string())["calls_deleted"], serde_json::json!([["shop", 1]]));

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_parley")).args(["retention", "run", "--now", "next tuesday", "--data-dir"]).arg(dir.path()).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("neither unix ms nor RFC 3339"));
}
