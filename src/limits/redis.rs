//! `LIMIT_STORE=redis://…`: the limits' counts shared by replicas in Redis (or Valkey). One Lua
//! script per request decides both policies atomically on Redis's own clock (no
//! read-modify-write race, no skew between replicas); keys expire once the burst is whole
//! again, so idle clients cost nothing. Each call has a short timeout; without an answer
//! callers fall back ([`super::Limiter`]). The connection is [`crate::redis_link`]'s.

use std::sync::Arc;
use std::time::Duration;

use super::client::ClientKey;
use super::gcra::Gcra;
use crate::redis_link::{CALL_TIMEOUT, RedisLink};

/// Both policies at once: KEYS = client, global; ARGV = their interval and tolerance in
/// microseconds (0: the policy is off). Returns {0, client ahead, global ahead} when allowed,
/// {1, retry after} over the client limit, {2, retry after} over the global one.
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function check(key, interval, tolerance)
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local nxt = tat + interval
  return nxt, nxt - now
end
local ci, ct, gi, gt = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local gnext, gahead, cnext, cahead = 0, 0, 0, 0
if gi > 0 then
  gnext, gahead = check(KEYS[2], gi, gt)
  if gahead > gt then return {2, gahead - gt} end
end
if ci > 0 then
  cnext, cahead = check(KEYS[1], ci, ct)
  if cahead > ct then return {1, cahead - ct} end
  redis.call('SET', KEYS[1], string.format('%.0f', cnext), 'PX', math.floor(cahead / 1000) + 1000)
end
if gi > 0 then
  redis.call('SET', KEYS[2], string.format('%.0f', gnext), 'PX', math.floor(gahead / 1000) + 1000)
end
return {0, cahead, gahead}
";

const PREFIX: &str = "cusdeb-anonymous:limit:";

/// What Redis decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Allowed; how far ahead each policy's TAT now runs (microseconds).
    Allowed {
        client_ahead: u64,
        global_ahead: u64,
    },
    ClientLimited {
        retry_after: Duration,
    },
    GlobalLimited {
        retry_after: Duration,
    },
}

/// The shared store.
#[derive(Debug)]
pub struct Redis {
    link: RedisLink,
    script: redis::Script,
    /// `host:port`, for people.
    pub endpoint: Arc<str>,
}

impl Redis {
    /// The limits' script over the shared `link`.
    pub fn new(link: RedisLink) -> Redis {
        Redis {
            endpoint: link.endpoint.clone(),
            link,
            script: redis::Script::new(SCRIPT),
        }
    }

    /// Decides in Redis; `Err` when Redis is out of reach or too slow.
    pub async fn decide(&self, key: ClientKey, client: Option<&Gcra>, global: Option<&Gcra>) -> Result<Answer, String> {
        let mut manager = self.link.connection()?;
        let micros = |g: Option<&Gcra>| g.map_or((0, 0), |g| (g.interval.div_ceil(1000), g.tolerance / 1000));
        let ((ci, ct), (gi, gt)) = (micros(client), micros(global));
        let mut call = self.script.prepare_invoke();
        call.key(format!("{PREFIX}c:{:032x}", key.0))
            .key(format!("{PREFIX}global"))
            .arg(ci)
            .arg(ct)
            .arg(gi)
            .arg(gt);
        let answer: Vec<u64> = tokio::time::timeout(CALL_TIMEOUT, call.invoke_async(&mut manager))
            .await
            .map_err(|_| format!("no answer within {CALL_TIMEOUT:?}"))?
            .map_err(|e| e.to_string())?;
        match answer.as_slice() {
            [0, client_ahead, global_ahead] => Ok(Answer::Allowed {
                client_ahead: *client_ahead,
                global_ahead: *global_ahead,
            }),
            [1, retry] => Ok(Answer::ClientLimited {
                retry_after: Duration::from_micros(*retry),
            }),
            [2, retry] => Ok(Answer::GlobalLimited {
                retry_after: Duration::from_micros(*retry),
            }),
            other => Err(format!("unexpected answer from the script: {other:?}")),
        }
    }
}
