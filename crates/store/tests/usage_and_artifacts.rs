//! Usage metering and limits, kept transcripts and recordings (sealed, to the tenant's own key
//! when it has one), their retention and deletion, and operational events, on both backends.

mod common;

use common::TestDb;
use parley_store::artifacts::Recipient;
use parley_store::crypto::MasterKey;
use parley_store::usage::Limits;
use parley_store::StoreError;

const DAY: i64 = 24 * 3600 * 1000;
const NOV_2026: i64 = 1_793_491_200_000; // 2026-11-01T00:00:00Z

async fn metering_adds_up_per_month_and_tenant(db: &TestDb) {
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    p.create_tenant("b", "B", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    let b = db.store.tenant("b").unwrap();
    a.meter(NOV_2026, &[("call_seconds", "sip", 90), ("asr_seconds", "embedded", 30), ("tts_characters", "embedded", 0)]).await.unwrap();
    a.meter(NOV_2026 + DAY, &[("call_seconds", "sip", 30), ("llm_turns", "embedded", 2)]).await.unwrap();
    a.meter(NOV_2026 - 1, &[("call_seconds", "sip", 600)]).await.unwrap();
    b.meter(NOV_2026, &[("call_seconds", "sip", 5)]).await.unwrap();
    assert!(matches!(a.meter(NOV_2026, &[("gold", "x", 1)]).await, Err(StoreError::Invalid(_))));
    let nov = a.usage("2026-11").await.unwrap();
    let got: Vec<(&str, &str, i64)> = nov.iter().map(|u| (u.metric.as_str(), u.provider.as_str(), u.quantity)).collect();
    assert_eq!(got, vec![("asr_seconds", "embedded", 30), ("call_seconds", "sip", 120), ("llm_turns", "embedded", 2)], "zero amounts are not rows");
    assert_eq!(a.usage("2026-10").await.unwrap()[0].quantity, 600);
    assert_eq!(a.call_seconds_in_month(NOV_2026 + 5 * DAY).await.unwrap(), 120);
    assert!(a.usage("2026-13").await.is_err());
    // The same counters per day, within the month asked for.
    let days = a.usage_by_day("2026-11").await.unwrap();
    let got: Vec<(&str, Vec<(&str, i64)>)> = days.iter().map(|d| (d.day.as_str(), d.items.iter().map(|i| (i.metric.as_str(), i.quantity)).collect())).collect();
    assert_eq!(got, vec![("2026-11-01", vec![("asr_seconds", 30), ("call_seconds", 90)]), ("2026-11-02", vec![("call_seconds", 30), ("llm_turns", 2)])]);
    assert_eq!(a.usage_by_day("2026-10").await.unwrap().iter().map(|d| d.day.as_str()).collect::<Vec<_>>(), ["2026-10-31"]);
    assert!(b.usage_by_day("2026-11").await.unwrap().iter().all(|d| d.items.iter().all(|i| i.quantity == 5)), "b's own counters only");

    assert_eq!(a.limits().await.unwrap(), Limits::default());
    a.set_limits(&Limits { max_concurrent_calls: 2, max_minutes_per_month: 100 }, 1).await.unwrap();
    assert!(a.set_limits(&Limits { max_concurrent_calls: -1, max_minutes_per_month: 0 }, 1).await.is_err());
    let all = p.limits_and_minutes(NOV_2026).await.unwrap();
    assert_eq!(all, vec![("a".into(), Limits { max_concurrent_calls: 2, max_minutes_per_month: 100 }, 120), ("b".into(), Limits::default(), 5)]);
}

async fn kept_items_are_sealed_expire_and_go_with_the_caller(db: &TestDb) {
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    p.create_tenant("b", "B", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    let b = db.store.tenant("b").unwrap();
    let master = MasterKey::generate();
    let (secret, public) = parley_store::recipient::generate_key_pair();
    a.keep_artifact(&master, "c1", "transcript", "h1", Recipient::Platform, b"caller: canary phrase", 7, 0).await.unwrap();
    let rec = a.keep_artifact(&master, "c1", "recording", "h1", Recipient::TenantKey(&public), b"RIFF-audio", 30, 0).await.unwrap();
    assert!(rec.recipient.starts_with("tenant-key:"));
    a.keep_artifact(&master, "c2", "transcript", "h2", Recipient::Platform, b"other caller", 7, 0).await.unwrap();
    assert!(a.keep_artifact(&master, "c1", "notes", "h1", Recipient::Platform, b"x", 7, 0).await.is_err());
    assert!(a.keep_artifact(&master, "c3", "transcript", "h1", Recipient::Platform, b"x", 0, 0).await.is_err());

    assert_eq!(a.list_artifacts("c1").await.unwrap().len(), 2);
    assert!(b.list_artifacts("c1").await.unwrap().is_empty());
    assert!(matches!(b.open_artifact(&master, "c1", "transcript").await, Err(StoreError::NotFound)));
    let (_, text) = a.open_artifact(&master, "c1", "transcript").await.unwrap();
    assert_eq!(text.as_slice(), b"caller: canary phrase");
    // The platform holds only a blob the tenant's own key opens.
    let (_, blob) = a.open_artifact(&master, "c1", "recording").await.unwrap();
    assert!(!blob.windows(5).any(|w| w == b"audio"));
    let opened = parley_store::recipient::open_sealed_to(&secret, "parley/kept/v1|a|c1/recording", &blob).unwrap();
    assert_eq!(opened.as_slice(), b"RIFF-audio");

    // Retention: the transcripts go after 7 days, the recording after 30.
    let report = p.run_retention(8 * DAY).await.unwrap();
    assert_eq!(report.artifacts_deleted, vec![("a".to_string(), 2)]);
    assert_eq!(a.list_artifacts("c1").await.unwrap().len(), 1);
    assert_eq!(p.run_retention(8 * DAY).await.unwrap().artifacts_deleted, vec![], "idempotent");

    // A data-subject deletion takes the caller's kept items with it.
    let erased = a.erase_caller("h1").await.unwrap();
    assert_eq!(erased.artifacts, 1);
    assert!(a.list_artifacts("c1").await.unwrap().is_empty());
}

async fn operational_events_are_allow_listed_and_expire(db: &TestDb) {
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    p.create_tenant("b", "B", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    let mut policy = a.policy().await.unwrap();
    policy.operational_log_days = 2;
    a.set_policy(&policy, 365, 0).await.unwrap();
    db.store.op_event("a", "sip.limit", 486, "concurrent_calls", 0).await.unwrap();
    db.store.op_event("a", "sip.rejected", 404, "unknown_agent", 3 * DAY).await.unwrap();
    db.store.op_event("b", "sip.rejected", 404, "unknown_agent", 0).await.unwrap();
    db.store.op_event(parley_store::oplog::PLATFORM, "auth.failed", 401, "bad_token", 0).await.unwrap();
    assert!(db.store.op_event("a", "sip.rejected", 404, "from +15550102000", 0).await.is_err());
    assert_eq!(a.op_events(0, 10).await.unwrap().len(), 2);
    let report = p.run_retention(3 * DAY).await.unwrap();
    assert_eq!(report.op_events_deleted, vec![("a".to_string(), 1)], "a keeps 2 days, b 30, the platform 30");
    assert_eq!(a.op_events(0, 10).await.unwrap()[0].detail, "unknown_agent");
    let report = p.run_retention(31 * DAY).await.unwrap();
    assert_eq!(report.op_events_deleted, vec![("a".to_string(), 1), ("b".to_string(), 1), ("_platform".to_string(), 1)]);
}

async fn subject_correction_moves_records(db: &TestDb) {
    let p = db.store.platform();
    p.create_tenant("a", "A", 0).await.unwrap();
    let a = db.store.tenant("a").unwrap();
    a.record_call(&parley_store::CallRecord { caller_hash: "wrong".into(), ..common::call("a", "c1", 0) }).await.unwrap();
    a.record_call(&parley_store::CallRecord { caller_hash: "other".into(), ..common::call("a", "c2", 0) }).await.unwrap();
    assert_eq!(a.correct_caller("wrong", "+4420******50", "right").await.unwrap(), 1);
    let moved = a.calls_of_caller("right").await.unwrap();
    assert_eq!((moved.len(), moved[0].caller_masked.as_str()), (1, "+4420******50"));
    assert!(a.calls_of_caller("wrong").await.unwrap().is_empty());
    assert_eq!(a.calls_of_caller("other").await.unwrap().len(), 1);
}

on_both!(
    metering_adds_up_per_month_and_tenant,
    kept_items_are_sealed_expire_and_go_with_the_caller,
    operational_events_are_allow_listed_and_expire,
    subject_correction_moves_records
);
