//! CusDeb Anonymous: issues short-lived anonymous JWTs and publishes the keys that verify them.
//!
//! # Layout
//!
//! - [`config`]: the environment, parsed once into typed values (contract §2).
//! - [`zone`]: the operator's `TIME_ZONE`, for human-readable times only.
//! - [`crypto`]: jsonwebtoken's `CryptoProvider` over ring — every signature goes through it.
//! - [`keys`]: one signing key with its JWK, kid and pre-encoded JWT header.
//! - [`keyring`]: immutable snapshots of the keys and their states, swapped with `arc-swap`.
//! - [`rotation`]: the task that generates, activates, retires and removes keys.
//! - [`token`]: minting the seed's claims with the active key.
//! - [`routes`]: the HTTP operations (poem-openapi), the spec, Swagger UI, the edge middleware.
//! - [`metrics`]: Prometheus metrics, gauges derived from state at scrape time.
//! - [`server`]: the connection loop: accept with back-off (EMFILE), hyper HTTP/1.1, drain.
//! - [`startup`]: `Application::build` → `run_until_stopped`.
//! - [`telemetry`]: logging to stderr.

pub mod config;
pub mod crypto;
pub mod keyring;
pub mod keys;
pub mod metrics;
pub mod rotation;
pub mod routes;
pub mod server;
pub mod startup;
pub mod telemetry;
pub mod token;
pub mod zone;

/// The OpenAPI document as JSON, independent of configuration (what `openapi/` holds).
pub fn openapi_json() -> String {
    spec_service().spec()
}

/// The OpenAPI document as YAML.
pub fn openapi_yaml() -> String {
    spec_service().spec_yaml()
}

fn spec_service() -> poem_openapi::OpenApiService<routes::Apis, ()> {
    crypto::install();
    let config = config::Config::from_lookup(|_| None).expect("the defaults are a valid configuration");
    let state = startup::AppState::new(config).expect("the default HMAC key builds");
    routes::api_service(&std::sync::Arc::new(state))
}
