//! The console's privacy page: the data policy in plain words (and, for owners, its form),
//! data-subject requests by the caller's number with a confirmation step before anything is
//! deleted, re-filed or restricted, and the audit log with whether its chain verifies and its
//! signed heads to download. Everything goes through the API's handlers as the signed-in user.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use parley_store::Role;
use serde::Deserialize;

use super::pages::when;
use super::session::Viewer;
use super::form::{field, pairs};
use super::{csrf_ok, frame, optional, page_status, refused};
use crate::api::policy::{self, PolicyView, Provider};
use crate::api::subjects::{self, SubjectRequest, SubjectResult};
use crate::api::{audit, extract, ApiError, ApiState};

/// The policy as a person reads it.
pub fn summary(p: &PolicyView) -> Vec<String> {
    let days = |n: i64| if n == 1 { "1 day".to_string() } else { format!("{n} days") };
    let mut out = vec![
        match (p.recording_days, &p.recording_public_key) {
            (0, _) => "Calls are not recorded.".to_string(),
            (n, Some(_)) => format!("Calls are recorded, sealed to your own key (only you can open them), and deleted after {}.", days(n)),
            (n, None) => format!("Calls are recorded, encrypted, and deleted after {}.", days(n)),
        },
        match p.transcript_days {
            0 => "Transcripts are delivered to you after each call and then destroyed: none is kept.".to_string(),
            n => format!("Transcripts are kept encrypted for {}, then deleted.", days(n)),
        },
        format!("Call details (time, agent, outcome, a masked number; never words or audio) are kept {}.", days(p.call_metadata_days)),
        format!("Operational events (rejected calls, failed deliveries) are kept {}.", days(p.operational_log_days)),
        if p.redact_pii { "Phone numbers, email addresses and card numbers are removed from transcripts and summaries before delivery." } else { "Transcripts and summaries are delivered as said, personal details included." }.to_string(),
    ];
    let names: Vec<&str> = p.allowed_providers.iter().map(|p| p.name()).collect();
    out.push(match names.as_slice() {
        [] => "No provider may receive your callers' audio or words.".to_string(),
        ["embedded"] => "Your callers' audio and words stay on this server (embedded engines only).".to_string(),
        list => format!("Your callers' audio and words may go to: {}.", list.join(", ")),
    });
    out
}

fn policy_form(v: &Viewer, p: &PolicyView) -> Markup {
    let number = |name: &str, label: &str, value: i64, min: i64| {
        html! { label { (label) input type="number" name=(name) min=(min) max="365" value=(value) required; } }
    };
    html! {
        form.policy method="post" action="/privacy/policy" {
            input type="hidden" name="csrf" value=(v.csrf);
            (number("recording_days", "Keep recordings (days; 0 = do not record)", p.recording_days, 0))
            (number("transcript_days", "Keep transcripts (days; 0 = none kept)", p.transcript_days, 0))
            (number("call_metadata_days", "Keep call details (days)", p.call_metadata_days, 1))
            (number("operational_log_days", "Keep operational events (days)", p.operational_log_days, 1))
            label.check { input type="checkbox" name="redact_pii" value="on" checked[p.redact_pii]; "Remove personal details before delivery" }
            fieldset {
                legend { "Providers that may receive audio or words (at most 4)" }
                @for provider in Provider::ALL {
                    label.check { input type="checkbox" name="providers" value=(provider.name()) checked[p.allowed_providers.contains(&provider)]; (provider.name()) }
                }
            }
            label { "Seal recordings to this X25519 public key (64 hex digits; empty: the platform's key)" input name="recording_public_key" value=(p.recording_public_key.clone().unwrap_or_default()) pattern="[0-9a-fA-F]{64}"; }
            button type="submit" { "Save the policy" }
        }
    }
}

fn requests_form(v: &Viewer) -> Markup {
    let owner = v.caller.role().includes(Role::Owner);
    html! {
        form.filters method="post" action="/privacy/requests" {
            input type="hidden" name="csrf" value=(v.csrf);
            label { "Caller's number" input name="phone" required pattern="[+]?[0-9]{3,20}" placeholder="+15550100004" autocomplete="off"; }
            label { "Request"
                select name="kind" {
                    option value="access" { "Access: download everything kept" }
                    @if owner {
                        option value="delete" { "Delete everything kept" }
                        option value="restrict" { "Restrict: keep and deliver nothing more" }
                        option value="unrestrict" { "Lift a restriction" }
                        option value="correct" { "Correct the number" }
                    }
                }
            }
            @if owner { label { "Right number (corrections)" input name="corrected_phone" pattern="[+]?[0-9]{3,20}" autocomplete="off"; } }
            button type="submit" { "Continue" }
        }
    }
}

#[derive(Deserialize)]
pub struct Saved {
    #[serde(default)]
    saved: Option<String>,
}

