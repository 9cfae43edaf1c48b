//! The brake on token farms (contract §8): a GCRA limit per client (`ISSUE_RATE`,
//! `ISSUE_BURST`) and a ceiling for everybody together (`ISSUE_RATE_GLOBAL`), decided at the
//! edge before `ISSUE_DELAY`, so a request over a limit is answered at once and holds nothing.
//!
//! - [`client`]: who the client is, safely behind proxies.
//! - [`gcra`]: the arithmetic; `memory`: the counts in this process, bounded;
//!   `redis`: the counts shared by replicas, one script per request.
//!
//! With Redis out of reach, `LIMIT_STORE_FAILURE=allow` decides in this replica's memory and
//! `deny` refuses tokens; each episode is logged once and counted, and Redis is used again as
//! soon as it answers.

pub mod client;
mod fields;
pub mod gcra;
mod memory;
mod redis;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use poem::http::{HeaderMap, HeaderValue};

use crate::config::limits::{LimitConfig, OnFailure, Rate};
use crate::metrics::LimitMetrics;
use crate::redis_link::RedisLink;
use client::{ClientKey, Clients, Source};
use fields::{limited, rate_limit, whole_secs};
use gcra::{Decision, Gcra};

/// How many clients one process tracks at most (about 50 bytes each).
pub const MAX_TRACKED_CLIENTS: usize = 1_000_000;

/// The two policies, as the `RateLimit` fields name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Client,
    Global,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::Client => "client",
            Policy::Global => "global",
        }
    }
}

/// What the limits say about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Go on; the `RateLimit` field to send with the answer.
    Allowed(HeaderValue),
    /// Over `policy`: answer `429` now, `Retry-After` in whole seconds.
    Limited {
        policy: Policy,
        retry_after: u64,
        rate_limit: HeaderValue,
    },
    /// Redis is out of reach and `LIMIT_STORE_FAILURE=deny`: answer `503`.
    Unavailable,
}

/// The configured limits.
pub struct Limiter {
    clients: Clients,
    client: Option<(Gcra, Rate)>,
    global: Option<(Gcra, Rate)>,
    memory: memory::Memory,
    global_tat: memory::Global,
    redis: Option<redis::Redis>,
    on_failure: OnFailure,
    /// Redis is out of reach (an episode is logged once).
    degraded: AtomicBool,
    epoch: Instant,
    /// `RateLimit-Policy`, formatted once.
    policy: HeaderValue,
    /// `RateLimit` of each policy for a client with its whole burst but the token just taken:
    /// what most answers say (a client's first token), formatted once.
    fresh: [Option<(u64, HeaderValue)>; 2],
    metrics: LimitMetrics,
}

impl Limiter {
    /// The limiter `config` asks for, counting in Redis over `link` when given; `None` when
    /// every limit is off.
    pub fn new(config: &LimitConfig, link: Option<&RedisLink>, metrics: LimitMetrics) -> Option<Limiter> {
        if !config.any() {
            return None;
        }
        let client = config.client.map(|r| (Gcra::new(&r), r));
        let global = config.global.map(|r| (Gcra::new(&r), r));
        let redis = link.cloned().map(redis::Redis::new);
        let policies: Vec<String> = [(Policy::Client, client), (Policy::Global, global)]
            .iter()
            .filter_map(|(p, g)| {
                g.map(|(g, r)| format!("\"{}\";q={};w={}", p.name(), r.burst, whole_secs(g.tolerance)))
            })
            .collect();
        let fresh = [(Policy::Client, client), (Policy::Global, global)].map(|(p, g)| {
            g.map(|(g, r)| {
                (
                    r.burst - 1,
                    rate_limit(p, r.burst - 1, Duration::from_nanos(g.interval)),
                )
            })
        });
        Some(Limiter {
            fresh,
            clients: Clients::new(config.trusted_proxies.clone(), config.ipv6_prefix),
            client,
            global,
            memory: memory::Memory::new(MAX_TRACKED_CLIENTS),
            global_tat: memory::Global::default(),
            redis,
            on_failure: config.on_failure,
            degraded: AtomicBool::new(false),
            epoch: Instant::now(),
            policy: HeaderValue::try_from(policies.join(", ")).expect("names and digits are a valid header value"),
            metrics,
        })
    }

    /// `RateLimit-Policy`: every policy with its quota and window.
    pub fn policy(&self) -> &HeaderValue {
        &self.policy
    }

