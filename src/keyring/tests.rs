//! The ring's lifecycle on an injected clock: the writer's plan over records, and the
//! snapshot those records give at any time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::plan::{self, Need};
use super::*;
use crate::algorithm::Algorithm;
use crate::keys::SigningKey;

const SCHEDULE: Schedule = Schedule {
    interval: Duration::from_secs(100),
    retention: Duration::from_secs(30),
    lead: Duration::from_secs(10),
};

fn t(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000 + secs).unwrap()
}

/// A fresh key as a record (times to be set by the plan), and its signer.
fn new_key(alg: Algorithm) -> (KeyRecord, Arc<SigningKey>) {
    let new = crate::keys::generate(alg, 2048).unwrap();
    let record = KeyRecord {
        kid: new.key.kid().unwrap().to_owned(),
        algorithm: alg,
        public_jwk: serde_json::to_string(new.key.jwk().unwrap()).unwrap(),
        private_key: new.pkcs8,
        created_at: t(0),
        times: KeyTimes::forever(t(0)),
    };
    (record, Arc::new(new.key))
}

/// The ring's records and the signers they need, as a writer and a reader see them.
#[derive(Default)]
struct Ring {
    records: Vec<KeyRecord>,
    signers: HashMap<String, Arc<SigningKey>>,
}

impl Ring {
    /// Generates a key of `alg` and adds it if the plan still needs it at `now`; its kid.
    fn add(&mut self, alg: Algorithm, now: OffsetDateTime) -> Option<String> {
        let (record, key) = new_key(alg);
        let kid = record.kid.clone();
        self.signers.insert(kid.clone(), key);
        plan::add(&mut self.records, record, now, &SCHEDULE).then_some(kid)
    }

    fn snapshot(&self, now: OffsetDateTime) -> Snapshot {
        let keys = self
            .records
            .iter()
            .map(|r| (self.signers[&r.kid].clone(), r.times))
            .collect();
        Snapshot::at(keys, now)
    }

