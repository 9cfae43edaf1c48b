//! One immutable state of the ring as served at a time `at`: the keys with their states, the
//! signer, and the JWKS body with its ETag, built once so that requests only read.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use jsonwebtoken::jwk::Jwk;
use poem::http::HeaderValue;
use serde::Serialize;
use time::OffsetDateTime;

use super::{KeyState, KeyTimes};
use crate::keys::SigningKey;

/// A key in a snapshot: its signer, its timeline and its state when the snapshot was built.
#[derive(Debug, Clone)]
pub struct RingKey {
    pub key: Arc<SigningKey>,
    pub times: KeyTimes,
    pub state: KeyState,
}

/// One immutable state of the ring.
#[derive(Debug)]
pub struct Snapshot {
    at: OffsetDateTime,
    keys: Vec<RingKey>,
    /// The key active when the snapshot was built.
    active: Option<Arc<SigningKey>>,
    /// The keys that may sign from some time on (active, pending), with their signing window
    /// `[activates_at, retires_at)`, for the hot path.
    signers: Vec<(OffsetDateTime, OffsetDateTime, Arc<SigningKey>)>,
    /// `{"keys":[…]}`: pending, active and retired public keys.
    jwks: Bytes,
    /// Strong ETag of `jwks`: a quoted base64url SHA-256 of the body.
    etag: HeaderValue,
    /// With a shared store: nothing signs from this snapshot once the store has not been
    /// read for `KEY_STORE_MAX_STALENESS`.
    freshness: Option<Freshness>,
}

/// How fresh a replica's copy of a shared ring is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// When the store answered last.
    pub last_read: OffsetDateTime,
    /// From then on nothing signs (`last_read + KEY_STORE_MAX_STALENESS`).
    pub until: OffsetDateTime,
}

impl Snapshot {
    /// No key yet (asymmetric ALGO before the first key exists): not ready.
    pub fn empty() -> Snapshot {
        Snapshot::at(Vec::new(), OffsetDateTime::UNIX_EPOCH)
    }

    /// A ring of one key that never rotates: the HMAC secret (never published) or a static
    /// PEM key (published). It is active at once.
    pub fn fixed(key: Arc<SigningKey>, now: OffsetDateTime) -> Snapshot {
        Snapshot::at(vec![(key, KeyTimes::forever(now))], now)
    }

    /// The ring of `keys` as it stands at `now`: removed keys (and keys not yet published) left
    /// out, the others in their state at `now`, oldest first (by activation, then kid) — so
    /// replicas that know the same keys publish the same JWKS bytes and ETag, in whatever
    /// order each learnt them.
    pub fn at(keys: Vec<(Arc<SigningKey>, KeyTimes)>, now: OffsetDateTime) -> Snapshot {
        let mut keys: Vec<RingKey> = keys
            .into_iter()
            .filter_map(|(key, times)| times.state(now).map(|state| RingKey { key, times, state }))
            .collect();
        keys.sort_by(|a, b| (a.times.activates_at, a.key.kid()).cmp(&(b.times.activates_at, b.key.kid())));
        let active = keys.iter().find(|k| k.state == KeyState::Active).map(|k| k.key.clone());
        let signers = keys
            .iter()
            .filter(|k| k.state != KeyState::Retired)
            .map(|k| (k.times.activates_at, k.times.retires_at, k.key.clone()))
            .collect();
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
            at: now,
            keys,
            active,
            signers,
            jwks: Bytes::from(jwks),
            etag: HeaderValue::try_from(etag).expect("a quoted base64url digest is a valid header value"),
            freshness: None,
        }
    }

    /// The same snapshot, bounded by how fresh its source is.
    pub fn with_freshness(mut self, freshness: Option<Freshness>) -> Snapshot {
        self.freshness = freshness;
        self
    }

    /// The freshness bound, when the ring comes from a shared store.
    pub fn freshness(&self) -> Option<Freshness> {
        self.freshness
    }

    /// Whether the copy is too old to sign from at `now`.
    pub fn is_stale(&self, now: OffsetDateTime) -> bool {
        self.freshness.is_some_and(|f| now >= f.until)
    }

    /// The key that was active when the snapshot was built.
    pub fn active(&self) -> Option<&Arc<SigningKey>> {
        self.active.as_ref()
    }

    /// The key that may sign at `now`: the one whose signing window holds `now` — so a pending
    /// key takes over at its time even before the next snapshot is built. Past the last
    /// window this snapshot knows, or once its copy of a shared ring is stale, nothing signs
    /// (fail closed).
    pub fn signer(&self, now: OffsetDateTime) -> Option<&Arc<SigningKey>> {
        if self.is_stale(now) {
            return None;
        }
        self.signers
            .iter()
            .find(|(from, until, _)| *from <= now && now < *until)
            .map(|(_, _, key)| key)
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

    /// The key that signs next.
    pub fn pending(&self) -> Option<&RingKey> {
        self.keys.iter().find(|k| k.state == KeyState::Pending)
    }

    /// The next time a key changes state (after the snapshot's own time).
    pub fn next_event(&self) -> Option<OffsetDateTime> {
        self.keys
            .iter()
            .flat_map(|k| [k.times.activates_at, k.times.retires_at, k.times.removed_at])
            .filter(|t| *t > self.at)
            .min()
    }
}
