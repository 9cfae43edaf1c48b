//! `ISSUE_RATE`, `ISSUE_BURST`, `ISSUE_RATE_GLOBAL`, `TRUSTED_PROXIES`, `CLIENT_IPV6_PREFIX`,
//! `LIMIT_STORE` and `LIMIT_STORE_FAILURE`: how many tokens a client (and everybody together)
//! may take, who a client is behind proxies, and where the counts live (contract §8).

use std::time::Duration;

use ipnet::IpNet;

use super::ConfigError;
use super::parse::Raw;

/// A rate: `count` tokens per `per`, at most `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u64,
    pub per: Duration,
    pub burst: u64,
}

impl Rate {
    /// The time one token takes to come back.
    pub fn interval(&self) -> Duration {
        self.per / self.count as u32
    }

    /// For people: "30 tokens per hour, bursts of 30".
    pub fn describe(&self) -> String {
        let unit = match self.per.as_secs() {
            1 => "second",
            60 => "minute",
            _ => "hour",
        };
        format!("{} tokens per {unit}, bursts of {}", self.count, self.burst)
    }
}

/// Where the limits' counts live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitStore {
    Memory,
    /// A `redis://` or `rediss://` URL (Redis or Valkey), shared by replicas.
    Redis(String),
}

/// What happens while Redis is out of reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// The replica's own memory decides meanwhile.
    Allow,
    /// Tokens are refused (`503`) meanwhile.
    Deny,
}

/// The limits' part of the configuration.
#[derive(Debug, Clone)]
pub struct LimitConfig {
    pub client: Option<Rate>,
    pub global: Option<Rate>,
    pub trusted_proxies: Vec<IpNet>,
    pub ipv6_prefix: u8,
    pub store: LimitStore,
    pub on_failure: OnFailure,
}

impl LimitConfig {
    /// Whether any limit is on.
    pub fn any(&self) -> bool {
        self.client.is_some() || self.global.is_some()
    }

    /// The policy in words, for the start-up log and `check-config`.
    pub fn describe(&self) -> String {
        if !self.any() {
            return "off (ISSUE_RATE and ISSUE_RATE_GLOBAL unset)".into();
        }
        let mut parts = Vec::new();
        if let Some(rate) = &self.client {
            parts.push(format!("{} per client", rate.describe()));
        }
        if let Some(rate) = &self.global {
            parts.push(format!("{} for all clients together", rate.describe()));
        }
        parts.push(match self.trusted_proxies.as_slice() {
            [] => "clients by their own address (no TRUSTED_PROXIES)".into(),
            nets => format!(
                "clients behind {} by Forwarded or X-Forwarded-For",
                nets.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ),
        });
        parts.push(format!("IPv6 grouped by /{}", self.ipv6_prefix));
        parts.push(match &self.store {
            LimitStore::Memory => "counted in this process's memory".into(),
            LimitStore::Redis(url) => format!(
                "shared in Redis at {} ({} while it is out of reach)",
                redis_endpoint(url),
                match self.on_failure {
                    OnFailure::Allow => "each replica's own memory decides",
                    OnFailure::Deny => "tokens are refused",
                }
            ),
        });
        parts.join("; ")
    }
}

/// `host:port` of a Redis URL, without user or password.
pub fn redis_endpoint(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    if host.contains(':') && !host.ends_with(']') {
        host.to_owned()
    } else {
        format!("{host}:6379")
    }
}

/// Reads the limits' parameters.
pub fn read(get: &impl Fn(&'static str) -> Raw) -> Result<LimitConfig, ConfigError> {
    let rate_raw = get("ISSUE_RATE");
    let burst_raw = get("ISSUE_BURST");
    let client = match rate_raw.value.as_deref() {
        None if burst_raw.set => {
            return Err(burst_raw.error("ISSUE_BURST needs ISSUE_RATE (unset: no per-client limit)"));
        }
        None => None,
        Some(text) => {
            let (count, per) = rate(text).ok_or_else(|| rate_raw.error(RATE_SYNTAX))?;
            let burst = match burst_raw.set {
                false => count,
                true => burst_raw.integer(1, 1_000_000, "a whole number of tokens from 1 to 1000000")?,
            };
            Some(Rate { count, per, burst })
        }
    };
    let global_raw = get("ISSUE_RATE_GLOBAL");
    let global = match global_raw.value.as_deref() {
        None => None,
        Some(text) => {
            let (count, per) = rate(text).ok_or_else(|| global_raw.error(RATE_SYNTAX))?;
            Some(Rate {
                count,
                per,
                burst: count,
            })
        }
    };
    let proxies_raw = get("TRUSTED_PROXIES");
    let mut trusted_proxies = Vec::new();
    for part in proxies_raw.text().split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let net = part
            .parse::<IpNet>()
            .or_else(|_| part.parse::<std::net::IpAddr>().map(IpNet::from))
            .map_err(|_| {
                proxies_raw.error(&format!(
                    "{part:?} is not an address or CIDR; expected comma-separated CIDRs, e.g. 10.0.0.0/8, fd00::/8"
                ))
            })?;
        trusted_proxies.push(net.trunc());
    }
    let ipv6_prefix = get("CLIENT_IPV6_PREFIX").integer(32, 128, "a prefix length from 32 to 128")?;
    let store_raw = get("LIMIT_STORE");
    let store = match store_raw.text() {
        "memory" => LimitStore::Memory,
        url if (url.starts_with("redis://") || url.starts_with("rediss://")) && redis::Client::open(url).is_ok() => {
            LimitStore::Redis(url.to_owned())
        }
        // The value may be a URL with a password: never echo it.
        _ => {
            return Err(ConfigError {
                param: store_raw.name,
                value: None,
                expected: "expected memory, or a redis:// or rediss:// URL".into(),
            });
        }
    };
    let failure_raw = get("LIMIT_STORE_FAILURE");
    let on_failure = match failure_raw.text() {
        "allow" => OnFailure::Allow,
        "deny" => OnFailure::Deny,
        _ => return Err(failure_raw.error("expected allow or deny")),
    };
    Ok(LimitConfig {
        client,
        global,
        trusted_proxies,
        ipv6_prefix,
        store,
        on_failure,
    })
}

const RATE_SYNTAX: &str = "expected N/s, N/min or N/h with N a whole number from 1 to 1000000, e.g. 30/h";

/// `N/s`, `N/min` or `N/h`.
fn rate(text: &str) -> Option<(u64, Duration)> {
    let (n, unit) = text.split_once('/')?;
    let n: u64 = n.trim().parse().ok().filter(|n| (1..=1_000_000).contains(n))?;
    let per = match unit.trim() {
        "s" => Duration::from_secs(1),
        "min" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        _ => return None,
    };
    Some((n, per))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_redis_endpoints() {
        assert_eq!(rate("30/h"), Some((30, Duration::from_secs(3600))));
        assert_eq!(rate("5/s"), Some((5, Duration::from_secs(1))));
        assert_eq!(rate("100/min"), Some((100, Duration::from_secs(60))));
        for bad in ["0/s", "30", "30/d", "x/h", "-1/s", "1000001/s", "/h"] {
            assert_eq!(rate(bad), None, "{bad}");
        }
        assert_eq!(redis_endpoint("redis://:pw@cache:6380/2"), "cache:6380");
        assert_eq!(redis_endpoint("rediss://cache"), "cache:6379");
        assert_eq!(redis_endpoint("redis://127.0.0.1/0"), "127.0.0.1:6379");
    }
}
