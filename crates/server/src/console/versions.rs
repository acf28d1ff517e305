//! An agent's saved versions in the console: the list under the agent's document (when each
//! was saved, by whom, which were rollbacks), one version's document with what rolling back to
//! it would change, and the rollback itself for agent editors. All through the API's handlers:
//! a rollback is checked as a save is, audited, and kept as a new version.

use std::collections::HashMap;

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use parley_store::Role;
use serde::Deserialize;
use similar::{ChangeTag, TextDiff};

use super::pages::when;
use super::session::Viewer;
use super::{csrf_ok, frame, page_status, refused};
use crate::api::agent_versions::{self, VersionList};
use crate::api::{agents, extract, users, ApiError, ApiState};

/// Who saved a version, as the viewer knows them: "you", a colleague's email where the viewer
/// may list users, otherwise the kind of actor.
fn author(v: &Viewer, actor: &str, emails: &HashMap<String, String>) -> String {
    if actor == v.caller.actor() {
        return "you".into();
    }
    match actor.split_once(':') {
        Some(("user", id)) => emails.get(id).cloned().unwrap_or_else(|| "a user".into()),
        Some(("key", id)) => format!("API key {}", id.chars().take(12).collect::<String>()),
        _ => "(before versions were kept)".into(),
    }
}

/// The tenant's users' emails by id, for a role that may list them (none otherwise).
async fn emails(s: &ApiState, v: &Viewer) -> HashMap<String, String> {
    if !v.caller.role().includes(Role::Admin) {
        return HashMap::new();
    }
    match users::users(State(s.clone()), v.caller.clone(), extract::Path(v.tenant.clone())).await {
        Ok(axum::Json(list)) => list.users.into_iter().map(|u| (u.id, u.email)).collect(),
        Err(_) => HashMap::new(),
    }
}

fn list(v: &Viewer, name: &str, list: &VersionList, emails: &HashMap<String, String>) -> Markup {
    html! {
        section.versions aria-labelledby="versions-title" {
            h2 id="versions-title" { "Versions" }
            table {
                thead { tr { th { "Version" } th { "Saved (UTC)" } th { "By" } th { "" } } }
                tbody {
                    @for (i, ver) in list.versions.iter().enumerate() {
                        tr {
                            td { a href=(format!("/agents/{name}/versions/{}", ver.version)) { "Version " (ver.version) } }
                            td { (when(ver.created_ms)) }
                            td { bdi { (author(v, &ver.author, emails)) } }
                            td {
                                @if i == 0 { "current" }
                                @if i == 0 && ver.restored_from.is_some() { ", " }
                                @if let Some(from) = ver.restored_from { "a rollback to version " (from) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The agent page's list of versions (nothing when the API gives none).
pub async fn section(s: &ApiState, v: &Viewer, name: &str) -> Markup {
    match agent_versions::list(State(s.clone()), v.caller.clone(), extract::Path((v.tenant.clone(), name.to_string()))).await {
        Ok(axum::Json(versions)) => list(v, name, &versions, &emails(s, v).await),
        Err(_) => html! {},
    }
}

/// Line changes from `current` to `version`: what rolling back would do.
fn changes(current: &str, version: &str) -> Markup {
    let diff = TextDiff::from_lines(current, version);
    let groups = diff.grouped_ops(2);
    html! {
        @if groups.is_empty() { p { "This version's document is the same as the current one." } } @else {
            p { "Rolling back to this version changes the current document so: lines marked − go, lines marked + come." }
            @for group in &groups {
                pre.diff {
                    @for op in group {
                        @for change in diff.iter_changes(op) {
                            @match change.tag() {
                                ChangeTag::Delete => del { "− " (change.value()) },
                                ChangeTag::Insert => ins { "+ " (change.value()) },
                                ChangeTag::Equal => span { "  " (change.value()) },
                            }
                        }
                    }
                }
            }
        }
    }
}

fn yaml_of(def: agents::AgentDefinition, name: &str) -> Result<String, ApiError> {
    def.into_spec(name).and_then(|spec| spec.to_yaml().map_err(|_| ApiError::Internal))
}

/// One version: its changes against the current document, the document, and (for agent
/// editors, when it is not the current one) the rollback button.
pub async fn show(State(s): State<ApiState>, v: Viewer, Path((name, version)): Path<(String, i64)>) -> Response {
    let path = extract::Path((v.tenant.clone(), name.clone(), version));
    let old = match agent_versions::get_one(State(s.clone()), v.caller.clone(), path).await {
        Ok(axum::Json(old)) => old,
        Err(e) => return refused(&v, e),
    };
    let current = match agents::get_one(State(s.clone()), v.caller.clone(), extract::Path((v.tenant.clone(), name.clone()))).await {
        Ok(axum::Json(current)) => current,
        Err(e) => return refused(&v, e),
    };
    let is_current = current.version == version;
    let (old_yaml, current_yaml) = match (yaml_of(old.definition, &name), yaml_of(current.definition, &name)) {
        (Ok(o), Ok(c)) => (o, c),
        _ => return refused(&v, ApiError::Internal),
    };
    let emails = emails(&s, &v).await;
    let body = html! {
        dl.facts {
            dt { "Agent" } dd { a href=(format!("/agents/{name}")) { (name) } }
            dt { "Saved (UTC)" } dd { (when(old.summary.created_ms)) }
            dt { "By" } dd { bdi { (author(&v, &old.summary.author, &emails)) } }
            @if let Some(from) = old.summary.restored_from { dt { "Rollback to" } dd { "version " (from) } }
            dt { "Current version" } dd { (current.version) @if is_current { " (this one)" } }
        }
        @if !is_current {
            h2 { "Changes" }
            (changes(&current_yaml, &old_yaml))
            @if v.caller.role().includes(Role::AgentEditor) {
                form method="post" action=(format!("/agents/{name}/versions/{version}/restore")) {
                    input type="hidden" name="csrf" value=(v.csrf);
                    button type="submit" { "Roll back to version " (version) }
                }
            }
        }
        h2 { "Document" }
        pre.document { (old_yaml) }
    };
    frame(&v, &format!("Agent {name}, version {version}"), body)
}

#[derive(Deserialize)]
pub struct Restore {
    #[serde(default)]
    csrf: String,
}

/// Rolls back through the API (agent editors; checked as a save is).
pub async fn restore(State(s): State<ApiState>, v: Viewer, headers: HeaderMap, Path((name, version)): Path<(String, i64)>, Form(f): Form<Restore>) -> Response {
    if !csrf_ok(&s, &v, &headers, &f.csrf) {
        return page_status(StatusCode::FORBIDDEN, &v, "The form expired; reload the page and try again.");
    }
    match agent_versions::restore(State(s), v.caller.clone(), extract::Path((v.tenant.clone(), name.clone(), version))).await {
        Ok(_) => Redirect::to(&format!("/agents/{name}?restored={version}")).into_response(),
        Err(ApiError::BadRequest(m)) => page_status(StatusCode::BAD_REQUEST, &v, &format!("Version {version} cannot be restored as it is: {m}")),
        Err(e) => refused(&v, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_show_what_a_rollback_removes_and_brings_back() {
        let html = changes("name: a\ngreeting: new\nhours: 9-5\n", "name: a\ngreeting: old <b>\nhours: 9-5\n").into_string();
        assert!(html.contains("<del>− greeting: new\n</del>") && html.contains("<ins>+ greeting: old &lt;b&gt;\n</ins>"), "{html}");
        assert!(changes("x: 1\n", "x: 1\n").into_string().contains("the same"));
    }
}
