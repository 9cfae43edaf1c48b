//! The route table: every path this service answers, as the edge sees it. The edge decides
//! from it which requests wait `ISSUE_DELAY` and get CORS, and labels metrics with it, so the
//! token path, its label and its literal are defined here once.

/// What a request path is. (Declared in the order of [`Route::ALL`].)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `/anonymous/` (the seed's URL) or `/anonymous` (the operation's path in the spec).
    Anonymous,
    /// `/anonymous/challenge`: a proof-of-work challenge (`POW=altcha`).
    Challenge,
    Jwks,
    Discovery,
    Healthz,
    Readyz,
    Metrics,
    Openapi,
    Docs,
    /// `/demo`: the page that gets a token as a web app would (and its assets).
    Demo,
    /// Anything else (answered 404): one label, so metrics stay bounded.
    Other,
}

/// The token operation's path in the spec. poem-openapi cannot declare a trailing slash, so
/// the seed's `/anonymous/` is routed here by the edge. (`#[oai(path)]` needs a literal: a test
/// checks that the spec agrees.)
pub const ANONYMOUS: &str = "/anonymous";

/// The proof-of-work challenge (`POW=altcha`).
pub const CHALLENGE: &str = "/anonymous/challenge";

/// The seed's URL for the token operation.
pub const ANONYMOUS_SEED: &str = "/anonymous/";

impl Route {
    /// Every route, for metrics that list them.
    pub const ALL: [Route; 11] = [
        Route::Anonymous,
        Route::Challenge,
        Route::Jwks,
        Route::Discovery,
        Route::Healthz,
        Route::Readyz,
        Route::Metrics,
        Route::Openapi,
        Route::Docs,
        Route::Demo,
        Route::Other,
    ];

    /// The route of `path`.
    pub fn of(path: &str) -> Route {
        match path {
            ANONYMOUS_SEED | ANONYMOUS => Route::Anonymous,
            CHALLENGE => Route::Challenge,
            "/.well-known/jwks.json" => Route::Jwks,
            "/.well-known/openid-configuration" => Route::Discovery,
            "/healthz" => Route::Healthz,
            "/readyz" => Route::Readyz,
            "/metrics" => Route::Metrics,
            "/openapi.json" | "/openapi.yaml" => Route::Openapi,
            "/docs" | "/docs/" => Route::Docs,
            p if p == "/demo" || p.starts_with("/demo/") => Route::Demo,
            _ => Route::Other,
        }
    }

    /// Every route's label, in the order of [`Route::ALL`].
    pub const LABELS: [&'static str; 11] = [
        "anonymous",
        "challenge",
        "jwks",
        "discovery",
        "healthz",
        "readyz",
        "metrics",
        "openapi",
        "docs",
        "demo",
        "other",
    ];

    /// The route's position in [`Route::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The `route` label of the request metrics.
    pub fn label(self) -> &'static str {
        Route::LABELS[self.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_routes_and_the_spec_agrees() {
        assert_eq!(Route::of(ANONYMOUS_SEED), Route::Anonymous);
        assert_eq!(Route::of(ANONYMOUS), Route::Anonymous);
        assert_eq!(Route::of("/anonymous//"), Route::Other);
        assert_eq!(Route::of("/docs/"), Route::Docs);
        assert_eq!(Route::of("/nope"), Route::Other);
        let labels: std::collections::HashSet<_> = Route::ALL.iter().map(|r| r.label()).collect();
        assert_eq!(labels.len(), Route::ALL.len());
        assert!(Route::ALL.iter().enumerate().all(|(i, r)| r.index() == i));
        assert_eq!(Route::Healthz.label(), "healthz");
        let spec: serde_json::Value = serde_json::from_str(&crate::openapi_json()).unwrap();
        assert!(
            spec["paths"][ANONYMOUS]["get"].is_object(),
            "the spec's token path is {ANONYMOUS}"
        );
    }
}
