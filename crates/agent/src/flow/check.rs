//! Checks a flow before it takes a call: every node it names exists, templates and conditions
//! parse, tools and intents are declared, no loop runs without the caller, and so on. Each
//! problem names its node, and its line when the agent came from a YAML file.

use std::collections::{HashMap, HashSet};

use super::{Expect, Node};
use crate::intent::IntentSet;
use crate::spec::AgentSpec;
use crate::tools;
use crate::vars::{condition_name, template_names};

/// One thing wrong with an agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The node it is in, if any.
    pub node: Option<String>,
    /// Its line in the YAML file, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.line, &self.node) {
            (Some(l), Some(n)) => write!(f, "line {l}, node `{n}`: {}", self.message),
            (None, Some(n)) => write!(f, "node `{n}`: {}", self.message),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            (None, None) => write!(f, "{}", self.message),
        }
    }
}

/// Everything wrong with an agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let all: Vec<String> = self.0.iter().map(Problem::to_string).collect();
        write!(f, "{}", all.join("; "))
    }
}

impl Problems {
    /// Puts each problem's line from the YAML `text` the agent was read from (the line of its
    /// node's `id:`).
    pub fn locate(mut self, text: &str) -> Problems {
        for p in &mut self.0 {
            if let Some(node) = &p.node {
                p.line = node_line(text, node);
            }
        }
        self
    }
}

/// The line (from 1) where node `id` is declared in a YAML text.
fn node_line(text: &str, id: &str) -> Option<usize> {
    text.lines().position(|l| {
        let l = l.trim_start();
        let l = l.strip_prefix("- ").unwrap_or(l).trim_start();
        let Some(v) = l.strip_prefix("id:") else { return false };
        let v = v.split(" #").next().unwrap_or("").trim();
        v.trim_matches(['"', '\'']) == id
    }).map(|i| i + 1)
}

struct Checker<'a> {
    spec: &'a AgentSpec,
    intents: IntentSet,
    ids: HashSet<&'a str>,
    out: Vec<Problem>,
}

impl<'a> Checker<'a> {
    fn problem(&mut self, node: Option<&str>, message: String) {
        self.out.push(Problem { node: node.map(String::from), line: None, message });
    }

    fn template(&mut self, node: &str, field: &str, text: &str) {
        if let Err(e) = template_names(text) {
            self.problem(Some(node), format!("{field}: {e}"));
        }
    }

    fn target(&mut self, node: &str, target: &str) {
        if !self.ids.contains(target) {
            self.problem(Some(node), format!("goes to `{target}`, which is no node of this flow"));
        }
    }

    fn gather(&mut self, g: &super::Gather) {
        let id = g.id.as_str();
        for (field, text) in [("prompt", &g.prompt), ("no_input", &g.no_input), ("no_match", &g.no_match)] {
            if let Some(t) = text {
                self.template(id, field, t);
            }
        }
        match g.expect {
            Expect::Intent => {
                if g.routes.is_empty() {
                    self.problem(Some(id), "an intent gather needs routes (intent: node)".into());
                }
                for intent in g.routes.keys().chain(&g.intents).chain(g.keys.values()).chain(&g.on_number) {
                    if !self.intents.has(intent) {
                        self.problem(Some(id), format!("`{intent}` is not an intent of this agent (declare it under intents)"));
                    } else if !g.routes.contains_key(intent) {
                        self.problem(Some(id), format!("intent `{intent}` has no route"));
                    }
                }
                if let Some(intent) = &g.on_number {
                    if self.intents.has(intent) && self.intents.number_slot(intent).is_none() {
                        self.problem(Some(id), format!("on_number: intent `{intent}` has no number slot"));
                    }
                }
            }
            Expect::YesNo => {
                for k in g.routes.keys().filter(|k| !matches!(k.as_str(), "yes" | "no")) {
                    self.problem(Some(id), format!("a yes_no gather routes only yes and no, not `{k}`"));
                }
                if !(g.routes.contains_key("yes") && g.routes.contains_key("no")) {
                    self.problem(Some(id), "a yes_no gather needs routes for yes and no".into());
                }
            }
            Expect::Number | Expect::Text | Expect::Date => {
                if g.save_as.is_none() {
                    self.problem(Some(id), "a number, text or date gather needs save_as".into());
                }
                if g.expect == Expect::Text && !g.routes.is_empty() {
                    self.problem(Some(id), "a text gather takes whatever is said: routes are for intent, yes_no and number gathers; use next".into());
                }
                // A number gather's routes: what the caller may ask for instead of answering.
                for intent in g.routes.keys().filter(|i| !self.intents.has(i)).cloned().collect::<Vec<_>>() {
                    self.problem(Some(id), format!("`{intent}` is not an intent of this agent (declare it under intents)"));
                }
            }
        }
        if g.digits.min < 3 || g.digits.max > 8 || g.digits.min > g.digits.max {
            self.problem(Some(id), "digits: min and max must be 3 to 8, min at most max".into());
        }
        if g.timeout_ms.is_some_and(|t| !(1000..=60000).contains(&t)) {
            self.problem(Some(id), "timeout_ms must be 1000 to 60000".into());
        }
        for key in g.keys.keys() {
            if !matches!(key.as_str(), "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" | "*" | "#") {
                self.problem(Some(id), format!("keys: `{key}` is not a keypad key (0-9, * or #)"));
            }
        }
        if let Some(name) = &g.save_as {
            self.variable(id, name);
        }
    }

