//! What the proof-of-work gate counts: challenges handed out, solutions by outcome, the replay
//! store's size and its Redis errors.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::register;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// The outcomes of a token request at the gate, as the `outcome` label names them.
pub const OUTCOMES: [&str; 5] = ["ok", "missing", "bad", "expired", "replayed"];

/// Cheap to clone (the metrics are shared).
#[derive(Clone, Debug, Default)]
pub struct PowMetrics {
    pub challenges: Counter,
    /// By [`OUTCOMES`], in that order.
    pub solutions: [Counter; 5],
    /// Failed or timed-out calls to Redis by the replay store.
    pub store_errors: Counter,
    /// Used challenges remembered in this process's memory.
    pub remembered: Gauge,
}

impl PowMetrics {
    pub(super) fn register(registry: &mut Registry) -> PowMetrics {
        let family = Family::<OutcomeLabel, Counter>::default();
        // Every outcome exported from the start (at 0), so rates need no absent().
        let solutions = OUTCOMES.map(|outcome| family.get_or_create(&OutcomeLabel { outcome }).clone());
        registry.register(
            "pow_solutions",
            "Token requests at the proof-of-work gate by outcome: ok, missing, bad (malformed, tampered or wrong), expired, replayed",
            family,
        );
        PowMetrics {
            challenges: register(
                registry,
                "pow_challenges_issued",
                "ALTCHA challenges handed out by GET /anonymous/challenge",
                Counter::default(),
            ),
            solutions,
            store_errors: register(
                registry,
                "pow_replay_store_errors",
                "Failed or timed-out calls to Redis by the replay store",
                Counter::default(),
            ),
            remembered: register(
                registry,
                "pow_replay_entries",
                "Used challenges remembered in this process's memory",
                Gauge::default(),
            ),
        }
    }
}
