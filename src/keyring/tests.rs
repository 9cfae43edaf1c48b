//! The key ring's lifecycle on an injected clock.

use std::time::Duration;

use super::*;
use crate::algorithm::Algorithm;

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
