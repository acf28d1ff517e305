//! Masking and keyed hashing of phone numbers and SIP users before they are stored or logged.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Keeps the first four and last two characters: `+15550100004` becomes `+155******04`.
pub fn mask_number(n: &str) -> String {
    let chars: Vec<char> = n.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    chars.iter().enumerate().map(|(i, c)| if i < 4 || i >= chars.len() - 2 { *c } else { '*' }).collect()
}

/// HMAC-SHA256 of the number under the installation's key, hex (first 32 chars).
pub fn hash_number(key: &[u8], n: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(n.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_hashes() {
        assert_eq!(mask_number("+15550100004"), "+155******04");
        assert_eq!(mask_number("1234"), "****");
        assert_eq!(hash_number(b"k", "+1"), hash_number(b"k", "+1"));
        assert_ne!(hash_number(b"k", "+1"), hash_number(b"j", "+1"));
    }
}
