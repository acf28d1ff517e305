//! `parley chat AGENT` (any agent as text: what it says, which node it waits at, which tool it
//! called and what came back) and `parley agent check FILE...` (problems named by file, line
//! and node).

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use parley_agent::conversation::{Action, CallContext, CompletionPart, CompletionRequest, Conversation, Input, PaymentResult};
use parley_agent::llm::stream::StreamEvent;
use parley_connect::llm::ChatClient;
use parley_agent::spec::{AgentSpec, SpecError};
use parley_agent::tools::ToolOutcome;
use parley_connect::tools::{BuiltInTools, ToolRunner};

use crate::embedded_llm::{EmbeddedLlm, EmbeddedLlmConfig};

/// `demo`, or an agent's YAML file.
pub fn load_agent(name: &str) -> anyhow::Result<AgentSpec> {
    if name == "demo" {
        return Ok(AgentSpec::demo());
    }
    let text = std::fs::read_to_string(name).with_context(|| format!("no agent named {name:?} (give `demo` or a YAML file)"))?;
    AgentSpec::from_yaml(&text).map_err(|e| anyhow::anyhow!("{name}: {}", explain(&e)))
}

/// A spec error as lines (one per problem).
fn explain(e: &SpecError) -> String {
    match e {
        SpecError::Flow(problems) => problems.0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n  "),
        other => other.to_string().trim_start_matches("invalid agent definition: ").to_string(),
    }
}

/// Checks agent files; prints `FILE: ok` or `FILE:LINE: node NODE: problem` lines. Returns
/// whether all were valid.
pub fn check(files: &[std::path::PathBuf]) -> anyhow::Result<bool> {
    let mut out = std::io::stdout();
    let mut all_ok = true;
    for file in files {
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
        match AgentSpec::from_yaml(&text) {
            Ok(spec) => writeln!(out, "{}: ok (agent {:?}, {} nodes)", file.display(), spec.name, spec.flow.len())?,
            Err(e) => {
                all_ok = false;
                for line in problem_lines(file, &e) {
                    writeln!(out, "{line}")?;
                }
            }
        }
    }
    Ok(all_ok)
}

/// `FILE:LINE: node `ID`: message`, one line per problem, as compilers write them.
fn problem_lines(file: &Path, e: &SpecError) -> Vec<String> {
    e.problems()
        .iter()
        .map(|p| {
            let at = p.line.map(|l| format!(":{l}")).unwrap_or_default();
            let node = p.node.as_ref().map(|n| format!(" node `{n}`:")).unwrap_or_default();
            format!("{}{at}:{node} {}", file.display(), p.message)
        })
        .collect()
}

/// The client of `model` (the embedded model started, and kept running while the handle
/// lives, only when `needed`).
pub fn open_model(rt: &tokio::runtime::Runtime, model: ChatModel, needed: bool, out: &mut impl Write) -> anyhow::Result<(Option<ChatClient>, Option<EmbeddedLlm>)> {
    Ok(match model {
        ChatModel::Remote(client) => (Some(client), None),
        ChatModel::Embedded(_) if !needed => (None, None),
        ChatModel::Embedded(dir) => match EmbeddedLlmConfig::in_dir(&dir, 1).map(|config| rt.block_on(EmbeddedLlm::start_and_wait(config))) {
            Ok(Ok(llm)) => {
                writeln!(out, "  [llm: the embedded model ({}), on this machine]", crate::embedded_llm::MODEL_FILE)?;
                (Some(llm.model().client.clone()), Some(llm))
            }
            Ok(Err(e)) | Err(e) => {
                writeln!(out, "  [llm: {e}; give --llm-base for an OpenAI-compatible API]")?;
                (None, None)
            }
        },
    })
}

/// The model `parley chat` gives an agent's `llm` nodes.
pub enum ChatModel {
    /// An OpenAI-compatible API.
    Remote(ChatClient),
    /// The embedded model installed in this directory.
    Embedded(std::path::PathBuf),
}

