//! The tokio side: UDP and TCP listeners that hand datagrams and framed messages to the endpoint
//! driver, and send its [`Transmit`]s. No SIP logic lives here.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

use crate::endpoint::{Transmit, Transport};
use crate::message::Message;
use crate::parse::parse_stream;
use crate::transaction::Peer;

/// Something that arrived.
#[derive(Debug)]
pub enum Inbound {
    /// A UDP datagram, unparsed.
    Datagram(Peer, Vec<u8>),
    /// A message framed from a TCP stream.
    Message(Peer, Message),
}

type Conns = Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>>;

/// The bound SIP sockets.
pub struct Transports {
    udp: Arc<UdpSocket>,
    conns: Conns,
    /// Actual UDP address (port 0 resolved).
    pub udp_addr: SocketAddr,
    /// Actual TCP address.
    pub tcp_addr: SocketAddr,
}

/// Most inbound items queued before reading pauses (back-pressure on the sockets).
const QUEUE: usize = 4096;

impl Transports {
    /// Binds UDP and TCP on the same address and starts the reader tasks.
    pub async fn bind(addr: SocketAddr) -> io::Result<(Transports, mpsc::Receiver<Inbound>)> {
        let udp = Arc::new(UdpSocket::bind(addr).await?);
        let udp_addr = udp.local_addr()?;
        let tcp = TcpListener::bind(SocketAddr::new(addr.ip(), udp_addr.port())).await?;
        let tcp_addr = tcp.local_addr()?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let conns: Conns = Arc::default();
        tokio::spawn(udp_reader(udp.clone(), tx.clone()));
        tokio::spawn(tcp_acceptor(tcp, tx, conns.clone()));
        Ok((Transports { udp, conns, udp_addr, tcp_addr }, rx))
    }

    /// Sends one message. TCP goes over the open connection with that peer, or a new one.
    pub async fn send(&self, t: Transmit) {
        match t.transport {
            Transport::Udp => {
                if let Err(e) = self.udp.send_to(&t.data, t.dest).await {
                    tracing::warn!(error = %e, "udp send failed");
                }
            }
            Transport::Tcp => {
                let existing = self.conns.lock().ok().and_then(|c| c.get(&t.dest).cloned());
                let sender = match existing {
                    Some(s) => s,
                    None => match TcpStream::connect(t.dest).await {
                        Ok(stream) => spawn_conn(stream, t.dest, None, self.conns.clone()),
                        Err(e) => {
                            tracing::warn!(error = %e, "tcp connect failed");
                            return;
                        }
                    },
                };
                let _ = sender.send(t.data).await;
            }
        }
    }
}

async fn udp_reader(sock: Arc<UdpSocket>, tx: mpsc::Sender<Inbound>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        match sock.recv_from(&mut buf).await {
            Ok((n, from)) => {
                // Keep-alives (CRLF) carry nothing.
                if buf[..n].iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                let peer = Peer { transport: Transport::Udp, addr: from };
                if tx.send(Inbound::Datagram(peer, buf[..n].to_vec())).await.is_err() {
                    return;
                }
            }
            Err(e) => tracing::debug!(error = %e, "udp recv error"),
        }
    }
}

async fn tcp_acceptor(listener: TcpListener, tx: mpsc::Sender<Inbound>, conns: Conns) {
    loop {
        match listener.accept().await {
            Ok((stream, from)) => {
                spawn_conn(stream, from, Some(tx.clone()), conns.clone());
            }
            Err(e) => tracing::warn!(error = %e, "tcp accept failed"),
        }
    }
}

fn spawn_conn(stream: TcpStream, peer_addr: SocketAddr, inbound: Option<mpsc::Sender<Inbound>>, conns: Conns) -> mpsc::Sender<Vec<u8>> {
    let (out_tx, mut out_rx) = mpsc::channel::<Vec<u8>>(256);
    if let Ok(mut c) = conns.lock() {
        c.insert(peer_addr, out_tx.clone());
    }
    let (mut reader, mut writer) = stream.into_split();
    tokio::spawn(async move {
        while let Some(data) = out_rx.recv().await {
            if writer.write_all(&data).await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        let mut buf: Vec<u8> = Vec::with_capacity(8192);
        let mut chunk = vec![0u8; 8192];
        let peer = Peer { transport: Transport::Tcp, addr: peer_addr };
        'conn: loop {
            let n = match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
            loop {
                match parse_stream(&buf) {
                    Ok(Some((msg, used))) => {
                        buf.drain(..used);
                        if let Some(tx) = &inbound {
                            if tx.send(Inbound::Message(peer, msg)).await.is_err() {
                                break 'conn;
                            }
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        // Framing is lost (RFC 4475 3.1.2.3): close the connection.
                        tracing::info!(error = %e, "closing tcp connection on framing error");
                        break 'conn;
                    }
                }
            }
        }
        if let Ok(mut c) = conns.lock() {
            c.remove(&peer_addr);
        }
    });
    out_tx
}
