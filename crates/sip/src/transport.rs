//! The tokio side: UDP, TCP and (with a certificate) TLS listeners that hand datagrams and
//! framed messages to the endpoint driver, and send its [`Transmit`]s. No SIP logic lives here.
//! TLS (rustls) both ways: peers connect to our listener and what we send them goes back over
//! their connection; to a peer with no connection (a provider we call or register with) we
//! connect out, verifying its certificate against the Mozilla roots (plus any trusted with
//! [`Transports::trust`]) and the name set with [`Transports::tls_name`].

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

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

/// How we connect out over TLS: the rustls client configuration (trust anchors) and the name
/// each peer's certificate must carry (by address; the address itself when none is set).
struct TlsClient {
    connector: tokio_rustls::TlsConnector,
    names: Mutex<HashMap<SocketAddr, ServerName<'static>>>,
}

/// The bound SIP sockets.
pub struct Transports {
    udp: Arc<UdpSocket>,
    conns: Conns,
    /// Where messages read from connections we open go (responses to our requests).
    inbound: mpsc::Sender<Inbound>,
    tls_client: Arc<TlsClient>,
    /// Actual UDP address (port 0 resolved).
    pub udp_addr: SocketAddr,
    /// Actual TCP address.
    pub tcp_addr: SocketAddr,
    /// Actual TLS address, if TLS listens.
    pub tls_addr: Option<SocketAddr>,
}

/// A TLS listener: where, and the rustls server configuration (certificate chain and key).
pub struct TlsListen {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// Server configuration.
    pub config: Arc<tokio_rustls::rustls::ServerConfig>,
}

/// Most inbound items queued before reading pauses (back-pressure on the sockets).
const QUEUE: usize = 4096;

impl Transports {
    /// Binds UDP and TCP on the same address and starts the reader tasks.
    pub async fn bind(addr: SocketAddr) -> io::Result<(Transports, mpsc::Receiver<Inbound>)> {
        Transports::bind_with_tls(addr, None).await
    }

    /// [`Transports::bind`], plus a TLS listener when `tls` is given.
    pub async fn bind_with_tls(addr: SocketAddr, tls: Option<TlsListen>) -> io::Result<(Transports, mpsc::Receiver<Inbound>)> {
        let udp = Arc::new(UdpSocket::bind(addr).await?);
        let udp_addr = udp.local_addr()?;
        let tcp = TcpListener::bind(SocketAddr::new(addr.ip(), udp_addr.port())).await?;
        let tcp_addr = tcp.local_addr()?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let conns: Conns = Arc::default();
        let tls_addr = match tls {
            Some(t) => {
                let listener = TcpListener::bind(t.addr).await?;
                let bound = listener.local_addr()?;
                tokio::spawn(tls_acceptor(listener, tokio_rustls::TlsAcceptor::from(t.config), tx.clone(), conns.clone()));
                Some(bound)
            }
            None => None,
        };
        tokio::spawn(udp_reader(udp.clone(), tx.clone()));
        tokio::spawn(tcp_acceptor(tcp, tx.clone(), conns.clone()));
        let tls_client = Arc::new(TlsClient { connector: tokio_rustls::TlsConnector::from(client_config(&[])), names: Mutex::new(HashMap::new()) });
        Ok((Transports { udp, conns, inbound: tx, tls_client, udp_addr, tcp_addr, tls_addr }, rx))
    }

