//! Twilio Media Streams: calls that reach a tenant's number through Twilio, served by the same
//! call task as SIP calls.
//!
//! 1. Twilio POSTs (or GETs) the call to `/twilio/voice` (the number's voice webhook). The
//!    request must carry a valid `X-Twilio-Signature` made with the auth token of the tenant's
//!    `twilio` integration: Base64(HMAC-SHA1(token, the full URL with its query string + for a
//!    POST each body parameter's name and value, sorted by name))
//!    (<https://www.twilio.com/docs/usage/webhooks/webhooks-security>). The `To` number picks the
//!    tenant and agent; unknown numbers and bad signatures get the same 403. The call is
//!    admitted like a SIP call (node capacity and draining, the tenant's concurrent calls and
//!    minutes, its allowed providers) or refused with `<Reject reason="busy|rejected">`. The
//!    answer is TwiML `<Connect><Stream>` to `/twilio/stream`, with the call's routing, the
//!    time it was issued and an HMAC of them as stream parameters, good for a minute and for one
//!    stream (<https://www.twilio.com/docs/voice/twiml/stream>).
//! 2. Twilio opens the WebSocket and sends `connected`, `start` (with those parameters),
//!    `media` (base64 mu-law, 8 kHz, 20 ms), `dtmf`, `mark` and `stop`
//!    (<https://www.twilio.com/docs/voice/media-streams/websocket-messages>). `start` must come
//!    within 5 s and messages are at most 64 KiB; pings are answered and other control or binary
//!    frames skipped (RFC 6455). The server checks the parameters, admits the call again (now
//!    holding its place), starts the call task, and sends back `media` and, on barge-in, `clear`.
//!    When the agent hangs up, a `mark` follows its last words and the stream closes once Twilio
//!    echoes it (everything played) or after 5 s.
//! 3. A transfer redirects the call to `<Dial>` through Twilio's REST API
//!    ([`crate::twilio_rest`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Form, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use parley_media::g711::G711;
use secrecy::ExposeSecret;
use tokio::sync::mpsc;

