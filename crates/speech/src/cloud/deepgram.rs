//! Deepgram live transcription over its WebSocket, one connection per utterance.
//!
//! Wire format (<https://developers.deepgram.com/reference/speech-to-text-api/listen-streaming>):
//! - `GET wss://api.deepgram.com/v1/listen?model=..&encoding=linear16&sample_rate=8000&channels=1`
//!   with `Authorization: Token <key>`; a bad key is refused at the handshake (401).
//! - Audio goes up as binary messages; `{"type": "CloseStream"}` then asks the server to finish
//!   (<https://developers.deepgram.com/docs/close-stream>): it sends the remaining results,
//!   a `Metadata` message, and closes the connection.
//! - Results come as `{"type": "Results", "is_final": bool, "channel": {"alternatives":
//!   [{"transcript": ..}]}}`; the text of the utterance is the final results joined in order.
//! - A close with a code other than 1000 (1008 `DATA-0000` for audio it cannot decode, 1011
//!   `NET-0000`/`NET-0001` for its own failures and timeouts) is an error.
//!
//! [`DeepgramRecognizer::warm`] keeps one connection open ahead of the next turn, so the TCP,
//! TLS and WebSocket handshakes are not on the turn's path: it is opened when the recognizer is
//! made and after each turn, and kept open with `{"type": "KeepAlive"}` every 3 s (Deepgram
//! closes a stream that gets neither audio nor KeepAlive for 10 s,
//! <https://developers.deepgram.com/docs/audio-keep-alive>). A spare that died meanwhile is
//! replaced by a fresh connection for that turn.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use secrecy::SecretString;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use super::{coarse, connect, le_bytes, query_safe, unavailable, ws_url, Account, Dial, Socket};
use crate::{BoxFuture, Recognizer, SpeechError, Utterance};

const PROVIDER: &str = "deepgram";

/// Audio per binary message: 100 ms of 8 kHz linear16.
const CHUNK_SAMPLES: usize = 800;

/// The connection kept for the next turn, and which one it is (its keep-alive task stops when
/// another takes its place).
type SpareSlot = Arc<Mutex<Option<(u64, Socket)>>>;

/// Numbers the spare connections (a keep-alive task knows its own).
static NEXT_SPARE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How often a spare connection is kept alive.
const KEEP_ALIVE: Duration = Duration::from_secs(3);

/// Deepgram as a [`Recognizer`].
pub struct DeepgramRecognizer {
    account: Account,
    model: String,
    dial: Arc<dyn Dial>,
    timeout: Duration,
    /// The connection opened ahead of the next turn (with [`DeepgramRecognizer::warm`]).
    spare: Option<SpareSlot>,
}

impl DeepgramRecognizer {
    /// A recognizer on `account` with `model` (`nova-3` when empty); an utterance that has no
    /// text within `timeout` fails.
    pub fn new(account: Account, model: &str, dial: Arc<dyn Dial>, timeout: Duration) -> DeepgramRecognizer {
        let model = if model.is_empty() { "nova-3" } else { model };
        DeepgramRecognizer { account, model: model.to_string(), dial, timeout, spare: None }
    }

    /// Keeps a connection open ahead of each turn (see the module docs). Needs a tokio runtime.
    pub fn warm(mut self) -> DeepgramRecognizer {
        self.spare = Some(Arc::new(Mutex::new(None)));
        self.open_spare();
        self
    }

