//! The HTTP surface: the OpenAPI-described operations, the spec and Swagger UI, and the one
//! middleware at the edge that logs each request, holds token requests in the waiting room,
//! applies CORS to `/anonymous/`, and turns router errors (404, 405) into problem details.

pub mod anonymous;
pub mod docs;
pub mod health;
pub mod problem;
pub mod response_header;
pub mod waiting;
pub mod wellknown;

use std::sync::Arc;
use std::time::Instant;

use poem::http::{HeaderValue, Method, StatusCode, Uri, header};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::OpenApiService;

use crate::config::CorsOrigins;
use crate::metrics::route_of;
use crate::startup::AppState;

pub type Apis = (anonymous::AnonymousApi, wellknown::WellKnownApi, health::HealthApi);

/// The OpenAPI service: operations plus the document describing them.
pub fn api_service(state: &Arc<AppState>) -> OpenApiService<Apis, ()> {
    let apis = (
        anonymous::AnonymousApi { state: state.clone() },
        wellknown::WellKnownApi { state: state.clone() },
        health::HealthApi { state: state.clone() },
    );
    OpenApiService::new(apis, "CusDeb Anonymous", env!("CARGO_PKG_VERSION"))
        .description(
            "Issues short-lived anonymous JWTs for CusDeb (`GET /anonymous/`) and publishes the \
             public keys that verify them (`/.well-known/jwks.json`).",
        )
        .license(poem_openapi::LicenseObject::new("Apache-2.0").identifier("Apache-2.0"))
}

/// The whole application endpoint.
pub fn app(state: Arc<AppState>) -> impl Endpoint<Output = Response> {
    let api = api_service(&state);
    let docs = Arc::new(docs::Docs::new(api.swagger_ui_html()));
    let route = Route::new()
        .at("/openapi.json", api.spec_endpoint())
        .at("/openapi.yaml", api.spec_endpoint_yaml())
        .at("/docs", docs.clone())
        .at("/docs/", docs)
        .nest_no_strip("/", api);
    // The operation's path, parsed once: the seed's `/anonymous/` is routed to it.
    let operation_uri = Uri::from_static("/anonymous");
    route.around(move |ep, req| edge(ep, req, state.clone(), operation_uri.clone()))
}

async fn edge<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    state: Arc<AppState>,
    operation_uri: Uri,
) -> poem::Result<Response> {
    let start = Instant::now();
    let method = req.method().clone();
    // Kept for the log line (a reference-counted clone); the route label is a closed set.
    let uri = req.uri().clone();
    let route = route_of(uri.path());
    let is_anonymous = route == "anonymous";
    if uri.path() == "/anonymous/" {
        // The seed's URL; poem-openapi registers the operation without the trailing slash.
        *req.uri_mut() = operation_uri;
    }
    let allowed_origin = if is_anonymous {
        allowed_origin(&state, req.headers().get(header::ORIGIN))
    } else {
        None
    };

    let resp = if method == Method::OPTIONS && is_anonymous && allowed_origin.is_some() {
        // CORS preflight for /anonymous/.
        let mut resp = StatusCode::NO_CONTENT.into_response();
        let headers = resp.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET"));
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("accept"));
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        resp
    } else {
        let place = if is_anonymous && waiting::waits(&method) {
            match waiting::wait(&state).await {
                Ok(place) => Some(place),
                Err(shed) => return Ok(finish(shed, &state, &method, &uri, route, start, allowed_origin)),
            }
        } else {
            None
        };
        // Boxed, so the future that waited above stays small (see `waiting`).
        let resp = match Box::pin(ep.call(req)).await {
            Ok(resp) => resp.into_response(),
            Err(err) => problem::from_error(&err),
        };
        drop(place);
        resp
    };
    Ok(finish(resp, &state, &method, &uri, route, start, allowed_origin))
}

/// Headers every response gets at the edge; then the request's metrics and log line.
fn finish(
    mut resp: Response,
    state: &AppState,
    method: &Method,
    uri: &Uri,
    route: &'static str,
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
    }
    let elapsed = start.elapsed();
    let status = resp.status().as_u16();
    state.metrics.request(route, status, elapsed.as_secs_f64());
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
