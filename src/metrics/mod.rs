//! Prometheus metrics (`GET /metrics`, text format 0.0.4) through `prometheus-client`.
//!
//! Counters and histograms are updated where things happen: the edge middleware (requests,
//! latency), the waiting room (shed requests), the token operation (tokens), the connection
//! loop (accept errors), the rotation task (rotations, generation failures). Gauges that describe state — requests waiting, keys per state, the
//! active key's age, the next rotation — are derived from that state at scrape time, so the
//! hot path pays nothing for them.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
mod exported;
mod pow;
mod requests;
use prometheus_client::registry::{Metric, Registry};
use time::OffsetDateTime;

use crate::keyring::{KeyState, Snapshot};
pub use exported::{LimitMetrics, Settings};
pub use pow::{OUTCOMES, PowMetrics};
use requests::Requests;

pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AlgorithmLabel {
    algorithm: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    algorithm: &'static str,
}

/// What the rotation task counts; cheap to clone (the counters are shared).
#[derive(Clone, Debug, Default)]
pub struct RotationMetrics {
    pub rotations: Counter,
    pub generation_failures: Counter,
    /// Failed reads and writes of the key store.
    pub store_errors: Counter,
    /// Unix time of the last successful read or write of the key store.
    pub store_last_sync: Gauge<f64, AtomicU64>,
}

impl RotationMetrics {
    /// The store answered at `now`.
    pub fn store_synced(&self, now: OffsetDateTime) {
        self.store_last_sync.set(now.unix_timestamp() as f64);
    }
}

/// Every metric of the process, registered once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// The process signs with one algorithm: its counter is looked up once, here.
    tokens_issued: Counter,
    requests: Requests,
    /// Requests waiting on `ISSUE_DELAY` (exported as `pending_requests`, its name since 0.1).
    waiting: Gauge,
    shed: Counter,
    accept_errors: Counter,
    keys: Family<StateLabel, Gauge>,
    active_key_age: Gauge<f64, AtomicU64>,
    next_rotation: Gauge<f64, AtomicU64>,
    ready: Gauge,
    rotation: RotationMetrics,
    limits: LimitMetrics,
    pow: PowMetrics,
    /// The configuration alert rules compare against, set once.
    pub settings: Settings,
}

impl Metrics {
    /// `routes`: every route label, by route index (see `routes::paths::Route::ALL`).
    pub fn new(algorithm: &'static str, routes: &[&'static str]) -> Metrics {
        let mut registry = Registry::with_prefix("cusdeb_anonymous");
        let tokens = Family::<AlgorithmLabel, Counter>::default();
        let tokens_issued = tokens.get_or_create(&AlgorithmLabel { algorithm }).clone();
        registry.register("tokens_issued", "Tokens issued, by algorithm", tokens);
        let requests = Requests::register(&mut registry, routes);
        let waiting = register(
            &mut registry,
            "pending_requests",
            "Requests waiting on ISSUE_DELAY now",
            Gauge::default(),
        );
        let shed = register(
            &mut registry,
            "requests_shed",
            "Requests refused with 503 because MAX_PENDING were waiting",
            Counter::default(),
        );
        let accept_errors = register(
            &mut registry,
            "accept_errors",
            "Failed accept() calls (e.g. EMFILE); the server backs off and goes on",
            Counter::default(),
        );
        let keys = register(
            &mut registry,
            "keys",
            "Published keys by state (pending, active, retired)",
            Family::default(),
        );
        let active_key_age = register(
            &mut registry,
            "active_key_age_seconds",
            "Seconds since the active key started signing",
            Gauge::default(),
        );
        let next_rotation = register(
            &mut registry,
            "next_rotation_timestamp_seconds",
            "Unix time at which the pending key takes over (0: none)",
            Gauge::default(),
        );
        let rotation = RotationMetrics {
            rotations: register(
                &mut registry,
                "key_rotations",
                "Pending keys that became active",
                Counter::default(),
            ),
            generation_failures: register(
                &mut registry,
                "key_generation_failures",
                "Key generations that failed (retried)",
                Counter::default(),
            ),
            store_errors: register(
                &mut registry,
                "key_store_errors",
                "Failed reads and writes of the key store (retried; the ring last known serves)",
                Counter::default(),
            ),
            store_last_sync: register(
                &mut registry,
                "key_store_last_sync_timestamp_seconds",
                "Unix time of the last successful read or write of the key store",
                Gauge::default(),
            ),
        };
        let ready = register(
            &mut registry,
            "ready",
            "1 while a key may sign (what /readyz answers 200 for), 0 otherwise",
            Gauge::default(),
        );
        let settings = Settings::register(&mut registry);
        let limits = LimitMetrics::register(&mut registry);
        let pow = PowMetrics::register(&mut registry);
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                algorithm,
            })
            .set(1);
        registry.register("build_info", "Version and signing algorithm of this process", build);
        Metrics {
            registry,
            tokens_issued,
            requests,
            waiting,
            shed,
            accept_errors,
            keys,
            active_key_age,
            next_rotation,
            ready,
            rotation,
            limits,
            pow,
            settings,
        }
    }

    pub fn limits(&self) -> LimitMetrics {
        self.limits.clone()
    }

    pub fn pow(&self) -> PowMetrics {
        self.pow.clone()
    }

    pub fn token_issued(&self) {
        self.tokens_issued.inc();
    }

    pub fn request_shed(&self) {
        self.shed.inc();
    }

    pub fn accept_failed(&self) {
        self.accept_errors.inc();
    }

    /// One answered request on route number `route` (an index into the labels given to
    /// [`Metrics::new`]), its status and latency.
    pub fn request(&self, route: usize, status: u16, seconds: f64) {
        self.requests.record(route, status, seconds);
    }

    pub fn rotation(&self) -> RotationMetrics {
        self.rotation.clone()
    }

    /// Refreshes the state gauges from `snapshot` and the waiting count, then encodes everything.
    pub fn render(&self, snapshot: &Snapshot, waiting: usize, now: OffsetDateTime) -> String {
        self.waiting.set(waiting as i64);
        for state in KeyState::ALL {
            let n = snapshot.keys().iter().filter(|k| k.state == state).count();
            self.keys
                .get_or_create(&StateLabel { state: state.name() })
                .set(n as i64);
        }
        self.ready.set(i64::from(snapshot.signer(now).is_some()));
        let active = snapshot.keys().iter().find(|k| k.state == KeyState::Active);
        self.active_key_age
            .set(active.map_or(0.0, |k| (now - k.times.activates_at).as_seconds_f64().max(0.0)));
        self.next_rotation.set(
            snapshot
                .pending()
                .map_or(0.0, |k| k.times.activates_at.unix_timestamp() as f64),
        );
        let mut out = String::with_capacity(4096);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// Registers `metric` and returns it (a metric is a shared handle: the clone is the same one).
pub(crate) fn register<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}