    /// Opens the next spare connection in the background and keeps it alive until taken.
    fn open_spare(&self) {
        let Some(slot) = self.spare.as_ref().map(Arc::downgrade) else { return };
        let (dial, request) = (self.dial.clone(), self.request());
        tokio::spawn(async move {
            let Ok((url, token)) = request else { return };
            let Ok(socket) = connect(PROVIDER, dial.as_ref(), &url, &[("authorization", &token)]).await else { return };
            let id = NEXT_SPARE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            {
                let Some(slot) = slot.upgrade() else { return };
                let mut spare = slot.lock().await;
                if spare.is_some() {
                    return;
                }
                *spare = Some((id, socket));
            }
            loop {
                tokio::time::sleep(KEEP_ALIVE).await;
                let Some(slot) = slot.upgrade() else { return };
                let mut spare = slot.lock().await;
                match spare.as_mut() {
                    Some((held, socket)) if *held == id => {
                        if socket.send(Message::text(r#"{"type":"KeepAlive"}"#)).await.is_err() {
                            *spare = None;
                            return;
                        }
                    }
                    _ => return,
                }
            }
        });
    }

    /// The stream's URL and the authorization header.
    fn request(&self) -> Result<(url::Url, SecretString), SpeechError> {
        let query = format!("/v1/listen?model={}&encoding=linear16&sample_rate=8000&channels=1&punctuate=true&smart_format=true", query_safe(&self.model));
        let url = ws_url(&self.account.api_base, &query)?;
        let token = SecretString::from(format!("Token {}", secrecy::ExposeSecret::expose_secret(&self.account.key)));
        Ok((url, token))
    }

    async fn run(&self, pcm: &[i16]) -> Result<String, SpeechError> {
        let lost = |e: tokio_tungstenite::tungstenite::Error| unavailable(PROVIDER, format!("stream failed ({})", coarse(&e)));
        let spare = match &self.spare {
            Some(slot) => slot.lock().await.take().map(|(_, socket)| socket),
            None => None,
        };
        self.open_spare();
        let (url, token) = self.request()?;
        let mut ws = match spare {
            // Nothing waiting on an idle stream means it is open; a close (Deepgram's
            // NET-0001 after 10 s without KeepAlive) or a lost connection means a fresh one.
            Some(mut ws) => match ws.next().now_or_never() {
                None => ws,
                Some(_) => connect(PROVIDER, self.dial.as_ref(), &url, &[("authorization", &token)]).await?,
            },
            None => connect(PROVIDER, self.dial.as_ref(), &url, &[("authorization", &token)]).await?,
        };
        for chunk in pcm.chunks(CHUNK_SAMPLES) {
            ws.send(Message::Binary(le_bytes(chunk).into())).await.map_err(lost)?;
        }
        ws.send(Message::text(r#"{"type":"CloseStream"}"#)).await.map_err(lost)?;
        let mut parts: Vec<String> = Vec::new();
        while let Some(message) = ws.next().await {
            match message.map_err(lost)? {
                Message::Text(text) => {
                    let v: serde_json::Value = serde_json::from_str(text.as_str()).map_err(|_| SpeechError::Protocol("deepgram: a message is not JSON".into()))?;
                    match v.get("type").and_then(|t| t.as_str()) {
                        Some("Results") if v.get("is_final").and_then(|f| f.as_bool()) == Some(true) => {
                            let words = v.pointer("/channel/alternatives/0/transcript").and_then(|t| t.as_str()).unwrap_or_default();
                            if !words.trim().is_empty() {
                                parts.push(words.trim().to_string());
                            }
                        }
                        // The summary comes last: everything is in.
                        Some("Metadata") => return Ok(parts.join(" ")),
                        _ => {}
                    }
                }
                Message::Close(frame) => {
                    return match frame {
                        Some(f) if f.code != CloseCode::Normal => Err(unavailable(PROVIDER, format!("closed the stream ({} {})", u16::from(f.code), short(f.reason.as_str())))),
                        _ => Ok(parts.join(" ")),
                    };
                }
                _ => {}
            }
        }
        Err(unavailable(PROVIDER, "the stream ended without a close"))
    }
}

impl Recognizer for DeepgramRecognizer {
    fn transcribe<'a>(&'a self, utterance: Utterance<'a>) -> BoxFuture<'a, Result<String, SpeechError>> {
        Box::pin(async move { tokio::time::timeout(self.timeout, self.run(utterance.pcm)).await.map_err(|_| unavailable(PROVIDER, "no answer in time"))? })
    }

    fn provider(&self) -> &'static str {
        PROVIDER
    }
}

/// Deepgram's close reasons are codes such as `NET-0001`; keep only such a code.
fn short(reason: &str) -> &str {
    let code = reason.split_whitespace().next().unwrap_or_default();
    if code.len() <= 12 && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') { code } else { "" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_keep_only_a_code() {
        assert_eq!(short("NET-0001 no audio received"), "NET-0001");
        assert_eq!(short("<script>"), "");
    }
}
