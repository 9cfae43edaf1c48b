//! Private keys at rest: AES-256-GCM (ring) under `KEY_ENCRYPTION_KEY`. The first key
//! encrypts; every key is tried to decrypt, so the encryption key itself can rotate (put the
//! new one first, keep the old one until every stored key has been rewritten or removed).
//! The stored key's kid is the associated data: a sealed key moved to another record fails.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// The key-encryption keys, in order: the first seals.
pub struct Kek {
    keys: Vec<LessSafeKey>,
    rng: SystemRandom,
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kek([redacted; {} keys])", self.keys.len())
    }
}

impl Kek {
    /// Parses `KEY_ENCRYPTION_KEY`: base64url 32-byte keys, comma-separated. The error says
    /// what is wrong with which key (by position), never the key.
    pub fn parse(text: &str) -> Result<Kek, String> {
        let mut keys = Vec::new();
        for (i, part) in text.split(',').map(str::trim).enumerate() {
            let bytes = Zeroizing::new(
                URL_SAFE_NO_PAD
                    .decode(part.trim_end_matches('='))
                    .map_err(|_| format!("key {} is not base64url", i + 1))?,
            );
            if bytes.len() != 32 {
                return Err(format!("key {} is {} bytes; expected 32", i + 1, bytes.len()));
            }
            let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| format!("key {} is unusable", i + 1))?;
            keys.push(LessSafeKey::new(key));
        }
        Ok(Kek {
            keys,
            rng: SystemRandom::new(),
        })
    }

    /// A fresh random key, base64url: what `keys new-encryption-key` prints.
    pub fn generate() -> String {
        let mut key = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(key.as_mut())
            .expect("the OS random source works");
        URL_SAFE_NO_PAD.encode(key.as_ref())
    }

    /// `nonce || ciphertext || tag` of `plaintext`, bound to `kid`.
    pub fn seal(&self, kid: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).expect("the OS random source works");
        let mut sealed = plaintext.to_vec();
        self.keys[0]
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut sealed,
            )
            .expect("AES-GCM seals any length we store");
        [nonce.as_slice(), &sealed].concat()
    }

    /// The plaintext of `sealed` for `kid`, under whichever key opens it.
    pub fn open(&self, kid: &str, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (nonce, body) = sealed.split_at_checked(NONCE_LEN)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        self.keys.iter().find_map(|key| {
            let mut buffer = Zeroizing::new(body.to_vec());
            let plain = key
                .open_in_place(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(kid.as_bytes()),
                    &mut buffer,
                )
                .ok()?
                .to_vec();
            Some(Zeroizing::new(plain))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_opens_rotates_and_binds_the_kid() {
        let (old, new) = (Kek::generate(), Kek::generate());
        let sealed = Kek::parse(&old).unwrap().seal("kid-a", b"private key bytes");
        assert!(!sealed.windows(7).any(|w| w == b"private"), "plaintext visible");
        let rotated = Kek::parse(&format!("{new},{old}")).unwrap();
        assert_eq!(rotated.open("kid-a", &sealed).unwrap().as_slice(), b"private key bytes");
        assert!(rotated.open("kid-b", &sealed).is_none(), "another kid must not open it");
        assert!(Kek::parse(&new).unwrap().open("kid-a", &sealed).is_none());
        assert!(Kek::parse("short").unwrap_err().contains("key 1"));
        assert!(Kek::parse(&format!("{old},!!")).unwrap_err().contains("key 2"));
    }
}