    fn variable(&mut self, node: &str, name: &str) {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            self.problem(Some(node), format!("`{name}` is not a variable name (letters, digits, _)"));
        }
    }

    fn tool(&mut self, n: &super::ToolNode) {
        let id = n.id.as_str();
        self.template(id, "filler", &n.filler);
        for (arg, t) in &n.args {
            self.template(id, &format!("args.{arg}"), t);
        }
        if let Some(v) = &n.save_as {
            self.variable(id, v);
        }
        let Some(def) = self.spec.tools.get(&n.tool) else {
            return self.problem(Some(id), format!("tool `{}` is not declared under tools", n.tool));
        };
        let Some(op) = tools::operation(&def.operation) else { return };
        let (args, outcomes) = (def.arg_names(), def.outcome_names());
        for arg in n.args.keys().filter(|a| !args.contains(a)) {
            self.problem(Some(id), format!("{} takes no argument `{arg}` (it takes {})", op.name, args.join(", ")));
        }
        if !op.needs_one_of.is_empty() && !op.needs_one_of.iter().any(|a| n.args.contains_key(*a)) {
            self.problem(Some(id), format!("{} needs one of {}", op.name, op.needs_one_of.join(", ")));
        }
        for outcome in n.on.keys().filter(|o| o.as_str() != "error" && !outcomes.contains(o)) {
            self.problem(Some(id), format!("{} has no outcome `{outcome}` (it has {})", op.name, outcomes.join(", ")));
        }
    }

    fn llm(&mut self, n: &super::LlmNode) {
        let id = n.id.as_str();
        self.template(id, "goal", &n.goal);
        self.template(id, "filler", &n.filler);
        if let Some(p) = &n.prompt {
            self.template(id, "prompt", p);
        }
        if n.goal.trim().is_empty() {
            self.problem(Some(id), "an llm node needs a goal".into());
        }
        if n.exits.is_empty() {
            self.problem(Some(id), "an llm node needs at least one exit".into());
        }
        if !(1..=100).contains(&n.max_turns) {
            self.problem(Some(id), "max_turns must be 1 to 100".into());
        }
        let function_name = |s: &str| !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        for (name, exit) in &n.exits {
            if !function_name(name) {
                self.problem(Some(id), format!("exit `{name}`: a name of letters, digits, _ and -, at most 64"));
            }
            if n.tools.contains(name) {
                self.problem(Some(id), format!("exit `{name}` has a tool's name"));
            }
            if exit.when.trim().is_empty() && exit.intent.is_none() {
                self.problem(Some(id), format!("exit `{name}` needs a when (or an intent)"));
            }
            if let Some(intent) = exit.intent.as_deref().filter(|i| !self.intents.has(i)) {
                self.problem(Some(id), format!("exit `{name}`: `{intent}` is not an intent of this agent (declare it under intents)"));
            }
        }
        for tool in &n.tools {
            if !function_name(tool) {
                self.problem(Some(id), format!("tool `{tool}`: the model calls tools by name: letters, digits, _ and -, at most 64"));
            }
            if !self.spec.tools.contains_key(tool) {
                self.problem(Some(id), format!("tool `{tool}` is not declared under tools"));
            }
        }
        for (tool, args) in &n.fixed {
            if !n.tools.contains(tool) {
                self.problem(Some(id), format!("fixed: `{tool}` is not one of the node's tools"));
                continue;
            }
            let def = self.spec.tools.get(tool);
            let takes = def.map(|d| d.arg_names()).unwrap_or_default();
            for (arg, t) in args {
                self.template(id, &format!("fixed.{tool}.{arg}"), t);
                if let Some(d) = def.filter(|_| !takes.contains(arg)) {
                    self.problem(Some(id), format!("fixed: {} takes no argument `{arg}` (it takes {})", d.operation, takes.join(", ")));
                }
            }
        }
    }

    fn node(&mut self, i: usize, node: &'a Node) {
        let id = node.id();
        for t in node.targets() {
            self.target(id, t);
        }
        if node.falls_through() && i + 1 == self.spec.flow.len() {
            self.problem(Some(id), "the last node needs a next (or ends the call)".into());
        }
        match node {
            Node::Say { text, .. } => self.template(id, "text", text),
            Node::Gather(g) => self.gather(g),
            Node::Route { cases, .. } => {
                for c in cases {
                    if let Err(e) = condition_name(&c.when) {
                        self.problem(Some(id), e.to_string());
                    }
                }
            }
            Node::Tool(n) => self.tool(n),
            Node::Llm(n) => self.llm(n),
            Node::Set { values, .. } => {
                for (k, v) in values {
                    self.variable(id, k);
                    self.template(id, k, v);
                }
            }
            Node::Hours { .. } => {
                if self.spec.opening_hours.is_none() {
                    self.problem(Some(id), "an hours node needs the agent's opening_hours".into());
                }
            }
            Node::Transfer { to, say, .. } => {
                self.template(id, "say", say);
                if let Some(to) = to.as_deref().filter(|t| !["sip:", "sips:", "tel:"].iter().any(|s| t.starts_with(s))) {
                    self.problem(Some(id), format!("to: `{to}` is not a sip:, sips: or tel: URI"));
                }
            }
            Node::Message { prompt, thanks, .. } => {
                self.template(id, "prompt", prompt);
                self.template(id, "thanks", thanks);
            }
            Node::Pay { amount_cents, reference, .. } => {
                self.template(id, "amount_cents", amount_cents);
                self.template(id, "reference", reference);
            }
            Node::End { say, .. } => {
                if let Some(s) = say {
                    self.template(id, "say", s);
                }
            }
        }
    }

    /// Nodes that go on without the caller (say, route, set, hours, tool) must not loop.
    fn loops(&mut self) {
        let flow = &self.spec.flow;
        let index: HashMap<&str, usize> = flow.iter().enumerate().map(|(i, n)| (n.id(), i)).collect();
        let unattended = |n: &Node| matches!(n, Node::Say { .. } | Node::Route { .. } | Node::Set { .. } | Node::Hours { .. } | Node::Tool(_));
        let next = |i: usize| -> Vec<usize> {
            let n = &flow[i];
            let mut t: Vec<usize> = n.targets().iter().filter_map(|t| index.get(t).copied()).collect();
            if n.falls_through() && i + 1 < flow.len() {
                t.push(i + 1);
            }
            t
        };
        // Colours: 0 unseen, 1 on the path, 2 done.
        let mut colour = vec![0u8; flow.len()];
        for start in 0..flow.len() {
            if colour[start] != 0 || !unattended(&flow[start]) {
                continue;
            }
            let mut stack = vec![(start, next(start), 0usize)];
            colour[start] = 1;
            while let Some((node, targets, k)) = stack.last_mut() {
                match targets.get(*k).copied() {
                    Some(t) => {
                        *k += 1;
                        if !unattended(&flow[t]) || colour[t] == 2 {
                            continue;
                        }
                        if colour[t] == 1 {
                            let id = flow[t].id().to_string();
                            self.problem(Some(&id), "it is in a loop that never waits for the caller".into());
                            colour[t] = 2;
                            continue;
                        }
                        colour[t] = 1;
                        stack.push((t, next(t), 0));
                    }
                    None => {
                        colour[*node] = 2;
                        stack.pop();
                    }
                }
            }
        }
    }
}

