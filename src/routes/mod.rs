//! The HTTP surface: the OpenAPI-described operations, the spec and Swagger UI, and the
//! [`edge`] every request passes. The operations hold the shared state ([`Served`]); the spec
//! alone is built without any.

pub mod anonymous;
pub mod challenge;
pub mod demo;
pub mod docs;
mod edge;
mod edge_param;
pub mod health;
mod limits;
pub mod paths;
mod pow;
pub mod problem;
pub mod response_header;
pub mod waiting;
pub mod wellknown;

use std::sync::Arc;

use std::collections::HashMap;

use poem::endpoint::BoxEndpoint;
use poem::http::{Method, Uri};
use poem::{Endpoint, EndpointExt, Response, Route};
use poem_openapi::{OpenApi, OpenApiService};

use crate::state::AppState;

pub type Apis = (
    anonymous::AnonymousApi,
    challenge::ChallengeApi,
    wellknown::WellKnownApi,
    health::HealthApi,
);

/// The state the operations serve with. Only the service that prints the spec is built
/// without it ([`Served::spec_only`]); that one never serves a request.
#[derive(Clone)]
pub struct Served(Option<Arc<AppState>>);

impl Served {
    pub fn new(state: Arc<AppState>) -> Served {
        Served(Some(state))
    }

    /// For the spec: operations described, never called.
    pub fn spec_only() -> Served {
        Served(None)
    }

    pub fn state(&self) -> &AppState {
        self.0
            .as_deref()
            .expect("only the spec-only service lacks the state, and it serves no request")
    }
}

fn apis(served: &Served) -> Apis {
    (
        anonymous::AnonymousApi(served.clone()),
        challenge::ChallengeApi(served.clone()),
        wellknown::WellKnownApi(served.clone()),
        health::HealthApi(served.clone()),
    )
}

/// The OpenAPI service: operations plus the document describing them.
pub fn api_service(served: &Served) -> OpenApiService<Apis, ()> {
    OpenApiService::new(apis(served), "CusDeb Anonymous", env!("CARGO_PKG_VERSION"))
        .description(
            "Issues short-lived anonymous JWTs for CusDeb (`GET /anonymous/`) and publishes the \
             public keys that verify them (`/.well-known/jwks.json`).",
        )
        .license(poem_openapi::LicenseObject::new("Apache-2.0").identifier("Apache-2.0"))
}

/// The whole application endpoint.
pub fn app(state: Arc<AppState>) -> impl Endpoint<Output = Response> {
    let served = Served::new(state.clone());
    let api = api_service(&served);
    let docs = Arc::new(docs::Docs::new(api.swagger_ui_html()));
    let route = Route::new()
        .at("/openapi.json", api.spec_endpoint())
        .at("/openapi.yaml", api.spec_endpoint_yaml())
        .at("/docs", docs.clone())
        .at("/docs/", docs)
        .at("/demo", demo::page(&state))
        .at("/demo/:asset", demo::assets())
        .nest_no_strip("/", api);
    let challenge_url = match &state.config.issuer {
        Some(issuer) => format!("{}{}", issuer.trim_end_matches('/'), paths::CHALLENGE),
        None => paths::CHALLENGE.to_owned(),
    };
    let edge = Arc::new(edge::Edge {
        challenge_url,
        state,
        operations: Operations::new(&served),
        // The operation's path, parsed once: the seed's `/anonymous/` is routed to it.
        operation_uri: Uri::from_static(paths::ANONYMOUS),
    });
    route.around(move |ep, req| edge::edge(ep, req, edge.clone()))
}

/// The operations' own endpoints (as poem-openapi builds them) by route, for the edge's fast
/// path: a GET on an operation's path goes straight to its endpoint, past poem's two route
/// tables. Everything else (HEAD, wrong methods, the spec, `/docs`, unknown paths) goes
/// through the router.
pub struct Operations(Vec<Option<BoxEndpoint<'static>>>);

impl Operations {
    fn new(served: &Served) -> Operations {
        let mut table = HashMap::new();
        apis(served).add_routes(&mut table);
        let mut by_route: Vec<Option<BoxEndpoint<'static>>> = paths::Route::ALL.iter().map(|_| None).collect();
        for (path, mut methods) in table {
            let route = paths::Route::of(&path);
            if route != paths::Route::Other {
                by_route[route.index()] = methods.remove(&Method::GET);
            }
        }
        Operations(by_route)
    }

    /// The endpoint of `GET` on `route`, if an operation serves it.
    pub fn get(&self, route: paths::Route) -> Option<&BoxEndpoint<'static>> {
        self.0[route.index()].as_ref()
    }
}
