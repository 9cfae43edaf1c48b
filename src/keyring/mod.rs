//! The key ring: which keys exist, in which state, and what the JWKS says about them.
//!
//! Every key carries four absolute times — published, activates, retires, removed — and its
//! state at any `now` follows from them alone ([`KeyTimes::state`]), so processes that share a
//! store compute the same states without talking to each other. [`KeyRecord`]s are the ring as
//! stored; [`plan`] decides, as pure functions of the records and `now`, what a writer changes.
//! A [`Snapshot`] is the ring as served: the keys with their states, the signer, the JWKS body
//! with its ETag. [`KeyRing`] holds the current snapshot in an `ArcSwap` that readers (minting,
//! the JWKS, `/readyz`) load without locking; only the [`RingWriter`] — one, owned by the
//! rotation task — swaps in a new one.
//!
//! Lifecycle: **pending** (published, not signing) → **active** (published, signing) →
//! **retired** (published, not signing) → removed (gone, private key dropped).

use std::sync::Arc;

use arc_swap::ArcSwap;
use serde::Serialize;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::algorithm::Algorithm;

pub mod plan;
mod schedule;
mod snapshot;
pub use schedule::{MAX_PUBLISHED_KEYS, Schedule};
pub use snapshot::{Freshness, RingKey, Snapshot};

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Pending,
    Active,
    Retired,
}

impl KeyState {
    pub const ALL: [KeyState; 3] = [KeyState::Pending, KeyState::Active, KeyState::Retired];

    /// The state's name in `/readyz`, `/metrics`, `keys list` and logs: the one mapping.
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

/// A key's timeline, absolute UTC times: published ≤ activates ≤ retires ≤ removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTimes {
    pub published_at: OffsetDateTime,
    pub activates_at: OffsetDateTime,
    pub retires_at: OffsetDateTime,
    pub removed_at: OffsetDateTime,
}

impl KeyTimes {
    /// The state at `now`; `None` once removed (or before it is published).
    pub fn state(&self, now: OffsetDateTime) -> Option<KeyState> {
        if now < self.published_at || now >= self.removed_at {
            None
        } else if now < self.activates_at {
            Some(KeyState::Pending)
        } else if now < self.retires_at {
            Some(KeyState::Active)
        } else {
            Some(KeyState::Retired)
        }
    }

    /// A timeline that never ends: the HMAC secret or a static key, active from `now`.
    pub fn forever(now: OffsetDateTime) -> KeyTimes {
        let end = later(now, std::time::Duration::from_secs(1000 * 365 * 86_400));
        KeyTimes {
            published_at: now,
            activates_at: now,
            retires_at: end,
            removed_at: end,
        }
    }
}

/// The earliest and latest times a stored record may hold: outside them a record is refused
/// on load (a far-future or non-finite time is tampering or corruption, and must not reach
/// the schedule's arithmetic).
pub const EARLIEST: OffsetDateTime = time::macros::datetime!(2000-01-01 0:00 UTC);
pub const LATEST: OffsetDateTime = time::macros::datetime!(4000-01-01 0:00 UTC);

/// `t + d`, saturating far in the future instead of overflowing: no stored time can panic
/// the schedule's arithmetic.
pub fn later(t: OffsetDateTime, d: std::time::Duration) -> OffsetDateTime {
    time::Duration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d))
        .unwrap_or(time::macros::datetime!(9000-01-01 0:00 UTC))
}

/// A key as stored: everything needed to rebuild its signer and to know its state. The private
/// key (PKCS#8 DER) is plaintext here; stores encrypt it at rest.
#[derive(Clone)]
pub struct KeyRecord {
    pub kid: String,
    pub algorithm: Algorithm,
    /// When the key was generated; never changes (sealed records are bound to it).
    pub created_at: OffsetDateTime,
    /// The public JWK, as JSON.
    pub public_jwk: String,
    pub private_key: Zeroizing<Vec<u8>>,
    pub times: KeyTimes,
}

impl KeyRecord {
    /// Whether the record's times can be trusted: published ≤ activates ≤ retires ≤ removed,
    /// created no later than published, all between [`EARLIEST`] and [`LATEST`]. The error
    /// names the kid.
    pub fn validate(&self) -> Result<(), String> {
        let t = &self.times;
        let all = [
            self.created_at,
            t.published_at,
            t.activates_at,
            t.retires_at,
            t.removed_at,
        ];
        if let Some(bad) = all.iter().find(|x| !(EARLIEST..=LATEST).contains(*x)) {
            return Err(format!(
                "key {}: a stored time ({bad}) is outside {EARLIEST} .. {LATEST}",
                self.kid
            ));
        }
        if !(self.created_at <= t.published_at
            && t.published_at <= t.activates_at
            && t.activates_at <= t.retires_at
            && t.retires_at <= t.removed_at)
        {
            return Err(format!(
                "key {}: its times are out of order (created ≤ published ≤ activates ≤ retires ≤ removed)",
                self.kid
            ));
        }
        Ok(())
    }
}

impl std::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRecord")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("times", &self.times)
            .finish_non_exhaustive()
    }
}

/// The shared, lock-free holder of the current [`Snapshot`]; readers only.
#[derive(Debug)]
pub struct KeyRing {
    current: ArcSwap<Snapshot>,
}

/// The one handle that replaces the ring's snapshot. Not `Clone`: whoever owns it (the
/// rotation task) is the only writer.
#[derive(Debug)]
pub struct RingWriter {
    ring: Arc<KeyRing>,
}

impl KeyRing {
    /// A ring showing `snapshot`, and the handle that writes it.
    pub fn new(snapshot: Snapshot) -> (Arc<KeyRing>, RingWriter) {
        let ring = Arc::new(KeyRing {
            current: ArcSwap::from_pointee(snapshot),
        });
        (ring.clone(), RingWriter { ring })
    }

    /// The current snapshot; cheap, never blocks.
    pub fn load(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.current.load()
    }

    /// The current snapshot as an owned `Arc`, for holders that live across awaits.
    pub fn load_full(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }
}

impl RingWriter {
    /// Shows `snapshot` from now on.
    pub fn publish(&self, snapshot: Arc<Snapshot>) {
        self.ring.current.store(snapshot);
    }

    pub fn ring(&self) -> &Arc<KeyRing> {
        &self.ring
    }
}

#[cfg(test)]
mod tests;
