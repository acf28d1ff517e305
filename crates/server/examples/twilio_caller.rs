//! A caller emulator for voice-to-voice over Twilio Media Streams, measured from the caller's
//! side: for each question, the time from the last loud 20 ms of the caller's audio leaving the
//! emulator to the first loud 20 ms of the agent's reply arriving.
//!
//! It sets up tenant `bench-twilio` through the REST API (the demo store agent, a number, a
//! `twilio` integration), then runs CALLS streams at once (0.5 s apart): each posts the voice
//! webhook as Twilio does (signed with `X-Twilio-Signature`), opens the `<Stream>` of the
//! TwiML answer, sends `connected` and `start` with the TwiML's parameters, then the caller's
//! audio as `media` messages every 20 ms in real time, echoing the server's `mark`s as Twilio
//! does once the audio before them has played
//! (<https://www.twilio.com/docs/voice/media-streams/websocket-messages>).
//!
//! Usage (see `bench/twilio_latency.sh`): `twilio_caller BASE_URL OPERATOR_KEY CALLER.ul CALLS`,
//! where CALLER.ul is 8 kHz mu-law (the questions separated by long silences).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

const TOKEN: &str = "bench-twilio-auth-token";
const NUMBER: &str = "+15550108000";
/// A 20 ms frame whose mean amplitude is above this is loud (speech, not silence or hiss).
const LOUD: i64 = 300;

fn loud(frame: &[u8]) -> bool {
    frame.iter().map(|&b| i64::from(parley_media::g711::ulaw_to_linear(b)).abs()).sum::<i64>() / frame.len().max(1) as i64 > LOUD
}

fn sign(url: &str, params: &BTreeMap<&str, String>) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(TOKEN.as_bytes()).expect("any key length");
    mac.update(url.as_bytes());
    for (k, v) in params {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn attr<'a>(s: &'a str, name: &str) -> &'a str {
    s.split(&format!("{name}=\"")).nth(1).and_then(|r| r.split('"').next()).unwrap_or_default()
}

async fn api(http: &reqwest::Client, base: &str, op: &str, method: reqwest::Method, path: &str, body: Value) {
    let r = http.request(method, format!("{base}{path}")).bearer_auth(op).json(&body).send().await.expect("the server answers");
    assert!(r.status().is_success(), "{path}: {}", r.text().await.unwrap_or_default());
}

async fn set_up(http: &reqwest::Client, base: &str, op: &str) {
    use reqwest::Method;
    api(http, base, op, Method::POST, "/v1/tenants", json!({"id": "bench-twilio", "name": "Bench"})).await;
    let mut agent = serde_json::to_value(parley_agent::spec::AgentSpec::demo()).expect("the demo agent serializes");
    let fields = agent.as_object_mut().expect("an object");
    fields.remove("name");
    fields.retain(|_, v| v != "");
    // BENCH_TURN_TAKING (JSON, e.g. {"finished_ms": 300}) overrides the agent's turn taking.
    if let Ok(over) = std::env::var("BENCH_TURN_TAKING") {
        let over: serde_json::Map<String, Value> = serde_json::from_str(&over).expect("BENCH_TURN_TAKING is a JSON object");
        let turn_taking = fields.entry("turn_taking").or_insert_with(|| json!({}));
        turn_taking.as_object_mut().expect("turn_taking is an object").extend(over);
    }
    api(http, base, op, Method::PUT, "/v1/tenants/bench-twilio/agents/front", agent).await;
    api(http, base, op, Method::POST, "/v1/tenants/bench-twilio/numbers", json!({"number": NUMBER, "agent": "front"})).await;
    let twilio = json!({"kind": "twilio", "name": "twilio", "config": {"account_sid": "AC0000"}, "secret": TOKEN});
    api(http, base, op, Method::POST, "/v1/tenants/bench-twilio/integrations", twilio).await;
}

