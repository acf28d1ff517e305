//! Signed webhook delivery: `Parley-Signature: t=<unix>,v1=<hex>` where `v1` is
//! HMAC-SHA256(secret, "<t>.<body>") (the scheme of shared/DESIGN.md, like Stripe's).

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The receiver could not be reached.
    #[error("webhook unreachable: {0}")]
    Unreachable(String),
    /// The receiver answered with a non-2xx status (redirects are not followed).
    #[error("webhook answered {0}")]
    Status(u16),
    /// The tenant's URL is refused by the outgoing-HTTP policy ([`crate::egress`]).
    #[error("webhook URL refused: {0}")]
    Refused(crate::egress::EgressError),
}

/// The signature header value for `body` sent at unix time `t`.
pub fn signature(secret: &[u8], t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a signature header (for receivers and tests); `tolerance_s` bounds replay.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now_unix: i64, tolerance_s: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    if (now_unix - t).abs() > tolerance_s {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&v1).is_ok()
}

/// Signs and posts documents with the installation's secret (to the operator's URL), or a
/// tenant's own (to the tenant's URL, through the outgoing-HTTP policy).
pub struct WebhookSender {
    /// For the operator's own URL (`--demo-webhook`).
    client: reqwest::Client,
    /// For tenants' URLs: [`crate::egress::Egress::client`].
    tenant_client: reqwest::Client,
    egress: crate::egress::Egress,
    secret: Vec<u8>,
}

impl WebhookSender {
    /// A sender signing with `secret`; tenants' URLs go through `egress`.
    pub fn new(secret: Vec<u8>, egress: crate::egress::Egress) -> WebhookSender {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).redirect(reqwest::redirect::Policy::none()).build().unwrap_or_default();
        WebhookSender { client, tenant_client: egress.client(Duration::from_secs(10)), egress, secret }
    }

    /// One delivery attempt of `body` to the operator's `url`, signed at `now_unix`.
    /// `delivery_id` is the same for every attempt at one document (`Parley-Delivery-Id`):
    /// delivery is at least once, and receivers de-duplicate on it.
    pub async fn send(&self, url: &str, delivery_id: &str, body: Vec<u8>, now_unix: i64) -> Result<(), DeliveryError> {
        let sig = signature(&self.secret, now_unix, &body);
        Self::post(&self.client, url, delivery_id, sig, body).await
    }

    /// One delivery attempt to a tenant's `url`, signed with `secret` (that tenant's webhook
    /// integration secret).
    pub async fn send_signed_with(&self, secret: &[u8], url: &str, delivery_id: &str, body: Vec<u8>, now_unix: i64) -> Result<(), DeliveryError> {
        let url = self.egress.check_url(url).map_err(DeliveryError::Refused)?;
        let sig = signature(secret, now_unix, &body);
        Self::post(&self.tenant_client, url.as_str(), delivery_id, sig, body).await.map_err(|e| match e {
            // The resolver refused every address: say so, not how.
            DeliveryError::Unreachable(why) if why.contains("does not send to") => DeliveryError::Refused(crate::egress::EgressError::Refused),
            other => other,
        })
    }

    async fn post(client: &reqwest::Client, url: &str, delivery_id: &str, sig: String, body: Vec<u8>) -> Result<(), DeliveryError> {
        let resp = client
            .post(url)
            .header("Parley-Delivery-Id", delivery_id)
            .header("Content-Type", "application/json")
            .header("Parley-Signature", sig)
            .body(body)
            .send()
            .await
            .map_err(|e| DeliveryError::Unreachable(error_chain(&e.without_url())))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(DeliveryError::Status(resp.status().as_u16()))
        }
    }
}

/// An error with its sources, for telling a refusal by the resolver from other failures.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_an_independent_hmac_and_verifies() {
        // Known answer: HMAC-SHA256(key="secret", "1700000000.{}"), computed with Python's hmac.
        let sig = signature(b"secret", 1_700_000_000, b"{}");
        assert_eq!(sig, "t=1700000000,v1=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163");
        assert!(verify(b"secret", &sig, b"{}", 1_700_000_100, 300));
        assert!(!verify(b"secret", &sig, b"{ }", 1_700_000_100, 300));
        assert!(!verify(b"other", &sig, b"{}", 1_700_000_100, 300));
        assert!(!verify(b"secret", &sig, b"{}", 1_700_009_000, 300), "too old");
    }
}
