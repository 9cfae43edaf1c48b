//! What every request handler shares: the configuration, the key ring, the minter, the
//! metrics, the waiting room's places, the limits and the proof-of-work gate. Built once from the configuration; the key ring
//! inside changes by snapshot swaps.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use poem::http::HeaderValue;
use time::OffsetDateTime;

use crate::config::limits::LimitStore;
use crate::config::{Config, Signing};
use crate::keyring::{KeyRing, RingWriter, Snapshot};
use crate::keys::{KeyError, SigningKey};
use crate::limits::Limiter;
use crate::metrics::Metrics;
use crate::pow::Gate;
use crate::redis_link::RedisLink;
use crate::token::Minter;

/// What every handler shares. Built once; the key ring inside changes by snapshot swaps.
pub struct AppState {
    pub config: Config,
    pub ring: Arc<KeyRing>,
    pub minter: Minter,
    /// Places for requests waiting on `ISSUE_DELAY`; `MAX_PENDING` of them.
    pub waiting_room: Places,
    /// `public, max-age=JWKS_MAX_AGE`, formatted once.
    pub jwks_cache_control: HeaderValue,
    pub metrics: Metrics,
    /// The issuing limits, when any is on.
    pub limiter: Option<Limiter>,
    /// The proof-of-work gate, with `POW=altcha`.
    pub gate: Option<Gate>,
}

impl AppState {
    /// Builds the state, and the writer of its key ring. Under HS* or with a static key the
    /// ring holds that key and is ready at once; otherwise it starts empty and the rotation
    /// task, owning the writer, fills it.
    pub fn new(config: Config) -> Result<(AppState, RingWriter), KeyError> {
        let now = OffsetDateTime::now_utc();
        let snapshot = match &config.signing {
            Signing::Hmac(secret) => {
                Snapshot::fixed(Arc::new(SigningKey::hmac(config.algorithm, secret.expose())?), now)
            }
            Signing::Static { key, .. } => Snapshot::fixed(key.clone(), now),
            Signing::Generated => Snapshot::empty(),
        };
        let (ring, writer) = KeyRing::new(snapshot);
        let metrics = Metrics::new(config.algorithm.name(), &crate::routes::paths::Route::LABELS);
        // One connection to Redis, shared by the limits and the replay store, if either uses it.
        let link = match &config.limits.store {
            LimitStore::Redis(url) if config.limits.any() || config.pow.is_some() => {
                Some(RedisLink::open(url).map_err(KeyError::new)?)
            }
            _ => None,
        };
        let limiter = Limiter::new(&config.limits, link.as_ref(), metrics.limits());
        let gate = config
            .pow
            .as_ref()
            .map(|pow| Gate::new(pow, link.clone(), config.limits.on_failure, metrics.pow()));
        let settings = &metrics.settings;
        settings.issue_delay.set(config.issue_delay.as_secs_f64());
        if config.rotates() {
            settings
                .key_rotation_interval
                .set(config.key_rotation_interval.as_secs_f64());
        }
        if config.store.location.is_shared() {
            settings
                .key_store_sync_interval
                .set(config.store.sync_interval.as_secs_f64());
        }
        let state = AppState {
            ring,
            minter: Minter::new(
                config.token_ttl.as_secs(),
                config.issuer.as_deref(),
                config.audience.as_deref(),
            ),
            waiting_room: Places::new(config.max_pending),
            jwks_cache_control: HeaderValue::try_from(format!("public, max-age={}", config.jwks_max_age.as_secs()))
                .expect("digits are a valid header value"),
            metrics,
            limiter,
            gate,
            config,
        };
        Ok((state, writer))
    }

    /// Requests waiting on `ISSUE_DELAY` now.
    pub fn waiting(&self) -> usize {
        self.waiting_room.taken()
    }

    /// `Retry-After` for a shed request: about one `ISSUE_DELAY`, at least a second.
    pub fn retry_after(&self) -> u64 {
        self.config.issue_delay.as_secs_f64().ceil().max(1.0) as u64
    }
}

/// The room's places: `MAX_PENDING` of them. A counter rather than a semaphore, since nobody
/// queues for a place — a request takes one at once or is shed.
#[derive(Debug)]
pub struct Places {
    max: usize,
    taken: AtomicUsize,
}

/// A taken place, given back when dropped.
#[derive(Debug)]
pub struct Place<'a>(&'a Places);

impl Places {
    pub fn new(max: usize) -> Places {
        Places {
            max,
            taken: AtomicUsize::new(0),
        }
    }

    pub fn try_take(&self) -> Option<Place<'_>> {
        self.taken
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.max).then_some(n + 1))
            .ok()
            .map(|_| Place(self))
    }

    /// Places taken now: requests waiting (or being answered).
    pub fn taken(&self) -> usize {
        self.taken.load(Ordering::Acquire)
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.0.taken.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::Places;

    #[test]
    fn places_are_bounded_and_given_back() {
        let places = Places::new(2);
        let a = places.try_take().expect("first place");
        let b = places.try_take().expect("second place");
        assert!(places.try_take().is_none(), "a third request must be shed");
        assert_eq!(places.taken(), 2);
        drop(a);
        let c = places.try_take().expect("a place given back is taken again");
        drop((b, c));
        assert_eq!(places.taken(), 0);
    }
}