    fn states(&self, now: OffsetDateTime) -> Vec<(String, KeyState)> {
        let s = self.snapshot(now);
        s.keys()
            .iter()
            .map(|k| (k.key.kid().unwrap().to_owned(), k.state))
            .collect()
    }
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

#[test]
fn lifecycle_pending_active_retired_removed() {
    let mut ring = Ring::default();
    assert_eq!(plan::need(&ring.records, Algorithm::EdDSA, t(0)), Need::FirstKey);
    assert!(ring.snapshot(t(0)).active().is_none());
    assert_eq!(&ring.snapshot(t(0)).jwks()[..], br#"{"keys":[]}"#);

    // Start-up: the first key signs at once; its successor waits a whole interval.
    let a = ring.add(Algorithm::EdDSA, t(0)).unwrap();
    assert_eq!(plan::need(&ring.records, Algorithm::EdDSA, t(0)), Need::Successor);
    let b = ring.add(Algorithm::EdDSA, t(1)).unwrap();
    assert_eq!(
        ring.states(t(1)),
        vec![(a.clone(), KeyState::Active), (b.clone(), KeyState::Pending)]
    );
    let s = ring.snapshot(t(1));
    assert_eq!(
        s.pending().unwrap().times.activates_at,
        t(100),
        "when A's interval ends"
    );
    assert_eq!(kids_in_jwks(&s), vec![a.clone(), b.clone()]);
    assert_eq!(s.next_event(), Some(t(100)));
    assert_eq!(plan::need(&ring.records, Algorithm::EdDSA, t(1)), Need::Nothing);

    // B activates; A retires and stays published for the retention.
    assert_eq!(ring.states(t(99))[0].1, KeyState::Active);
    let s = ring.snapshot(t(100));
    assert_eq!(
        ring.states(t(100)),
        vec![(a.clone(), KeyState::Retired), (b.clone(), KeyState::Active)]
    );
    assert_eq!(s.active().unwrap().kid(), Some(b.as_str()));
    assert_eq!(kids_in_jwks(&s), vec![a.clone(), b.clone()]);
    assert_eq!(s.etag(), ring.snapshot(t(1)).etag(), "same keys published, same ETag");
    assert_eq!(plan::need(&ring.records, Algorithm::EdDSA, t(100)), Need::Successor);
    let c = ring.add(Algorithm::EdDSA, t(100)).unwrap();

    // A is removed after its retention, pruned from the store, and never comes back.
    assert_eq!(kids_in_jwks(&ring.snapshot(t(130))), vec![b.clone(), c.clone()]);
    assert!(plan::prune(&mut ring.records, t(130)));
    assert!(!plan::prune(&mut ring.records, t(130)));
    assert_eq!(ring.states(t(200)), vec![(b, KeyState::Retired), (c, KeyState::Active)]);
    assert!(!kids_in_jwks(&ring.snapshot(t(200))).contains(&a));
}

#[test]
fn set_stays_bounded_over_many_rotations() {
    let mut ring = Ring::default();
    let mut now = t(0);
    let mut removed: Vec<String> = Vec::new();
    let mut published: Vec<String> = Vec::new();
    for _ in 0..20 {
        if plan::need(&ring.records, Algorithm::EdDSA, now) != Need::Nothing {
            ring.add(Algorithm::EdDSA, now).unwrap();
        }
        let before = kids_in_jwks(&ring.snapshot(now));
        now = plan::next_change(&ring.records, now).unwrap();
        plan::prune(&mut ring.records, now);
        let after = kids_in_jwks(&ring.snapshot(now));
        removed.extend(before.into_iter().filter(|k| !after.contains(k)));
        published.extend(after.iter().cloned());
        assert!(
            after.len() <= 3,
            "pending + active + one retired at most here: {after:?}"
        );
        assert!(after.iter().all(|k| !removed.contains(k)), "a removed key came back");
    }
    assert!(removed.len() >= 8);
}

#[test]
fn racing_writers_add_one_successor_not_two() {
    let mut ring = Ring::default();
    ring.add(Algorithm::ES256, t(0)).unwrap();
    // Two replicas generated a successor for the same moment; the second write re-checks.
    assert!(ring.add(Algorithm::ES256, t(5)).is_some());
    assert!(ring.add(Algorithm::ES256, t(5)).is_none());
    assert_eq!(ring.records.len(), 2);
    // Racing for the first key: the loser's key is still needed, as the pending one; a third
    // is not.
    let mut empty = Ring::default();
    let first = empty.add(Algorithm::ES256, t(0)).unwrap();
    let second = empty.add(Algorithm::ES256, t(0)).unwrap();
    assert!(empty.add(Algorithm::ES256, t(0)).is_none());
    assert_eq!(
        empty.states(t(0)),
        vec![(first, KeyState::Active), (second, KeyState::Pending)]
    );
}

#[test]
fn a_late_successor_extends_the_active_key_and_fails_closed_past_its_retirement() {
    let mut ring = Ring::default();
    let a = ring.add(Algorithm::EdDSA, t(0)).unwrap();
    // No successor could be made until just before A's end: A is extended so that the
    // successor is still published `lead` before it signs.
    assert!(
        !plan::extend(&mut ring.records, Algorithm::EdDSA, t(50), &SCHEDULE),
        "far from the end"
    );
    assert!(plan::extend(&mut ring.records, Algorithm::EdDSA, t(95), &SCHEDULE));
    assert_eq!(ring.records[0].times.retires_at, t(105));
    // A process that never learns of a successor stops signing with A at A's retirement.
    let without_successor = ring.snapshot(t(96));
    assert_eq!(without_successor.signer(t(104)).unwrap().kid(), Some(a.as_str()));
    assert!(
        without_successor.signer(t(105)).is_none(),
        "fail closed: no signing past the retire time"
    );
    // With B known, B takes over at its time, from the same snapshot.
    let b = ring.add(Algorithm::EdDSA, t(97)).unwrap();
    let s = ring.snapshot(t(97));
    assert_eq!(s.pending().unwrap().times.activates_at, t(107));
    assert_eq!(s.signer(t(106)).unwrap().kid(), Some(a.as_str()));
    assert_eq!(s.signer(t(107)).unwrap().kid(), Some(b.as_str()));
}

#[test]
fn a_new_algorithm_is_published_lead_before_it_signs_and_the_old_key_retires() {
    let mut ring = Ring::default();
    let old = ring.add(Algorithm::ES256, t(0)).unwrap();
    let stale = ring.add(Algorithm::ES256, t(1)).unwrap();
    // Restarted with ALGO=EdDSA at t=20: the pending ES256 key is dropped, the EdDSA key
    // signs from t=30 (lead 10), the ES256 key retires then.
    assert_eq!(plan::need(&ring.records, Algorithm::EdDSA, t(20)), Need::Successor);
    let new = ring.add(Algorithm::EdDSA, t(20)).unwrap();
    assert_eq!(
        ring.states(t(20)),
        vec![(old.clone(), KeyState::Active), (new.clone(), KeyState::Pending)]
    );
    assert!(!ring.records.iter().any(|r| r.kid == stale));
    assert_eq!(
        ring.states(t(30)),
        vec![(old, KeyState::Retired), (new, KeyState::Active)]
    );
}

#[test]
fn operators_rotate_and_revoke() {
    let mut ring = Ring::default();
    let a = ring.add(Algorithm::EdDSA, t(0)).unwrap();
    assert!(
        plan::rotate(&mut ring.records, t(2), t(2), &SCHEDULE).is_err(),
        "no pending key yet"
    );
    let b = ring.add(Algorithm::EdDSA, t(2)).unwrap();
    // Rotate: B takes over once published `lead` (t=12), not at the end of A's interval.
    let mut copy = ring.records.clone();
    let (_, at) = plan::rotate(&mut copy, t(5), t(15), &SCHEDULE).unwrap();
    assert_eq!(
        at,
        t(15),
        "no earlier than a sync interval from now (replicas not yet synced)"
    );
    let (kid, at) = plan::rotate(&mut ring.records, t(5), t(5), &SCHEDULE).unwrap();
    assert_eq!((kid.as_str(), at), (b.as_str(), t(12)));
    assert_eq!(
        ring.states(t(12)),
        vec![(a.clone(), KeyState::Retired), (b.clone(), KeyState::Active)]
    );
    let c = ring.add(Algorithm::EdDSA, t(12)).unwrap();
    // Revoke the active key: gone at once, the pending key signs now.
    assert_eq!(
        plan::revoke(&mut ring.records, &b, t(20), &SCHEDULE),
        Ok(Some(KeyState::Active))
    );
    assert_eq!(ring.snapshot(t(20)).signer(t(20)).unwrap().kid(), Some(c.as_str()));
    assert!(!kids_in_jwks(&ring.snapshot(t(20))).contains(&b));
    assert!(plan::revoke(&mut ring.records, "no-such-kid", t(20), &SCHEDULE).is_err());
}

#[test]
fn the_same_keys_in_any_order_make_the_same_jwks_and_etag() {
    let mut ring = Ring::default();
    let mut now = t(0);
    for i in 0..100 {
        now = t(i * 10);
        ring.add(Algorithm::ES256, now);
        if ring.snapshot(now).keys().len() == 3 {
            break;
        }
    }
    let forward = ring.snapshot(now);
    ring.records.reverse();
    let backward = ring.snapshot(now);
    assert_eq!(kids_in_jwks(&forward).len(), 3);
    assert_eq!(
        forward.jwks(),
        backward.jwks(),
        "replicas that learnt keys in another order"
    );
    assert_eq!(forward.etag(), backward.etag());
}

#[test]
fn jwks_has_public_members_only() {
    let mut ring = Ring::default();
    ring.add(Algorithm::EdDSA, t(0)).unwrap();
    let v: serde_json::Value = serde_json::from_slice(ring.snapshot(t(0)).jwks()).unwrap();
    let jwk = v["keys"][0].as_object().unwrap();
    let mut names: Vec<&str> = jwk.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["alg", "crv", "kid", "kty", "use", "x"]);
    assert_eq!((jwk["use"].as_str(), jwk["alg"].as_str()), (Some("sig"), Some("EdDSA")));
}

#[test]
fn stored_times_are_validated_and_arithmetic_saturates() {
    let (mut record, _) = new_key(Algorithm::EdDSA);
    record.times = KeyTimes {
        published_at: t(0),
        activates_at: t(10),
        retires_at: t(20),
        removed_at: t(30),
    };
    assert!(record.validate().is_ok());
    let far = time::macros::datetime!(9999-12-31 0:00 UTC);
    let mut bad = record.clone();
    bad.times.removed_at = far;
    assert!(bad.validate().unwrap_err().contains(&record.kid));
    let mut bad = record.clone();
    bad.times.activates_at = t(25);
    assert!(bad.validate().unwrap_err().contains("out of order"));
    let mut bad = record.clone();
    bad.created_at = t(1);
    assert!(bad.validate().is_err(), "created after publication");
    // The schedule's arithmetic never panics, whatever the time it meets.
    assert!(later(far, Duration::from_secs(u64::MAX)) > t(0));
    let mut records = vec![record.clone()];
    records[0].times.retires_at = far;
    records[0].times.removed_at = far;
    let _ = plan::extend(&mut records, Algorithm::EdDSA, far, &SCHEDULE);
    let _ = plan::add(&mut records, new_key(Algorithm::EdDSA).0, t(15), &SCHEDULE);
}
