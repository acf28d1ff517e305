//! OpenAI-compatible audio endpoints (OpenAI, Azure OpenAI, vLLM, any server with the same API).
//!
//! - Transcription (<https://platform.openai.com/docs/api-reference/audio/createTranscription>):
//!   `POST {base}/audio/transcriptions`, `multipart/form-data` with `file` (here a 8 kHz 16-bit
//!   WAV), `model`, `response_format=json`, `language` and an optional `prompt` (the turn's
//!   hint); the answer is `{"text": ..}`.
//! - Speech (<https://platform.openai.com/docs/api-reference/audio/createSpeech>):
//!   `POST {base}/audio/speech` with JSON `{model, input, voice, response_format: "pcm"}`; the
//!   body streams raw 24 kHz 16-bit little-endian mono samples, resampled here to 8 kHz.
//! - Both take `Authorization: Bearer <key>`; errors are a status with
//!   `{"error": {"message", "type", "code"}}` (<https://platform.openai.com/docs/guides/error-codes>),
//!   of which only the status is kept (401 unauthorized, 429 rate limited, 5xx provider error).

use std::time::Duration;

use secrecy::ExposeSecret;
use tokio::sync::mpsc;

use super::{status_reason, unavailable, Account};
use crate::failover::StreamingVoice;
use crate::resample::Resampler;
use crate::{BoxFuture, Recognizer, SpeechError, Utterance};

const PROVIDER: &str = "openai";

/// The sample rate of `response_format=pcm`.
const PCM_RATE: usize = 24_000;

/// The transcription endpoint as a [`Recognizer`].
pub struct OpenAiRecognizer {
    http: reqwest::Client,
    account: Account,
    model: String,
    timeout: Duration,
}

impl OpenAiRecognizer {
    /// A recognizer on `account` with `model` (`gpt-4o-mini-transcribe` when empty); `http`
    /// is the client the operator's egress policy built.
    pub fn new(http: reqwest::Client, account: Account, model: &str, timeout: Duration) -> OpenAiRecognizer {
        let model = if model.is_empty() { "gpt-4o-mini-transcribe" } else { model };
        OpenAiRecognizer { http, account, model: model.to_string(), timeout }
    }

    async fn run(&self, utterance: Utterance<'_>) -> Result<String, SpeechError> {
        let file = reqwest::multipart::Part::bytes(wav(utterance.pcm)).file_name("turn.wav").mime_str("audio/wav").map_err(|_| SpeechError::Protocol("mime".into()))?;
        let mut form = reqwest::multipart::Form::new().part("file", file).text("model", self.model.clone()).text("response_format", "json").text("language", "en");
        if let Some(hint) = utterance.hint {
            form = form.text("prompt", hint.to_string());
        }
        let response = self
            .http
            .post(format!("{}/audio/transcriptions", self.account.api_base))
            .bearer_auth(self.account.key.expose_secret())
            .multipart(form)
            .send()
            .await
            .map_err(|e| unavailable(PROVIDER, request_failure(&e)))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(unavailable(PROVIDER, format!("{} ({status})", status_reason(status))));
        }
        let body: serde_json::Value = response.json().await.map_err(|_| SpeechError::Protocol("openai: the answer is not JSON".into()))?;
        body.get("text").and_then(|t| t.as_str()).map(|t| t.trim().to_string()).ok_or_else(|| SpeechError::Protocol("openai: the answer has no text".into()))
    }
}

impl Recognizer for OpenAiRecognizer {
    fn transcribe<'a>(&'a self, utterance: Utterance<'a>) -> BoxFuture<'a, Result<String, SpeechError>> {
        Box::pin(async move { tokio::time::timeout(self.timeout, self.run(utterance)).await.map_err(|_| unavailable(PROVIDER, "no answer in time"))? })
    }

    fn provider(&self) -> &'static str {
        PROVIDER
    }
}

/// The speech endpoint as a [`StreamingVoice`].
pub struct OpenAiVoice {
    http: reqwest::Client,
    account: Account,
    model: String,
    voice: String,
    name: String,
}

impl OpenAiVoice {
    /// A voice on `account`: `model` (`gpt-4o-mini-tts` when empty) speaking as `voice`
    /// (`alloy` when empty).
    pub fn new(http: reqwest::Client, account: Account, model: &str, voice: &str) -> OpenAiVoice {
        let model = if model.is_empty() { "gpt-4o-mini-tts" } else { model };
        let voice = if voice.is_empty() { "alloy" } else { voice };
        let name = format!("openai:{model}:{voice}");
        OpenAiVoice { http, account, model: model.to_string(), voice: voice.to_string(), name }
    }
}

impl StreamingVoice for OpenAiVoice {
    fn stream(&self, text: &str) -> mpsc::Receiver<Result<Vec<i16>, SpeechError>> {
        let (tx, rx) = mpsc::channel(16);
        let request = self
            .http
            .post(format!("{}/audio/speech", self.account.api_base))
            .bearer_auth(self.account.key.expose_secret())
            .json(&serde_json::json!({ "model": self.model, "input": text, "voice": self.voice, "response_format": "pcm" }));
        tokio::spawn(async move {
            let result = async {
                let mut response = request.send().await.map_err(|e| unavailable(PROVIDER, request_failure(&e)))?;
                let status = response.status().as_u16();
                if status != 200 {
                    return Err(unavailable(PROVIDER, format!("{} ({status})", status_reason(status))));
                }
                let mut resampler = Resampler::new(PCM_RATE, 8000);
                let mut odd: Option<u8> = None;
                while let Some(bytes) = response.chunk().await.map_err(|_| unavailable(PROVIDER, "the answer was cut off"))? {
                    let samples = le_samples(&mut odd, &bytes);
                    let pcm = resampler.push(&samples);
                    if !pcm.is_empty() && tx.send(Ok(pcm)).await.is_err() {
                        return Ok(());
                    }
                }
                let _ = tx.send(Ok(resampler.finish())).await;
                Ok(())
            }
            .await;
            if let Err(e) = result {
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

/// Little-endian 16-bit samples from a byte chunk, carrying an odd byte to the next chunk.
fn le_samples(odd: &mut Option<u8>, bytes: &[u8]) -> Vec<i16> {
    let mut all = Vec::with_capacity(bytes.len() + 1);
    all.extend(odd.take());
    all.extend_from_slice(bytes);
    if all.len() % 2 == 1 {
        *odd = all.pop();
    }
    all.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
}

/// Why a request failed, in a few words (reqwest's messages may hold the URL).
fn request_failure(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    }
}

/// 8 kHz mono 16-bit PCM as a WAV file.
pub(crate) fn wav(pcm: &[i16]) -> Vec<u8> {
    let data = (pcm.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data as usize);
    out.extend_from_slice(&parley_media::wav::header(1, 8000, data));
    out.extend(super::le_bytes(pcm));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_split_across_chunks_are_joined() {
        let mut odd = None;
        let bytes = super::super::le_bytes(&[1, -2, 300]);
        let mut out = le_samples(&mut odd, &bytes[..3]);
        out.extend(le_samples(&mut odd, &bytes[3..]));
        assert_eq!(out, vec![1, -2, 300]);
        assert_eq!(odd, None);
    }

    #[test]
    fn the_wav_header_says_8_khz_16_bit_mono() {
        let w = wav(&[0; 10]);
        assert_eq!(w.len(), 64);
        assert_eq!(&w[..4], b"RIFF");
        assert_eq!(u32::from_le_bytes([w[24], w[25], w[26], w[27]]), 8000);
        assert_eq!(u32::from_le_bytes([w[40], w[41], w[42], w[43]]), 20);
    }
}
