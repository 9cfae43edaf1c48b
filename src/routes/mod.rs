//! The HTTP surface: the OpenAPI-described operations, the spec and Swagger UI, and the
//! [`edge`] every request passes. Operations reach the shared state through poem's `Data`
//! (the edge puts it in each request), so the spec is built without any state.

pub mod anonymous;
pub mod docs;
mod edge;
pub mod health;
pub mod paths;
pub mod problem;
pub mod response_header;
pub mod waiting;
pub mod wellknown;

use std::sync::Arc;

use poem::http::Uri;
use poem::{Endpoint, EndpointExt, Response, Route};
use poem_openapi::OpenApiService;

use crate::state::AppState;

pub type Apis = (anonymous::AnonymousApi, wellknown::WellKnownApi, health::HealthApi);

/// The OpenAPI service: operations plus the document describing them. Needs no state.
pub fn api_service() -> OpenApiService<Apis, ()> {
    let apis = (anonymous::AnonymousApi, wellknown::WellKnownApi, health::HealthApi);
    OpenApiService::new(apis, "CusDeb Anonymous", env!("CARGO_PKG_VERSION"))
        .description(
            "Issues short-lived anonymous JWTs for CusDeb (`GET /anonymous/`) and publishes the \
             public keys that verify them (`/.well-known/jwks.json`).",
        )
        .license(poem_openapi::LicenseObject::new("Apache-2.0").identifier("Apache-2.0"))
}

/// The whole application endpoint.
pub fn app(state: Arc<AppState>) -> impl Endpoint<Output = Response> {
    let api = api_service();
    let docs = Arc::new(docs::Docs::new(api.swagger_ui_html()));
    let route = Route::new()
        .at("/openapi.json", api.spec_endpoint())
        .at("/openapi.yaml", api.spec_endpoint_yaml())
        .at("/docs", docs.clone())
        .at("/docs/", docs)
        .nest_no_strip("/", api);
    // The operation's path, parsed once: the seed's `/anonymous/` is routed to it.
    let operation_uri = Uri::from_static(paths::ANONYMOUS);
    route.around(move |ep, req| edge::edge(ep, req, state.clone(), operation_uri.clone()))
}