/// One stream: returns each question's voice-to-voice time (ms), `None` where no reply came.
async fn call(http: reqwest::Client, base: String, n: usize, audio: std::sync::Arc<Vec<u8>>) -> Vec<Option<u64>> {
    let url = format!("{base}/twilio/voice");
    let call_sid = format!("CA{n:032}");
    let params: BTreeMap<&str, String> =
        [("AccountSid", "AC0000".to_string()), ("CallSid", call_sid.clone()), ("From", format!("+1555019{n:04}")), ("To", NUMBER.to_string()), ("Direction", "inbound".to_string())].into();
    let twiml = http.post(&url).header("X-Twilio-Signature", sign(&url, &params)).form(&params).send().await.expect("voice webhook").text().await.unwrap_or_default();
    let stream_url = attr(&twiml, "Stream url").to_string();
    let custom: serde_json::Map<String, Value> = twiml
        .split("<Parameter ")
        .skip(1)
        .map(|p| (attr(p, "name").to_string(), Value::String(attr(p, "value").replace("&amp;", "&").replace("&quot;", "\""))))
        .collect();
    let (ws, _) = tokio_tungstenite::connect_async(&stream_url).await.expect("the stream opens");
    let (mut tx, mut rx) = ws.split();
    let sid = format!("MZ{n:032}");
    tx.send(Message::text(json!({"event": "connected", "protocol": "Call", "version": "1.0.0"}).to_string())).await.expect("send");
    let start = json!({"event": "start", "sequenceNumber": "1", "streamSid": sid, "start": {"accountSid": "AC0000", "streamSid": sid, "callSid": call_sid,
        "tracks": ["inbound"], "customParameters": custom, "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}});
    tx.send(Message::text(start.to_string())).await.expect("send");

    // The reader notes when loud agent audio arrives, and echoes marks.
    let (marks_tx, mut marks_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let reader = tokio::spawn(async move {
        let mut loud_at: Vec<Instant> = Vec::new();
        while let Some(Ok(Message::Text(text))) = rx.next().await {
            let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else { continue };
            match v["event"].as_str() {
                Some("media") => {
                    let payload = base64::engine::general_purpose::STANDARD.decode(v["media"]["payload"].as_str().unwrap_or_default()).unwrap_or_default();
                    if loud(&payload) {
                        loud_at.push(Instant::now());
                    }
                }
                Some("mark") => {
                    let _ = marks_tx.send(v["mark"]["name"].as_str().unwrap_or_default().to_string());
                }
                _ => {}
            }
        }
        loud_at
    });

    // The writer sends the caller's audio in real time and notes when each question ended.
    let mut ends: Vec<Instant> = Vec::new();
    let mut quiet_frames = 0;
    let mut last_loud: Option<Instant> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for (i, frame) in audio.chunks(160).enumerate() {
        tick.tick().await;
        let media = json!({"event": "media", "sequenceNumber": (i + 2).to_string(), "streamSid": sid,
            "media": {"track": "inbound", "chunk": (i + 1).to_string(), "timestamp": (i * 20).to_string(), "payload": base64::engine::general_purpose::STANDARD.encode(frame)}});
        if tx.send(Message::text(media.to_string())).await.is_err() {
            break;
        }
        if loud(frame) {
            last_loud = Some(Instant::now());
            quiet_frames = 0;
        } else if let Some(at) = last_loud {
            quiet_frames += 1;
            // A second of quiet after speech: the question ended with its last loud frame.
            if quiet_frames == 50 {
                ends.push(at + Duration::from_millis(20));
                last_loud = None;
            }
        }
        while let Ok(name) = marks_rx.try_recv() {
            let echo = json!({"event": "mark", "sequenceNumber": (i + 2).to_string(), "streamSid": sid, "mark": {"name": name}});
            let _ = tx.send(Message::text(echo.to_string())).await;
        }
    }
    let stop = json!({"event": "stop", "sequenceNumber": "0", "streamSid": sid, "stop": {"accountSid": "AC0000", "callSid": call_sid}});
    let _ = tx.send(Message::text(stop.to_string())).await;
    let _ = tx.close().await;
    let loud_at = tokio::time::timeout(Duration::from_secs(10), reader).await.ok().and_then(Result::ok).unwrap_or_default();
    ends.iter()
        .map(|end| loud_at.iter().find(|t| *t > end).map(|t| t.duration_since(*end).as_millis() as u64).filter(|ms| *ms < 10_000))
        .collect()
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, op, audio, calls] = &args[..] else {
        eprintln!("usage: twilio_caller BASE_URL OPERATOR_KEY CALLER.ul CALLS");
        std::process::exit(2);
    };
    let calls: usize = calls.parse().expect("CALLS is a number");
    let audio = std::sync::Arc::new(std::fs::read(audio).expect("the caller's audio"));
    let http = reqwest::Client::new();
    set_up(&http, base, op).await;
    let mut tasks = Vec::new();
    for n in 0..calls {
        tasks.push(tokio::spawn(call(http.clone(), base.clone(), n, audio.clone())));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut all: Vec<u64> = Vec::new();
    let mut missing = 0;
    for (n, t) in tasks.into_iter().enumerate() {
        let turns = t.await.unwrap_or_default();
        println!("call {n}: {}", turns.iter().map(|t| t.map_or("-".into(), |ms| ms.to_string())).collect::<Vec<_>>().join(" "));
        missing += turns.iter().filter(|t| t.is_none()).count();
        all.extend(turns.into_iter().flatten());
    }
    all.sort_unstable();
    if all.is_empty() {
        println!("no replies measured");
        return;
    }
    println!("calls={calls} turns={} unanswered={missing} voice-to-voice at the caller: median {} ms, p90 {} ms", all.len(), percentile(&all, 0.5), percentile(&all, 0.9));
}