pub async fn show(State(s): State<ApiState>, v: Viewer, Query(q): Query<Saved>) -> Response {
    let policy = match policy::get_one(State(s), v.caller.clone(), extract::Path(v.tenant.clone())).await {
        Ok(axum::Json(p)) => p,
        Err(e) => return refused(&v, e),
    };
    let body = html! {
        @if q.saved.is_some() { p.ok role="status" { "Saved." } }
        h2 { "What is kept" }
        ul.summary { @for line in summary(&policy) { li { (line) } } }
        @if v.caller.role().includes(Role::Owner) { h2 { "Change the policy" } (policy_form(&v, &policy)) }
        @if v.caller.role().includes(Role::Admin) {
            h2 { "Data-subject requests" }
            p { "By the caller's phone number. The number is hashed, never stored; each request is audited." }
            (requests_form(&v))
            h2 { "Audit log" }
            p { a href="/privacy/audit" { "Read the audit log and check its chain" } }
        }
    };
    frame(&v, "Privacy", body)
}

pub async fn save_policy(State(s): State<ApiState>, v: Viewer, headers: HeaderMap, body: Bytes) -> Response {
    let form = pairs(&body);
    if !csrf_ok(&s, &v, &headers, field(&form, "csrf")) {
        return page_status(StatusCode::FORBIDDEN, &v, "The form expired; reload the page and try again.");
    }
    let days = |name: &str| field(&form, name).trim().parse::<i64>().map_err(|_| ApiError::BadRequest(format!("{} must be a whole number of days", name.replace('_', " "))));
    let policy = (|| {
        Ok(PolicyView {
            recording_days: days("recording_days")?,
            transcript_days: days("transcript_days")?,
            call_metadata_days: days("call_metadata_days")?,
            operational_log_days: days("operational_log_days")?,
            redact_pii: field(&form, "redact_pii") == "on",
            allowed_providers: form.iter().filter(|(k, _)| k == "providers").map(|(_, v)| Provider::parse(v).ok_or_else(|| ApiError::BadRequest(format!("unknown provider {v:?}")))).collect::<Result<_, _>>()?,
            recording_public_key: Some(field(&form, "recording_public_key").trim().to_string()).filter(|k| !k.is_empty()),
        })
    })();
    let result = match policy {
        Ok(p) => policy::put(State(s), v.caller.clone(), extract::Path(v.tenant.clone()), extract::Json(p)).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to("/privacy?saved=1").into_response(),
        Err(e) => refused(&v, e),
    }
}

/// A request about to be carried out, repeated for the user to confirm.
fn confirm_page(form: &[(String, String)], what: &str) -> Markup {
    html! {
        p.error role="alert" { (what) " This cannot be undone." }
        form method="post" action="/privacy/requests" {
            @for (k, val) in form.iter().filter(|(k, _)| k != "confirm") { input type="hidden" name=(k) value=(val); }
            input type="hidden" name="confirm" value="yes";
            button type="submit" { "Yes, carry it out" }
            " "
            a href="/privacy" { "Cancel" }
        }
    }
}

fn result_page(r: &SubjectResult) -> Markup {
    let n = |x: Option<u64>| x.unwrap_or(0);
    html! {
        p.ok role="status" { "Done." }
        ul.summary {
            @if r.calls_deleted.is_some() { li { (n(r.calls_deleted)) " calls deleted, " (n(r.documents_shredded)) " undelivered documents and " (n(r.artifacts_shredded)) " kept transcripts or recordings shredded." } }
            @if r.calls_corrected.is_some() { li { (n(r.calls_corrected)) " calls re-filed under the right number." } }
            li { @if r.restricted { "Processing for this caller is restricted: their calls are answered, nothing about them is kept or delivered." } @else { "Processing for this caller is not restricted." } }
        }
        p { a href="/privacy" { "Back to privacy" } }
    }
}

pub async fn request(State(s): State<ApiState>, v: Viewer, headers: HeaderMap, body: Bytes) -> Response {
    let form = pairs(&body);
    if !csrf_ok(&s, &v, &headers, field(&form, "csrf")) {
        return page_status(StatusCode::FORBIDDEN, &v, "The form expired; reload the page and try again.");
    }
    let phone = field(&form, "phone").trim().to_string();
    let (req, what) = match field(&form, "kind") {
        "access" => (SubjectRequest::Access { phone }, None),
        "delete" => (SubjectRequest::Delete { phone }, Some("Everything kept about this caller will be deleted.")),
        "restrict" => (SubjectRequest::Restrict { phone }, Some("Nothing more will be kept or delivered about this caller.")),
        "unrestrict" => (SubjectRequest::Unrestrict { phone }, Some("This caller's calls will be kept and delivered under the policy again.")),
        "correct" => (SubjectRequest::Correct { phone, corrected_phone: field(&form, "corrected_phone").trim().to_string() }, Some("This caller's records will be re-filed under the right number.")),
        _ => return page_status(StatusCode::BAD_REQUEST, &v, "Choose a kind of request."),
    };
    if let Some(what) = what.filter(|_| field(&form, "confirm") != "yes") {
        return frame(&v, "Confirm the request", confirm_page(&form, what));
    }
    let kind = field(&form, "kind").to_string();
    match subjects::create(State(s), v.caller.clone(), extract::Path(v.tenant.clone()), extract::Json(req)).await {
        // Access: the export itself, with its signed manifest, as a download.
        Ok(axum::Json(result)) if kind == "access" => {
            let file = format!("attachment; filename=\"access-{}.json\"", result.caller_hash.chars().take(12).collect::<String>());
            let json = serde_json::to_vec_pretty(&result).unwrap_or_default();
            ([(header::CONTENT_TYPE, "application/json".to_string()), (header::CONTENT_DISPOSITION, file)], json).into_response()
        }
        Ok(axum::Json(result)) => frame(&v, "Request carried out", result_page(&result)),
        Err(e) => refused(&v, e),
    }
}

