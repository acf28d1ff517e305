//! The console's agents: the list, and each agent's document as YAML, with an editor for the
//! roles that may change agents (others read it). A save is checked exactly as `parley agent
//! check` checks a file: each problem is shown under the line it is on, with its node; then the
//! document goes to the API's own `PUT`, which checks it again, needs the agent-editor role and
//! audits the change.

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use parley_agent::flow::Problem;
use parley_agent::spec::AgentSpec;
use parley_store::Role;
use serde::Deserialize;

use super::pages::when;
use super::session::Viewer;
use super::{csrf_ok, frame, page_status, refused};
use crate::api::agents::{self, AgentDefinition, AgentList};
use crate::api::{extract, ApiError, ApiState};

/// Whether `name` is an agent name the API takes.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) && name.len() <= 63 && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn list_page(list: &AgentList, editor: bool) -> Markup {
    html! {
        @if list.agents.is_empty() { p { "No agents yet." } } @else {
            table {
                thead { tr { th { "Agent" } th { "Business" } th { "Changed (UTC)" } } }
                tbody {
                    @for a in &list.agents {
                        tr {
                            td.name { a href=(format!("/agents/{}", a.name)) { (a.name) } }
                            td { bdi { (a.definition.business) } }
                            td { (when(a.updated_ms)) }
                        }
                    }
                }
            }
        }
        @if editor {
            h2 { "New agent" }
            form.filters method="get" action="/agents/new" {
                label { "Name (a-z, 0-9 and -)" input name="name" required pattern="[a-z0-9][a-z0-9-]{0,62}"; }
                button type="submit" { "Write it" }
            }
        }
    }
}

pub async fn list(State(s): State<ApiState>, v: Viewer) -> Response {
    match agents::list(State(s), v.caller.clone(), extract::Path(v.tenant.clone())).await {
        Ok(axum::Json(list)) => frame(&v, "Agents", list_page(&list, v.caller.role().includes(Role::AgentEditor))),
        Err(e) => refused(&v, e),
    }
}

#[derive(Deserialize)]
pub struct NewAgent {
    #[serde(default)]
    name: String,
}

pub async fn new(v: Viewer, Query(q): Query<NewAgent>) -> Response {
    let name = q.name.trim();
    if !valid_name(name) {
        return refused(&v, ApiError::BadRequest("an agent's name is 1 to 63 of a-z, 0-9 and -, starting with a letter or digit".into()));
    }
    Redirect::to(&format!("/agents/{name}")).into_response()
}

/// A new agent's first document: valid as it stands.
fn starter(name: &str) -> String {
    format!("name: {name}\nbusiness: My business\ngreeting: Hello, thanks for calling. How can I help you today?\nhours: Monday to Friday, 9 am to 5 pm\n")
}

/// The editor (or, for a role that may not edit, the document), with `problems` under their
/// lines.
fn agent_page(v: &Viewer, name: &str, (yaml, exists): (&str, bool), problems: &[Problem], notice: Option<&str>, chat: Markup, versions: Markup) -> Markup {
    let editor = v.caller.role().includes(Role::AgentEditor);
    let unplaced: Vec<&Problem> = problems.iter().filter(|p| p.line.is_none()).collect();
    html! {
        @if let Some(n) = notice { p.ok role="status" { (n) } }
        @if !exists { p { "This agent does not exist yet; saving creates it." } }
        @if !problems.is_empty() {
            section.problems aria-labelledby="problems-title" {
                h2 id="problems-title" { "Not saved: " (problems.len()) " problem(s)" }
                ol.source {
                    @for (i, line) in yaml.lines().enumerate() {
                        @let here: Vec<&Problem> = problems.iter().filter(|p| p.line == Some(i + 1)).collect();
                        @if !here.is_empty() {
                            li value=(i + 1) {
                                code { (line) }
                                @for p in here {
                                    p.error { "Line " (i + 1) @if let Some(n) = &p.node { ", node " code { (n) } } ": " (p.message) }
                                }
                            }
                        }
                    }
                }
                @for p in unplaced { p.error { @if let Some(n) = &p.node { "Node " code { (n) } ": " } (p.message) } }
            }
        }
        @if editor {
            form.editor method="post" action=(format!("/agents/{name}")) {
                input type="hidden" name="csrf" value=(v.csrf);
                label for="agent-yaml" { "The agent's document (YAML)" }
                textarea id="agent-yaml" name="yaml" rows="30" spellcheck="false" { (yaml) }
                button type="submit" { "Save" }
            }
        } @else {
            pre.document { (yaml) }
        }
        @if editor && exists { (super::browser_call::section(v, name)) (chat) }
        (versions)
    }
}