use crate::call::{self, CallEvent, CallSetup};
use crate::media_io::{recv_from, Media, MediaIn, Quality};
use crate::leg::{CallEnd, LegCommand};
use crate::Shared;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The Twilio signature of a webhook, as a MAC: HMAC-SHA1(auth token, URL + each parameter's
/// name and value, sorted by name); the header carries it in base64.
fn webhook_mac(auth_token: &str, url: &str, params: &BTreeMap<String, String>) -> Hmac<sha1::Sha1> {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(url.as_bytes());
    for (k, v) in params {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    mac
}

/// Whether `given` (base64) is the signature of this webhook, compared in constant time.
fn signature_valid(auth_token: &str, url: &str, params: &BTreeMap<String, String>, given: &str) -> bool {
    B64.decode(given).is_ok_and(|sig| webhook_mac(auth_token, url, params).verify_slice(&sig).is_ok())
}

/// The media of a Twilio stream, for the call task.
pub struct StreamLeg {
    inbound: mpsc::Receiver<MediaIn>,
    outbound: mpsc::Sender<String>,
    stream_sid: String,
    frames_in: u32,
    payload: Vec<u8>,
}

impl StreamLeg {
    pub(crate) async fn recv(&mut self) -> MediaIn {
        let m = recv_from(&mut self.inbound).await;
        if matches!(m, MediaIn::Audio(..)) {
            self.frames_in += 1;
        }
        m
    }

    /// Sends one 20 ms frame as a `media` message (dropped if the socket is backed up).
    pub(crate) fn send(&mut self, frame: &[i16]) -> bool {
        self.payload.clear();
        G711::Ulaw.encode(frame, &mut self.payload);
        let msg = serde_json::json!({"event": "media", "streamSid": self.stream_sid, "media": {"payload": B64.encode(&self.payload)}});
        self.outbound.try_send(msg.to_string()).is_ok()
    }

    /// Asks Twilio to drop the audio it has buffered (`clear`).
    pub(crate) fn clear(&mut self) {
        let _ = self.outbound.try_send(serde_json::json!({"event": "clear", "streamSid": self.stream_sid}).to_string());
    }

    pub(crate) fn quality(&self) -> Quality {
        (self.frames_in, 0, 0.0, None)
    }
}

/// Where the webhook and the stream are reachable from Twilio (`--public-url`).
#[derive(Clone)]
pub struct TwilioState {
    /// Shared call state.
    pub shared: Arc<Shared>,
    /// `https://parley.example.com` (no trailing slash).
    pub public_url: String,
    /// Keys the stream parameters' HMAC.
    pub key: Arc<Vec<u8>>,
    /// Call SIDs whose stream started, and when: each `<Connect>` answer is good once.
    pub used: Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
}

impl TwilioState {
    /// Whether this is the first stream for `call_sid` (forgetting those past the parameters'
    /// lifetime, which could not be replayed anyway).
    fn first_use(&self, call_sid: &str, now_ms: i64) -> bool {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        used.retain(|_, at| now_ms - *at <= PARAMS_TTL_MS);
        used.insert(call_sid.to_string(), now_ms).is_none()
    }
}

/// The routes.
pub fn router(state: TwilioState) -> axum::Router {
    axum::Router::new()
        .route("/twilio/voice", axum::routing::post(voice).get(voice))
        .route("/twilio/stream", axum::routing::get(stream))
        .with_state(state)
}

fn stream_mac(key: &[u8], fields: &[&str]) -> Hmac<sha2::Sha256> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for f in fields {
        mac.update(f.as_bytes());
        mac.update(b"\n");
    }
    mac
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `POST` or `GET /twilio/voice` (Twilio lets a number's webhook use either): checks the
/// signature first, with one answer for unknown numbers and bad signatures alike (no number
/// enumeration), then admission, and answers `<Connect><Stream>`, or `<Reject>` while
/// draining or over the tenant's limits, as Twilio expects from a busy line.
async fn voice(State(s): State<TwilioState>, method: Method, uri: Uri, headers: HeaderMap, Form(params): Form<BTreeMap<String, String>>) -> Response {
    let refused = || (StatusCode::FORBIDDEN, "forbidden").into_response();
    let to = params.get("To").map(String::as_str).unwrap_or_default();
    let Some(dest) = s.shared.directory.lookup([Some(to)]) else { return refused() };
    let Ok(scope) = s.shared.store.tenant(&dest.tenant) else { return refused() };
    let integration = scope.list_integrations().await.ok().and_then(|l| l.into_iter().find(|i| i.kind == "twilio"));
    let Some(integration) = integration else { return refused() };
    let Ok(token) = scope.integration_secret(&s.shared.master, &integration.id).await else { return refused() };
    // Twilio signs the full URL it requested, query string included, and for POST the body's
    // parameters after it (a GET's parameters are in the URL already).
    let url = format!("{}{}", s.public_url, uri.path_and_query().map_or("/twilio/voice", |pq| pq.as_str()));
    let signed = if method == Method::GET { BTreeMap::new() } else { params.clone() };
    let given = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !signature_valid(token.expose_secret(), &url, &signed, given) {
        tracing::info!(tenant = %dest.tenant, "twilio webhook with a bad signature");
        return refused();
    }
    if let Some(reason) = refusal(&s.shared, &dest.tenant) {
        tracing::info!(tenant = %dest.tenant, reason, "twilio call refused");
        let twiml = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Reject reason=\"{reason}\"/></Response>");
        return ([("content-type", "text/xml")], twiml).into_response();
    }
    let caller = params.get("From").cloned().unwrap_or_else(|| "anonymous".into());
    let call_sid = params.get("CallSid").cloned().unwrap_or_default();
    let issued = crate::api::now_ms().to_string();
    let mac = hex::encode(stream_mac(&s.key, &[&dest.tenant, &dest.dialled, &caller, &call_sid, &issued]).finalize().into_bytes());
    let ws = s.public_url.replacen("https://", "wss://", 1).replacen("http://", "ws://", 1);
    let param = |n: &str, v: &str| format!("<Parameter name=\"{n}\" value=\"{}\"/>", xml_escape(v));
    let twiml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Connect><Stream url=\"{}/twilio/stream\">{}{}{}{}{}{}</Stream></Connect></Response>",
        xml_escape(&ws),
        param("tenant", &dest.tenant),
        param("dialled", &dest.dialled),
        param("caller", &caller),
        param("callSid", &call_sid),
        param("issued", &issued),
        param("mac", &mac)
    );
    ([("content-type", "text/xml")], twiml).into_response()
}

/// Why a new call of `tenant` is refused now (`<Reject reason=...>`), if it is: the node is
/// draining or full (`busy`), or the tenant's limits or data policy say no (`busy` for its
/// concurrent calls, `rejected` otherwise), as for SIP calls.
fn refusal(shared: &Shared, tenant: &str) -> Option<&'static str> {
    if shared.draining.load(Ordering::Acquire) || shared.metrics.calls_active.load(Ordering::Acquire) as usize >= shared.max_calls {
        return Some("busy");
    }
    let engines = shared.speech.providers();
    match shared.active.would_admit(tenant, |n| shared.directory.admit(tenant, n, &engines)) {
        Ok(()) => None,
        Err(crate::directory::Refusal::ConcurrentCalls) => Some("busy"),
        Err(_) => Some("rejected"),
    }
}

