//! ElevenLabs streaming text to speech over its WebSocket.
//!
//! Wire format (<https://elevenlabs.io/docs/api-reference/text-to-speech/v-1-text-to-speech-voice-id-stream-input>):
//! - `GET wss://api.elevenlabs.io/v1/text-to-speech/{voice_id}/stream-input?model_id=..&output_format=ulaw_8000`
//!   with the `xi-api-key` header.
//! - The first message opens the session: `{"text": " ", "voice_settings": {..}}` (a single
//!   space); then the text, ending in a space, with `"flush": true` so it is spoken now; then
//!   `{"text": ""}` ends the input.
//! - The server answers `{"audio": "<base64>", "isFinal": null, ..}` messages (here 8 kHz
//!   mu-law, the telephone's own format, so nothing is resampled), then `{"isFinal": true}`,
//!   and closes. An error is a message with `error`/`message` instead of audio, or a close with a
//!   code other than 1000 (1008 for a bad key or voice).

use std::sync::Arc;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use super::{coarse, connect, query_safe, unavailable, ws_url, Account, Dial};
use crate::failover::StreamingVoice;
use crate::SpeechError;

const PROVIDER: &str = "elevenlabs";

/// An ElevenLabs voice as a [`StreamingVoice`].
pub struct ElevenLabsVoice {
    account: Account,
    voice_id: String,
    model: String,
    dial: Arc<dyn Dial>,
    name: String,
}

impl ElevenLabsVoice {
    /// `voice_id` on `account` with `model` (`eleven_flash_v2_5` when empty).
    pub fn new(account: Account, voice_id: &str, model: &str, dial: Arc<dyn Dial>) -> ElevenLabsVoice {
        let model = if model.is_empty() { "eleven_flash_v2_5" } else { model };
        let name = format!("elevenlabs:{model}:{voice_id}");
        ElevenLabsVoice { account, voice_id: query_safe(voice_id), model: query_safe(model), dial, name }
    }

    async fn run(account: Account, path: String, dial: Arc<dyn Dial>, text: String, tx: &mpsc::Sender<Result<Vec<i16>, SpeechError>>) -> Result<(), SpeechError> {
        let url = ws_url(&account.api_base, &path)?;
        let mut ws = connect(PROVIDER, dial.as_ref(), &url, &[("xi-api-key", &account.key)]).await?;
        let lost = |e: tokio_tungstenite::tungstenite::Error| unavailable(PROVIDER, format!("stream failed ({})", coarse(&e)));
        let open = serde_json::json!({ "text": " ", "voice_settings": { "stability": 0.5, "similarity_boost": 0.8 } });
        let say = serde_json::json!({ "text": format!("{} ", text.trim()), "flush": true });
        for message in [open, say, serde_json::json!({ "text": "" })] {
            ws.send(Message::text(message.to_string())).await.map_err(lost)?;
        }
        while let Some(message) = ws.next().await {
            match message.map_err(lost)? {
                Message::Text(body) => {
                    let v: serde_json::Value = serde_json::from_str(body.as_str()).map_err(|_| SpeechError::Protocol("elevenlabs: a message is not JSON".into()))?;
                    if let Some(audio) = v.get("audio").and_then(|a| a.as_str()) {
                        let bytes = base64::engine::general_purpose::STANDARD.decode(audio).map_err(|_| SpeechError::Protocol("elevenlabs: audio is not base64".into()))?;
                        let pcm: Vec<i16> = bytes.iter().map(|&b| parley_media::g711::ulaw_to_linear(b)).collect();
                        if !pcm.is_empty() && tx.send(Ok(pcm)).await.is_err() {
                            return Ok(());
                        }
                    } else if v.get("error").is_some() || v.get("message").is_some() {
                        return Err(unavailable(PROVIDER, "refused the text"));
                    }
                    if v.get("isFinal").and_then(|f| f.as_bool()) == Some(true) {
                        return Ok(());
                    }
                }
                Message::Close(frame) => {
                    return match frame {
                        Some(f) if f.code != CloseCode::Normal => Err(unavailable(PROVIDER, format!("closed the stream ({})", u16::from(f.code)))),
                        _ => Err(unavailable(PROVIDER, "closed the stream before the end")),
                    };
                }
                _ => {}
            }
        }
        Err(unavailable(PROVIDER, "the stream ended without a close"))
    }
}

impl StreamingVoice for ElevenLabsVoice {
    fn stream(&self, text: &str) -> mpsc::Receiver<Result<Vec<i16>, SpeechError>> {
        let (tx, rx) = mpsc::channel(16);
        let path = format!("/v1/text-to-speech/{}/stream-input?model_id={}&output_format=ulaw_8000", self.voice_id, self.model);
        let (account, dial, text) = (self.account.clone(), self.dial.clone(), text.to_string());
        tokio::spawn(async move {
            if let Err(e) = ElevenLabsVoice::run(account, path, dial, text, &tx).await {
                let _ = tx.send(Err(e)).await;
            }
        });
        rx
    }

    fn voice_name(&self) -> &str {
        &self.name
    }

    fn provider(&self) -> &'static str {
        PROVIDER
    }
}