/// Talks to an agent as text on stdin and stdout; keys as `#1004` (the keypad).
pub fn chat(agent: &str, model: ChatModel) -> anyhow::Result<()> {
    let spec = load_agent(agent)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut out = std::io::stdout();
    let uses_llm = spec.flow.iter().any(|n| matches!(n, parley_agent::flow::Node::Llm(_)));
    let (model, embedded) = open_model(&rt, model, uses_llm, &mut out)?;
    let tools = Runners { tools: BuiltInTools, model };
    let meaning = crate::speech::meaning_in(&crate::config::ServeConfig::default().speech_dir);
    let mut convo = Conversation::new(spec, CallContext::now("anonymous")).with_encoder(meaning);
    let stdin = std::io::stdin();
    writeln!(out, "Talking to agent {:?}. Type what you would say; keys as `#1004` (the keypad). Ctrl-D ends.", convo.spec().name)?;
    let start = convo.start(Instant::now());
    let mut end = run(&rt, &tools, &mut convo, start, &mut out)?;
    let mut lines = stdin.lock().lines();
    while !end {
        let Some(line) = lines.next() else { break };
        let line = line?;
        let now = Instant::now();
        let actions = match line.trim().strip_prefix('#') {
            Some(keys) => keys.chars().flat_map(|k| convo.handle(now, Input::Key(k))).collect(),
            None => convo.handle(now, Input::Said(line)),
        };
        end = run(&rt, &tools, &mut convo, actions, &mut out)?;
        out.flush()?;
    }
    drop(embedded);
    Ok(())
}

/// What runs the agent's tools and its model.
struct Runners {
    tools: BuiltInTools,
    model: Option<ChatClient>,
}

impl Runners {
    /// Streams `request`'s answer into the conversation: what it says next.
    fn complete(&self, rt: &tokio::runtime::Runtime, convo: &mut Conversation, request: CompletionRequest, out: &mut impl Write) -> anyhow::Result<Vec<Action>> {
        let id = request.id;
        let Some(model) = &self.model else {
            writeln!(out, "  [llm: no model]")?;
            return Ok(convo.handle(Instant::now(), Input::Completion { id, part: CompletionPart::Failed("no model".into()) }));
        };
        let mut actions = Vec::new();
        let parts = rt.block_on(async {
            let mut parts = Vec::new();
            match model.stream(&request.messages, &request.tools, request.max_tokens).await {
                Err(e) => parts.push(CompletionPart::Failed(e.to_string())),
                Ok(mut stream) => loop {
                    match stream.next().await {
                        Some(Ok(events)) => parts.push(CompletionPart::Events(events)),
                        Some(Err(e)) => {
                            parts.push(CompletionPart::Failed(e.to_string()));
                            break;
                        }
                        None => {
                            parts.push(CompletionPart::End);
                            break;
                        }
                    }
                },
            }
            parts
        });
        for part in parts {
            match &part {
                CompletionPart::Failed(why) => writeln!(out, "  [llm failed: {why}]")?,
                CompletionPart::Events(events) => {
                    for e in events {
                        if let StreamEvent::ToolCall { name, arguments, .. } = e {
                            writeln!(out, "  [llm calls {name} {arguments}]")?;
                        }
                    }
                }
                CompletionPart::End => {}
            }
            actions.extend(convo.handle(Instant::now(), Input::Completion { id, part }));
        }
        Ok(actions)
    }
}

/// Shows what the agent does, running its tools; returns whether the conversation ended.
fn run(rt: &tokio::runtime::Runtime, runners: &Runners, convo: &mut Conversation, actions: Vec<Action>, out: &mut impl Write) -> anyhow::Result<bool> {
    let mut pending = actions;
    let mut end = false;
    while !pending.is_empty() {
        let mut next = Vec::new();
        for a in std::mem::take(&mut pending) {
            match a {
                Action::Say(t) => writeln!(out, "agent> {t}")?,
                Action::CallTool(call) => {
                    let args: Vec<String> = call.args.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    let result = rt.block_on(runners.tools.run(call.clone()));
                    let shown = match &result.outcome {
                        ToolOutcome::Done { outcome, .. } => outcome.clone(),
                        ToolOutcome::Failed(why) => format!("failed: {why}"),
                    };
                    writeln!(out, "  [tool {} ({}) {}: {shown}]", call.tool, call.operation, args.join(" "))?;
                    next.extend(convo.handle(Instant::now(), Input::Tool(result)));
                }
                Action::Transfer(to) => {
                    writeln!(out, "[transfer to {to}]")?;
                    end = true;
                }
                Action::WarmTransfer(to) => {
                    writeln!(out, "[warm transfer to {to}]")?;
                    end = true;
                }
                Action::Hangup => {
                    writeln!(out, "[agent hung up]")?;
                    end = true;
                }
                // A warm-up would only hold the terminal up.
                Action::Complete(request) if request.max_tokens == 0 => {}
                Action::Complete(request) => next.extend(runners.complete(rt, convo, request, out)?),
                Action::CancelCompletion(_) => {}
                Action::CollectPayment(_) => {
                    writeln!(out, "[card payments are taken on phone calls only]")?;
                    next.extend(convo.handle(Instant::now(), Input::Payment(PaymentResult::Unavailable)));
                }
            }
        }
        pending = next;
    }
    if let Some(node) = convo.node().filter(|_| !end) {
        writeln!(out, "  [at node {node}]")?;
    }
    Ok(end || convo.done())
}
