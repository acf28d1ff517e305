//! Fakes of the providers Parley talks to (speech, OpenAI-compatible chat completions, a Shopify
//! store), for tests; see README.md.

use std::sync::{Arc, Mutex};

pub mod deepgram;
pub mod elevenlabs;
pub mod google_calendar;
pub mod hubspot;
pub mod openai;
pub mod openai_chat;
pub mod radicale;
pub mod shopify;
pub mod zendesk;

/// The key every fake accepts.
pub const KEY: &str = "test-key-parley";

/// How a fake answers the next requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// As documented, successfully.
    Work,
    /// An HTTP status (with the provider's error body), or for a WebSocket a close with this
    /// code after the request was read.
    Fail(u16),
    /// Drops the connection in the middle of the answer (after the first audio of a voice).
    Cut,
    /// Reads the request and never answers.
    Hang,
}

/// State shared by a fake and its handlers.
pub(crate) struct Shared<T> {
    pub behaviour: Mutex<Behaviour>,
    pub seen: Mutex<Vec<T>>,
}

impl<T> Shared<T> {
    pub fn new() -> Arc<Shared<T>> {
        Arc::new(Shared { behaviour: Mutex::new(Behaviour::Work), seen: Mutex::new(Vec::new()) })
    }

    pub fn behaviour(&self) -> Behaviour {
        self.behaviour.lock().unwrap().clone()
    }
}

/// Serves `app` on a loopback port; returns `http://127.0.0.1:PORT`.
pub(crate) async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("local address"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

/// A tone of `hz` at `rate` lasting 60 ms per character of `text` (at most 4 s): what a fake
/// voice says for `text`.
pub fn tone(text: &str, hz: f32, rate: u32) -> Vec<i16> {
    let ms = (text.chars().count() as u32 * 60).clamp(200, 4000);
    let n = (rate * ms / 1000) as usize;
    (0..n).map(|i| ((i as f32 * hz * std::f32::consts::TAU / rate as f32).sin() * 8000.0) as i16).collect()
}

/// The strength of `hz` in `pcm` against the signal's power (Goertzel), 0 to about 1.
pub fn tone_share(pcm: &[i16], hz: f32, rate: u32) -> f32 {
    if pcm.is_empty() {
        return 0.0;
    }
    let w = std::f32::consts::TAU * hz / rate as f32;
    let (mut s1, mut s2) = (0f32, 0f32);
    let mut energy = 0f32;
    for &x in pcm {
        let x = f32::from(x) / 32768.0;
        energy += x * x;
        let s = x + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
    if energy == 0.0 { 0.0 } else { 2.0 * power / (energy * pcm.len() as f32) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_is_found_at_its_pitch_only() {
        let t = tone("hello there", 700.0, 8000);
        assert!(tone_share(&t, 700.0, 8000) > 0.8);
        assert!(tone_share(&t, 900.0, 8000) < 0.05);
    }
}
