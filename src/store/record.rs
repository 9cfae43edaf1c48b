//! A key record as it is kept at rest: times as RFC 3339 UTC, the public JWK as JSON, and the
//! private key sealed under `KEY_ENCRYPTION_KEY` (AES-256-GCM, kid as associated data) — or,
//! in a file store without one, plain PKCS#8 in a 0600 file.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::StoreError;
use super::crypt::Kek;
use crate::keyring::{KeyRecord, KeyTimes};

/// One key in a file store.
#[derive(Serialize, Deserialize)]
pub struct StoredKey {
    pub kid: String,
    pub algorithm: String,
    pub public_jwk: serde_json::Value,
    /// base64url of the PKCS#8 DER, or of `nonce || ciphertext || tag` when `encrypted`.
    pub private_key: String,
    pub encrypted: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub activates_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub retires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub removed_at: OffsetDateTime,
}

/// `record` as stored: sealed when there is a key-encryption key.
pub fn seal(record: &KeyRecord, kek: Option<&Kek>) -> StoredKey {
    let private = match kek {
        Some(kek) => kek.seal(&record.kid, &record.private_key),
        None => record.private_key.to_vec(),
    };
    StoredKey {
        kid: record.kid.clone(),
        algorithm: record.algorithm.name().into(),
        public_jwk: serde_json::from_str(&record.public_jwk).unwrap_or_default(),
        private_key: URL_SAFE_NO_PAD.encode(private),
        encrypted: kek.is_some(),
        published_at: record.times.published_at,
        activates_at: record.times.activates_at,
        retires_at: record.times.retires_at,
        removed_at: record.times.removed_at,
    }
}

/// The record `stored` holds, its private key opened.
pub fn open(stored: StoredKey, kek: Option<&Kek>) -> Result<KeyRecord, StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(&stored.private_key)
        .map_err(|_| StoreError::config("KEY_STORE", format!("key {}: private key is not base64url", stored.kid)))?;
    let private_key = open_private(&stored.kid, &bytes, stored.encrypted, kek)?;
    let algorithm = stored.algorithm.parse().map_err(|_| {
        StoreError::config(
            "KEY_STORE",
            format!("key {}: unknown algorithm {}", stored.kid, stored.algorithm),
        )
    })?;
    Ok(KeyRecord {
        kid: stored.kid,
        algorithm,
        public_jwk: stored.public_jwk.to_string(),
        private_key,
        times: KeyTimes {
            published_at: stored.published_at,
            activates_at: stored.activates_at,
            retires_at: stored.retires_at,
            removed_at: stored.removed_at,
        },
    })
}

/// The PKCS#8 of a stored private key: opened under whichever key-encryption key fits.
pub fn open_private(
    kid: &str,
    bytes: &[u8],
    encrypted: bool,
    kek: Option<&Kek>,
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    if !encrypted {
        return Ok(Zeroizing::new(bytes.to_vec()));
    }
    let Some(kek) = kek else {
        return Err(StoreError::config(
            "KEY_ENCRYPTION_KEY",
            "the store holds encrypted private keys; set KEY_ENCRYPTION_KEY (or KEY_ENCRYPTION_KEY_FILE)".into(),
        ));
    };
    kek.open(kid, bytes).ok_or_else(|| {
        StoreError::config(
            "KEY_ENCRYPTION_KEY",
            format!("none of its keys decrypts stored key {kid}; give the key that encrypted the store"),
        )
    })
}
