//! The fake OpenAI chat-completions server on a loopback port, for benches: it answers every
//! request with the same text, written at a model's pace. Prints its API base, then serves until
//! killed.
//!
//! `cargo run --release -p parley-fakes --example chat_server -- FIRST_MS BETWEEN_MS TEXT`
//! (FIRST_MS before the first event, BETWEEN_MS between events of about 7 characters).

use parley_fakes::openai_chat::{FakeChat, Reply};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let first: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(170);
    let between: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(35);
    let text = args.get(3).cloned().unwrap_or_else(|| "We are open Monday to Friday, 9 am to 5 pm. Is there anything else I can help with?".into());
    let fake = FakeChat::start(vec![Reply::Text(text)]).await;
    fake.pace(first, between);
    println!("{}", fake.url);
    std::future::pending::<()>().await;
}
