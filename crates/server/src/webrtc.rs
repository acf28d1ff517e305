//! Calls from a browser: WebRTC with str0m (sans-IO), the server as ICE-lite on one UDP port
//! per call, DTLS-SRTP, Opus. The console posts the browser's offer (non-trickle: its
//! candidates inside) and gets the answer; from then on the call is a call like any other (the
//! same pipeline, admission, record, usage, document and policy as a SIP or Twilio call): the
//! driver task here decodes the browser's Opus to 8 kHz frames for the call task and encodes
//! the agent's frames back.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parley_agent::spec::AgentSpec;
use str0m::change::SdpOffer;
use str0m::format::Codec as RtcCodec;
use str0m::media::{MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::call::{self, CallEvent, CallSetup};
use crate::codec::Codec;
use crate::leg::{CallEnd, LegCommand};
use crate::media_io::{recv_from, Media, MediaIn, Quality};
use crate::Shared;

/// Browser calls get numbers of their own, apart from SIP's and Twilio's.
static NEXT_BROWSER_CALL: AtomicU64 = AtomicU64::new(3_000_000_000);

/// Why a browser call could not start.
#[derive(Debug, thiserror::Error)]
pub enum BrowserCallError {
    /// The offer is not SDP str0m accepts.
    #[error("the offer is not a WebRTC offer: {0}")]
    Offer(String),
    /// The tenant is at a limit (concurrent calls, minutes) or the server is draining.
    #[error("the call was not admitted (a limit of the tenant or the server)")]
    NotAdmitted,
    /// No UDP port could be opened.
    #[error("no media port: {0}")]
    Io(#[from] std::io::Error),
}

/// The call task's side of a browser call: 8 kHz frames in and out.
pub struct BrowserLeg {
    inbound: mpsc::Receiver<MediaIn>,
    outbound: mpsc::Sender<Vec<i16>>,
    frames_in: u32,
}

impl BrowserLeg {
    pub(crate) async fn recv(&mut self) -> MediaIn {
        let m = recv_from(&mut self.inbound).await;
        if matches!(m, MediaIn::Audio(..)) {
            self.frames_in += 1;
        }
        m
    }

    pub(crate) fn send(&mut self, frame: &[i16]) -> bool {
        self.outbound.try_send(frame.to_vec()).is_ok()
    }

    pub(crate) fn quality(&self) -> Quality {
        (self.frames_in, 0, 0.0, None)
    }
}

/// A browser call just started: the answer to give the browser, and the handle that hangs the
/// call up from the browser's side (dropping it does too).
pub struct Started {
    /// The SDP answer.
    pub answer: String,
    /// Send (or drop) to end the call as the caller.
    pub hang_up: mpsc::Sender<()>,
}

/// Starts a browser call to `agent` of `tenant` from `offer` (SDP). Media travels on a UDP
/// port of `ip` (the address browsers reach this server at).
pub async fn start(shared: Arc<Shared>, tenant: &str, agent: AgentSpec, offer: &str, ip: IpAddr) -> Result<Started, BrowserCallError> {
    let offer = SdpOffer::from_sdp_string(offer).map_err(|e| BrowserCallError::Offer(e.to_string()))?;
    let engines = shared.speech.providers();
    let full = shared.draining.load(Ordering::Acquire) || shared.metrics.calls_active.load(Ordering::Acquire) as usize >= shared.max_calls;
    let admitted = match full {
        false => shared.active.admit(tenant, |n| shared.directory.admit(tenant, n, &engines)).ok(),
        true => None,
    };
    let admitted = admitted.ok_or(BrowserCallError::NotAdmitted)?;
    let socket = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
    let local = socket.local_addr()?;
    let mut rtc = RtcConfig::new().set_ice_lite(true).build(Instant::now());
    let candidate = Candidate::host(local, "udp").map_err(|e| BrowserCallError::Offer(e.to_string()))?;
    rtc.add_local_candidate(candidate);
    let answer = rtc.sdp_api().accept_offer(offer).map_err(|e| BrowserCallError::Offer(e.to_string()))?;

    let (in_tx, in_rx) = mpsc::channel(64);
    let (out_tx, out_rx) = mpsc::channel(64);
    let (ev_tx, ev_rx) = mpsc::channel(16);
    let (cmd_tx, cmd_rx) = mpsc::channel::<LegCommand>(4);
    let call = NEXT_BROWSER_CALL.fetch_add(1, Ordering::Relaxed);
    let setup = CallSetup {
        call,
        media: Media::Browser(BrowserLeg { inbound: in_rx, outbound: out_tx, frames_in: 0 }),
        agent,
        caller: "browser".into(),
        callee: "console".into(),
        transport: "webrtc".into(),
        tenant: tenant.to_string(),
        policy: shared.directory.policy(tenant),
        placed_ms: None,
        admitted: Some(admitted),
    };
    tracing::info!(call, "browser call offered");
    let (hang_up, hung_up) = mpsc::channel(1);
    tokio::spawn(drive(rtc, socket, Channels { in_tx, out_rx, events: ev_tx, commands: cmd_rx, hung_up }, call));
    tokio::spawn(call::run(setup, ev_rx, cmd_tx, shared));
    Ok(Started { answer: answer.to_sdp_string(), hang_up })
}

/// The driver's ends of the channels to the call task and the console.
struct Channels {
    in_tx: mpsc::Sender<MediaIn>,
    out_rx: mpsc::Receiver<Vec<i16>>,
    events: mpsc::Sender<CallEvent>,
    commands: mpsc::Receiver<LegCommand>,
    hung_up: mpsc::Receiver<()>,
}

/// Drives the connection until the browser goes away or hangs up, or the agent hangs up.
async fn drive(mut rtc: Rtc, socket: UdpSocket, channels: Channels, call: u64) {
    let Channels { in_tx, mut out_rx, events, mut commands, mut hung_up } = channels;
    let local = socket.local_addr().ok();
    let mut codec = Codec::for_encoding("opus");
    let (mut mid, mut established, mut seq) = (None::<Mid>, false, 0u16);
    let (mut rtp_time, mut pcm, mut packet) = (0u64, Vec::new(), Vec::new());
    let mut buf = vec![0u8; 2000];
    let end = loop {
        // Everything str0m has to say, then wait for the network, the clock or the agent.
        let deadline = match rtc.poll_output() {
            Ok(Output::Timeout(t)) => t,
            Ok(Output::Transmit(t)) => {
                let _ = socket.send_to(&t.contents, t.destination).await;
                continue;
            }
            Ok(Output::Event(e)) => {
                match e {
                    Event::MediaAdded(m) if m.kind == MediaKind::Audio => mid = Some(m.mid),
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected) => break CallEnd::CallerHungUp,
                    Event::Connected if !established => {
                        established = true;
                        let _ = events.send(CallEvent::Established).await;
                    }
                    Event::MediaData(data) => {
                        codec.decode(&data.data, &mut pcm);
                        if !pcm.is_empty() {
                            seq = seq.wrapping_add(1);
                            let _ = in_tx.try_send(MediaIn::Audio(seq, std::mem::take(&mut pcm)));
                        }
                    }
                    _ => {}
                }
                continue;
            }
            Err(e) => {
                tracing::info!(call, error = %e, "browser call's connection failed");
                break CallEnd::CallerHungUp;
            }
        };
        let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline));
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let Ok((n, source)) = r else { break CallEnd::CallerHungUp };
                let (Some(destination), Ok(contents)) = (local, buf[..n].try_into()) else { continue };
                let _ = rtc.handle_input(Input::Receive(Instant::now(), Receive { proto: Protocol::Udp, source, destination, contents }));
            }
            _ = sleep => {
                let _ = rtc.handle_input(Input::Timeout(Instant::now()));
            }
            frame = out_rx.recv() => {
                let Some(frame) = frame else { break CallEnd::AgentHungUp };
                let Some(writer) = mid.and_then(|m| rtc.writer(m)) else { continue };
                let Some(pt) = writer.payload_params().find(|p| p.spec().codec == RtcCodec::Opus).map(|p| p.pt()) else { continue };
                codec.encode(&frame, &mut packet);
                let _ = writer.write(pt, Instant::now(), MediaTime::new(rtp_time, str0m::media::Frequency::FORTY_EIGHT_KHZ), packet.clone());
                rtp_time += 960;
            }
            _ = hung_up.recv() => {
                rtc.disconnect();
                break CallEnd::CallerHungUp;
            }
            cmd = commands.recv() => match cmd {
                None | Some(LegCommand::Hangup) => {
                    rtc.disconnect();
                    break CallEnd::AgentHungUp;
                }
                Some(LegCommand::Transfer(_)) => {
                    // A browser call has no telephone network to hand over to.
                    let _ = events.send(CallEvent::ReferStatus(501)).await;
                }
                Some(LegCommand::Consult(_)) => {
                    let _ = events.send(CallEvent::ConsultEnded).await;
                }
                Some(LegCommand::EndConsult) => {}
            },
        }
    };
    tracing::info!(call, "browser call ended");
    drop(in_tx);
    let _ = events.send(CallEvent::Ended(end)).await;
}
