//! The request series: requests by route and status, latency by route. Each route's series
//! are found in their families (a hashed, locked map) once, on first use — so `/metrics` lists
//! only what happened — and then kept: the hot path only counts.

use std::sync::OnceLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::register;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: &'static str,
}

/// The statuses whose series are kept per route; others are looked up each time.
const COMMON_STATUSES: [u16; 6] = [200, 304, 400, 404, 405, 503];

/// One route's series, each created in its family on first use (so `/metrics` lists only
/// what happened).
#[derive(Debug)]
struct RouteSeries {
    label: &'static str,
    latency: OnceLock<Histogram>,
    requests: [OnceLock<Counter>; COMMON_STATUSES.len()],
}

/// The two families and the series of each route, by route index.
#[derive(Debug)]
pub struct Requests {
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabel, Histogram>,
    seen: Vec<RouteSeries>,
}

impl Requests {
    /// Registers the families; `routes` are the route labels, by route index.
    pub fn register(registry: &mut Registry, routes: &[&'static str]) -> Requests {
        let requests = register(
            registry,
            "http_requests",
            "HTTP requests answered, by route and status",
            Family::default(),
        );
        let latency = register(
            registry,
            "http_request_duration_seconds",
            "Time to answer, by route (ISSUE_DELAY included)",
            Family::new_with_constructor(latency_histogram as fn() -> Histogram),
        );
        let seen = routes
            .iter()
            .map(|label| RouteSeries {
                label,
                latency: OnceLock::new(),
                requests: Default::default(),
            })
            .collect();
        Requests {
            requests,
            latency,
            seen,
        }
    }

    /// One answered request on route number `route`.
    pub fn record(&self, route: usize, status: u16, seconds: f64) {
        let Some(series) = self.seen.get(route) else {
            return;
        };
        let label = series.label;
        series
            .latency
            .get_or_init(|| self.latency.get_or_create(&RouteLabel { route: label }).clone())
            .observe(seconds);
        match COMMON_STATUSES.iter().position(|s| *s == status) {
            Some(i) => series.requests[i]
                .get_or_init(|| {
                    self.requests
                        .get_or_create(&RequestLabels { route: label, status })
                        .clone()
                })
                .inc(),
            None => self
                .requests
                .get_or_create(&RequestLabels { route: label, status })
                .inc(),
        };
    }
}

/// 100 µs … ~30 s: signing costs, and ISSUE_DELAY on top.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.5, 15))
}
