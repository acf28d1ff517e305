//! A SIP user agent of raw UDP datagrams for tests that need to say exactly what goes on the
//! wire (headers a softphone would not send, refusals, digits as RTP events): INVITE and its
//! final response, ACK, BYE, OPTIONS, and RTP from the leg's own socket.

use std::net::UdpSocket;
use std::time::Duration;

/// A minimal call over raw UDP to the demo agent: INVITE (PCMU), ACK, a second of silence, BYE.
pub fn short_call(server: &str, call_id: &str, caller: &str) {
    let (code, leg) = invite(server, call_id, caller, "demo", "demo", "");
    assert_eq!(code, 200);
    std::thread::sleep(std::time::Duration::from_secs(1));
    leg.unwrap().bye("demo");
}

/// One SIP leg from a raw UDP client: INVITE (PCMU) with the given Request-URI user, To user
/// and extra headers; ACK on 200.
pub struct Leg {
    sock: UdpSocket,
    server: String,
    call_id: String,
    head: String,
    to_tag: String,
    rtp: UdpSocket,
    /// Where the server wants our RTP.
    media: String,
    seq: u16,
    ts: u32,
}

pub fn invite(server: &str, call_id: &str, caller: &str, ruri: &str, to: &str, extra: &str) -> (u16, Option<Leg>) {
    invite_with_sdp(server, call_id, caller, ruri, to, extra, "")
}

/// [`invite`] with extra media-level SDP lines (`a=rtcp-mux\r\n`).
pub fn invite_with_sdp(server: &str, call_id: &str, caller: &str, ruri: &str, to: &str, extra: &str, sdp_extra: &str) -> (u16, Option<Leg>) {
    invite_with_formats(server, call_id, caller, ruri, to, extra, "0 101", sdp_extra)
}

/// [`invite_with_sdp`] offering the payload types in `formats` (`"0 13 101"`).
#[allow(clippy::too_many_arguments)]
pub fn invite_with_formats(server: &str, call_id: &str, caller: &str, ruri: &str, to: &str, extra: &str, formats: &str, sdp_extra: &str) -> (u16, Option<Leg>) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let local = sock.local_addr().unwrap();
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP {formats}\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n{sdp_extra}",
        rtp.local_addr().unwrap().port()
    );
    let head = format!(
        "sip:{ruri}@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{call_id}X\r\nMax-Forwards: 70\r\n\
         From: <sip:{caller}@127.0.0.1>;tag=t{call_id}\r\nCall-ID: {call_id}\r\nContact: <sip:c@{local}>\r\n"
    );
    let msg = format!(
        "INVITE {head}To: <sip:{to}@{server}>\r\nCSeq: 1 INVITE\r\n{extra}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    sock.send_to(msg.as_bytes(), server).unwrap();
    let resp = wait_final(&sock, "INVITE");
    let code: u16 = resp[8..11].parse().unwrap();
    if code != 200 {
        return (code, None);
    }
    let to_line = resp.lines().find(|l| l.starts_with("To:")).unwrap();
    let to_tag = to_line.split("tag=").nth(1).unwrap().trim().to_string();
    let port = resp.lines().find_map(|l| l.strip_prefix("m=audio ")).unwrap().split(' ').next().unwrap();
    let media = format!("127.0.0.1:{port}");
    let leg = Leg { sock, server: server.into(), call_id: call_id.into(), head, to_tag, rtp, media, seq: 1, ts: 0 };
    leg.send("ACK", 1, to);
    (200, Some(leg))
}

