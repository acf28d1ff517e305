//! Warm transfer: the caller (baresip) asks for a person; the agent calls the front desk (here
//! a SIP UAS written in the test, so it can listen), tells the person who is calling and why,
//! then bridges them: a 600 Hz tone the caller plays reaches the desk, and a 1 kHz tone the
//! desk plays reaches the caller, and so does a key the desk presses (RFC 4733). The desk hangs
//! up, so the caller's call ends. A desk that is busy makes the agent take a message instead.
//! The person's call passes the outbound gate like every call Parley places: a warm transfer
//! to a premium number at any address, with outbound calling off, sends nothing anywhere and
//! the agent takes a message (the toll-fraud regression).

use crate::common;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::{baresip_call, baresip_dir, caller_wav, free_port, files_under, Api, Part, Server, WebhookReceiver};
use parley_media::g711::{linear_to_ulaw, ulaw_to_linear};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;

const NUMBER: &str = "+15550004000";

/// Share of a 20 ms frame's energy at `hz` (Goertzel), and its RMS.
fn tone_share(frame: &[i16], hz: f64) -> (f64, f64) {
    let n = frame.len() as f64;
    let w = 2.0 * std::f64::consts::PI * hz / 8000.0;
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in frame {
        let s0 = f64::from(x) + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
    let energy: f64 = frame.iter().map(|&x| f64::from(x).powi(2)).sum();
    let rms = (energy / n).sqrt();
    (if energy > 0.0 { power / (energy * n / 2.0) } else { 0.0 }, rms)
}

/// Frames of a steady `hz` tone: only runs of 100 ms or more count, since a voice's vowel can
/// put most of one frame's energy near `hz` (the neural voice does, at 600 Hz).
fn tone_frames(pcm: &[i16], hz: f64) -> usize {
    let (mut total, mut run) = (0, 0);
    for f in pcm.chunks_exact(160) {
        if matches!(tone_share(f, hz), (share, rms) if share > 0.7 && rms > 300.0) {
            run += 1;
        } else {
            total += if run >= 5 { run } else { 0 };
            run = 0;
        }
    }
    total + if run >= 5 { run } else { 0 }
}

fn header<'a>(msg: &'a str, name: &str) -> Vec<&'a str> {
    msg.lines().filter_map(|l| l.split_once(':').filter(|(n, _)| n.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim())).collect()
}

/// What the front desk saw.
#[derive(Debug, Default)]
struct Desk {
    /// 20 ms frames of speech heard before the caller's tone (the briefing).
    briefing_frames: usize,
    /// Frames of the caller's 600 Hz tone.
    caller_tone_frames: usize,
    /// Our BYE was answered 200.
    bye_ok: bool,
}

