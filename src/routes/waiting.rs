//! The waiting room: a request for a token waits `ISSUE_DELAY` here, at the edge, before it is
//! routed. A held request then costs one of `MAX_PENDING` places, a timer and its parsed head — not
//! the router's and the operation's futures, which are only built once the wait is over.

use poem::Response;
use poem::http::Method;

use super::problem;
use crate::state::{AppState, Place};

/// Whether `method` on the token path waits: GET and HEAD do; anything else goes straight to
/// the router (which answers 405).
pub fn waits(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// Takes a place and waits `ISSUE_DELAY`; the place is held until the response is built.
/// With every place taken, answers 503 with `Retry-After` at once.
pub async fn wait(state: &AppState) -> Result<Place<'_>, Response> {
    let Some(place) = state.waiting_room.try_take() else {
        state.metrics.request_shed();
        let detail = "too many requests are waiting for a token; retry later";
        return Err(problem::unavailable(state.retry_after(), detail).into_response());
    };
    if !state.config.issue_delay.is_zero() {
        tokio::time::sleep(state.config.issue_delay).await;
    }
    Ok(place)
}