/// Everything wrong with `spec`'s flow, intents and tools.
pub(crate) fn check(spec: &AgentSpec) -> Vec<Problem> {
    let mut c = Checker { spec, intents: IntentSet::new(&spec.intents), ids: HashSet::new(), out: Vec::new() };
    for n in &spec.flow {
        if !c.ids.insert(n.id()) {
            c.problem(Some(n.id()), "another node has this id".into());
        }
        if n.id().is_empty() {
            c.problem(None, format!("a {} node has an empty id", n.kind()));
        }
    }
    for (name, def) in &spec.intents {
        if def.examples.iter().all(|e| e.trim().is_empty()) {
            c.problem(None, format!("intent `{name}` has no examples"));
        }
        for slot in def.slots.keys() {
            if slot.is_empty() || !slot.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
                c.problem(None, format!("intent `{name}`: `{slot}` is not a variable name"));
            }
        }
    }
    for (name, def) in &spec.tools {
        if def.operation.starts_with("calendar.") && spec.opening_hours.is_none() {
            c.problem(None, format!("tool `{name}`: calendar tools book within the agent's opening_hours, which it does not have"));
        }
        if let Some(p) = def.problem() {
            c.problem(None, format!("tool `{name}`: {p}"));
        }
        if tools::operation(&def.operation).is_none() {
            let known: Vec<&str> = tools::CATALOGUE.iter().map(|o| o.name).collect();
            c.problem(None, format!("tool `{name}`: unknown operation `{}` (known: {})", def.operation, known.join(", ")));
        }
    }
    if let Some(p) = spec.opening_hours.as_ref().and_then(|h| h.problem()) {
        c.problem(None, p);
    }
    for (i, n) in spec.flow.iter().enumerate() {
        c.node(i, n);
    }
    c.loops();
    c.out
}
