//! An accept loop that survives accept errors. poem retries a failed `accept()` at once, so
//! under EMFILE (no file descriptor left) it would spin a core; this wrapper logs the first
//! failure of a streak, counts every one, and backs off (10 ms doubling to 1 s) until
//! `accept()` succeeds again — the server keeps serving the connections it has.

use std::sync::Arc;
use std::time::Duration;

use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};

use crate::startup::AppState;

pub struct Resilient<A> {
    inner: A,
    state: Arc<AppState>,
}

impl<A> Resilient<A> {
    pub fn new(inner: A, state: Arc<AppState>) -> Resilient<A> {
        Resilient { inner, state }
    }
}

const BACKOFF_MIN: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

impl<A: Acceptor> Acceptor for Resilient<A> {
    type Io = A::Io;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> std::io::Result<(Self::Io, LocalAddr, RemoteAddr, poem::http::uri::Scheme)> {
        let mut backoff = BACKOFF_MIN;
        let mut failures = 0u64;
        loop {
            match self.inner.accept().await {
                Ok(conn) => {
                    if failures > 0 {
                        tracing::info!(failures, "accepting connections again");
                    }
                    return Ok(conn);
                }
                Err(e) => {
                    self.state.metrics.accept_failed();
                    if failures == 0 {
                        tracing::warn!(error = %e, "accept failed; backing off until it succeeds");
                    }
                    failures += 1;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }
}
