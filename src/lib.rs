//! CusDeb Anonymous: issues short-lived anonymous JWTs and publishes the keys that verify them.
//!
//! # Where things live
//!
//! Configuration and the command line
//! - [`cli`]: the command line — serve, `--help`, `--version`, `openapi`, `check-config`,
//!   `keys` (the operator's view of the key store).
//! - [`config`]: the environment, parsed once into a typed [`config::Config`] (contract §2).
//! - [`algorithm`]: the twelve JWS algorithms and what each one is (family, hash).
//! - [`backoff`]: exponential backoff with jitter, for every retry.
//! - [`clock`]: where time is read (the system, or tokio's clock in tests).
//! - [`zone`]: the operator's `TIME_ZONE`, for human-readable times only.
//!
//! Keys and tokens
//! - [`crypto`]: jsonwebtoken's `CryptoProvider` over ring — every signature goes through it.
//! - [`keys`]: one signing key with its JWK, kid and JWT header; static keys from PEM.
//! - [`keyring`]: keys on absolute times; `plan` (what a writer changes, pure); immutable
//!   snapshots swapped with `arc-swap`; the rotation schedule.
//! - [`rotation`]: the task that keeps the ring: reads the store, generates, writes, publishes.
//! - [`store`]: where keys live — memory, a file, or PostgreSQL shared by replicas — and how
//!   they are sealed at rest.
//! - [`token`]: minting the seed's claims with the active key.
//!
//! Serving
//! - [`state`]: what every request shares (config, key ring, minter, metrics, waiting room).
//! - [`limits`]: the brake on token farms — per-client and global limits, client
//!   identification behind proxies, counts in memory or Redis.
//! - [`pow`]: the ALTCHA proof-of-work gate — challenges, payload checks, the replay store.
//! - [`redis_link`]: the one Redis connection the limits and the replay store share.
//! - [`routes`]: the route table, the edge middleware, the operations (poem-openapi), the
//!   spec and Swagger UI.
//! - [`server`]: the connection loop: accept with back-off, hyper HTTP/1.1, drain.
//! - [`process`]: the open-files limit and the stop signals.
//! - [`startup`]: `Application::build` → `run_until_stopped`; signals.
//! - [`metrics`]: Prometheus metrics, gauges derived from state at scrape time.
//! - [`telemetry`]: logging to stderr.

pub mod algorithm;
pub mod backoff;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod keyring;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod pow;
pub mod process;
pub mod redis_link;
pub mod rotation;
pub mod routes;
pub mod server;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod token;
pub mod zone;

/// The OpenAPI document as JSON, independent of configuration (what `openapi/` holds).
pub fn openapi_json() -> String {
    routes::api_service(&routes::Served::spec_only()).spec()
}

/// The OpenAPI document as YAML.
pub fn openapi_yaml() -> String {
    routes::api_service(&routes::Served::spec_only()).spec_yaml()
}
