//! Sealing to a tenant's own public key, so that the platform cannot read what it keeps (a
//! recording, when the tenant's policy names a key). ECIES over X25519: an ephemeral key pair,
//! HKDF-SHA256 of the shared secret (salt: both public keys) into an AES-256-GCM key, and the
//! blob `ephemeral public key (32) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`. The tenant opens it
//! with its X25519 secret key ([`open_sealed_to`], or any ECIES implementation of the same recipe).

use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::crypto::{open_with, seal_with};
use crate::StoreError;

const INFO: &[u8] = b"parley/recipient/v1";

/// Parses a hex X25519 public key (64 hex digits).
pub fn parse_public_key(hex_key: &str) -> Result<[u8; 32], StoreError> {
    let bytes = hex::decode(hex_key).map_err(|_| StoreError::Invalid("public key must be 64 hex digits (X25519)".into()))?;
    bytes.try_into().map_err(|_| StoreError::Invalid("public key must be 64 hex digits (X25519)".into()))
}

fn derive(shared: &[u8; 32], eph: &[u8; 32], recipient: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let salt = [eph.as_slice(), recipient.as_slice()].concat();
    let mut key = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's output limit (255 × 32).
    let _ = Hkdf::<Sha256>::new(Some(&salt), shared).expand(INFO, key.as_mut_slice());
    key
}

/// Seals `plaintext` so that only the holder of `recipient`'s secret key can open it; `aad`
/// binds it to its place (tenant, call, kind).
pub fn seal_to(recipient: &[u8; 32], aad: &str, plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
    let eph = StaticSecret::from(rand::random::<[u8; 32]>());
    let eph_pub = PublicKey::from(&eph).to_bytes();
    let shared = eph.diffie_hellman(&PublicKey::from(*recipient));
    if !shared.was_contributory() {
        return Err(StoreError::Invalid("public key is a low-order point".into()));
    }
    let key = derive(shared.as_bytes(), &eph_pub, recipient);
    Ok([eph_pub.as_slice(), &seal_with(&key, aad, plaintext)?].concat())
}

/// Opens a blob made by [`seal_to`] with the recipient's secret key.
pub fn open_sealed_to(secret: &[u8; 32], aad: &str, blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    if blob.len() < 32 + 12 + 16 {
        return Err(StoreError::Crypto("sealed data too short"));
    }
    let (eph_pub, rest) = blob.split_at(32);
    let eph_pub: [u8; 32] = eph_pub.try_into().map_err(|_| StoreError::Crypto("ephemeral key"))?;
    let secret = StaticSecret::from(*secret);
    let recipient = PublicKey::from(&secret).to_bytes();
    let shared = secret.diffie_hellman(&PublicKey::from(eph_pub));
    open_with(&derive(shared.as_bytes(), &eph_pub, &recipient), aad, rest)
}

/// A new X25519 key pair `(secret, public)`, for tenants and tests.
pub fn generate_key_pair() -> ([u8; 32], [u8; 32]) {
    let secret = StaticSecret::from(rand::random::<[u8; 32]>());
    let public = PublicKey::from(&secret).to_bytes();
    (secret.to_bytes(), public)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_recipient_opens_and_only_in_place() {
        let (secret, public) = generate_key_pair();
        let (other, _) = generate_key_pair();
        let blob = seal_to(&public, "acme|call-1|recording", b"audio").unwrap();
        assert_eq!(open_sealed_to(&secret, "acme|call-1|recording", &blob).unwrap().as_slice(), b"audio");
        assert!(open_sealed_to(&other, "acme|call-1|recording", &blob).is_err());
        assert!(open_sealed_to(&secret, "acme|call-2|recording", &blob).is_err(), "bound to its place");
        let mut tampered = blob.clone();
        tampered[40] ^= 1;
        assert!(open_sealed_to(&secret, "acme|call-1|recording", &tampered).is_err());
        assert!(seal_to(&[0u8; 32], "x", b"y").is_err(), "low-order key refused");
        assert!(parse_public_key(&hex::encode(public)).is_ok());
        assert!(parse_public_key("abc").is_err());
    }
}
