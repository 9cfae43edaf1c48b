//! The one middleware every request passes: it labels the request by its route, answers token
//! requests without a valid proof of work (`403`, `POW=altcha`) or over an issuing limit
//! (`429`) at once, holds the others in the waiting room
//! (`ISSUE_DELAY`, `MAX_PENDING`), answers CORS for
//! `/anonymous/` and its challenge, hands the shared state to the operations, turns router errors (404, 405)
//! into problem details, and counts and logs the answer.

use std::sync::Arc;
use std::time::Instant;

use poem::http::{HeaderValue, Method, StatusCode, Uri, header};
use poem::{Endpoint, IntoResponse, Request, Response};

use super::paths::{ANONYMOUS_SEED, Route};
use super::{Operations, limits, pow, problem, waiting};
use crate::config::CorsOrigins;
use crate::state::AppState;

/// What the edge holds for every request.
pub struct Edge {
    pub state: Arc<AppState>,
    pub operations: Operations,
    /// `/anonymous`, parsed once.
    pub operation_uri: Uri,
    /// Where a client gets a challenge (the `403` names it): under `ISSUER` when set.
    pub challenge_url: String,
}

pub async fn edge<E: Endpoint>(ep: Arc<E>, mut req: Request, edge: Arc<Edge>) -> poem::Result<Response> {
    let state = &edge.state;
    let start = Instant::now();
    let method = req.method().clone();
    // Kept for the log line (a reference-counted clone); the route label is a closed set.
    let uri = req.uri().clone();
    let route = Route::of(uri.path());
    let is_anonymous = route == Route::Anonymous;
    let allowed_origin = if is_anonymous || route == Route::Challenge {
        allowed_origin(state, req.headers().get(header::ORIGIN))
    } else {
        None
    };

    let resp = if method == Method::OPTIONS && allowed_origin.is_some() {
        // CORS preflight for /anonymous/ (and its challenge): the payload may come in a header.
        let mut resp = StatusCode::NO_CONTENT.into_response();
        let headers = resp.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET"));
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("accept, altcha"),
        );
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        resp
    } else {
        let mut rate_limit = None;
        let place = if is_anonymous && waiting::waits(&method) {
            // No proof of work: answered now, before a limit slot is spent and before the wait.
            if let Some(gate) = &state.gate
                && let Err(refused) = pow::check(gate, &req, &edge.challenge_url).await
            {
                return Ok(finish(refused, state, &method, &uri, route, start, allowed_origin));
            }
            // Over a limit: answered now, before the wait; nothing is held.
            if let Some(limiter) = &state.limiter {
                match limits::check(limiter, &req).await {
                    Ok(value) => rate_limit = Some(value),
                    Err(refused) => {
                        return Ok(finish(refused, state, &method, &uri, route, start, allowed_origin));
                    }
                }
            }
            match waiting::wait(state).await {
                Ok(place) => Some(place),
                Err(shed) => return Ok(finish(shed, state, &method, &uri, route, start, allowed_origin)),
            }
        } else {
            None
        };
        // Boxed, so the future that waited above stays small (see `waiting`). A GET on an
        // operation goes straight to it; the rest through the router.
        let called = match (method == Method::GET).then(|| edge.operations.get(route)).flatten() {
            Some(operation) => Box::pin(operation.call(req)).await,
            None => {
                if uri.path() == ANONYMOUS_SEED {
                    // The seed's URL; the router knows the operation without the trailing slash.
                    *req.uri_mut() = edge.operation_uri.clone();
                }
                Box::pin(ep.call(req)).await.map(IntoResponse::into_response)
            }
        };
        let mut resp = match called {
            Ok(resp) => resp.into_response(),
            Err(err) => problem::from_error(&err),
        };
        drop(place);
        // What is left of the limit; the policy itself comes with a 429 (and in the spec).
        if let Some(value) = rate_limit {
            resp.headers_mut().insert(problem::RATELIMIT, value);
        }
        resp
    };
    Ok(finish(resp, state, &method, &uri, route, start, allowed_origin))
}

/// Headers every response gets at the edge; then the request's metrics and log line.
fn finish(
    mut resp: Response,
    state: &AppState,
    method: &Method,
    uri: &Uri,
    route: Route,
    start: Instant,
    allowed_origin: Option<HeaderValue>,
) -> Response {
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        // Every resource here is read-only (RFC 9110 §15.5.6 wants the list).
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    if let Some(value) = allowed_origin {
        resp.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        resp.headers_mut()
            .append(header::VARY, HeaderValue::from_static("Origin"));
        // A browser app may read how long to wait and what is left of its limit.
        resp.headers_mut().insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Retry-After, RateLimit, RateLimit-Policy"),
        );
    }
    let elapsed = start.elapsed();
    let status = resp.status().as_u16();
    state.metrics.request(route.index(), status, elapsed.as_secs_f64());
    let path = uri.path();
    tracing::info!(method = %method, path = %path, status, latency_us = elapsed.as_micros() as u64, "request");
    resp
}

/// The `Access-Control-Allow-Origin` value for a request from `origin`, if CORS allows it.
fn allowed_origin(state: &AppState, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
    match state.config.cors_allowed_origins.as_ref()? {
        CorsOrigins::Any => Some(HeaderValue::from_static("*")),
        CorsOrigins::List(list) => {
            let origin = origin?;
            let text = origin.to_str().ok()?;
            list.iter().any(|o| o == text).then(|| origin.clone())
        }
    }
}
