//! A key record as it is kept at rest: times as RFC 3339 UTC, the public JWK as JSON, and the
//! private key sealed under `KEY_ENCRYPTION_KEY` (AES-256-GCM bound to kid, algorithm and
//! creation time, naming the sealing key's fingerprint) — or, in a file store without one,
//! plain PKCS#8 in a 0600 file. Also the checks every record passes on load, for both stores.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::StoreError;
use super::crypt::{Binding, Kek, OpenError};
use crate::algorithm::Algorithm;
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
    /// The fingerprint of the key-encryption key that sealed it; absent in the first format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_by: Option<String>,
    /// Absent in the first format (then the publication time stands in).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub activates_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub retires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub removed_at: OffsetDateTime,
}

/// What sealed records are bound to.
pub fn binding(record: &KeyRecord) -> Binding<'_> {
    Binding::Key {
        kid: &record.kid,
        algorithm: record.algorithm.name(),
        created_unix_ms: record.created_at.unix_timestamp_nanos() / 1_000_000,
    }
}

/// `record` as stored: sealed when there is a key-encryption key.
pub fn seal(record: &KeyRecord, kek: Option<&Kek>) -> StoredKey {
    let (private, sealed_by) = match kek {
        Some(kek) => (
            kek.seal(binding(record), &record.private_key),
            Some(kek.sealing_fingerprint().to_owned()),
        ),
        None => (record.private_key.to_vec(), None),
    };
    StoredKey {
        kid: record.kid.clone(),
        algorithm: record.algorithm.name().into(),
        public_jwk: serde_json::from_str(&record.public_jwk).unwrap_or_default(),
        private_key: URL_SAFE_NO_PAD.encode(private),
        encrypted: kek.is_some(),
        sealed_by,
        created_at: Some(record.created_at),
        published_at: record.times.published_at,
        activates_at: record.times.activates_at,
        retires_at: record.times.retires_at,
        removed_at: record.times.removed_at,
    }
}

/// The record `stored` holds, validated, its private key opened. `plaintext_ok`: a plaintext
/// key under a key-encryption key is accepted (only `keys rewrap`, which seals it).
pub fn open(stored: StoredKey, kek: Option<&Kek>, plaintext_ok: bool) -> Result<KeyRecord, StoreError> {
    let kid = stored.kid;
    let bytes = URL_SAFE_NO_PAD
        .decode(&stored.private_key)
        .map_err(|_| malformed(&kid, "private key is not base64url"))?;
    let algorithm = algorithm(&kid, &stored.algorithm)?;
    let created_at = stored.created_at.unwrap_or(stored.published_at);
    let sealed = Sealed {
        kid: &kid,
        algorithm,
        created_at,
        legacy: stored.encrypted && stored.sealed_by.is_none(),
        sealed_by: stored.sealed_by.as_deref(),
    };
    let private_key = match (stored.encrypted, kek) {
        (true, _) => sealed.open(&bytes, kek)?,
        (false, Some(_)) if !plaintext_ok => {
            return Err(StoreError::config(
                "KEY_ENCRYPTION_KEY",
                format!(
                    "key {kid} is stored unencrypted although KEY_ENCRYPTION_KEY is set: refused, not trusted (seal it with `cusdeb-anonymous keys rewrap`, the server stopped)"
                ),
            ));
        }
        (false, _) => Zeroizing::new(bytes),
    };
    let record = KeyRecord {
        kid,
        algorithm,
        created_at,
        public_jwk: stored.public_jwk.to_string(),
        private_key,
        times: KeyTimes {
            published_at: stored.published_at,
            activates_at: stored.activates_at,
            retires_at: stored.retires_at,
            removed_at: stored.removed_at,
        },
    };
    record.validate().map_err(|e| StoreError::config("KEY_STORE", e))?;
    Ok(record)
}

/// A sealed private key and what it is bound to.
pub struct Sealed<'a> {
    pub kid: &'a str,
    pub algorithm: Algorithm,
    pub created_at: OffsetDateTime,
    /// Sealed in the first format (bound to the kid alone).
    pub legacy: bool,
    pub sealed_by: Option<&'a str>,
}

impl Sealed<'_> {
    /// The PKCS#8 inside `bytes`, under the key that sealed it.
    pub fn open(&self, bytes: &[u8], kek: Option<&Kek>) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let kid = self.kid;
        let Some(kek) = kek else {
            return Err(StoreError::config(
                "KEY_ENCRYPTION_KEY",
                "the store holds encrypted private keys; set KEY_ENCRYPTION_KEY (or KEY_ENCRYPTION_KEY_FILE)".into(),
            ));
        };
        let binding = match self.legacy {
            true => Binding::Legacy { kid },
            false => Binding::Key {
                kid,
                algorithm: self.algorithm.name(),
                created_unix_ms: self.created_at.unix_timestamp_nanos() / 1_000_000,
            },
        };
        kek.open(binding, self.sealed_by, bytes).map_err(|e| match e {
            OpenError::UnknownKey(Some(fingerprint)) => StoreError::config(
                "KEY_ENCRYPTION_KEY",
                format!(
                    "stored key {kid} was sealed by encryption key {fingerprint}, which KEY_ENCRYPTION_KEY does not hold; give the key that sealed the store"
                ),
            ),
            OpenError::UnknownKey(None) => StoreError::config(
                "KEY_ENCRYPTION_KEY",
                format!("none of its keys decrypts stored key {kid}; give the key that encrypted the store"),
            ),
            OpenError::Corrupt => malformed(
                kid,
                "its sealed private key does not open under the key that sealed it: the record is corrupt or was altered (kid, algorithm and creation time are bound to it)",
            ),
        })
    }
}

/// A record that cannot be trusted: refused by kid.
pub fn malformed(kid: &str, why: &str) -> StoreError {
    StoreError::config("KEY_STORE", format!("key {kid}: {why}"))
}

/// The algorithm a record names.
pub fn algorithm(kid: &str, name: &str) -> Result<Algorithm, StoreError> {
    name.parse()
        .map_err(|_| malformed(kid, &format!("unknown algorithm {name:?}")))
}

/// The public facts of one stored key: what `keys list` shows, without opening it.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub kid: String,
    pub algorithm: String,
    /// The fingerprint of the key-encryption key that sealed it: `plaintext`, or `first-format`
    /// for records sealed before fingerprints were recorded.
    pub sealed_by: String,
    #[serde(skip)]
    pub times: KeyTimes,
}

impl Listed {
    /// The facts of an opened record (memory store: nothing is sealed).
    pub fn of(record: &KeyRecord) -> Listed {
        Listed {
            kid: record.kid.clone(),
            algorithm: record.algorithm.name().into(),
            sealed_by: "plaintext".into(),
            times: record.times,
        }
    }

    /// What to show for how a record is sealed.
    pub fn sealing(encrypted: bool, sealed_by: Option<&str>) -> String {
        match (encrypted, sealed_by) {
            (false, _) => "plaintext".into(),
            (true, Some(fingerprint)) => fingerprint.into(),
            (true, None) => "first-format".into(),
        }
    }
}
