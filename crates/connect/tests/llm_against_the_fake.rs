//! The chat-completions client against the in-repo fake of OpenAI's documented API
//! (`parley_fakes::openai_chat`): streamed text, tool calls joined from fragments, usage,
//! the request it sends (streaming, usage, no storage, tools), and the ways providers fail:
//! a refused key, rate limits with their wait, server errors, a cut stream, a hang.

use std::time::Duration;

use parley_agent::llm::stream::{FinishReason, StreamError, StreamEvent};
use parley_connect::llm::{ChatClient, LlmError};
use parley_fakes::openai_chat::{FakeChat, Reply};
use parley_fakes::{Behaviour, KEY};
use serde_json::json;

/// A client with the default idle timeout (10 s): a loaded CI machine may take a second to
/// answer, and only the hang check wants the wait short.
fn client(fake: &FakeChat, key: &str) -> ChatClient {
    ChatClient::new(reqwest::Client::new(), &fake.url, secrecy::SecretString::from(key), "gpt-4o-mini")
}

async fn all(c: &ChatClient) -> Result<Vec<StreamEvent>, LlmError> {
    let messages = [json!({"role": "system", "content": "You are the Acme assistant."}), json!({"role": "user", "content": "Where is my order 1004?"})];
    let tools = [json!({"type": "function", "function": {"name": "find_order", "parameters": {"type": "object", "properties": {"number": {"type": "string"}}}}})];
    let mut s = c.stream(&messages, &tools, 200).await?;
    let mut out = Vec::new();
    while let Some(events) = s.next().await {
        out.extend(events?);
    }
    Ok(out)
}

#[tokio::test]
async fn text_and_tool_calls_stream_as_documented() {
    let fake = FakeChat::start(vec![Reply::ToolCalls(vec![("find_order".into(), "{\"number\": \"1004\"}".into())]), Reply::Text("Your order 1004 has shipped. Anything else?".into())]).await;
    let c = client(&fake, KEY);
    let first = all(&c).await.unwrap();
    assert_eq!(
        first,
        [
            StreamEvent::ToolCall { id: "call_0".into(), name: "find_order".into(), arguments: "{\"number\": \"1004\"}".into() },
            StreamEvent::Finished(FinishReason::ToolCalls),
            StreamEvent::Usage { prompt: 42, completion: 17 }
        ]
    );
    let second = all(&c).await.unwrap();
    let text: String = second.iter().filter_map(|e| if let StreamEvent::Text(t) = e { Some(t.as_str()) } else { None }).collect();
    assert_eq!(text, "Your order 1004 has shipped. Anything else?");
    assert!(second.contains(&StreamEvent::Finished(FinishReason::Stop)));
    let sent = &fake.seen()[0];
    assert_eq!((sent["stream"].clone(), sent["stream_options"]["include_usage"].clone(), sent["store"].clone()), (json!(true), json!(true), json!(false)));
    assert_eq!(sent["tools"][0]["function"]["name"], "find_order");
    assert_eq!(sent["model"], "gpt-4o-mini");
}

#[tokio::test]
async fn failures_are_named_without_the_providers_words() {
    let fake = FakeChat::start(vec![Reply::Text("A long answer that will be cut off before it ends.".into())]).await;
    assert_eq!(all(&client(&fake, "wrong-key")).await.err(), Some(LlmError::Unauthorized(401)));
    let c = client(&fake, KEY);
    fake.behave(Behaviour::Fail(429));
    assert_eq!(all(&c).await.err(), Some(LlmError::RateLimited(Duration::from_secs(2))), "the wait retry-after asks for");
    fake.behave(Behaviour::Fail(500));
    assert_eq!(all(&c).await.err(), Some(LlmError::Status(500)));
    fake.behave(Behaviour::Cut);
    assert_eq!(all(&c).await.err(), Some(LlmError::Stream(StreamError::Cut)));
    fake.behave(Behaviour::Hang);
    let mut impatient = client(&fake, KEY);
    impatient.idle_timeout = Duration::from_millis(800);
    assert_eq!(all(&impatient).await.err(), Some(LlmError::TimedOut));
    fake.behave(Behaviour::Work);
    assert!(all(&c).await.is_ok(), "and it works again");
}