/// The whole agent page: its document `(yaml, exists)`, `problems` of a save, a `notice`,
/// `chat` (the test chat's panel) and the agent's versions.
pub async fn page(s: &ApiState, v: &Viewer, name: &str, doc: (&str, bool), problems: &[Problem], notice: Option<&str>, chat: Markup) -> Response {
    let versions = if doc.1 { super::versions::section(s, v, name).await } else { html! {} };
    frame(v, &format!("Agent {name}"), agent_page(v, name, doc, problems, notice, chat, versions))
}

/// The stored agent's document as YAML, and whether it exists (a new agent's starter document
/// for an agent editor when it does not).
pub async fn stored_yaml(s: &ApiState, v: &Viewer, name: &str) -> Result<(String, bool), ApiError> {
    match agents::get_one(State(s.clone()), v.caller.clone(), extract::Path((v.tenant.clone(), name.to_string()))).await {
        Ok(axum::Json(a)) => Ok((a.definition.into_spec(&a.name).and_then(|spec| spec.to_yaml().map_err(|_| ApiError::Internal))?, true)),
        Err(ApiError::NotFound) if valid_name(name) && v.caller.role().includes(Role::AgentEditor) => Ok((starter(name), false)),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct Saved {
    #[serde(default)]
    saved: Option<String>,
    /// The version a rollback restored.
    #[serde(default)]
    restored: Option<i64>,
}

pub async fn show(State(s): State<ApiState>, v: Viewer, Path(name): Path<String>, Query(q): Query<Saved>) -> Response {
    let notice = match (q.saved, q.restored) {
        (_, Some(n)) => Some(format!("Rolled back to version {n}.")),
        (Some(_), None) => Some("Saved.".to_string()),
        (None, None) => None,
    };
    match stored_yaml(&s, &v, &name).await {
        Ok((yaml, exists)) => page(&s, &v, &name, (&yaml, exists), &[], notice.as_deref(), super::chat::empty_panel(&v, &name)).await,
        Err(e) => refused(&v, e),
    }
}

#[derive(Deserialize)]
pub struct Edit {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    yaml: String,
}

pub async fn save(State(s): State<ApiState>, v: Viewer, headers: HeaderMap, Path(name): Path<String>, Form(f): Form<Edit>) -> Response {
    if !csrf_ok(&s, &v, &headers, &f.csrf) {
        return page_status(StatusCode::FORBIDDEN, &v, "The form expired; reload the page and try again.");
    }
    // Browsers send a textarea's lines with CRLF.
    let yaml = f.yaml.replace("\r\n", "\n");
    let problems = match AgentSpec::from_yaml(&yaml) {
        Ok(mut spec) if spec.name == name || spec.name.is_empty() => {
            spec.name = name.clone();
            match agents::put(State(s.clone()), v.caller.clone(), extract::Path((v.tenant.clone(), name.clone())), extract::Json(AgentDefinition::of(spec))).await {
                Ok(_) => return Redirect::to(&format!("/agents/{name}?saved=1")).into_response(),
                Err(ApiError::BadRequest(m)) => vec![Problem { node: None, line: None, message: m }],
                Err(e) => return refused(&v, e),
            }
        }
        Ok(spec) => vec![Problem { node: None, line: yaml.lines().position(|l| l.starts_with("name:")).map(|i| i + 1), message: format!("this page edits agent {name:?}; the document names {:?}", spec.name) }],
        Err(e) => e.problems(),
    };
    let mut r = page(&s, &v, &name, (&yaml, true), &problems, None, super::chat::empty_panel(&v, &name)).await;
    *r.status_mut() = StatusCode::BAD_REQUEST;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_names_are_those_the_api_takes() {
        assert!(valid_name("front-desk") && valid_name("a") && valid_name("7x"));
        assert!(!valid_name("") && !valid_name("-x") && !valid_name("Front") && !valid_name("a/b") && !valid_name(&"a".repeat(64)));
    }

    #[test]
    fn a_new_agents_first_document_is_valid() {
        assert_eq!(AgentSpec::from_yaml(&starter("front")).map(|s| s.name).ok().as_deref(), Some("front"));
    }
}
