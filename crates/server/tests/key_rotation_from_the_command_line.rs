//! Key rotation as an operator runs it: `parley admin rotate-tenant-keys` re-wraps every sealed
//! item under a new tenant key version and retires the old ones; `parley admin
//! rotate-master-key` re-wraps tenant keys under a new master key and puts it in place (and
//! finishes an interrupted rotation); with `PARLEY_MASTER_KEY` the new key comes from a file.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use parley_store::artifacts::Recipient;
use parley_store::crypto::MasterKey;
use parley_store::{Store, Target};
use secrecy::{ExposeSecret, SecretString};

fn parley(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_parley"));
    cmd.args(args).arg("--data-dir").arg(data_dir).env_remove("PARLEY_MASTER_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn key_in(path: &Path) -> MasterKey {
    MasterKey::from_hex(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn operators_rotate_tenant_and_master_keys_without_losing_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    common::create_key(d, &["--role", "platform-admin"]);
    let master = MasterKey::generate();
    std::fs::write(d.join("master-key"), master.to_hex().as_str()).unwrap();
    let store = Store::open(&Target::SqliteDir(d.to_path_buf())).await.unwrap();
    store.platform().create_tenant("shop", "Shop", 0).await.unwrap();
    let shop = store.tenant("shop").unwrap();
    let hook = shop
        .add_integration(&master, "webhook", "hook", &serde_json::json!({"url": "http://127.0.0.1:9/x"}), &SecretString::from("whsec-shop".to_string()), 1)
        .await
        .unwrap();
    let item = shop.enqueue(&master, "c1", "integration:x", b"the document", 1).await.unwrap();
    shop.keep_artifact(&master, "c1", "transcript", "h", Recipient::Platform, b"kept words", 7, 1).await.unwrap();
    store.close().await;

    let report: serde_json::Value = serde_json::from_str(&ok(parley(d, &["admin", "rotate-tenant-keys"], &[]))).unwrap();
    assert_eq!(report, serde_json::json!([{"tenant_id": "shop", "key_version": 2, "rewrapped": 3, "retired": 1}]));

    assert!(ok(parley(d, &["admin", "rotate-master-key"], &[])).contains("re-wrapped 1 tenant keys"));
    assert!(!d.join("master-key.new").exists());
    let rotated = key_in(&d.join("master-key"));
    assert_ne!(rotated.id(), master.id());

    // An interrupted rotation: the server refuses to start on a guess, a rerun finishes it.
    let staged = MasterKey::generate();
    std::fs::write(d.join("master-key.new"), staged.to_hex().as_str()).unwrap();
    let refused = parley(d, &["admin", "rotate-tenant-keys"], &[]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("rotation was interrupted"), "{}", String::from_utf8_lossy(&refused.stderr));
    ok(parley(d, &["admin", "rotate-master-key"], &[]));
    assert_eq!(key_in(&d.join("master-key")).id(), staged.id());

    // With the key in the environment, the new one comes from a file and no key file is written.
    let env_key = staged.to_hex();
    let refused = parley(d, &["admin", "rotate-master-key"], &[("PARLEY_MASTER_KEY", env_key.as_str())]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--new-key-file"));
    let next = MasterKey::generate();
    let next_file = d.join("next-key");
    std::fs::write(&next_file, next.to_hex().as_str()).unwrap();
    let args = ["admin", "rotate-master-key", "--new-key-file", next_file.to_str().unwrap()];
    ok(parley(d, &args, &[("PARLEY_MASTER_KEY", env_key.as_str())]));
    assert_eq!(key_in(&d.join("master-key")).id(), staged.id(), "the key file is not the key in use here");
    let next_hex = next.to_hex();
    let again = ok(parley(d, &["admin", "rotate-tenant-keys", "--tenant", "shop"], &[("PARLEY_MASTER_KEY", next_hex.as_str())]));
    assert!(again.contains("\"key_version\": 3"), "{again}");

    // Everything opens under the newest keys only; the audit log records each rotation.
    let store = Store::open(&Target::SqliteDir(d.to_path_buf())).await.unwrap();
    let shop = store.tenant("shop").unwrap();
    assert_eq!(shop.integration_secret(&next, &hook.id).await.unwrap().expose_secret(), "whsec-shop");
    assert_eq!(shop.open_item(&next, &item).await.unwrap().as_slice(), b"the document");
    assert_eq!(shop.open_artifact(&next, "c1", "transcript").await.unwrap().1.as_slice(), b"kept words");
    assert!(shop.open_item(&master, &item).await.is_err(), "the first master key opens nothing now");
    store.close().await;
    assert!(ok(parley(d, &["audit", "verify"], &[])).contains("verified"));
}
