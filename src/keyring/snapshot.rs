//! One immutable state of the ring — the keys with their states and times, the active signer,
//! the JWKS body and its ETag — and the pure transitions from one state to the next at `now`.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use jsonwebtoken::jwk::Jwk;
use poem::http::HeaderValue;
use serde::Serialize;
use time::OffsetDateTime;

use super::{KeyState, RingKey, Schedule};
use crate::keys::SigningKey;

/// One immutable state of the ring.
#[derive(Debug)]
pub struct Snapshot {
    keys: Vec<RingKey>,
    /// The key that signs now, if any; duplicated out of `keys` for the hot path.
    active: Option<Arc<SigningKey>>,
    /// `{"keys":[…]}`: pending, active and retired public keys.
    jwks: Bytes,
    /// Strong ETag of `jwks`: a quoted base64url SHA-256 of the body.
    etag: HeaderValue,
}

impl Snapshot {
    /// No key yet (asymmetric ALGO before the first key is generated): not ready.
    pub fn empty() -> Snapshot {
        Snapshot::from_keys(Vec::new())
    }

    /// A ring of one key that never rotates: the HMAC secret (never published) or a static
    /// PEM key (published). It is active at once.
    pub fn fixed(key: Arc<SigningKey>, now: OffsetDateTime) -> Snapshot {
        let key = RingKey {
            key,
            state: KeyState::Active,
            published_at: now,
            activates_at: now,
            retired_at: None,
            remove_at: None,
        };
        Snapshot::from_keys(vec![key])
    }

    fn from_keys(keys: Vec<RingKey>) -> Snapshot {
        let active = keys.iter().find(|k| k.state == KeyState::Active).map(|k| k.key.clone());
        #[derive(Serialize)]
        struct JwkSet<'a> {
            keys: Vec<&'a Jwk>,
        }
        let set = JwkSet {
            keys: keys.iter().filter_map(|k| k.key.jwk()).collect(),
        };
        let jwks = serde_json::to_string(&set).unwrap_or_else(|_| r#"{"keys":[]}"#.to_owned());
        let digest = ring::digest::digest(&ring::digest::SHA256, jwks.as_bytes());
        let etag = format!("\"{}\"", URL_SAFE_NO_PAD.encode(digest.as_ref()));
        Snapshot {
            keys,
            active,
            jwks: Bytes::from(jwks),
            etag: HeaderValue::try_from(etag).expect("a quoted base64url digest is a valid header value"),
        }
    }

    /// The signing key, if one is active.
    pub fn active(&self) -> Option<&Arc<SigningKey>> {
        self.active.as_ref()
    }

    pub fn keys(&self) -> &[RingKey] {
        &self.keys
    }

    pub fn jwks(&self) -> &Bytes {
        &self.jwks
    }

    /// The strong ETag of [`Snapshot::jwks`], quoted, ready to send.
    pub fn etag(&self) -> &HeaderValue {
        &self.etag
    }

    pub fn pending(&self) -> Option<&RingKey> {
        self.keys.iter().find(|k| k.state == KeyState::Pending)
    }

    /// Whether the rotation task should generate a key: none is active, or (for a rotating
    /// ring) none is waiting to take over.
    pub fn wants_key(&self) -> bool {
        self.active.is_none() || self.pending().is_none()
    }

    /// Adds a freshly generated key at `now`. With no active key (start-up) it signs at once
    /// — no verifier can hold an older JWKS of this process — otherwise it is published as
    /// pending and signs one whole `interval` later, which is more than `JWKS_MAX_AGE`.
    pub fn with_new_key(&self, key: Arc<SigningKey>, now: OffsetDateTime, schedule: &Schedule) -> Snapshot {
        let (state, activates_at) = if self.active.is_none() {
            (KeyState::Active, now)
        } else {
            (KeyState::Pending, now + schedule.interval)
        };
        let mut keys = self.keys.clone();
        keys.push(RingKey {
            key,
            state,
            published_at: now,
            activates_at,
            retired_at: None,
            remove_at: None,
        });
        Snapshot::from_keys(keys)
    }

    /// Applies every transition due at `now`: a due pending key becomes active (the active one
    /// retires), and retired keys past their retention are removed. `None` when nothing is due.
    pub fn advance(&self, now: OffsetDateTime, schedule: &Schedule) -> Option<Snapshot> {
        let promote = self.pending().is_some_and(|p| p.activates_at <= now);
        let expire = self.keys.iter().any(|k| k.remove_at.is_some_and(|t| t <= now));
        if !promote && !expire {
            return None;
        }
        let keys = self
            .keys
            .iter()
            .filter(|k| k.remove_at.is_none_or(|t| t > now))
            .map(|k| {
                let mut k = k.clone();
                match k.state {
                    KeyState::Active if promote => {
                        k.state = KeyState::Retired;
                        k.retired_at = Some(now);
                        k.remove_at = Some(now + schedule.retention);
                    }
                    KeyState::Pending if promote => {
                        k.state = KeyState::Active;
                        k.activates_at = now;
                    }
                    _ => {}
                }
                k
            })
            .collect();
        Some(Snapshot::from_keys(keys))
    }

    /// The next time [`Snapshot::advance`] has something to do.
    pub fn next_event(&self) -> Option<OffsetDateTime> {
        let activation = self.pending().map(|p| p.activates_at);
        let removals = self.keys.iter().filter_map(|k| k.remove_at);
        activation.into_iter().chain(removals).min()
    }
}
