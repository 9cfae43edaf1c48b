//! Private keys at rest: AES-256-GCM (ring) under `KEY_ENCRYPTION_KEY`. The first key
//! encrypts; every key is tried to decrypt, so the encryption key itself can rotate (put the
//! new one first, run `keys rewrap`, then drop the old one).
//!
//! The associated data binds what never changes about a key — kid, algorithm and creation
//! time ([`Binding`]) — so a sealed key moved to another record, or passed off as another
//! algorithm or generation, fails to open. Each sealed record names the fingerprint of the key
//! that sealed it: a record the right key cannot open is corrupt, not "a wrong key".

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// The key-encryption keys, in order: the first seals.
pub struct Kek {
    keys: Vec<LessSafeKey>,
    /// Each key's fingerprint, in the same order.
    fingerprints: Vec<String>,
    rng: SystemRandom,
}

/// What a sealed key is bound to. `Legacy` is the first format (kid alone), still opened so
/// that stores written before can be read, and re-sealed on their next write or `keys rewrap`.
#[derive(Debug, Clone, Copy)]
pub enum Binding<'a> {
    Key {
        kid: &'a str,
        algorithm: &'a str,
        created_unix_ms: i128,
    },
    Legacy {
        kid: &'a str,
    },
}

impl Binding<'_> {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Binding::Key {
                kid,
                algorithm,
                created_unix_ms,
            } => format!("cusdeb-anonymous key 2\0{kid}\0{algorithm}\0{created_unix_ms}").into_bytes(),
            Binding::Legacy { kid } => kid.as_bytes().to_vec(),
        }
    }
}

/// Why a sealed key did not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// Sealed by a key that `KEY_ENCRYPTION_KEY` does not hold (its fingerprint, if known).
    UnknownKey(Option<String>),
    /// The key that sealed it is here, and it does not open: the record was altered.
    Corrupt,
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
        let (mut keys, mut fingerprints) = (Vec::new(), Vec::new());
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
            fingerprints.push(fingerprint(&bytes));
        }
        Ok(Kek {
            keys,
            fingerprints,
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

    /// The fingerprint of the key that seals: what sealed records name.
    pub fn sealing_fingerprint(&self) -> &str {
        &self.fingerprints[0]
    }

    /// `nonce || ciphertext || tag` of `plaintext`, bound to `binding`, under the first key.
    pub fn seal(&self, binding: Binding<'_>, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).expect("the OS random source works");
        let mut sealed = plaintext.to_vec();
        self.keys[0]
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(binding.bytes()),
                &mut sealed,
            )
            .expect("AES-GCM seals any length we store");
        [nonce.as_slice(), &sealed].concat()
    }

    /// The plaintext of `sealed`, bound to `binding`: under the key whose fingerprint is
    /// `sealed_by`, or (records of the first format, which name none) under whichever opens it.
    pub fn open(
        &self,
        binding: Binding<'_>,
        sealed_by: Option<&str>,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        let aad = binding.bytes();
        let attempt = |key: &LessSafeKey| -> Option<Zeroizing<Vec<u8>>> {
            let (nonce, body) = sealed.split_at_checked(NONCE_LEN)?;
            let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
            let mut buffer = Zeroizing::new(body.to_vec());
            let plain = key
                .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(&aad), &mut buffer)
                .ok()?
                .to_vec();
            Some(Zeroizing::new(plain))
        };
        match sealed_by {
            Some(fingerprint) => {
                let i = self
                    .fingerprints
                    .iter()
                    .position(|f| f == fingerprint)
                    .ok_or_else(|| OpenError::UnknownKey(Some(fingerprint.to_owned())))?;
                attempt(&self.keys[i]).ok_or(OpenError::Corrupt)
            }
            None => self.keys.iter().find_map(attempt).ok_or(OpenError::UnknownKey(None)),
        }
    }

    /// The fingerprints of every key, in order (for people: `check-config`).
    pub fn fingerprints(&self) -> &[String] {
        &self.fingerprints
    }
}

/// A key-encryption key's public name: 11 base64url characters of a domain-separated SHA-256.
/// It tells keys apart; it reveals nothing usable about a 256-bit random key.
fn fingerprint(key: &[u8]) -> String {
    let mut input = b"cusdeb-anonymous key-encryption key\0".to_vec();
    input.extend_from_slice(key);
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    let mut text = URL_SAFE_NO_PAD.encode(digest.as_ref());
    text.truncate(11);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_opens_rotates_and_binds_kid_algorithm_and_creation() {
        let (old, new) = (Kek::generate(), Kek::generate());
        let bound = |kid, algorithm, created_unix_ms| Binding::Key {
            kid,
            algorithm,
            created_unix_ms,
        };
        let a = bound("kid-a", "ES256", 1_000);
        let sealer = Kek::parse(&old).unwrap();
        let by = sealer.sealing_fingerprint().to_owned();
        let sealed = sealer.seal(a, b"private key bytes");
        assert!(!sealed.windows(7).any(|w| w == b"private"), "plaintext visible");
        let rotated = Kek::parse(&format!("{new},{old}")).unwrap();
        assert_ne!(rotated.sealing_fingerprint(), by);
        assert_eq!(
            rotated.open(a, Some(&by), &sealed).unwrap().as_slice(),
            b"private key bytes"
        );
        for other in [
            bound("kid-b", "ES256", 1_000),
            bound("kid-a", "EdDSA", 1_000),
            bound("kid-a", "ES256", 2_000),
        ] {
            assert_eq!(
                rotated.open(other, Some(&by), &sealed),
                Err(OpenError::Corrupt),
                "{other:?}"
            );
        }
        assert_eq!(
            Kek::parse(&new).unwrap().open(a, Some(&by), &sealed),
            Err(OpenError::UnknownKey(Some(by.clone())))
        );
        let mut flipped = sealed.clone();
        flipped[20] ^= 1;
        assert_eq!(rotated.open(a, Some(&by), &flipped), Err(OpenError::Corrupt));
        // The first format: kid alone, no fingerprint.
        let legacy = sealer.seal(Binding::Legacy { kid: "kid-a" }, b"old");
        assert_eq!(
            rotated
                .open(Binding::Legacy { kid: "kid-a" }, None, &legacy)
                .unwrap()
                .as_slice(),
            b"old"
        );
        assert!(Kek::parse("short").unwrap_err().contains("key 1"));
        assert!(Kek::parse(&format!("{old},!!")).unwrap_err().contains("key 2"));
    }
}
