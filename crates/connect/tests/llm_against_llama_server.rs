//! The chat client in JSON-reply mode against the real embedded model server (llama.cpp's
//! `llama-server` with the 0.5B model `scripts/setup.sh` installs, started by the test): a
//! warm-up whose prompt ends with the node's own opening words is accepted, and an answer after
//! it comes back as the offered function.
//!
//! Needs `scripts/setup.sh` (the embedded language model).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use parley_agent::llm::stream::StreamEvent;
use parley_connect::llm::ChatClient;
use secrecy::SecretString;
use serde_json::json;

struct LlamaServer(Child);

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The model server on a free loopback port, and a client for it as `parley serve` makes one.
async fn start() -> (LlamaServer, ChatClient) {
    let dir = std::env::var("PARLEY_LLM_DIR").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".local/share/parley/llm"));
    let server = dir.join("b11434-noamx/llama-server");
    let model = dir.join("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf");
    assert!(server.is_file() && model.is_file(), "the embedded language model is missing: run scripts/setup.sh");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(server)
        .arg("--model").arg(model)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--api-key", "test-key", "--threads", "2", "--parallel", "1", "--ctx-size", "4096"])
        .args(["--jinja", "--no-webui", "--cache-ram", "0", "--offline"])
        .stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null())
        .spawn()
        .expect("llama-server starts");
    let server = LlamaServer(child);
    let client = ChatClient::direct(&format!("http://127.0.0.1:{port}/v1"), SecretString::from("test-key"), "embedded").with_options(json!({"temperature": 0.0, "cache_prompt": true})).with_json_replies();
    for _ in 0..600 {
        if client.healthy().await {
            return (server, client);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("llama-server did not load its model within 60 s");
}

/// Every event of a completion, or its error.
async fn complete(client: &ChatClient, messages: &[serde_json::Value], tools: &[serde_json::Value], max_tokens: u32) -> Result<Vec<StreamEvent>, String> {
    let mut stream = client.stream(messages, tools, max_tokens).await.map_err(|e| e.to_string())?;
    let mut events = Vec::new();
    while let Some(part) = stream.next().await {
        events.extend(part.map_err(|e| e.to_string())?);
    }
    Ok(events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_up_after_the_nodes_opening_words_is_accepted() {
    let (_server, client) = start().await;
    let tools = [json!({"type": "function", "function": {"name": "done", "description": "Call when the caller has no more questions.", "parameters": {"type": "object", "properties": {}, "additionalProperties": false}}})];
    let mut messages = vec![
        json!({"role": "system", "content": "You are Sam, the phone assistant of Acme Outdoor. Answer in one short sentence."}),
        json!({"role": "assistant", "content": "Which of our shops would you like to hear about?"}),
    ];
    // The warm-up only reads the prompt (before the fix the server refused it: a grammar
    // cannot start after the assistant's own words).
    let warm_up = complete(&client, &messages, &tools, 0).await;
    assert!(warm_up.is_ok(), "the warm-up is accepted: {warm_up:?}");
    messages.push(json!({"role": "user", "content": "The one in Denver, please."}));
    let answer = complete(&client, &messages, &tools, 60).await.expect("an answer");
    let text: String = answer.iter().filter_map(|e| if let StreamEvent::Text(t) = e { Some(t.as_str()) } else { None }).collect();
    let called = answer.iter().any(|e| matches!(e, StreamEvent::ToolCall { name, .. } if name == "done"));
    assert!(!text.trim().is_empty() || called, "the model says something or calls an offered function: {answer:?}");
    assert!(!text.contains('{'), "what is said is the text of `say`, not the JSON around it: {text}");
}
