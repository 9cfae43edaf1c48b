//! `LIMIT_STORE=redis://…`: the one connection to Redis (or Valkey) that the issuing limits and
//! the proof-of-work replay store share. It is made in the background, with backoff, until
//! Redis answers; afterwards the connection manager reconnects by itself. Until then callers
//! get no connection and decide as `LIMIT_STORE_FAILURE` says.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::backoff::Backoff;
use crate::config::limits::redis_endpoint;

/// How long one call may take in Redis before this replica decides without it.
pub const CALL_TIMEOUT: Duration = Duration::from_millis(100);

/// The shared connection (cheap to clone).
#[derive(Clone)]
pub struct RedisLink {
    connection: Arc<ArcSwapOption<ConnectionManager>>,
    /// `host:port`, for people (never the password).
    pub endpoint: Arc<str>,
}

impl std::fmt::Debug for RedisLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisLink({})", self.endpoint)
    }
}

impl RedisLink {
    /// The link to `url`; connects in the background until Redis answers. Only a URL that
    /// cannot be parsed fails here. Must run inside the runtime.
    pub fn open(url: &str) -> Result<RedisLink, String> {
        let client = redis::Client::open(url).map_err(|e| format!("the Redis URL cannot be used ({:?})", e.kind()))?;
        let endpoint: Arc<str> = redis_endpoint(url).into();
        let connection: Arc<ArcSwapOption<ConnectionManager>> = Arc::default();
        let slot = connection.clone();
        let shown = endpoint.clone();
        tokio::spawn(async move {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(2)))
                .set_response_timeout(Some(Duration::from_secs(1)))
                .set_number_of_retries(1)
                .set_min_delay(Duration::from_millis(100))
                .set_max_delay(Duration::from_secs(5));
            let mut backoff = Backoff::default();
            loop {
                match ConnectionManager::new_with_config(client.clone(), config.clone()).await {
                    Ok(manager) => {
                        tracing::info!(redis = %shown, "connected to Redis: what the replicas count is shared");
                        slot.store(Some(Arc::new(manager)));
                        return;
                    }
                    Err(e) => {
                        let retry_in = backoff.failed();
                        tracing::warn!(redis = %shown, error = %e, ?retry_in, "Redis does not answer; deciding without it meanwhile");
                        tokio::time::sleep(retry_in).await;
                    }
                }
            }
        });
        Ok(RedisLink { connection, endpoint })
    }

    /// A handle on the connection, once it is made.
    pub fn connection(&self) -> Result<ConnectionManager, String> {
        match self.connection.load_full() {
            Some(manager) => Ok((*manager).clone()),
            None => Err("not connected yet".into()),
        }
    }
}
