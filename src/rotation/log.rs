//! The key lifecycle in the log: each key's published, activated, retired and removed events
//! between two snapshots, with kid, algorithm and times in `TIME_ZONE`; and the rotation count.

use crate::keyring::{KeyState, RingKey, Snapshot};
use crate::metrics::RotationMetrics;
use crate::zone::Zone;

/// Whether any key appeared, left or changed state.
pub fn changed(before: &Snapshot, after: &Snapshot) -> bool {
    let states = |s: &Snapshot| {
        s.keys()
            .iter()
            .map(|k| (k.key.kid().map(str::to_owned), k.state))
            .collect::<Vec<_>>()
    };
    states(before) != states(after)
}

fn find<'a>(snapshot: &'a Snapshot, key: &RingKey) -> Option<&'a RingKey> {
    snapshot.keys().iter().find(|k| k.key.kid() == key.key.kid())
}

/// Logs each key's events from `before` to `after` and counts rotations.
pub fn record_changes(before: &Snapshot, after: &Snapshot, metrics: &RotationMetrics, zone: &Zone) {
    for k in after.keys() {
        let kid = k.key.kid().unwrap_or("-");
        let algorithm = k.key.algorithm().name();
        let previous = find(before, k).map(|p| p.state);
        if previous.is_none() {
            let activates_at = zone.rfc3339(k.times.activates_at);
            tracing::info!(kid, algorithm, activates_at, "key published");
        }
        if previous == Some(k.state) {
            continue;
        }
        match k.state {
            KeyState::Active => {
                if previous == Some(KeyState::Pending) {
                    metrics.rotations.inc();
                }
                tracing::info!(kid, algorithm, "key activated");
            }
            KeyState::Retired => {
                let remove_at = zone.rfc3339(k.times.removed_at);
                tracing::info!(kid, algorithm, remove_at, "key retired")
            }
            KeyState::Pending => {}
        }
    }
    for k in before.keys().iter().filter(|p| find(after, p).is_none()) {
        let (kid, algorithm) = (k.key.kid().unwrap_or("-"), k.key.algorithm().name());
        tracing::info!(kid, algorithm, "key removed; private key dropped");
    }
}