/// How long the stream parameters of a `<Connect>` answer are good for.
const PARAMS_TTL_MS: i64 = 60_000;
/// How long Twilio may take from opening the WebSocket to sending `start`.
const START_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// The largest WebSocket message accepted (Twilio's are a few hundred bytes).
const MAX_MESSAGE: usize = 64 * 1024;

/// The `mark` sent after the agent's last words; the stream closes when Twilio echoes it.
const HANGUP_MARK: &str = "parley-hangup";
/// How long to wait for that echo.
const MARK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Stream calls get call ids above SIP's.
static NEXT_STREAM_CALL: AtomicU64 = AtomicU64::new(1 << 48);

/// `GET /twilio/stream`: the Media Stream WebSocket.
async fn stream(State(s): State<TwilioState>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(MAX_MESSAGE).max_frame_size(MAX_MESSAGE).on_upgrade(move |socket| serve_stream(s, socket))
}

/// The next text message, skipping control and binary frames (pings are answered by the
/// WebSocket layer, RFC 6455 §5.5.2); `None` when the socket closes or fails.
async fn next_text(socket: &mut WebSocket) -> Option<String> {
    loop {
        match socket.recv().await? {
            Ok(WsMessage::Text(text)) => return Some(text.as_str().to_string()),
            Ok(WsMessage::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// Ends the stream the way Twilio expects: the audio still queued, then a `mark`; Twilio echoes
/// it once it has played everything before it (or stops), and only then is the socket closed.
async fn close_after_playout(socket: &mut WebSocket, out_rx: &mut mpsc::Receiver<String>, stream_sid: &str) {
    while let Ok(out) = out_rx.try_recv() {
        let _ = socket.send(WsMessage::Text(out.into())).await;
    }
    let mark = serde_json::json!({"event": "mark", "streamSid": stream_sid, "mark": {"name": HANGUP_MARK}});
    if socket.send(WsMessage::Text(mark.to_string().into())).await.is_ok() {
        let played = tokio::time::timeout(MARK_WAIT, async {
            while let Some(text) = next_text(socket).await {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                if v["event"] == "stop" || (v["event"] == "mark" && v["mark"]["name"] == HANGUP_MARK) {
                    return;
                }
            }
        });
        let _ = played.await;
    }
    let _ = socket.send(WsMessage::Close(None)).await;
}

async fn serve_stream(s: TwilioState, mut socket: WebSocket) {
    // connected, then start, within a few seconds.
    let start = tokio::time::timeout(START_WAIT, async {
        while let Some(text) = next_text(&mut socket).await {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
            if v["event"] == "start" {
                return Some(v);
            }
        }
        None
    });
    let Ok(Some(start)) = start.await else {
        tracing::info!("twilio stream closed: no start in time");
        return;
    };
    let p = &start["start"]["customParameters"];
    let field = |n: &str| p[n].as_str().unwrap_or_default().to_string();
    let (tenant, dialled, caller, call_sid, issued) = (field("tenant"), field("dialled"), field("caller"), field("callSid"), field("issued"));
    let mac_ok = hex::decode(field("mac")).is_ok_and(|m| stream_mac(&s.key, &[&tenant, &dialled, &caller, &call_sid, &issued]).verify_slice(&m).is_ok());
    let now = crate::api::now_ms();
    let fresh = issued.parse::<i64>().is_ok_and(|t| (0..=PARAMS_TTL_MS).contains(&(now - t)));
    if !mac_ok || !fresh || !s.first_use(&call_sid, now) {
        tracing::info!(signed = mac_ok, fresh, "twilio stream with bad, expired or reused parameters refused");
        return;
    }
    let Some(dest) = s.shared.directory.lookup([Some(dialled.as_str())]).filter(|d| d.tenant == tenant) else { return };
    // The same admission as a SIP call, now holding the call's place.
    let engines = s.shared.speech.providers();
    let full = s.shared.draining.load(Ordering::Acquire) || s.shared.metrics.calls_active.load(Ordering::Acquire) as usize >= s.shared.max_calls;
    let admitted = match full {
        false => s.shared.active.admit(&dest.tenant, |n| s.shared.directory.admit(&dest.tenant, n, &engines)).ok(),
        true => None,
    };
    let Some(admitted) = admitted else {
        tracing::info!(tenant = %dest.tenant, "twilio stream refused by admission");
        let _ = socket.send(WsMessage::Close(None)).await;
        return;
    };
    let stream_sid = start["streamSid"].as_str().or(start["start"]["streamSid"].as_str()).unwrap_or_default().to_string();
    let leg_sid = stream_sid.clone();
    let (in_tx, in_rx) = mpsc::channel(64);
    let (out_tx, mut out_rx) = mpsc::channel::<String>(256);
    let (ev_tx, ev_rx) = mpsc::channel(16);
    let (cmd_tx, mut cmd_rx) = mpsc::channel::<LegCommand>(4);
    let call = NEXT_STREAM_CALL.fetch_add(1, Ordering::Relaxed);
    let leg = StreamLeg { inbound: in_rx, outbound: out_tx, stream_sid: leg_sid, frames_in: 0, payload: Vec::with_capacity(160) };
    let setup = CallSetup {
        call,
        media: Media::Stream(leg),
        agent: (*dest.agent).clone(),
        caller,
        callee: dest.dialled.clone(),
        transport: "twilio".into(),
        tenant: dest.tenant.clone(),
        policy: s.shared.directory.policy(&dest.tenant),
        placed_ms: None,
        admitted: Some(admitted),
    };
    let task = tokio::spawn(call::run(setup, ev_rx, cmd_tx, s.shared.clone()));
    let _ = ev_tx.send(CallEvent::Established).await;
    let mut hang_up = s.shared.streams_hang_up.subscribe();
    loop {
        tokio::select! {
            text = next_text(&mut socket) => {
                let Some(text) = text else { break };
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
                match v["event"].as_str() {
                    Some("media") => {
                        let seq = v["media"]["chunk"].as_str().and_then(|c| c.parse::<u32>().ok()).unwrap_or(0) as u16;
                        let Some(bytes) = v["media"]["payload"].as_str().and_then(|p| B64.decode(p).ok()) else { continue };
                        let mut pcm = Vec::with_capacity(bytes.len());
                        G711::Ulaw.decode(&bytes, &mut pcm);
                        let _ = in_tx.try_send(MediaIn::Audio(seq, pcm));
                    }
                    Some("dtmf") => {
                        if let Some(k) = v["dtmf"]["digit"].as_str().and_then(|d| d.chars().next()) {
                            let _ = in_tx.send(MediaIn::Key(k)).await;
                        }
                    }
                    Some("stop") => break,
                    _ => {}
                }
            }
            Some(out) = out_rx.recv() => {
                if socket.send(WsMessage::Text(out.into())).await.is_err() {
                    break;
                }
            }
            // The drain limit passed: end the call as a hangup would.
            Ok(()) = hang_up.changed() => {
                close_after_playout(&mut socket, &mut out_rx, &stream_sid).await;
                break;
            }
            Some(cmd) = cmd_rx.recv() => match cmd {
                // Closing the stream ends <Connect>; with no TwiML after it, Twilio hangs up.
                LegCommand::Hangup => {
                    close_after_playout(&mut socket, &mut out_rx, &stream_sid).await;
                    break;
                }
                LegCommand::Transfer(target) => {
                    // The call moves to <Dial> through Twilio's API; Twilio then stops the stream.
                    let (shared, tenant, call_sid, events) = (s.shared.clone(), dest.tenant.clone(), call_sid.clone(), ev_tx.clone());
                    tokio::spawn(async move {
                        let code = crate::twilio_rest::transfer(&shared, &tenant, &call_sid, &target.to_string()).await;
                        tracing::info!(call, code, "twilio transfer requested");
                        let _ = events.send(CallEvent::ReferStatus(code)).await;
                    });
                }
                LegCommand::EndConsult => {}
                LegCommand::Consult(_) => {
                    tracing::warn!(call, "warm transfer is not available on a Twilio stream; the agent takes a message");
                    let _ = ev_tx.send(CallEvent::ConsultEnded).await;
                }
            },
        }
    }
    let _ = ev_tx.send(CallEvent::Ended(CallEnd::CallerHungUp)).await;
    let _ = task.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signature(auth_token: &str, url: &str, params: &BTreeMap<String, String>) -> String {
        B64.encode(webhook_mac(auth_token, url, params).finalize().into_bytes())
    }

    #[test]
    fn signature_matches_twilios_own_test_vector() {
        // The request validator test of Twilio's helper library (twilio-python,
        // tests/unit/test_request_validator.py): auth token 12345.
        let params: BTreeMap<String, String> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(signature("12345", url, &params), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        assert!(signature_valid("12345", url, &params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
        assert!(!signature_valid("12345", url, &params, "RSOYDt4T1cUTdK1PDd93/VVr8B9="));
        assert!(!signature_valid("12346", url, &params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
        assert!(!signature_valid("12345", url, &params, "not base64!"));
    }
}
