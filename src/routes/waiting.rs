//! The waiting room: a request for a token waits `ISSUE_DELAY` here, at the edge, before it is
//! routed. A held request then costs a `MAX_PENDING` permit, a timer and its parsed head — not
//! the router's and the operation's futures, which are only built once the wait is over.
//! (With 10,000 requests held that is the difference between ~18 KB and ~1 KB each.)

use poem::Response;
use poem::http::{Method, StatusCode, header};
use tokio::sync::SemaphorePermit;

use super::problem::Problem;
use crate::startup::AppState;

/// Whether `method` on the token path waits: GET and HEAD do; anything else goes straight to
/// the router (which answers 405).
pub fn waits(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// Takes a permit and waits `ISSUE_DELAY`; the permit is held until the response is built.
/// With every permit taken, answers 503 with `Retry-After` at once.
pub async fn wait(state: &AppState) -> Result<SemaphorePermit<'_>, Response> {
    let Ok(permit) = state.pending.try_acquire() else {
        state.metrics.request_shed();
        return Err(shed(state.retry_after()));
    };
    if !state.config.issue_delay.is_zero() {
        tokio::time::sleep(state.config.issue_delay).await;
    }
    Ok(permit)
}

fn shed(retry_after: u64) -> Response {
    let mut resp = Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "too many requests are waiting for a token; retry later",
    )
    .into_response();
    let headers = resp.headers_mut();
    headers.insert(header::RETRY_AFTER, retry_after.into());
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    resp
}
