//! The one integration-test binary: the issuer over real HTTP on port 0, and the real binary
//! for what only a process shows (exit codes, signals).

mod chaos;
mod cli;
mod delay;
mod demo;
mod file_failures;
mod helpers;
mod http;
mod keys;
mod lifecycle;
mod limits;
mod logs;
mod metrics;
mod pg_failures;
mod pow;
mod pow_replicas;
mod replicas;
mod rotation;
mod shared_limits;
mod static_keys;
mod stores;
mod tokens;
