//! SIP over TLS: the rustls server configuration from the PEM certificate chain and key given
//! with `--sip-tls-cert` and `--sip-tls-key`, for the listener at `--sip-tls-listen`, and the
//! extra trust anchors of `--sip-tls-ca` for connecting out.

use std::sync::Arc;

use anyhow::{bail, Context};
use parley_sip::transport::TlsListen;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;

use crate::config::ServeConfig;

/// The TLS listener the configuration asks for, if any.
pub fn listen(cfg: &ServeConfig) -> anyhow::Result<Option<TlsListen>> {
    let (Some(addr), cert, key) = (cfg.sip_tls_listen, &cfg.sip_tls_cert, &cfg.sip_tls_key) else {
        if cfg.sip_tls_cert.is_some() || cfg.sip_tls_key.is_some() {
            bail!("--sip-tls-cert and --sip-tls-key need --sip-tls-listen");
        }
        return Ok(None);
    };
    let (Some(cert), Some(key)) = (cert, key) else { bail!("--sip-tls-listen needs --sip-tls-cert and --sip-tls-key") };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} holds no PEM certificate", cert.display()))?;
    if chain.is_empty() {
        bail!("{} holds no certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| format!("reading the private key in {}", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the TLS certificate and key do not fit together")?;
    Ok(Some(TlsListen { addr, config: Arc::new(config) }))
}

/// The PEM certificates of a file, one block each (none without a file).
pub fn pem_blocks(path: Option<&std::path::Path>) -> anyhow::Result<Vec<Vec<u8>>> {
    let Some(path) = path else { return Ok(Vec::new()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let end = "-----END CERTIFICATE-----";
    let blocks: Vec<Vec<u8>> = text.split_inclusive(end).filter(|b| b.contains("-----BEGIN CERTIFICATE-----")).map(|b| format!("{}\n", b.trim()).into_bytes()).collect();
    if blocks.is_empty() {
        bail!("{} holds no certificate", path.display());
    }
    Ok(blocks)
}

/// The certificates `--sip-tls-ca` adds to the trust anchors of outgoing TLS (none without it).
pub fn trusted(cfg: &ServeConfig) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let Some(path) = &cfg.sip_tls_ca else { return Ok(Vec::new()) };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("reading {}", path.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} holds no PEM certificate", path.display()))?;
    if certs.is_empty() {
        bail!("{} holds no certificate", path.display());
    }
    Ok(certs)
}