    /// Decides for a request from `peer` with `headers`.
    pub async fn check(&self, peer: IpAddr, headers: &HeaderMap) -> Outcome {
        let (key, source) = self.clients.identify(peer, headers);
        if source == Source::Malformed {
            self.metrics.forwarded_malformed.inc();
        }
        let outcome = match &self.redis {
            None => self.decide_here(key),
            Some(redis) => self.decide_shared(redis, key).await,
        };
        if let Outcome::Limited { policy, .. } = &outcome {
            match policy {
                Policy::Client => self.metrics.limited_client.inc(),
                Policy::Global => self.metrics.limited_global.inc(),
            };
        }
        outcome
    }

    /// In this process's memory.
    fn decide_here(&self, key: ClientKey) -> Outcome {
        let now = self.epoch.elapsed().as_nanos() as u64;
        let mut global_left = None;
        if let Some((g, _)) = &self.global {
            match self.global_tat.decide(g, now) {
                Decision::Limited { retry_after } => return limited(Policy::Global, retry_after),
                Decision::Allowed { remaining, reset, .. } => global_left = Some((remaining, reset)),
            }
        }
        if let Some((g, _)) = &self.client {
            match self.memory.decide(g, key, now) {
                Decision::Limited { retry_after } => {
                    if let Some((g, _)) = &self.global {
                        self.global_tat.refund(g);
                    }
                    return limited(Policy::Client, retry_after);
                }
                Decision::Allowed { remaining, reset, .. } => {
                    return Outcome::Allowed(self.rate_limit(Policy::Client, remaining, reset));
                }
            }
        }
        let (remaining, reset) = global_left.unwrap_or((0, Duration::ZERO));
        Outcome::Allowed(self.rate_limit(Policy::Global, remaining, reset))
    }

    /// In Redis; without it (out of reach, too slow) as `LIMIT_STORE_FAILURE` says.
    async fn decide_shared(&self, redis: &redis::Redis, key: ClientKey) -> Outcome {
        let (client, global) = (self.client.map(|(g, _)| g), self.global.map(|(g, _)| g));
        match redis.decide(key, client.as_ref(), global.as_ref()).await {
            Ok(answer) => {
                if self.degraded.swap(false, Ordering::AcqRel) {
                    tracing::info!(redis = %redis.endpoint, "Redis answers again: limits are shared again");
                }
                match answer {
                    redis::Answer::ClientLimited { retry_after } => limited(Policy::Client, retry_after),
                    redis::Answer::GlobalLimited { retry_after } => limited(Policy::Global, retry_after),
                    redis::Answer::Allowed {
                        client_ahead,
                        global_ahead,
                    } => {
                        let (policy, gcra, ahead) = match (client, global) {
                            (Some(g), _) => (Policy::Client, g, client_ahead),
                            (None, Some(g)) => (Policy::Global, g, global_ahead),
                            (None, None) => unreachable!("a limiter has a policy"),
                        };
                        let ahead = ahead.saturating_mul(1000);
                        let remaining = gcra.tolerance.saturating_sub(ahead) / gcra.interval;
                        Outcome::Allowed(self.rate_limit(policy, remaining, Duration::from_nanos(ahead)))
                    }
                }
            }
            Err(error) => {
                self.metrics.store_errors.inc();
                if !self.degraded.swap(true, Ordering::AcqRel) {
                    self.metrics.fallbacks.inc();
                    let meanwhile = match self.on_failure {
                        OnFailure::Allow => "each replica's own memory decides (LIMIT_STORE_FAILURE=allow)",
                        OnFailure::Deny => "tokens are refused (LIMIT_STORE_FAILURE=deny)",
                    };
                    tracing::warn!(redis = %redis.endpoint, %error, "Redis is out of reach: {meanwhile} until it answers");
                }
                match self.on_failure {
                    OnFailure::Allow => self.decide_here(key),
                    OnFailure::Deny => Outcome::Unavailable,
                }
            }
        }
    }

    /// `RateLimit` for an allowed request: the one formatted at start when it says the same.
    fn rate_limit(&self, policy: Policy, remaining: u64, reset: Duration) -> HeaderValue {
        let fresh = &self.fresh[policy as usize];
        match fresh {
            Some((left, value)) if *left == remaining && reset.as_nanos() <= self.interval(policy) => value.clone(),
            _ => rate_limit(policy, remaining, reset),
        }
    }

    /// The interval of `policy`, nanoseconds (0 when it is off).
    fn interval(&self, policy: Policy) -> u128 {
        let gcra = match policy {
            Policy::Client => self.client,
            Policy::Global => self.global,
        };
        gcra.map_or(0, |(g, _)| u128::from(g.interval))
    }

    /// Refreshes the gauges read at scrape time.
    pub fn refresh_gauges(&self) {
        self.metrics.tracked.set(self.memory.tracked() as i64);
        self.metrics
            .untracked
            .set(self.memory.untracked.load(Ordering::Relaxed) as i64);
    }
}
