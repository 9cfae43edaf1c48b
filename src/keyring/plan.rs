//! What a writer changes in the ring, as pure functions of the stored records and `now`. Every
//! store applies them inside its own transaction to the records it has just read, so a change
//! is decided on fresh data: two writers racing to add a successor add one, not two.
//!
//! The schedule they keep (contract §5): the first key signs at once; afterwards one pending
//! key of `ALGO` is always published at least [`Schedule::lead`] before it signs (a whole
//! interval, normally); a key retires when its successor activates and is removed
//! `TOKEN_TTL + CLOCK_LEEWAY` (+1 s) later.

use std::fmt;

use time::OffsetDateTime;

use super::{KeyRecord, KeyState, KeyTimes, Schedule, later};
use crate::algorithm::Algorithm;

/// What the ring needs from a writer at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Nothing,
    /// No key is active or pending: a new key signs at once.
    FirstKey,
    /// A key is active but no pending key of `ALGO` follows it.
    Successor,
}

fn state(r: &KeyRecord, now: OffsetDateTime) -> Option<KeyState> {
    r.times.state(now)
}

/// The record that signs at `now`.
pub fn active(records: &[KeyRecord], now: OffsetDateTime) -> Option<&KeyRecord> {
    records.iter().find(|r| state(r, now) == Some(KeyState::Active))
}

/// Keys that sign after `now`: pending, or written by a writer whose clock is ahead of ours
/// (published "later"). Counting those too keeps replicas with skewed clocks, or a writer
/// whose `now` was taken before another's write, from adding a second successor.
fn upcoming(records: &[KeyRecord], now: OffsetDateTime) -> impl Iterator<Item = &KeyRecord> {
    records.iter().filter(move |r| r.times.activates_at > now)
}

/// What the ring needs at `now` for a process signing with `alg`.
pub fn need(records: &[KeyRecord], alg: Algorithm, now: OffsetDateTime) -> Need {
    let mut pending = upcoming(records, now);
    match active(records, now) {
        None if pending.next().is_none() => Need::FirstKey,
        None => Need::Nothing,
        Some(_) if pending.any(|p| p.algorithm == alg) => Need::Nothing,
        Some(_) => Need::Successor,
    }
}

/// Adds `new` (a freshly generated key) if the ring still needs it at `now`, setting its
/// times and its predecessor's retirement. Returns whether anything changed.
pub fn add(records: &mut Vec<KeyRecord>, mut new: KeyRecord, now: OffsetDateTime, schedule: &Schedule) -> bool {
    match need(records, new.algorithm, now) {
        Need::Nothing => false,
        Need::FirstKey => {
            new.times = timeline(now, now, schedule);
            records.push(new);
            true
        }
        Need::Successor => {
            // Upcoming keys are all of another algorithm here; they never signed: they go at once.
            records.retain(|r| r.times.activates_at <= now);
            let Some(current) = records.iter_mut().find(|r| state(r, now) == Some(KeyState::Active)) else {
                return false;
            };
            let published_long_enough = later(now, schedule.lead);
            let activates_at = if current.algorithm == new.algorithm {
                current.times.retires_at.max(published_long_enough)
            } else {
                // ALGO changed: the old key signs until the new one is safe to use.
                published_long_enough
            };
            retire_at(current, activates_at, schedule);
            new.times = timeline(now, activates_at, schedule);
            records.push(new);
            true
        }
    }
}

/// When no successor can be made: keeps the active key signing until a successor published
/// now could take over safely (`now + lead`), for every process that shares the store.
pub fn extend(records: &mut [KeyRecord], alg: Algorithm, now: OffsetDateTime, schedule: &Schedule) -> bool {
    if need(records, alg, now) != Need::Successor {
        return false;
    }
    let until = later(now, schedule.lead);
    match records.iter_mut().find(|r| state(r, now) == Some(KeyState::Active)) {
        Some(current) if current.times.retires_at < until => {
            retire_at(current, until, schedule);
            true
        }
        _ => false,
    }
}

/// Drops the keys removed by `now` (their private keys with them).
pub fn prune(records: &mut Vec<KeyRecord>, now: OffsetDateTime) -> bool {
    let before = records.len();
    records.retain(|r| r.times.removed_at > now);
    records.len() != before
}

/// Why an operator's change cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError(pub String);

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `keys rotate`: the pending key takes over as soon as it has been published `lead`, and no
/// earlier than `not_before` — `now` plus one sync interval with a shared store, so that a
/// replica which has not read the change yet, and signs with the old key meanwhile, signs no
/// later than the old key's new retirement (invariant 1 holds for its tokens). Returns the
/// pending key's kid and when it activates. Running processes make the next pending key when
/// it does.
pub fn rotate(
    records: &mut [KeyRecord],
    now: OffsetDateTime,
    not_before: OffsetDateTime,
    schedule: &Schedule,
) -> Result<(String, OffsetDateTime), PlanError> {
    let Some(p) = records.iter().position(|r| state(r, now) == Some(KeyState::Pending)) else {
        return Err(PlanError(
            "no pending key to rotate to yet; a running process publishes one".into(),
        ));
    };
    let at = later(records[p].times.published_at, schedule.lead)
        .max(now)
        .max(not_before);
    if let Some(current) = records.iter_mut().find(|r| state(r, now) == Some(KeyState::Active)) {
        retire_at(current, at, schedule);
    }
    records[p].times = timeline(records[p].times.published_at, at, schedule);
    Ok((records[p].kid.clone(), at))
}

/// `keys revoke KID`: the key is removed now. If it was active, the pending key (if any)
/// signs from now on. Returns the state the key was in.
pub fn revoke(
    records: &mut Vec<KeyRecord>,
    kid: &str,
    now: OffsetDateTime,
    schedule: &Schedule,
) -> Result<Option<KeyState>, PlanError> {
    let Some(i) = records.iter().position(|r| r.kid == kid) else {
        return Err(PlanError(format!("no key {kid} in the store")));
    };
    let was = state(&records[i], now);
    records.remove(i);
    if was == Some(KeyState::Active)
        && let Some(p) = records.iter_mut().find(|r| state(r, now) == Some(KeyState::Pending))
    {
        p.times = timeline(p.times.published_at, now, schedule);
    }
    Ok(was)
}

/// The next time any record changes state after `now`.
pub fn next_change(records: &[KeyRecord], now: OffsetDateTime) -> Option<OffsetDateTime> {
    records
        .iter()
        .flat_map(|r| [r.times.activates_at, r.times.retires_at, r.times.removed_at])
        .filter(|t| *t > now)
        .min()
}

/// A key published at `published_at` that signs from `activates_at` for one interval.
fn timeline(published_at: OffsetDateTime, activates_at: OffsetDateTime, schedule: &Schedule) -> KeyTimes {
    let retires_at = later(activates_at, schedule.interval);
    KeyTimes {
        published_at,
        activates_at,
        retires_at,
        removed_at: later(retires_at, schedule.retention),
    }
}

/// Moves `record`'s retirement (and so its removal) to `at`.
fn retire_at(record: &mut KeyRecord, at: OffsetDateTime, schedule: &Schedule) {
    record.times.retires_at = at;
    record.times.removed_at = later(at, schedule.retention);
}