/// One RFC 4733 event (0-9, 10 = *, 11 = #) to `dest`: three updates then the end packet three
/// times, same timestamp, 20 ms apart.
pub fn send_digit(rtp: &UdpSocket, dest: &str, seq: &mut u16, ts: u32, event: u8) {
    for (i, dur) in [160u16, 320, 480, 640, 640, 640].into_iter().enumerate() {
        let end = if i >= 3 { 0x80 } else { 0 };
        let mut p = vec![0x80, if i == 0 { 0x80 | 101 } else { 101 }];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        p.extend_from_slice(&[event, end | 10]);
        p.extend_from_slice(&dur.to_be_bytes());
        rtp.send_to(&p, dest).unwrap();
        *seq = seq.wrapping_add(1);
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Leg {
    fn send(&self, method: &str, cseq: u32, to: &str) {
        let head = self.head.replace(&format!("z9hG4bK{}X", self.call_id), &format!("z9hG4bK{}{method}", self.call_id));
        let msg = format!("{method} {head}To: <sip:{to}@{}>;tag={}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n", self.server, self.to_tag);
        self.sock.send_to(msg.as_bytes(), &self.server).unwrap();
    }

    /// Sends a re-INVITE offering our media with `direction` (`sendonly` puts the call on
    /// hold, `sendrecv` resumes), ACKs it, and returns the final response.
    pub fn reinvite(&self, to: &str, cseq: u32, direction: &str) -> String {
        self.reinvite_with(to, cseq, "0", direction)
    }

    /// [`Leg::reinvite`] offering `codec` (a static payload type: `0` PCMU, `8` PCMA).
    pub fn reinvite_with(&self, to: &str, cseq: u32, codec: &str, direction: &str) -> String {
        let port = self.rtp.local_addr().unwrap().port();
        let sdp = format!(
            "v=0\r\no=- 1 {cseq} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP {codec} 101\r\n\
             a=rtpmap:101 telephone-event/8000\r\na={direction}\r\n"
        );
        let head = self.head.replace(&format!("z9hG4bK{}X", self.call_id), &format!("z9hG4bK{}re{cseq}", self.call_id));
        let msg = format!(
            "INVITE {head}To: <sip:{to}@{}>;tag={}\r\nCSeq: {cseq} INVITE\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            self.server,
            self.to_tag,
            sdp.len()
        );
        self.sock.send_to(msg.as_bytes(), &self.server).unwrap();
        let response = wait_final(&self.sock, "INVITE");
        self.send("ACK", cseq, to);
        response
    }

    /// Payload types of the server's RTP packets arriving within `window`.
    pub fn rtp_payload_types(&self, window: Duration) -> Vec<u8> {
        self.rtp.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut buf = [0u8; 2048];
        let end = std::time::Instant::now() + window;
        let mut pts = Vec::new();
        while std::time::Instant::now() < end {
            if let Ok(n) = self.rtp.recv(&mut buf) {
                if n > 12 {
                    pts.push(buf[1] & 0x7f);
                }
            }
        }
        pts
    }

    /// RTP packets from the server arriving within `window`.
    pub fn count_rtp(&self, window: Duration) -> usize {
        self.rtp.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut buf = [0u8; 2048];
        let until = std::time::Instant::now() + window;
        let mut n = 0;
        while std::time::Instant::now() < until {
            if let Ok((len, _)) = self.rtp.recv_from(&mut buf) {
                if len >= 12 && !(200..=204).contains(&buf[1]) {
                    n += 1;
                }
            }
        }
        n
    }

    /// Leaves out the next `n` RTP packets (a loss the server should count).
    pub fn skip(&mut self, n: u16) {
        self.seq = self.seq.wrapping_add(n);
        self.ts = self.ts.wrapping_add(160 * u32::from(n));
    }

    /// A handle on the leg's RTP socket (to read what the server sends, or send RTCP).
    pub fn rtp_socket(&self) -> (UdpSocket, String) {
        (self.rtp.try_clone().unwrap(), self.media.clone())
    }

    /// Types `keys` (0-9, *, #) as RFC 4733 events.
    pub fn keys(&mut self, keys: &str) {
        for k in keys.chars() {
            let event = match k {
                '*' => 10,
                '#' => 11,
                d => d.to_digit(10).expect("a keypad key") as u8,
            };
            self.ts = self.ts.wrapping_add(8000);
            send_digit(&self.rtp, &self.media, &mut self.seq, self.ts, event);
        }
    }

    /// Sends `ms` of PCMU audio, 20 ms a packet in real time: a loud 1 kHz tone, or silence.
    pub fn audio(&mut self, ms: u32, tone: bool) {
        for n in 0..ms / 20 {
            let payload: Vec<u8> = (0..160)
                .map(|i| {
                    let t = (n * 160 + i) as f32 / 8000.0;
                    let v = if tone { (t * 1000.0 * std::f32::consts::TAU).sin() * 16000.0 } else { 0.0 };
                    parley_media::g711::linear_to_ulaw(v as i16)
                })
                .collect();
            let mut p = vec![0x80, 0];
            p.extend_from_slice(&self.seq.to_be_bytes());
            p.extend_from_slice(&self.ts.to_be_bytes());
            p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
            p.extend_from_slice(&payload);
            self.rtp.send_to(&p, &self.media).unwrap();
            self.seq = self.seq.wrapping_add(1);
            self.ts = self.ts.wrapping_add(160);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `pcm` (8 kHz) as PCMU at the 20 ms pace.
    pub fn speak(&mut self, pcm: &[i16]) {
        for chunk in pcm.chunks(160) {
            let mut p = vec![0x80, 0];
            p.extend_from_slice(&self.seq.to_be_bytes());
            p.extend_from_slice(&self.ts.to_be_bytes());
            p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
            p.extend(chunk.iter().map(|&s| parley_media::g711::linear_to_ulaw(s)));
            self.rtp.send_to(&p, &self.media).unwrap();
            self.seq = self.seq.wrapping_add(1);
            self.ts = self.ts.wrapping_add(160);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends one RFC 3389 comfort noise packet (payload type 13) at `level` -dBov, as a phone
    /// that suppresses silence does when its user stops talking.
    pub fn comfort_noise(&mut self, level: u8) {
        let mut p = vec![0x80, 13];
        p.extend_from_slice(&self.seq.to_be_bytes());
        p.extend_from_slice(&self.ts.to_be_bytes());
        p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        p.push(level);
        self.rtp.send_to(&p, &self.media).unwrap();
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(160);
    }

    /// Waits up to `limit` for the server's BYE and answers it 200; whether one came.
    pub fn answer_bye(&self, limit: Duration) -> bool {
        let mut buf = [0u8; 65535];
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            let Ok((n, from)) = self.sock.recv_from(&mut buf) else { continue };
            let req = String::from_utf8_lossy(&buf[..n]).into_owned();
            if !req.starts_with("BYE ") {
                continue;
            }
            let keep: Vec<&str> = req.lines().filter(|l| ["Via:", "From:", "To:", "Call-ID:", "CSeq:"].iter().any(|h| l.starts_with(h))).collect();
            let ok = format!("SIP/2.0 200 OK\r\n{}\r\nContent-Length: 0\r\n\r\n", keep.join("\r\n"));
            self.sock.send_to(ok.as_bytes(), from).unwrap();
            return true;
        }
        false
    }

    pub fn bye(self, to: &str) {
        self.send("BYE", 2, to);
        assert!(wait_final(&self.sock, "BYE").starts_with("SIP/2.0 200"));
    }
}

/// A call held for `secs`, then hung up; returns the INVITE's final status.
pub fn call(server: &str, call_id: &str, ruri: &str, to: &str, extra: &str, secs: u64) -> u16 {
    let (code, leg) = invite(server, call_id, "+15550100042", ruri, to, extra);
    if let Some(leg) = leg {
        std::thread::sleep(Duration::from_secs(secs));
        leg.bye(to);
    }
    code
}

/// An INVITE (no SDP needed for a refusal) to `sip:{ruri}@server` with `extra` header lines;
/// the final response, as text.
pub fn invite_response(server: &str, call_id: &str, ruri: &str, extra: &str) -> String {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let local = sock.local_addr().unwrap();
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    let msg = format!(
        "INVITE sip:{ruri}@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{call_id}\r\nMax-Forwards: 70\r\n\
         From: <sip:+15550100099@127.0.0.1>;tag=r{call_id}\r\nTo: <sip:{ruri}@{server}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:c@{local}>\r\n{extra}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    sock.send_to(msg.as_bytes(), server).unwrap();
    wait_final(&sock, "INVITE")
}

/// An OPTIONS request to `server` from a fresh socket; the final response.
pub fn options(server: &str) -> String {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let local = sock.local_addr().unwrap();
    let msg = format!(
        "OPTIONS sip:{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKopt{}\r\nMax-Forwards: 70\r\n\
         From: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:{server}>\r\nCall-ID: opt-{}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        local.port(),
        local.port()
    );
    sock.send_to(msg.as_bytes(), server).unwrap();
    wait_final(&sock, "OPTIONS")
}

/// The first final response to `method` on `sock` within 10 s.
pub fn wait_final(sock: &std::net::UdpSocket, method: &str) -> String {
    let mut buf = [0u8; 65535];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        let Ok((n, _)) = sock.recv_from(&mut buf) else { continue };
        let t = String::from_utf8_lossy(&buf[..n]).into_owned();
        let cseq_ok = t.lines().any(|l| l.starts_with("CSeq:") && l.trim_end().ends_with(method));
        if t.starts_with("SIP/2.0 ") && cseq_ok && t[8..9].parse::<u8>().unwrap_or(1) >= 2 {
            return t;
        }
    }
    panic!("no final response to {method}");
}
