//! The key ring: which keys exist, in which state, and what the JWKS says about them.
//!
//! A [`Snapshot`] is immutable: the keys with their states and times, the active signer, and
//! the JWKS body pre-serialised with its ETag. [`KeyRing`] holds the current snapshot in an
//! `ArcSwap`; readers (minting, `/.well-known/jwks.json`, `/readyz`) load it without locking,
//! and the one writer (the rotation task, see `rotation`) swaps in a whole new one.
//!
//! Lifecycle of an asymmetric key: **pending** (published, not signing) → **active**
//! (published, signing) → **retired** (published, not signing) → removed (dropped with its
//! private key). Every transition here is a pure function of the snapshot and `now`.

use std::sync::Arc;

use arc_swap::ArcSwap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use jsonwebtoken::jwk::Jwk;
use poem::http::HeaderValue;
use serde::Serialize;
use time::OffsetDateTime;

use crate::keys::SigningKey;

mod schedule;
pub use schedule::{MAX_PUBLISHED_KEYS, Schedule};

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Pending,
    Active,
    Retired,
}

impl KeyState {
    pub const ALL: [KeyState; 3] = [KeyState::Pending, KeyState::Active, KeyState::Retired];

    /// The state's name in `/readyz`, `/metrics` and logs: the one mapping.
    pub fn name(self) -> &'static str {
        match self {
            KeyState::Pending => "pending",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
        }
    }
}

impl Serialize for KeyState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// A key and its timeline.
#[derive(Debug, Clone)]
pub struct RingKey {
    pub key: Arc<SigningKey>,
    pub state: KeyState,
    pub published_at: OffsetDateTime,
    /// When it starts (pending) or started (active, retired) signing.
    pub activates_at: OffsetDateTime,
    /// When it stopped signing (retired only).
    pub retired_at: Option<OffsetDateTime>,
    /// When it leaves the JWKS and its private key is dropped (retired only).
    pub remove_at: Option<OffsetDateTime>,
}

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

/// The shared, lock-free holder of the current [`Snapshot`]. Every write is a read-copy-update
/// (`ArcSwap::rcu`): a change is computed from the snapshot it replaces and swapped in only if
/// that snapshot is still current, so no write can undo another.
#[derive(Debug)]
pub struct KeyRing {
    current: ArcSwap<Snapshot>,
    schedule: Schedule,
}

impl KeyRing {
    pub fn new(snapshot: Snapshot, schedule: Schedule) -> KeyRing {
        KeyRing {
            current: ArcSwap::from_pointee(snapshot),
            schedule,
        }
    }

    /// The current snapshot; cheap, never blocks.
    pub fn load(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.current.load()
    }

    /// The current snapshot as an owned `Arc`, for holders that live across awaits.
    pub fn load_full(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Adds a generated key at `now` (see [`Snapshot::with_new_key`]).
    pub fn insert(&self, key: SigningKey, now: OffsetDateTime) -> Arc<Snapshot> {
        let key = Arc::new(key);
        let mut next = None;
        self.current.rcu(|current| {
            let snapshot = Arc::new(current.with_new_key(key.clone(), now, &self.schedule));
            next = Some(snapshot.clone());
            snapshot
        });
        next.expect("rcu runs its update at least once")
    }

    /// Applies the transitions due at `now`; returns the new snapshot if anything changed.
    pub fn advance(&self, now: OffsetDateTime) -> Option<Arc<Snapshot>> {
        let mut next = None;
        self.current.rcu(|current| match current.advance(now, &self.schedule) {
            Some(snapshot) => {
                let snapshot = Arc::new(snapshot);
                next = Some(snapshot.clone());
                snapshot
            }
            None => {
                next = None;
                current.clone()
            }
        });
        next
    }
}

#[cfg(test)]
mod tests;