pub async fn audit_log(State(s): State<ApiState>, v: Viewer) -> Response {
    // The API's reads (role check and audit), then the chain itself for verification.
    let heads = match audit::heads(State(s.clone()), v.caller.clone(), extract::Path(v.tenant.clone())).await {
        Ok(axum::Json(h)) => h,
        Err(e) => return refused(&v, e),
    };
    let scope = match s.store.tenant(&v.tenant) {
        Ok(scope) => scope,
        Err(e) => return refused(&v, e.into()),
    };
    let signed = match scope.audit_heads().await {
        Ok(h) => h,
        Err(e) => return refused(&v, e.into()),
    };
    // The chain a page at a time through the verifier (bounded memory however long the log),
    // keeping the newest entries to show.
    let mut verifier = parley_store::audit::Verifier::new(&signed, Some(&heads.public_key), None);
    let mut latest: std::collections::VecDeque<parley_store::audit::Entry> = std::collections::VecDeque::new();
    let mut after = 0;
    loop {
        match scope.audit_entries(after, 1000).await {
            Ok(page) if page.is_empty() => break,
            Ok(page) => {
                for e in page {
                    verifier.push(&e);
                    after = e.seq;
                    if latest.len() == 100 {
                        latest.pop_front();
                    }
                    latest.push_back(e);
                }
            }
            Err(e) => return refused(&v, e.into()),
        }
    }
    let report = verifier.finish();
    let body = html! {
        @if report.ok() {
            p.ok role="status" { "The chain verifies: " (report.entries) " entries, " (report.heads) " signed heads, nothing removed, reordered or changed." }
        } @else {
            section.problems { h2 { "The chain does not verify" } ul { @for p in &report.problems { li { (p) } } } }
        }
        p { a href="/privacy/audit/heads.json" download { "Download the signed heads" } " (to keep outside this server: a later check against them shows whether the log was rewritten)." }
        h2 { "Latest entries" }
        table {
            thead { tr { th { "#" } th { "When (UTC)" } th { "Who" } th { "What" } th { "Object" } } }
            tbody { @for e in latest.iter().rev() { tr { td { (e.seq) } td { (when(e.at_ms)) } td { bdi { (e.actor) } } td { (e.action) } td.name { bdi { (e.object_id) } } } } }
        }
    };
    frame(&v, "Audit log", body)
}

pub async fn heads_file(State(s): State<ApiState>, v: Viewer) -> Response {
    match optional(audit::heads(State(s), v.caller.clone(), extract::Path(v.tenant.clone())).await) {
        Ok(Some(axum::Json(h))) => {
            let json = serde_json::to_vec_pretty(&h).unwrap_or_default();
            let file = format!("attachment; filename=\"audit-heads-{}.json\"", v.tenant);
            ([(header::CONTENT_TYPE, "application/json".to_string()), (header::CONTENT_DISPOSITION, file)], json).into_response()
        }
        Ok(None) => refused(&v, ApiError::Forbidden),
        Err(e) => refused(&v, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_reads_plainly() {
        let p = PolicyView { recording_days: 0, transcript_days: 0, call_metadata_days: 365, operational_log_days: 30, redact_pii: false, allowed_providers: vec![Provider::Embedded], recording_public_key: None };
        let s = summary(&p);
        assert_eq!(s[0], "Calls are not recorded.");
        assert!(s[1].contains("none is kept"));
        assert!(s[2].contains("365 days") && s[3].contains("30 days"));
        assert!(s[5].contains("stay on this server"));
        let kept = PolicyView { recording_days: 1, transcript_days: 7, recording_public_key: Some("ab".repeat(32)), allowed_providers: vec![Provider::Embedded, Provider::Openai], redact_pii: true, ..p };
        let s = summary(&kept);
        assert!(s[0].contains("only you can open them") && s[0].contains("1 day."));
        assert!(s[1].contains("7 days") && s[4].starts_with("Phone numbers") && s[5].ends_with("embedded, openai."));
    }
}
