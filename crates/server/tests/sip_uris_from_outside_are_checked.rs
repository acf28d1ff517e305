//! Every SIP URI that comes from the API or a flag is parsed when it is written, refused with a
//! clear 400 (or a refusal to start) when it is not exactly a `sip:`, `sips:` or `tel:` URI,
//! and stored canonical, so nothing an agent editor types can add header lines or parameters
//! to the requests Parley sends (the `Refer-To` header-injection regression).

use crate::common;


use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_targets_and_gateway_domains_are_uris_or_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (_server, api, op) = common::operated(tmp.path(), &[]);
    api.tenant(&op, "t").await;
    let agent = |target: &str| json!({"business": "T", "greeting": "Hello.", "hours": "always", "transfer_to": target});

    for bad in [
        "sip:desk@pbx.example.com\r\nX-Injected: yes",
        "sip:desk@pbx.example.com>\r\nX-Injected: yes",
        "sip:desk@pbx.example.com>;purpose=evil",
        "sip:desk@pbx.example.com;evil=\"quoted\"",
        "sip:desk@pbx.example.com?Subject=hi",
        "<sip:desk@pbx.example.com>",
        "http://pbx.example.com",
        "desk@pbx.example.com",
        "tel:5550100",
    ] {
        let (s, v) = api.call(Method::PUT, "/v1/tenants/t/agents/front", Some(&op), Some(agent(bad))).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad:?} was accepted: {v}");
        assert!(v.to_string().contains("transfer_to"), "the error names the field: {v}");
    }
    let (s, v) = api.call(Method::GET, "/v1/tenants/t/agents/front", Some(&op), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing was stored: {v}");

    let (s, v) = api.call(Method::PUT, "/v1/tenants/t/agents/front", Some(&op), Some(agent("SIP:Desk@PBX.Example.com:5070;Transport=TCP"))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["definition"]["transfer_to"], "sip:Desk@pbx.example.com:5070;transport=tcp", "stored canonical: {v}");
    let (s, v) = api.call(Method::PUT, "/v1/tenants/t/agents/front", Some(&op), Some(agent("tel:+1-555-010-0100"))).await;
    assert_eq!((s, v["definition"]["transfer_to"].as_str()), (StatusCode::OK, Some("tel:+15550100100")), "{v}");

    for domain in ["pbx..example.com", "-pbx.example.com", "_sip.example.com", "1.2.3"] {
        let gw = json!({"name": "gw", "proxy": "127.0.0.1:5080", "domain": domain, "caller_id": "+15550100"});
        let (s, v) = api.call(Method::POST, "/v1/tenants/t/gateways", Some(&op), Some(gw)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "domain {domain:?} was accepted: {v}");
    }
}

#[test]
fn a_demo_transfer_target_with_header_lines_stops_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["serve", "--sip-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(tmp.path().join("data"))
        .args(["--demo-transfer-to", "sip:desk@127.0.0.1>\r\nX-Injected: yes"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--demo-transfer-to must be a sip:, sips: or tel: URI"), "{err}");
    assert!(!tmp.path().join("data").exists(), "refused before anything was written");
}
