//! What the metrics export beyond requests and keys: the issuing limits' counts, and the
//! settings that alert rules compare against (so a rule needs no copy of the configuration).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::register;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PolicyLabel {
    policy: &'static str,
}

/// What the issuing limits count; cheap to clone (the metrics are shared).
#[derive(Clone, Debug, Default)]
pub struct LimitMetrics {
    /// Token requests answered 429 by the per-client policy.
    pub limited_client: Counter,
    /// Token requests answered 429 by the global ceiling.
    pub limited_global: Counter,
    /// Failed or timed-out calls to Redis.
    pub store_errors: Counter,
    /// Episodes of Redis out of reach (each logged once).
    pub fallbacks: Counter,
    /// Forwarding headers from a trusted proxy that could not be read (the proxy stood in).
    pub forwarded_malformed: Counter,
    /// Clients tracked in this process's memory now.
    pub tracked: Gauge,
    /// New clients not tracked because the table was full (since start).
    pub untracked: Gauge,
}

/// Configuration values exported so that alert rules need no copy of them.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub issue_delay: Gauge<f64, AtomicU64>,
    pub key_rotation_interval: Gauge<f64, AtomicU64>,
    /// 0 unless the key store is shared (then replicas read it this often).
    pub key_store_sync_interval: Gauge<f64, AtomicU64>,
}

impl Settings {
    pub(super) fn register(registry: &mut Registry) -> Settings {
        let registry = &mut *registry;
        Settings {
            issue_delay: register(
                registry,
                "issue_delay_seconds",
                "ISSUE_DELAY: how long a token request waits",
                Gauge::default(),
            ),
            key_rotation_interval: register(
                registry,
                "key_rotation_interval_seconds",
                "KEY_ROTATION_INTERVAL (0 when keys do not rotate)",
                Gauge::default(),
            ),
            key_store_sync_interval: register(
                registry,
                "key_store_sync_interval_seconds",
                "KEY_STORE_SYNC_INTERVAL with a shared key store (0 otherwise)",
                Gauge::default(),
            ),
        }
    }
}

impl LimitMetrics {
    pub(super) fn register(registry: &mut Registry) -> LimitMetrics {
        let registry = &mut *registry;
        let limited = Family::<PolicyLabel, Counter>::default();
        // One at a time: each lookup holds the family's lock until its statement ends.
        let limited_client = limited.get_or_create(&PolicyLabel { policy: "client" }).clone();
        let limited_global = limited.get_or_create(&PolicyLabel { policy: "global" }).clone();
        let limits = LimitMetrics {
            limited_client,
            limited_global,
            store_errors: register(
                registry,
                "limit_store_errors",
                "Failed or timed-out calls to the limits' Redis (decided without it)",
                Counter::default(),
            ),
            fallbacks: register(
                registry,
                "limit_store_fallbacks",
                "Episodes of the limits' Redis out of reach (LIMIT_STORE_FAILURE applies meanwhile)",
                Counter::default(),
            ),
            forwarded_malformed: register(
                registry,
                "forwarded_malformed",
                "Forwarded / X-Forwarded-For from a trusted proxy that could not be read (the proxy's address stood in)",
                Counter::default(),
            ),
            tracked: register(
                registry,
                "limit_tracked_clients",
                "Clients tracked by this process's limits now",
                Gauge::default(),
            ),
            untracked: register(
                registry,
                "limit_untracked_clients",
                "New clients not tracked since start because the table was full (the global ceiling still holds them)",
                Gauge::default(),
            ),
        };
        registry.register(
            "requests_limited",
            "Token requests answered 429, by policy (client, global)",
            limited,
        );
        limits
    }
}
