//! The web console over a real HTTP listener, as a browser meets it (cookies and forms by
//! hand): sign-in through the form with its double-submit token, the session cookie's flags,
//! pages that show what the user's role may read and nothing more, reflected input escaped,
//! the security headers, sign-out guarded against cross-site forms, and a console cookie
//! that opens nothing at `/v1`.

use crate::common;

use reqwest::header::{HeaderMap, CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;

struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn new(base: &str) -> Browser {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { http, base: base.to_string(), cookies: Vec::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep(&mut self, headers: &HeaderMap) {
        for v in headers.get_all(SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (pair, _) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !v.contains("Max-Age=0") {
                self.cookies.push((k.to_string(), val.to_string()));
            }
        }
    }

    async fn get(&mut self, path: &str) -> (StatusCode, HeaderMap, String) {
        let r = self.http.get(format!("{}{path}", self.base)).header("cookie", self.cookie_header()).send().await.unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        self.keep(&headers);
        (status, headers, r.text().await.unwrap())
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)], origin: Option<&str>) -> (StatusCode, HeaderMap, String) {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let mut req = self.http.post(format!("{}{path}", self.base)).header("cookie", self.cookie_header()).header("content-type", "application/x-www-form-urlencoded").body(body);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let r = req.send().await.unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        self.keep(&headers);
        (status, headers, r.text().await.unwrap())
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }
}

