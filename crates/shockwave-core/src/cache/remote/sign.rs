//! Artifact signatures: HMAC-SHA256 under the key from the environment, over the task hash, the
//! team and the artifact's bytes, so a signed artifact cannot be replayed under another hash or
//! team. Sent and received as `x-artifact-tag` (hex). The key never leaves this module's callers
//! in any form but the MAC.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Secret;

type HmacSha256 = Hmac<Sha256>;

/// A signature being computed while an artifact streams past.
pub(super) struct Signer(HmacSha256);

impl Signer {
    pub(super) fn new(key: &Secret, hash: &str, team: &str) -> Signer {
        // HMAC takes keys of any length.
        let mut mac = HmacSha256::new_from_slice(key.expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        // Lengths first, so `hash` and `team` cannot trade bytes.
        for part in [hash, team] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        Signer(mac)
    }

    pub(super) fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub(super) fn tag(self) -> String {
        let bytes = self.0.finalize().into_bytes();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `tag` is this artifact's signature, compared in constant time.
    pub(super) fn verify(&self, tag: &str) -> bool {
        let Some(bytes) = from_hex(tag.trim()) else {
            return false;
        };
        self.0.clone().verify_slice(&bytes).is_ok()
    }
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(key: &str, hash: &str, team: &str, body: &[u8]) -> String {
        let mut s = Signer::new(&Secret::new(key.into()), hash, team);
        s.update(body);
        s.tag()
    }

    #[test]
    fn a_signature_binds_key_hash_team_and_bytes() {
        let tag = sign("k", "h1", "t", b"body");
        let mut ok = Signer::new(&Secret::new("k".into()), "h1", "t");
        ok.update(b"bo");
        ok.update(b"dy");
        assert!(ok.verify(&tag));
        for other in [
            sign("k2", "h1", "t", b"body"),
            sign("k", "h2", "t", b"body"),
            sign("k", "h1", "u", b"body"),
            sign("k", "h1", "t", b"bodY"),
            sign("k", "h1t", "", b"body"),
        ] {
            assert_ne!(tag, other);
        }
        let bad = Signer::new(&Secret::new("k".into()), "h1", "t");
        assert!(!bad.verify("zz"));
    }
}
