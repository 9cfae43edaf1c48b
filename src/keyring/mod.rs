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
use serde::Serialize;
use time::OffsetDateTime;

use crate::keys::SigningKey;

mod schedule;
mod snapshot;
pub use schedule::{MAX_PUBLISHED_KEYS, Schedule};
pub use snapshot::Snapshot;

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