/// The actions in tenant `t`'s audit log.
async fn audited(api: &common::Api, op: &str) -> Vec<String> {
    let (_, entries) = api.call(Method::GET, "/v1/tenants/t/audit/entries?limit=1000", Some(op), None).await;
    entries["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str().map(str::to_string)).collect()
}

/// The value of the hidden field `name` in a page.
fn field(page: &str, name: &str) -> String {
    let at = page.find(&format!("name=\"{name}\" value=\"")).unwrap_or_else(|| panic!("no {name} in {page}")) + name.len() + 15;
    page[at..].split('"').next().unwrap().to_string()
}

async fn signed_in(base: &str, email: &str, password: &str) -> Browser {
    let mut b = Browser::new(base);
    let (_, _, page) = b.get("/sign-in").await;
    let token = field(&page, "form_token");
    let (status, headers, page) = b.post("/sign-in", &[("form_token", &token), ("tenant", "t"), ("email", email), ("password", password)], Some(base)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(headers[LOCATION], "/");
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_signs_in_and_shows_what_the_role_may_read() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, api, op) = common::operated(tmp.path(), &[]);
    api.tenant(&op, "t").await;
    // A call of today whose agent name is hostile, with a kept transcript (written by the call
    // path's store layer, as a call would).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let store = parley_store::Store::open(&parley_store::Target::SqliteDir(server.data_dir.clone())).await.unwrap();
    let master = parley_store::crypto::MasterKey::from_hex(&std::fs::read_to_string(server.data_dir.join("master-key")).unwrap()).unwrap();
    let scope = store.tenant("t").unwrap();
    let mut record = common::sample_call("t", "t-call-1", now);
    record.agent = "<script>alert('agent')</script>\u{202e}gnp.exe".into();
    record.latency = Some(parley_store::calls::CallLatency { replies: 4, end_of_turn_ms: 400, recognition_ms: 120, agent_ms: 5, synthesis_ms: 60, voice_to_voice_ms: 585, voice_to_voice_p90_ms: 900 });
    let turn = |at_ms, v2v| parley_store::timeline::TurnTiming { at_ms, end_of_turn_ms: 400, recognition_ms: 120, agent_ms: 5, synthesis_ms: v2v - 525, voice_to_voice_ms: v2v, answer_ms: None };
    let tool = parley_store::timeline::ToolStep { at_ms: 9_300, tool: "find_order".into(), ms: 140, outcome: "found".into() };
    record.timeline = parley_store::timeline::CallTimeline { turns: vec![turn(4_200, 585), turn(9_000, 612), turn(15_000, 590), turn(21_000, 900)], tools: vec![tool] };
    scope.record_call(&record).await.unwrap();
    scope.meter(now, &[("call_seconds", "sip", 125), ("asr_seconds", "embedded", 40)]).await.unwrap();
    let turns = serde_json::to_vec(&json!([{"speaker": "caller", "text": "<img src=x onerror=alert(1)> where is my order", "start_ms": 0, "end_ms": 1}])).unwrap();
    scope.keep_artifact(&master, "t-call-1", "transcript", "h", parley_store::artifacts::Recipient::Platform, &turns, 30, now).await.unwrap();
    store.close().await;
    for (email, role) in [("viewer@example.com", "viewer"), ("admin@example.com", "admin"), ("owner@example.com", "owner")] {
        api.user(&op, "t", email, role, "a long passphrase here").await;
    }

    // Not signed in: every page sends the browser to the form.
    let mut b = Browser::new(&api.base);
    let (s, h, _) = b.get("/").await;
    assert_eq!((s, h[LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/sign-in"));
    let (s, h, page) = b.get("/sign-in").await;
    assert_eq!(s, StatusCode::OK);
    let csp = h[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(page.contains("<form") && page.contains("/assets/console.css"));

    // A form posted without its token (a cross-site form, or an expired one) is refused.
    let token = field(&page, "form_token");
    let mut stranger = Browser::new(&api.base);
    let (s, _, _) = stranger.post("/sign-in", &[("form_token", &token), ("tenant", "t"), ("email", "viewer@example.com"), ("password", "a long passphrase here")], None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no double-submit cookie");
    let (s, _, page) = b.post("/sign-in", &[("form_token", &token), ("tenant", "t"), ("email", "viewer@example.com"), ("password", "wrong")], None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(page.contains("Wrong tenant, email or password."));

    // Signed in as a viewer: the session cookie is HttpOnly and SameSite=Strict.
    let token = field(&page, "form_token");
    let r = b.post("/sign-in", &[("form_token", &token), ("tenant", "t"), ("email", "viewer@example.com"), ("password", "a long passphrase here")], Some(&api.base)).await;
    assert_eq!(r.0, StatusCode::SEE_OTHER, "{}", r.2);
    let set = r.1.get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).find(|v| v.starts_with("parley_session=")).expect("a session cookie");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"), "{set}");
    let session = b.cookie("parley_session").unwrap();
    assert!(session.starts_with("ses_"));

    let (s, _, page) = b.get("/").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("Calls today") && page.contains("Calls per hour today"), "{page}");
    assert!(page.contains("Voice to voice, last 14 days") && page.contains(": median 585 ms, p90 585 ms, 1 calls"), "today's call on the latency chart: {page}");
    assert!(page.contains("Delivery today") && page.contains("Every document due today was delivered.") && page.contains("delivered: 1"), "{page}");
    assert!(!page.contains("Minutes this month") && !page.contains("operational events"), "usage and events are the admin's: {page}");
    assert!(!page.contains(&session), "the token never appears in a page");

    // Today's call, its hostile name escaped and isolated; the transcript is the admin's.
    let (_, _, calls) = b.get("/calls").await;
    assert!(calls.contains("href=\"/calls/t-call-1\"") && !calls.contains("<script>alert('agent')"), "{calls}");
    assert!(calls.contains("<bdi>&lt;script&gt;alert('agent')&lt;/script&gt;\u{202e}gnp.exe</bdi>"), "{calls}");
    // Dates filter the list (UTC days, both ends included); an impossible date is refused.
    let today = parley_store::usage::day_of(now);
    let (_, _, within) = b.get(&format!("/calls?from={today}&to={today}")).await;
    assert!(within.contains("href=\"/calls/t-call-1\""), "{within}");
    let (_, _, before) = b.get("/calls?to=2020-01-01").await;
    assert!(!before.contains("href=\"/calls/t-call-1\"") && before.contains("No calls."), "{before}");
    assert_eq!(b.get("/calls?from=2026-02-30").await.0, StatusCode::BAD_REQUEST);
    let (s, _, one) = b.get("/calls/t-call-1").await;
    assert_eq!(s, StatusCode::OK, "{one}");
    assert!(one.contains("585 ms") && one.contains("Recognition 120 ms") && one.contains("Only admins read kept transcripts."), "{one}");
    // The timeline: each reply and the tool call between the second and third, in order.
    let at = |needle: &str| one.find(needle).unwrap_or_else(|| panic!("no {needle} in {one}"));
    assert!(at("Reply 2") < at("Tool <code>find_order</code>: found") && at("Tool <code>find_order</code>") < at("Reply 3"), "{one}");
    assert!(one.contains("0:09.3") && one.contains("140 ms") && one.contains("aria-label=\"900 ms: end of turn 400 ms"), "{one}");
    let (_, v) = api.call(Method::GET, "/v1/tenants/t/calls/t-call-1", Some(&op), None).await;
    assert_eq!((v["timeline"]["turns"].as_array().map(Vec::len), v["timeline"]["tools"][0]["outcome"].as_str()), (Some(4), Some("found")), "{v}");
    let (_, list) = api.call(Method::GET, "/v1/tenants/t/calls", Some(&op), None).await;
    assert!(list["calls"][0].get("timeline").is_none(), "lists leave the timeline out: {list}");
    assert!(!one.contains("where is my order"));
    assert_eq!(b.get("/calls/t-call-1/recording").await.0, StatusCode::FORBIDDEN, "a viewer hears no recording");
    assert_eq!(b.get("/calls/no-such-call").await.0, StatusCode::NOT_FOUND);

    // Agents: a viewer reads the document and gets no editor; the API refuses the edit anyway.
    let agent = json!({"business": "B", "greeting": "Hello there.", "hours": "always"});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t/agents/front", Some(&op), Some(agent)).await.0, StatusCode::OK);
    let (s, _, list) = b.get("/agents").await;
    assert_eq!(s, StatusCode::OK);
    assert!(list.contains("href=\"/agents/front\"") && !list.contains("New agent"), "{list}");
    let (s, _, doc) = b.get("/agents/front").await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc.contains("greeting: Hello there.") && !doc.contains("<textarea") && !doc.contains(">Save<"), "{doc}");
    let csrf = field(&doc, "csrf");
    let (s, _, _) = b.post("/agents/front", &[("csrf", &csrf), ("yaml", "name: front\nbusiness: B\ngreeting: Hijacked.\nhours: always\n")], Some(&api.base)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the API refuses a viewer's edit");

    // Privacy: the policy in plain words; no form, no requests, no audit log for a viewer.
    let (s, _, privacy) = b.get("/privacy").await;
    assert_eq!(s, StatusCode::OK);
    assert!(privacy.contains("Calls are not recorded.") && privacy.contains("none is kept"), "{privacy}");
    assert!(!privacy.contains("/privacy/policy") && !privacy.contains("/privacy/requests") && !privacy.contains("/privacy/audit"), "{privacy}");
    assert_eq!(b.get("/privacy/audit").await.0, StatusCode::FORBIDDEN);

    // What a user types comes back escaped.
    let (s, _, page) = b.get("/calls?outcome=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!page.contains("<script>alert(1)") && page.contains("&lt;script&gt;alert(1)"), "{page}");

    // The console's cookie is no credential at the API.
    let r = api.http.get(format!("{}/v1/tenants/t/calls", api.base)).header("cookie", format!("parley_session={session}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Nor is an API key a console sign-in.
    let mut with_key = Browser::new(&api.base);
    with_key.cookies.push(("parley_session".into(), op.clone()));
    assert_eq!(with_key.get("/").await.0, StatusCode::SEE_OTHER);

    // Sign-out needs the page's CSRF token and this site as the origin.
    let csrf = field(&page, "csrf");
    assert_eq!(b.post("/sign-out", &[], None).await.0, StatusCode::FORBIDDEN, "no token");
    assert_eq!(b.post("/sign-out", &[("csrf", &csrf)], Some("https://evil.example")).await.0, StatusCode::FORBIDDEN, "another site");
    let (s, h, _) = b.post("/sign-out", &[("csrf", &csrf)], Some(&api.base)).await;
    assert_eq!((s, h[LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/sign-in"));
    let r = api.http.get(format!("{}/v1/tenants/t/calls", api.base)).bearer_auth(&session).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "the session ended");

    // An admin sees usage against the limit and the operational events.
    let (s, _) = api.call(Method::PUT, "/v1/tenants/t/limits", Some(&op), Some(json!({"max_concurrent_calls": 5, "max_minutes_per_month": 1000}))).await;
    assert_eq!(s, StatusCode::OK);
    let mut admin = signed_in(&api.base, "admin@example.com", "a long passphrase here").await;
    let (s, _, page) = admin.get("/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Minutes this month") && page.contains("of 1000 allowed") && page.contains("Recent operational events"), "{page}");
    // An admin edits: a broken flow is shown by line and node and not saved; a good one is.
    let (_, _, doc) = admin.get("/agents/front").await;
    assert!(doc.contains("<textarea") && doc.contains("greeting: Hello there."), "{doc}");
    let csrf = field(&doc, "csrf");
    let broken = "name: front\r\nbusiness: B\r\ngreeting: Hello.\r\nhours: always\r\nflow:\r\n  - id: start\r\n    type: say\r\n    text: Hi <b>there</b>\r\n    next: nowhere\r\n";
    let (s, _, page) = admin.post("/agents/front", &[("csrf", &csrf), ("yaml", broken)], Some(&api.base)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("Not saved") && page.contains("node <code>start</code>") && page.contains("nowhere"), "{page}");
    assert!(page.contains("Hi &lt;b&gt;there&lt;/b&gt;"), "the text comes back escaped in the editor: {page}");
    let (_, v) = api.call(Method::GET, "/v1/tenants/t/agents/front", Some(&op), None).await;
    assert_eq!(v["definition"]["greeting"], "Hello there.", "nothing was saved");
    let (s, h, _) = admin.post("/agents/front", &[("csrf", &csrf), ("yaml", "name: front\nbusiness: B\ngreeting: Welcome to B.\nhours: always\n")], Some(&api.base)).await;
    assert_eq!((s, h[LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/agents/front?saved=1"));
    let (_, v) = api.call(Method::GET, "/v1/tenants/t/agents/front", Some(&op), None).await;
    assert_eq!(v["definition"]["greeting"], "Welcome to B.");
    assert_eq!(admin.post("/agents/front", &[("csrf", "0000"), ("yaml", "name: front\nbusiness: B\ngreeting: x\nhours: always\n")], Some(&api.base)).await.0, StatusCode::FORBIDDEN, "a forged form");

    // Usage: six months of minutes as bars, and a month's counters.
    let (s, _, usage) = admin.get("/usage").await;
    assert_eq!(s, StatusCode::OK, "{usage}");
    assert!(usage.contains("Call minutes per month") && usage.matches("<rect").count() == 6 + 2, "six months, and today in the month's charts of minutes and of recognition seconds: {usage}");
    let today = parley_store::usage::day_of(now);
    assert!(usage.contains("Per day") && usage.contains(&format!("{today}: 3 call minutes")) && usage.contains(&format!("<td>{today}</td><td>asr seconds</td><td>embedded</td><td>40</td>")), "{usage}");
    assert_eq!(admin.get("/usage?month=2026-13").await.0, StatusCode::BAD_REQUEST, "the API's check of the month");
    let mut viewer_usage = signed_in(&api.base, "viewer@example.com", "a long passphrase here").await;
    assert_eq!(viewer_usage.get("/usage").await.0, StatusCode::FORBIDDEN);

    // Settings: numbers, keys (the token shown once), integrations (the secret never shown).
    let (s, _, settings) = admin.get("/settings").await;
    assert_eq!(s, StatusCode::OK, "{settings}");
    let (s, _, page) = admin.post("/settings/numbers", &[("csrf", &csrf), ("number", "+15550100777"), ("agent", "front")], Some(&api.base)).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{page}");
    let (s, _, page) = admin.post("/settings/keys", &[("csrf", &csrf), ("name", "<b>crm</b>"), ("role", "viewer")], Some(&api.base)).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let token = page.split("<code>").nth(1).and_then(|r| r.split("</code>").next()).unwrap().to_string();
    assert!(token.starts_with("pk_") && page.contains("shown this once") && page.contains("&lt;b&gt;crm&lt;/b&gt;"), "{page}");
    assert_eq!(api.call(Method::GET, "/v1/tenants/t/calls", Some(&token), None).await.0, StatusCode::OK, "the key works");
    assert_eq!(admin.post("/settings/keys", &[("csrf", &csrf), ("name", "mine"), ("role", "owner")], Some(&api.base)).await.0, StatusCode::FORBIDDEN, "no more than the admin's own role");
    let integration = [("csrf", csrf.as_str()), ("kind", "shopify"), ("name", "shop"), ("config", "{\"shop\": \"t.example\"}"), ("secret", "shpat_very_secret")];
    assert_eq!(admin.post("/settings/integrations", &integration, Some(&api.base)).await.0, StatusCode::SEE_OTHER);
    let trunk = [("csrf", csrf.as_str()), ("name", "pbx"), ("allowed_ips", "203.0.113.0/24, 198.51.100.7"), ("username", "pbx-t"), ("password", "trunk-secret-pw")];
    let (s, _, page) = admin.post("/settings/trunks", &trunk, Some(&api.base)).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{page}");
    let gateway = [("csrf", csrf.as_str()), ("name", "carrier"), ("proxy", "sip.provider.example:5060"), ("transport", "udp"), ("caller_id", "+15550100999"), ("username", "acct"), ("password", "gateway-secret-pw")];
    let (s, _, page) = admin.post("/settings/gateways", &gateway, Some(&api.base)).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{page}");
    let bad = [("csrf", csrf.as_str()), ("name", "bad"), ("allowed_ips", "not a network")];
    assert_eq!(admin.post("/settings/trunks", &bad, Some(&api.base)).await.0, StatusCode::BAD_REQUEST, "the API's check of networks");
    let (_, _, settings) = admin.get("/settings").await;
    assert!(settings.contains("+15550100777") && settings.contains("t.example"), "{settings}");
    assert!(settings.contains("203.0.113.0/24, 198.51.100.7/32") && settings.contains("sip.provider.example:5060"), "{settings}");
    assert!(!settings.contains("trunk-secret-pw") && !settings.contains("gateway-secret-pw"), "passwords are never shown");
    assert!(!settings.contains(&token) && !settings.contains("shpat_very_secret"), "secrets are never shown again");
    assert_eq!(b.get("/settings").await.0, StatusCode::SEE_OTHER, "signed out");
    let mut viewer_settings = signed_in(&api.base, "viewer@example.com", "a long passphrase here").await;
    let (s, _, overview) = viewer_settings.get("/settings").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{overview}");

    // The test chat runs the saved agent with the tenant's tools: the demo store finds an order.
    let (s, _, _) = admin.post("/agents/demo", &[("csrf", &csrf), ("yaml", include_str!("../../agent/agents/demo.yaml"))], Some(&api.base)).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "the demo agent saves from its YAML");
    let (s, _, chat) = admin.post("/agents/demo/chat", &[("csrf", &csrf)], Some(&api.base)).await;
    assert_eq!(s, StatusCode::OK, "{chat}");
    assert!(chat.contains("Agent: </strong>") && chat.contains("waits at node"), "the greeting, then the node it waits at: {chat}");
    let id = field(&chat, "chat");
    let (_, _, chat) = admin.post("/agents/demo/chat", &[("csrf", &csrf), ("chat", &id), ("say", "where is my order 1004")], Some(&api.base)).await;
    assert!(chat.contains("You: </strong><bdi>where is my order 1004</bdi>") && chat.contains("tool find_order") && chat.contains(": found]"), "{chat}");
    assert!(chat.contains("Dana"), "the order read out: {chat}");
    let mut again = signed_in(&api.base, "admin@example.com", "a long passphrase here").await;
    let (_, _, page) = again.get("/agents/demo").await;
    let (s, _, other) = again.post("/agents/demo/chat", &[("csrf", &field(&page, "csrf")), ("chat", &id), ("say", "hi")], Some(&api.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!other.contains("where is my order 1004") && other.contains("waits at node"), "another session gets a chat of its own: {other}");
    let mut viewer = signed_in(&api.base, "viewer@example.com", "a long passphrase here").await;
    let (_, _, page) = viewer.get("/agents/demo").await;
    assert!(!page.contains("Test chat"), "a viewer has no test chat");
    assert_eq!(viewer.post("/agents/demo/chat", &[("csrf", &field(&page, "csrf"))], Some(&api.base)).await.0, StatusCode::FORBIDDEN);

    let (s, _, one) = admin.get("/calls/t-call-1").await;
    assert_eq!(s, StatusCode::OK);
    assert!(one.contains("&lt;img src=x onerror=alert(1)&gt; where is my order") && !one.contains("<img src=x"), "{one}");
    assert!(one.contains("Not kept: the data policy records no calls."), "{one}");
    // The owner changes the policy, and runs data-subject requests; deletion asks first.
    let mut owner = signed_in(&api.base, "owner@example.com", "a long passphrase here").await;
    let (_, _, privacy) = owner.get("/privacy").await;
    assert!(privacy.contains("action=\"/privacy/policy\"") && privacy.contains("value=\"delete\""), "{privacy}");
    let csrf = field(&privacy, "csrf");
    let policy = [("csrf", csrf.as_str()), ("recording_days", "0"), ("transcript_days", "7"), ("call_metadata_days", "90"), ("operational_log_days", "30"), ("redact_pii", "on"), ("providers", "embedded"), ("providers", "openai"), ("recording_public_key", "")];
    let (s, h, page) = owner.post("/privacy/policy", &policy, Some(&api.base)).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(h[LOCATION], "/privacy?saved=1");
    let (_, p) = api.call(Method::GET, "/v1/tenants/t/data-policy", Some(&op), None).await;
    assert_eq!((p["transcript_days"].as_i64(), p["redact_pii"].as_bool(), p["allowed_providers"].clone()), (Some(7), Some(true), json!(["embedded", "openai"])), "{p}");
    let (_, _, privacy) = owner.get("/privacy?saved=1").await;
    assert!(privacy.contains("Transcripts are kept encrypted for 7 days") && privacy.contains("may go to: embedded, openai."), "{privacy}");
    let bad = [("csrf", csrf.as_str()), ("recording_days", "9999"), ("transcript_days", "0"), ("call_metadata_days", "90"), ("operational_log_days", "30")];
    assert_eq!(owner.post("/privacy/policy", &bad, Some(&api.base)).await.0, StatusCode::BAD_REQUEST, "the API's bounds hold");

    let r = owner.post("/privacy/requests", &[("csrf", &csrf), ("kind", "access"), ("phone", "+15550100004")], Some(&api.base)).await;
    assert_eq!(r.0, StatusCode::OK);
    assert!(r.1["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"access-"));
    let export: serde_json::Value = serde_json::from_str(&r.2).unwrap();
    assert!(export["manifest"]["signature"].is_string(), "{export}");
    let (s, _, confirm) = owner.post("/privacy/requests", &[("csrf", &csrf), ("kind", "delete"), ("phone", "+15550100004")], Some(&api.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(confirm.contains("This cannot be undone.") && confirm.contains("name=\"confirm\" value=\"yes\""), "{confirm}");
    assert!(!audited(&api, &op).await.contains(&"data_subject.delete".to_string()), "nothing deleted before the confirmation");
    let (s, _, done) = owner.post("/privacy/requests", &[("csrf", &csrf), ("kind", "delete"), ("phone", "+15550100004"), ("confirm", "yes")], Some(&api.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(done.contains("Done.") && done.contains("calls deleted"), "{done}");
    assert!(audited(&api, &op).await.contains(&"data_subject.delete".to_string()));

    // The audit log verifies, and its signed heads download.
    let (s, _, log) = owner.get("/privacy/audit").await;
    assert_eq!(s, StatusCode::OK);
    assert!(log.contains("The chain verifies") && log.contains("data_subject.delete"), "{log}");
    let (s, h, heads) = owner.get("/privacy/audit/heads.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(h["content-disposition"].to_str().unwrap().contains("audit-heads-t.json"));
    assert!(serde_json::from_str::<serde_json::Value>(&heads).unwrap()["public_key"].is_string());

    // Reading the overview is audited like the API's reads.
    let actions = audited(&api, &op).await;
    let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
    assert!(actions.contains(&"calls.list") && actions.contains(&"usage.read") && actions.contains(&"transcripts.read") && actions.contains(&"agents.put"), "{actions:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_versions_show_their_changes_and_roll_back() {
    let tmp = tempfile::tempdir().unwrap();
    let (_server, api, op) = common::operated(tmp.path(), &[]);
    api.tenant(&op, "t").await;
    for (email, role) in [("viewer@example.com", "viewer"), ("editor@example.com", "agent-editor")] {
        api.user(&op, "t", email, role, "a long passphrase here").await;
    }
    // Version 1 by an API key, version 2 by an editor in the console.
    let agent = json!({"business": "B", "greeting": "Hello <there>.", "hours": "always"});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t/agents/front", Some(&op), Some(agent)).await.0, StatusCode::OK);
    let mut editor = signed_in(&api.base, "editor@example.com", "a long passphrase here").await;
    let (_, _, doc) = editor.get("/agents/front").await;
    let csrf = field(&doc, "csrf");
    let v2 = "name: front\nbusiness: B\ngreeting: Welcome to B.\nhours: always\n";
    assert_eq!(editor.post("/agents/front", &[("csrf", &csrf), ("yaml", v2)], Some(&api.base)).await.0, StatusCode::SEE_OTHER);
    assert_eq!(editor.post("/agents/front", &[("csrf", &csrf), ("yaml", v2)], Some(&api.base)).await.0, StatusCode::SEE_OTHER, "saving it unchanged");

    let (_, _, doc) = editor.get("/agents/front?saved=1").await;
    assert!(doc.contains("Versions") && doc.contains("href=\"/agents/front/versions/2\"") && doc.contains("href=\"/agents/front/versions/1\""), "{doc}");
    assert!(!doc.contains("/agents/front/versions/3"), "an unchanged save is no version: {doc}");
    assert!(doc.contains("<bdi>you</bdi>") && doc.contains("<bdi>API key "), "{doc}");

    // Version 1's page: what a rollback would change, escaped, and the button.
    let (s, _, one) = editor.get("/agents/front/versions/1").await;
    assert_eq!(s, StatusCode::OK, "{one}");
    assert!(one.contains("<del>− greeting: Welcome to B.\n</del>") && one.contains("<ins>+ greeting: Hello &lt;there&gt;.\n</ins>"), "{one}");
    assert!(one.contains("Roll back to version 1"), "{one}");
    let (_, _, two) = editor.get("/agents/front/versions/2").await;
    assert!(two.contains("(this one)") && !two.contains("Roll back"), "the current version has nothing to roll back: {two}");
    assert_eq!(editor.get("/agents/front/versions/9").await.0, StatusCode::NOT_FOUND);

    // A forged form rolls nothing back; the editor's does, as version 3.
    assert_eq!(editor.post("/agents/front/versions/1/restore", &[("csrf", "0000")], Some(&api.base)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(editor.post("/agents/front/versions/1/restore", &[("csrf", &csrf)], Some("https://evil.example")).await.0, StatusCode::FORBIDDEN);
    let (s, h, _) = editor.post("/agents/front/versions/1/restore", &[("csrf", &csrf)], Some(&api.base)).await;
    assert_eq!((s, h[LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/agents/front?restored=1"));
    let (_, v) = api.call(Method::GET, "/v1/tenants/t/agents/front", Some(&op), None).await;
    assert_eq!((v["definition"]["greeting"].as_str(), v["version"].as_i64()), (Some("Hello <there>."), Some(3)), "{v}");
    let (_, list) = api.call(Method::GET, "/v1/tenants/t/agents/front/versions", Some(&op), None).await;
    assert_eq!(list["versions"][0]["restored_from"], 1, "{list}");
    assert!(list["versions"][0]["author"].as_str().unwrap().starts_with("user:"), "{list}");
    let (_, old) = api.call(Method::GET, "/v1/tenants/t/agents/front/versions/2", Some(&op), None).await;
    assert_eq!(old["definition"]["greeting"], "Welcome to B.", "{old}");
    let (_, _, doc) = editor.get("/agents/front?restored=1").await;
    assert!(doc.contains("Rolled back to version 1.") && doc.contains("a rollback to version 1"), "{doc}");
    assert!(audited(&api, &op).await.contains(&"agents.restore".to_string()));

    // A viewer reads the versions and their changes, has no button, and the API refuses the rollback.
    let mut viewer = signed_in(&api.base, "viewer@example.com", "a long passphrase here").await;
    let (_, _, doc) = viewer.get("/agents/front").await;
    assert!(doc.contains("href=\"/agents/front/versions/3\"") && doc.contains("<bdi>a user</bdi>"), "{doc}");
    let (s, _, two) = viewer.get("/agents/front/versions/2").await;
    assert_eq!(s, StatusCode::OK);
    assert!(two.contains("<ins>+ greeting: Welcome to B.") && !two.contains("Roll back"), "{two}");
    let viewer_csrf = field(&doc, "csrf");
    assert_eq!(viewer.post("/agents/front/versions/2/restore", &[("csrf", &viewer_csrf)], Some(&api.base)).await.0, StatusCode::FORBIDDEN);
    let (_, v) = api.call(Method::GET, "/v1/tenants/t/agents/front", Some(&op), None).await;
    assert_eq!(v["version"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_run_tenants_from_their_own_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, api, op) = common::operated(tmp.path(), &[]);
    common::create_operator(&server.data_dir, "ops@example.com", "an operator passphrase");
    api.tenant(&op, "t").await;
    api.user(&op, "t", "owner@example.com", "owner", "a long passphrase here").await;

    // The operators' form: no tenant field; a wrong password is refused like a user's.
    let mut b = Browser::new(&api.base);
    let (s, _, form) = b.get("/operator/sign-in").await;
    assert_eq!(s, StatusCode::OK);
    assert!(form.contains("action=\"/operator/sign-in\"") && !form.contains("name=\"tenant\""), "{form}");
    let token = field(&form, "form_token");
    let (s, _, page) = b.post("/operator/sign-in", &[("form_token", &token), ("email", "ops@example.com"), ("password", "wrong")], Some(&api.base)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{page}");
    let token = field(&page, "form_token");
    let (s, h, _) = b.post("/operator/sign-in", &[("form_token", &token), ("email", "ops@example.com"), ("password", "an operator passphrase")], Some(&api.base)).await;
    assert_eq!((s, h[LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/operator"));
    let session = b.cookie("parley_session").unwrap();
    assert!(session.starts_with("ops_"));

    // The tenants; a tenant's pages send an operator to theirs, and the other way round.
    let (s, _, tenants) = b.get("/operator").await;
    assert_eq!(s, StatusCode::OK, "{tenants}");
    assert!(tenants.contains("href=\"/operator/tenants/t\"") && tenants.contains("action=\"/operator/tenants\""), "{tenants}");
    let (s, h, _) = b.get("/calls").await;
    assert_eq!((s, h[LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/operator"));
    let mut owner = signed_in(&api.base, "owner@example.com", "a long passphrase here").await;
    let (s, h, _) = owner.get("/operator").await;
    assert_eq!((s, h[LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/operator/sign-in"), "an owner is no operator");
    let (_, _, owner_page) = owner.get("/").await;
    assert_eq!(owner.post("/operator/tenants", &[("csrf", &field(&owner_page, "csrf")), ("id", "x"), ("name", "X")], Some(&api.base)).await.0, StatusCode::SEE_OTHER, "sent to sign in as an operator");
    assert_eq!(api.call(Method::GET, "/v1/tenants/x", Some(&op), None).await.0, StatusCode::NOT_FOUND, "and nothing made");

    // A new tenant, with a hostile name; its limits and outbound policy; its owner invited.
    let csrf = field(&tenants, "csrf");
    assert_eq!(b.post("/operator/tenants", &[("csrf", "0000"), ("id", "acme"), ("name", "Acme")], Some(&api.base)).await.0, StatusCode::FORBIDDEN, "a forged form");
    let (s, _, refused) = b.post("/operator/tenants", &[("csrf", &csrf), ("id", "acme"), ("name", "\u{202e}Acme")], Some(&api.base)).await;
    assert!(s == StatusCode::BAD_REQUEST && refused.contains("bidirectional"), "the API's check of names: {refused}");
    let (s, h, created) = b.post("/operator/tenants", &[("csrf", &csrf), ("id", "acme"), ("name", "<script>x</script> Acme")], Some(&api.base)).await;
    assert_eq!((s, h.get(LOCATION).map_or("", |l| l.to_str().unwrap())), (StatusCode::SEE_OTHER, "/operator/tenants/acme"), "{created}");
    assert_eq!(b.post("/operator/tenants", &[("csrf", &csrf), ("id", "acme"), ("name", "Again")], Some(&api.base)).await.0, StatusCode::CONFLICT);
    let (s, _, page) = b.get("/operator/tenants/acme").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("<bdi>&lt;script&gt;x&lt;/script&gt; Acme</bdi>") && !page.contains("<script>x"), "{page}");
    let limits = [("csrf", csrf.as_str()), ("max_concurrent_calls", "3"), ("max_minutes_per_month", "500")];
    assert_eq!(b.post("/operator/tenants/acme/limits", &limits, Some(&api.base)).await.0, StatusCode::SEE_OTHER);
    let bad = [("csrf", csrf.as_str()), ("max_concurrent_calls", "-1"), ("max_minutes_per_month", "500")];
    assert_eq!(b.post("/operator/tenants/acme/limits", &bad, Some(&api.base)).await.0, StatusCode::BAD_REQUEST, "the API's bounds");
    let outbound = [("csrf", csrf.as_str()), ("enabled", "on"), ("calls_per_second", "2"), ("max_concurrent", "5"), ("allowed_prefixes", "+49, +1")];
    let (s, _, page) = b.post("/operator/tenants/acme/outbound", &outbound, Some(&api.base)).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{page}");
    let (_, l) = api.call(Method::GET, "/v1/tenants/acme/limits", Some(&op), None).await;
    assert_eq!((l["max_concurrent_calls"].as_i64(), l["max_minutes_per_month"].as_i64()), (Some(3), Some(500)), "{l}");
    let (_, p) = api.call(Method::GET, "/v1/tenants/acme/outbound-policy", Some(&op), None).await;
    assert_eq!((p["enabled"].as_bool(), p["allowed_prefixes"].clone()), (Some(true), json!(["+49", "+1"])), "{p}");
    let (s, _, page) = b.post("/operator/tenants/acme/invite", &[("csrf", &csrf), ("email", "boss@acme.example")], Some(&api.base)).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let invitation = page.split("<code>").nth(1).and_then(|r| r.split("</code>").next()).unwrap().to_string();
    assert!(invitation.starts_with("inv_") && page.contains("shown this once") && page.contains("of 500"), "{page}");
    let (s, _) = api.call(Method::POST, "/v1/invitations/accept", None, Some(json!({"token": invitation, "password": "the new owner's phrase"}))).await;
    assert_eq!(s, StatusCode::CREATED, "the owner signs up with it");
    let (_, page) = api.call(Method::GET, "/v1/tenants/acme/audit/entries", Some(&op), None).await;
    let actors: Vec<&str> = page["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "limits.update").filter_map(|e| e["actor"].as_str()).collect();
    assert!(actors.len() == 1 && actors[0].starts_with("operator:"), "the operator's change is audited as theirs: {page}");

    // The session is a bearer token at the API too, until signed out.
    assert_eq!(api.call(Method::GET, "/v1/tenants", Some(&session), None).await.0, StatusCode::OK);
    let csrf = field(&page_of(&mut b, "/operator").await, "csrf");
    let (s, h, _) = b.post("/operator/sign-out", &[("csrf", &csrf)], Some(&api.base)).await;
    assert_eq!((s, h[LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/operator/sign-in"));
    assert_eq!(api.call(Method::GET, "/v1/tenants", Some(&session), None).await.0, StatusCode::UNAUTHORIZED, "signed out");
}

async fn page_of(b: &mut Browser, path: &str) -> String {
    b.get(path).await.2
}
