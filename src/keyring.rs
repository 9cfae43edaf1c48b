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
use std::time::Duration;

use arc_swap::ArcSwap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use jsonwebtoken::jwk::Jwk;
use poem::http::HeaderValue;
use serde::Serialize;
use time::OffsetDateTime;

use crate::keys::SigningKey;

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    Pending,
    Active,
    Retired,
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

/// The rotation schedule, derived from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// `KEY_ROTATION_INTERVAL`: how long a key is pending, and then how long it is active.
    pub interval: Duration,
    /// How long a retired key stays published: `TOKEN_TTL + CLOCK_LEEWAY` (+1 s rounding).
    pub retention: Duration,
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
mod tests {
    use super::*;
    use jsonwebtoken::Algorithm;

    const INTERVAL: Duration = Duration::from_secs(100);
    const RETENTION: Duration = Duration::from_secs(30);
    const SCHEDULE: Schedule = Schedule {
        interval: INTERVAL,
        retention: RETENTION,
    };

    fn t(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + secs).unwrap()
    }

    fn key() -> Arc<SigningKey> {
        Arc::new(SigningKey::generate(Algorithm::EdDSA, 2048).unwrap())
    }

    fn kids_in_jwks(s: &Snapshot) -> Vec<String> {
        let v: serde_json::Value = serde_json::from_slice(s.jwks()).unwrap();
        v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    }

    fn states(s: &Snapshot) -> Vec<(String, KeyState)> {
        s.keys()
            .iter()
            .map(|k| (k.key.kid().unwrap().to_owned(), k.state))
            .collect()
    }

    #[test]
    fn lifecycle_pending_active_retired_removed() {
        let empty = Snapshot::empty();
        assert!(empty.active().is_none() && empty.wants_key());
        assert_eq!(&empty.jwks()[..], br#"{"keys":[]}"#);

        // Start-up: the first key signs at once; the second waits a whole interval.
        let s1 = empty.with_new_key(key(), t(0), &SCHEDULE);
        let a = s1.active().unwrap().kid().unwrap().to_owned();
        let s2 = s1.with_new_key(key(), t(1), &SCHEDULE);
        let b = s2.pending().unwrap().key.kid().unwrap().to_owned();
        assert_eq!(
            states(&s2),
            vec![(a.clone(), KeyState::Active), (b.clone(), KeyState::Pending)]
        );
        assert_eq!(s2.pending().unwrap().activates_at, t(101));
        assert_eq!(kids_in_jwks(&s2), vec![a.clone(), b.clone()]);
        assert!(!s2.wants_key());
        assert_eq!(s2.next_event(), Some(t(101)));

        // Nothing is due before the activation time.
        assert!(s2.advance(t(100), &SCHEDULE).is_none());

        // B activates; A retires and stays published for the retention.
        let s3 = s2.advance(t(101), &SCHEDULE).unwrap();
        assert_eq!(
            states(&s3),
            vec![(a.clone(), KeyState::Retired), (b.clone(), KeyState::Active)]
        );
        assert_eq!(s3.active().unwrap().kid(), Some(b.as_str()));
        assert_eq!(s3.keys()[0].remove_at, Some(t(131)));
        assert_eq!(kids_in_jwks(&s3), vec![a.clone(), b.clone()]);
        assert!(s3.wants_key(), "a new pending key is wanted the moment one activates");
        assert_eq!(s3.etag(), s2.etag(), "same keys published, same ETag");

        let s4 = s3.with_new_key(key(), t(101), &SCHEDULE);
        let c = s4.pending().unwrap().key.kid().unwrap().to_owned();
        assert_eq!(s4.next_event(), Some(t(131)));

        // A is removed after its retention and never comes back.
        let s5 = s4.advance(t(131), &SCHEDULE).unwrap();
        assert_eq!(kids_in_jwks(&s5), vec![b.clone(), c.clone()]);
        let s6 = s5.advance(t(201), &SCHEDULE).unwrap();
        assert_eq!(
            states(&s6),
            vec![(b.clone(), KeyState::Retired), (c.clone(), KeyState::Active)]
        );
        assert!(!kids_in_jwks(&s6).contains(&a));
    }

    #[test]
    fn set_stays_bounded_over_many_rotations() {
        let mut s = Snapshot::empty().with_new_key(key(), t(0), &SCHEDULE);
        let mut removed: Vec<String> = Vec::new();
        let mut now = 0;
        for _ in 0..20 {
            if s.wants_key() {
                s = s.with_new_key(key(), t(now), &SCHEDULE);
            }
            now = (s.next_event().unwrap() - t(0)).whole_seconds();
            let before = kids_in_jwks(&s);
            s = s.advance(t(now), &SCHEDULE).unwrap();
            let after = kids_in_jwks(&s);
            removed.extend(before.into_iter().filter(|k| !after.contains(k)));
            assert!(
                after.len() <= 3,
                "pending + active + one retired at most here: {after:?}"
            );
            assert!(after.iter().all(|k| !removed.contains(k)), "a removed key came back");
        }
        assert!(removed.len() >= 8);
    }

    #[test]
    fn jwks_has_public_members_only() {
        let s = Snapshot::empty().with_new_key(key(), t(0), &SCHEDULE);
        let v: serde_json::Value = serde_json::from_slice(s.jwks()).unwrap();
        let jwk = v["keys"][0].as_object().unwrap();
        let mut names: Vec<&str> = jwk.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(names, ["alg", "crv", "kid", "kty", "use", "x"]);
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "EdDSA");
    }
}
