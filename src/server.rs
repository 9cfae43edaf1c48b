//! The connection loop. Accepts TCP connections — backing off while `accept()` fails (EMFILE:
//! no descriptor left) instead of spinning a core — serves each with hyper's HTTP/1.1, hands
//! every request to the poem endpoint, and on shutdown stops accepting and drains the requests
//! in flight (those waiting on `ISSUE_DELAY` included).
//!
//! Why not `poem::Server`: there a connection also carries HTTP/2 detection, an inactivity
//! watchdog woken on every read, and a read buffer that grows while a request waits, and
//! nothing bounds how long a client may take to send its request head. Here a connection is
//! hyper's HTTP/1 state machine with a header-read timeout, and the request it is serving
//! (what that saves per held request: README, Performance).

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use poem::endpoint::BoxEndpoint;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint, Request};
use tokio::net::TcpListener;

use crate::metrics::Metrics;

/// How long a client may take to send a request's head, and how long a keep-alive connection
/// may sit idle between requests. (A request waiting on `ISSUE_DELAY` has sent its head.)
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The time limits of a connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// To send a request head; also the keep-alive idle limit. Past it the connection closes.
    pub header_read_timeout: Duration,
    /// After shutdown, how long requests in flight get to finish.
    pub drain: Duration,
}

const BACKOFF_MIN: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Serves `endpoint` on `listener` until `shutdown` resolves, then drains for at most
/// `limits.drain`.
pub async fn serve(
    listener: TcpListener,
    endpoint: BoxEndpoint<'static>,
    metrics: &Metrics,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let endpoint = Arc::new(endpoint);
    let local = LocalAddr(Addr::SocketAddr(listener.local_addr()?));
    let mut http = http1::Builder::new();
    // half_close: while a request is in flight hyper does not read ahead to detect a client
    // that went away, so the read buffer stays at one head's size for the whole wait. (The
    // cost: a client that hangs up while waiting keeps its MAX_PENDING place until the end.)
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .half_close(true);
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    let mut failures = 0u64;
    let mut backoff = BACKOFF_MIN;
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                if failures > 0 {
                    tracing::info!(failures, "accepting connections again");
                    (failures, backoff) = (0, BACKOFF_MIN);
                }
                let _ = stream.set_nodelay(true);
                // Each request of the connection becomes a poem request for `endpoint`.
                let (endpoint, local, remote) = (endpoint.clone(), local.clone(), RemoteAddr(Addr::SocketAddr(peer)));
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let req = Request::from((req, local.clone(), remote.clone(), Scheme::HTTP));
                    let endpoint = endpoint.clone();
                    async move {
                        let resp = endpoint.call(req).await.unwrap_or_else(|e| e.into_response());
                        Ok::<_, Infallible>(hyper::Response::from(resp))
                    }
                });
                let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            Err(e) => {
                metrics.accept_failed();
                if failures == 0 {
                    tracing::warn!(error = %e, "accept failed; backing off until it succeeds");
                }
                failures += 1;
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown()).await.is_err() {
        let drain_secs = limits.drain.as_secs_f64();
        tracing::warn!(drain_secs, "drain timed out; abandoning the connections still open");
    }
    Ok(())
}
