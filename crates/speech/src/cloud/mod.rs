//! Cloud speech engines behind the same traits as the embedded ones, each speaking its
//! provider's documented wire format:
//!
//! - [`deepgram::DeepgramRecognizer`]: Deepgram's live transcription WebSocket (`/v1/listen`).
//! - [`openai::OpenAiRecognizer`] and [`openai::OpenAiVoice`]: the OpenAI-compatible
//!   `audio/transcriptions` and `audio/speech` endpoints (OpenAI, Azure OpenAI, vLLM, ...).
//! - [`elevenlabs::ElevenLabsVoice`]: ElevenLabs' streaming text-to-speech WebSocket
//!   (`/v1/text-to-speech/{voice_id}/stream-input`).
//!
//! None of them connects anywhere by itself: HTTP goes through the `reqwest::Client` and
//! WebSockets through the [`Dial`] the caller hands in, so the operator's egress policy (no
//! private addresses unless allowed) decides what is reached. A tenant's account is an
//! [`Account`]: the API base (https, or http where the operator allows the host) and the key.
//! Errors name the provider and a coarse reason, never the audio or the text.
//!
//! Calls use them through [`crate::failover`], which hands a turn or a sentence to the
//! embedded engine when the provider fails, so the caller hears nothing odd.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::WebSocketStream;

use crate::SpeechError;

pub mod deepgram;
pub mod elevenlabs;
pub mod openai;

/// Opens TCP connections for WebSockets, under the operator's egress policy.
pub trait Dial: Send + Sync {
    /// A connection to `host:port`, or an error when the policy refuses every address of it.
    fn dial<'a>(&'a self, host: &'a str, port: u16) -> Pin<Box<dyn Future<Output = std::io::Result<TcpStream>> + Send + 'a>>;
}

/// A tenant's account with a provider.
#[derive(Clone)]
pub struct Account {
    /// API base without a trailing slash (`https://api.deepgram.com`).
    pub api_base: String,
    /// The API key.
    pub key: SecretString,
}

/// A byte stream a WebSocket runs over (TCP, or TLS over TCP).
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An open WebSocket to a provider.
pub(crate) type Socket = WebSocketStream<Box<dyn Io>>;

/// A provider error with a coarse reason (`deepgram: unauthorized (401)`).
pub(crate) fn unavailable(provider: &str, reason: impl std::fmt::Display) -> SpeechError {
    SpeechError::Unavailable(format!("{provider}: {reason}"))
}

/// What an HTTP status from a provider means, in words.
pub(crate) fn status_reason(status: u16) -> &'static str {
    match status {
        400 | 422 => "request refused",
        401 | 403 => "unauthorized",
        404 => "not found",
        408 | 504 => "timed out",
        413 => "too large",
        429 => "rate limited",
        500..=599 => "provider error",
        _ => "unexpected answer",
    }
}

/// The `ws`/`wss` URL for `path` under an `http`/`https` API base.
pub(crate) fn ws_url(base: &str, path_and_query: &str) -> Result<url::Url, SpeechError> {
    let ws = match base.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}{path_and_query}"),
        Some(("http", rest)) => format!("ws://{rest}{path_and_query}"),
        _ => return Err(SpeechError::Protocol("the provider's API base must be http(s)".into())),
    };
    url::Url::parse(&ws).map_err(|_| SpeechError::Protocol("the provider's API base is not a URL".into()))
}

/// Opens a WebSocket to `url` with `headers` (TLS for `wss`, checked against the web's root
/// certificates), through `dial`.
pub(crate) async fn connect(provider: &str, dial: &dyn Dial, url: &url::Url, headers: &[(&'static str, &SecretString)]) -> Result<Socket, SpeechError> {
    let host = url.host_str().ok_or_else(|| SpeechError::Protocol("no host".into()))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = url.port_or_known_default().unwrap_or(443);
    let tcp = dial.dial(host, port).await.map_err(|e| unavailable(provider, format!("cannot connect ({})", e.kind())))?;
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn Io> = if url.scheme() == "wss" {
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|_| SpeechError::Protocol("bad host name".into()))?;
        let tls = tls_connector()?.connect(name, tcp).await.map_err(|e| unavailable(provider, format!("TLS failed ({})", e.kind())))?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let mut request = url.as_str().into_client_request().map_err(|_| SpeechError::Protocol("bad WebSocket URL".into()))?;
    for (name, value) in headers {
        let value = HeaderValue::from_str(value.expose_secret()).map_err(|_| SpeechError::Protocol("bad header value".into()))?;
        request.headers_mut().insert(*name, value);
    }
    match tokio_tungstenite::client_async(request, stream).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let status = response.status().as_u16();
            Err(unavailable(provider, format!("{} ({status})", status_reason(status))))
        }
        Err(e) => Err(unavailable(provider, format!("WebSocket handshake failed ({})", coarse(&e)))),
    }
}

/// A WebSocket error in a few words (never a payload).
pub(crate) fn coarse(e: &tokio_tungstenite::tungstenite::Error) -> &'static str {
    use tokio_tungstenite::tungstenite::Error;
    match e {
        Error::ConnectionClosed | Error::AlreadyClosed => "closed",
        Error::Io(_) => "connection lost",
        Error::Tls(_) => "TLS",
        Error::Protocol(_) => "protocol violation",
        Error::Capacity(_) => "message too large",
        _ => "error",
    }
}

fn tls_connector() -> Result<tokio_rustls::TlsConnector, SpeechError> {
    use tokio_rustls::rustls;
    static CONFIG: std::sync::OnceLock<Option<Arc<rustls::ClientConfig>>> = std::sync::OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions().ok()?;
        Some(Arc::new(builder.with_root_certificates(roots).with_no_client_auth()))
    });
    config.clone().map(tokio_rustls::TlsConnector::from).ok_or_else(|| SpeechError::Protocol("no TLS configuration".into()))
}

/// A model or voice name as a query or path value (letters, digits, `-`, `.`, `_` pass;
/// anything else is dropped).
pub(crate) fn query_safe(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')).collect()
}

/// 16-bit little-endian bytes of 8 kHz PCM.
pub(crate) fn le_bytes(pcm: &[i16]) -> Vec<u8> {
    pcm.iter().flat_map(|s| s.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_urls_follow_the_api_base() {
        assert_eq!(ws_url("https://api.deepgram.com", "/v1/listen?x=1").unwrap().as_str(), "wss://api.deepgram.com/v1/listen?x=1");
        assert_eq!(ws_url("http://127.0.0.1:9000", "/v1/listen").unwrap().as_str(), "ws://127.0.0.1:9000/v1/listen");
        assert!(ws_url("ftp://x", "/").is_err());
        assert_eq!(query_safe("nova-3&x=1"), "nova-3x1");
    }
}