    /// Trusts `extra` certificates (DER) besides the Mozilla roots when connecting out over TLS.
    pub fn trust(&mut self, extra: &[CertificateDer<'static>]) {
        self.tls_client = Arc::new(TlsClient { connector: tokio_rustls::TlsConnector::from(client_config(extra)), names: Mutex::new(HashMap::new()) });
    }

    /// The name `addr`'s certificate must carry when we connect to it over TLS (a provider's
    /// domain); without one, its IP address.
    pub fn tls_name(&self, addr: SocketAddr, name: &str) {
        if let (Ok(n), Ok(mut names)) = (ServerName::try_from(name.to_string()), self.tls_client.names.lock()) {
            names.insert(addr, n);
        }
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
                        Ok(stream) => {
                            let (r, w) = stream.into_split();
                            spawn_conn(r, w, Peer { transport: Transport::Tcp, addr: t.dest }, Some(self.inbound.clone()), self.conns.clone())
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "tcp connect failed");
                            return;
                        }
                    },
                };
                let _ = sender.send(t.data).await;
            }
            Transport::Tls => {
                let existing = self.conns.lock().ok().and_then(|c| c.get(&t.dest).cloned());
                let sender = match existing {
                    Some(s) => s,
                    None => match self.connect_tls(t.dest).await {
                        Ok(s) => s,
                        Err(e) => {
                            tracing::warn!(error = %e, "tls connect failed");
                            return;
                        }
                    },
                };
                let _ = sender.send(t.data).await;
            }
        }
    }
}

impl Transports {
    /// A new TLS connection to `dest`, verified against the trust anchors and its name.
    async fn connect_tls(&self, dest: SocketAddr) -> io::Result<mpsc::Sender<Vec<u8>>> {
        let name = self.tls_client.names.lock().ok().and_then(|n| n.get(&dest).cloned()).unwrap_or_else(|| ServerName::IpAddress(dest.ip().into()));
        let tcp = tokio::time::timeout(std::time::Duration::from_secs(10), TcpStream::connect(dest)).await.map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        let tls = tokio::time::timeout(std::time::Duration::from_secs(10), self.tls_client.connector.connect(name, tcp))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        let (r, w) = tokio::io::split(tls);
        Ok(spawn_conn(r, w, Peer { transport: Transport::Tls, addr: dest }, Some(self.inbound.clone()), self.conns.clone()))
    }
}

/// A rustls client configuration trusting the Mozilla roots and `extra`.
fn client_config(extra: &[CertificateDer<'static>]) -> Arc<tokio_rustls::rustls::ClientConfig> {
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in extra {
        if let Err(e) = roots.add(cert.clone()) {
            tracing::warn!(error = %e, "a trusted certificate was not usable");
        }
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .expect("ring supports the default protocol versions");
    Arc::new(config)
}

async fn tls_acceptor(listener: TcpListener, acceptor: tokio_rustls::TlsAcceptor, tx: mpsc::Sender<Inbound>, conns: Conns) {
    loop {
        match listener.accept().await {
            Ok((stream, from)) => {
                let (acceptor, tx, conns) = (acceptor.clone(), tx.clone(), conns.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let (r, w) = tokio::io::split(tls);
                            spawn_conn(r, w, Peer { transport: Transport::Tls, addr: from }, Some(tx), conns);
                        }
                        Ok(Err(e)) => tracing::info!(error = %e, "tls handshake failed"),
                        Err(_) => tracing::info!("tls handshake timed out"),
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "tls accept failed"),
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
                let (r, w) = stream.into_split();
                spawn_conn(r, w, Peer { transport: Transport::Tcp, addr: from }, Some(tx.clone()), conns.clone());
            }
            Err(e) => tracing::warn!(error = %e, "tcp accept failed"),
        }
    }
}

/// Reads framed messages from a connection and writes what is sent to `peer`.
fn spawn_conn<R, W>(mut reader: R, mut writer: W, peer: Peer, inbound: Option<mpsc::Sender<Inbound>>, conns: Conns) -> mpsc::Sender<Vec<u8>>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let peer_addr = peer.addr;
    let (out_tx, mut out_rx) = mpsc::channel::<Vec<u8>>(256);
    if let Ok(mut c) = conns.lock() {
        c.insert(peer_addr, out_tx.clone());
    }
    tokio::spawn(async move {
        while let Some(data) = out_rx.recv().await {
            if writer.write_all(&data).await.is_err() || writer.flush().await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        let mut buf: Vec<u8> = Vec::with_capacity(8192);
        let mut chunk = vec![0u8; 8192];
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
                        tracing::info!(error = %e, "closing a connection on a framing error");
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
