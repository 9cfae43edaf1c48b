//! Memory per client tracked by the in-memory limits, and the cap: a limiter with
//! `ISSUE_RATE=1/h` meets 1,000,000 distinct IPv4 clients (each one request), then 100,000
//! more past the cap. Prints resident memory before and after, bytes per tracked client, and
//! how many clients went untracked.
//!
//! `cargo run --release --example limiter_memory`

use std::net::{IpAddr, Ipv4Addr};

use cusdeb_anonymous::config::Config;
use cusdeb_anonymous::limits::{Limiter, MAX_TRACKED_CLIENTS, Outcome};
use cusdeb_anonymous::metrics::LimitMetrics;
use poem::http::HeaderMap;

/// Resident memory of this process, bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    let config = Config::from_lookup(|name| (name == "ISSUE_RATE").then(|| "1/h".to_owned())).expect("valid");
    let metrics = LimitMetrics::default();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        let limiter = Limiter::new(&config.limits, None, metrics.clone()).expect("limits on");
        let headers = HeaderMap::new();
        let before = rss();
        let clients = MAX_TRACKED_CLIENTS as u32;
        for i in 0..clients {
            let peer = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            assert!(matches!(limiter.check(peer, &headers).await, Outcome::Allowed(_)));
        }
        let after = rss();
        limiter.refresh_gauges();
        let tracked = metrics.tracked.get();
        for i in 0..100_000u32 {
            let peer = IpAddr::V4(Ipv4Addr::from(0x0b00_0000 + i));
            let _ = limiter.check(peer, &headers).await;
        }
        limiter.refresh_gauges();
        println!(
            "{tracked} clients tracked: resident {:.1} MB -> {:.1} MB, {:.0} bytes per client; 100,000 more past the cap: {} tracked, {} untracked",
            before as f64 / 1e6,
            after as f64 / 1e6,
            (after - before) as f64 / f64::from(clients),
            metrics.tracked.get(),
            metrics.untracked.get()
        );
    });
}