/// The front desk on `sip`: answers (`busy`: 486) the first INVITE, plays a 1 kHz tone and
/// listens until it has heard the caller's tone for a second (or 40 s pass), then hangs up.
fn front_desk(sip: UdpSocket, busy: bool) -> Desk {
    let mut desk = Desk::default();
    sip.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut buf = vec![0u8; 65535];
    let (invite, from) = loop {
        let (n, from) = sip.recv_from(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if text.starts_with("INVITE ") {
            break (text, from);
        }
    };
    let vias: String = header(&invite, "Via").iter().map(|v| format!("Via: {v}\r\n")).collect();
    let (from_h, to_h, call_id, cseq) = (header(&invite, "From")[0], header(&invite, "To")[0], header(&invite, "Call-ID")[0], header(&invite, "CSeq")[0]);
    let contact = header(&invite, "Contact")[0].trim_start_matches('<').split('>').next().unwrap().to_string();
    let local = sip.local_addr().unwrap();
    if busy {
        let resp = format!("SIP/2.0 486 Busy Here\r\n{vias}From: {from_h}\r\nTo: {to_h};tag=desk1\r\nCall-ID: {call_id}\r\nCSeq: {cseq}\r\nContent-Length: 0\r\n\r\n");
        sip.send_to(resp.as_bytes(), from).unwrap();
        return desk;
    }
    let sdp_port: u16 = invite.lines().find_map(|l| l.strip_prefix("m=audio ")).unwrap().split(' ').next().unwrap().parse().unwrap();
    let parley_rtp: SocketAddr = format!("127.0.0.1:{sdp_port}").parse().unwrap();
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    rtp.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
    let sdp = format!(
        "v=0\r\no=desk 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n",
        rtp.local_addr().unwrap().port()
    );
    let ok = format!(
        "SIP/2.0 200 OK\r\n{vias}From: {from_h}\r\nTo: {to_h};tag=desk1\r\nCall-ID: {call_id}\r\nCSeq: {cseq}\r\nContact: <sip:desk@{local}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    sip.send_to(ok.as_bytes(), from).unwrap();

    // Talk and listen: a 1 kHz tone out every 20 ms; the decoded audio in.
    let start = Instant::now();
    let (mut seq, mut ts, mut phase) = (0u16, 0u32, 0f64);
    let mut heard: Vec<i16> = Vec::new();
    let mut next = Instant::now();
    while start.elapsed() < Duration::from_secs(40) && desk.caller_tone_frames < 50 {
        if Instant::now() >= next {
            next += Duration::from_millis(20);
            let mut pkt = vec![0x80, 0, (seq >> 8) as u8, seq as u8];
            pkt.extend_from_slice(&ts.to_be_bytes());
            pkt.extend_from_slice(&0x0dec_0001u32.to_be_bytes());
            for _ in 0..160 {
                pkt.push(linear_to_ulaw((phase.sin() * 12000.0) as i16));
                phase += 2.0 * std::f64::consts::PI * 1000.0 / 8000.0;
            }
            let _ = rtp.send_to(&pkt, parley_rtp);
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(160);
        }
        let mut b = [0u8; 2048];
        if let Ok(n) = rtp.recv(&mut b) {
            if n > 12 && b[1] & 0x7f == 0 {
                heard.extend(b[12..n].iter().map(|&x| ulaw_to_linear(x)));
                let frames: Vec<&[i16]> = heard.chunks_exact(160).collect();
                desk.caller_tone_frames = tone_frames(&heard, 600.0);
                if desk.caller_tone_frames == 0 {
                    desk.briefing_frames = frames.iter().filter(|f| tone_share(f, 600.0).1 > 300.0).count();
                }
            }
        }
    }
    // The person presses 7 (RFC 4733): 100 ms of updates, the end three times.
    let key_ts = ts.wrapping_add(8000);
    for i in 0..8u16 {
        let (end, duration) = (i >= 5, 160 * (i.min(4) + 1));
        let mut pkt = vec![0x80, if i == 0 { 0x80 | 101 } else { 101 }, (seq >> 8) as u8, seq as u8];
        pkt.extend_from_slice(&key_ts.to_be_bytes());
        pkt.extend_from_slice(&0x0dec_0001u32.to_be_bytes());
        pkt.extend_from_slice(&[7, if end { 0x80 | 10 } else { 10 }, (duration >> 8) as u8, duration as u8]);
        let _ = rtp.send_to(&pkt, parley_rtp);
        seq = seq.wrapping_add(1);
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1000));
    let bye = format!(
        "BYE {contact} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKdeskbye\r\nMax-Forwards: 70\r\nFrom: {to_h};tag=desk1\r\nTo: {from_h}\r\nCall-ID: {call_id}\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
    );
    sip.send_to(bye.as_bytes(), from).unwrap();
    sip.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    while let Ok((n, _)) = sip.recv_from(&mut buf) {
        let text = String::from_utf8_lossy(&buf[..n]);
        if text.starts_with("SIP/2.0 200") && text.contains("BYE") {
            desk.bye_ok = true;
            break;
        }
    }
    desk
}

async fn tenant_with_warm_transfer(api: &Api, op: &str, desk: u16, hook: &str) {
    tenant_transferring_to(api, op, "tel:+1-555-000-7777", hook).await;
    // Every call Parley places passes the outbound gate: the operator allows the desk's
    // number, and the call leaves through the tenant's gateway (here the desk itself).
    let policy = json!({"enabled": true, "calls_per_second": 5, "max_concurrent": 5, "allowed_prefixes": ["+1555"]});
    assert_eq!(api.call(Method::PUT, "/v1/tenants/t-w/outbound-policy", Some(op), Some(policy)).await.0, StatusCode::OK);
    let gw = json!({"name": "desk-pbx", "proxy": format!("127.0.0.1:{desk}"), "caller_id": "+15550009000"});
    let (s, v) = api.call(Method::POST, "/v1/tenants/t-w/gateways", Some(op), Some(gw)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

async fn tenant_transferring_to(api: &Api, op: &str, target: &str, hook: &str) {
    assert_eq!(api.call(Method::POST, "/v1/tenants", Some(op), Some(json!({"id": "t-w", "name": "Warm"}))).await.0, StatusCode::CREATED);
    let agent = json!({"business": "Acme", "greeting": "Hello, this is Acme.", "hours": "always", "transfer_to": target, "transfer_mode": "warm"});
    let (s, v) = api.call(Method::PUT, "/v1/tenants/t-w/agents/front", Some(op), Some(agent)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["definition"]["transfer_mode"], "warm", "{v}");
    assert_eq!(api.call(Method::POST, "/v1/tenants/t-w/numbers", Some(op), Some(json!({"number": NUMBER, "agent": "front"}))).await.0, StatusCode::CREATED);
    let hook = json!({"kind": "webhook", "name": "documents", "config": {"url": hook}, "secret": "w-secret"});
    assert_eq!(api.call(Method::POST, "/v1/tenants/t-w/integrations", Some(op), Some(hook)).await.0, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_briefs_the_person_then_bridges_the_caller() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(dir, &[]);
    let api = Api { http: Client::new(), base: format!("http://127.0.0.1:{}", server.http_port) };
    let op = common::create_key(&server.data_dir, &["--role", "platform-admin"]);
    let desk_sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let hook = WebhookReceiver::start().await;
    tenant_with_warm_transfer(&api, &op, desk_sock.local_addr().unwrap().port(), &hook.url).await;
    let desk = std::thread::spawn(move || front_desk(desk_sock, false));

    let wav = caller_wav(dir, &[Part::Silence(3), Part::Say("I would like to speak to a person."), Part::Silence(6), Part::Tone(600, 40)]);
    let rec = dir.join("rec");
    std::fs::create_dir_all(&rec).unwrap();
    let caller = baresip_dir(dir, "caller", free_port(), &wav, "+15550100002", Some(&rec));
    let caller_out = baresip_call(caller, format!("sip:{NUMBER}@127.0.0.1:{}", server.sip_port), 50, dir.join("caller.log")).await;
    let desk = tokio::task::spawn_blocking(move || desk.join().unwrap()).await.unwrap();
    let log = server.log_text();
    assert!(log.contains("warm transfer requested"), "{caller_out}");
    assert!(desk.briefing_frames >= 50, "the person heard the briefing first: {desk:?}");
    assert!(desk.caller_tone_frames >= 50, "the caller's audio reached the person through the bridge: {desk:?}\n{log}");
    assert!(desk.bye_ok, "{desk:?}");
    let heard = files_under(&rec).into_iter().find(|p| p.to_string_lossy().ends_with("-dec.wav")).expect("baresip recorded the call");
    let desk_tone = tone_frames(&common::wav_pcm(&heard), 1000.0);
    assert!(desk_tone >= 25, "the person's audio reached the caller: {desk_tone} frames of their tone");
    assert!(caller_out.contains("closed") || caller_out.to_lowercase().contains("terminated"), "the caller's call ended with the person's: {caller_out}");
    assert!(caller_out.contains("received event: '7'"), "the person's key reached the caller as an RFC 4733 event: {caller_out}\n{}", log.lines().filter(|l| l.contains("passed on") || l.contains("bridg")).collect::<Vec<_>>().join("\n"));

    // The document: transferred, the briefing is not in the caller's transcript, nothing of
    // the bridged conversation is.
    let (_, body) = hook.document().await;
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["outcome"], "transferred", "{doc}");
    assert!(!doc["transcript"].to_string().contains("I have a caller"), "{doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_desk_means_the_agent_takes_a_message() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(dir, &[]);
    let api = Api { http: Client::new(), base: format!("http://127.0.0.1:{}", server.http_port) };
    let op = common::create_key(&server.data_dir, &["--role", "platform-admin"]);
    let desk_sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let hook = WebhookReceiver::start().await;
    tenant_with_warm_transfer(&api, &op, desk_sock.local_addr().unwrap().port(), &hook.url).await;
    let desk = std::thread::spawn(move || front_desk(desk_sock, true));

    let wav = caller_wav(
        dir,
        &[Part::Silence(3), Part::Say("I would like to speak to a person."), Part::Silence(14), Part::Say("This is Dana, please call me back."), Part::Silence(12)],
    );
    let caller = baresip_dir(dir, "caller", free_port(), &wav, "+15550100002", None);
    baresip_call(caller, format!("sip:{NUMBER}@127.0.0.1:{}", server.sip_port), 40, dir.join("caller.log")).await;
    desk.join().unwrap();
    let (_, body) = hook.document().await;
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let text = doc["transcript"].to_string().to_lowercase();
    assert!(text.contains("no one could take your call"), "{text}\n{}", server.log_text());
    assert_eq!(doc["outcome"], "message_taken", "{doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_transfer_cannot_dial_around_the_outbound_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(dir, &[]);
    let api = Api { http: Client::new(), base: format!("http://127.0.0.1:{}", server.http_port) };
    let op = common::create_key(&server.data_dir, &["--role", "platform-admin"]);
    // Where an agent editor wants the call to go; outbound calling is off (the default).
    let premium = UdpSocket::bind("127.0.0.1:0").unwrap();
    let target = format!("sip:+19005550100@127.0.0.1:{}", premium.local_addr().unwrap().port());
    let hook = WebhookReceiver::start().await;
    tenant_transferring_to(&api, &op, &target, &hook.url).await;

    let wav = caller_wav(dir, &[Part::Silence(3), Part::Say("I would like to speak to a person."), Part::Silence(8), Part::Say("This is Dana, please call me back."), Part::Silence(10)]);
    let caller = baresip_dir(dir, "caller", free_port(), &wav, "+15550100002", None);
    baresip_call(caller, format!("sip:{NUMBER}@127.0.0.1:{}", server.sip_port), 32, dir.join("caller.log")).await;
    premium.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 2048];
    assert!(premium.recv_from(&mut buf).is_err(), "nothing was sent to the transfer target");
    let (_, body) = hook.document().await;
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let text = doc["transcript"].to_string().to_lowercase();
    assert!(text.contains("no one could take your call"), "{text}\n{}", server.log_text());
    assert_eq!(doc["outcome"], "message_taken", "{doc}");
    let (s, events) = api.call(Method::GET, "/v1/tenants/t-w/operational-events", Some(&op), None).await;
    assert_eq!(s, StatusCode::OK, "{events}");
    assert!(events.to_string().contains("outbound.refused"), "the tenant sees why: {events}");
}
