//! `/.well-known/jwks.json` and `/.well-known/openid-configuration`: what verifiers fetch.
//! The JWKS body and its ETag come pre-built from the key-ring snapshot.

use poem::Request;
use poem::http::header;
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use super::Served;
use super::problem::{self, Problem};
use super::response_header::Header;

#[derive(Tags)]
enum ApiTags {
    /// Public keys and discovery, for verifiers
    Keys,
}

/// A public JSON Web Key (RFC 7517); never carries private members.
#[derive(Debug, Object)]
#[oai(rename = "Jwk")]
pub struct JwkDoc {
    /// Key type: `RSA`, `EC` or `OKP`.
    pub kty: String,
    /// RFC 7638 SHA-256 thumbprint of the key, base64url; tokens name it in their header.
    pub kid: String,
    /// Always `sig`.
    #[oai(rename = "use")]
    pub key_use: String,
    /// The JWS algorithm the key signs with.
    pub alg: String,
    /// RSA modulus (base64url).
    pub n: Option<String>,
    /// RSA public exponent (base64url).
    pub e: Option<String>,
    /// Curve: `P-256`, `P-384` or `Ed25519`.
    pub crv: Option<String>,
    /// EC x coordinate or Ed25519 public key (base64url).
    pub x: Option<String>,
    /// EC y coordinate (base64url).
    pub y: Option<String>,
}

/// A JWK Set (RFC 7517 §5).
#[derive(Debug, Object)]
#[oai(rename = "JwkSet")]
pub struct JwkSetDoc {
    /// Pending, active and retired public keys; empty under HS* algorithms.
    pub keys: Vec<JwkDoc>,
}

#[derive(ApiResponse)]
pub enum JwksResponse {
    /// The public keys. Cache it for `max-age`; revalidate with `If-None-Match`.
    #[oai(status = 200, actual_type = "Json<JwkSetDoc>")]
    Ok(
        Binary<bytes::Bytes>,
        #[oai(header = "ETag")] Header,
        #[oai(header = "Cache-Control")] Header,
        #[oai(header = "Access-Control-Allow-Origin")] Header,
    ),
    /// Unchanged since the ETag given in `If-None-Match`.
    #[oai(status = 304)]
    NotModified(
        #[oai(header = "ETag")] Header,
        #[oai(header = "Cache-Control")] Header,
        #[oai(header = "Access-Control-Allow-Origin")] Header,
    ),
    /// No key is known yet (the first is being generated, or the key store has not answered
    /// since start): no key set is served that a client could cache without the key about to
    /// sign. Retry after `Retry-After` seconds. While keys are known but none may sign (fail
    /// closed), they are served `200` with `Cache-Control: no-store`.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(
        Json<Problem>,
        #[oai(header = "Retry-After")] u64,
        #[oai(header = "Cache-Control")] Header,
        #[oai(header = "Access-Control-Allow-Origin")] Header,
    ),
}

/// Nothing may keep an answer that is about to change.
const NO_STORE: Header = Header::from_static("no-store");

/// OpenID Provider metadata, the minimal set Kubernetes serves for its service-account issuer.
#[derive(Debug, Object)]
pub struct Discovery {
    /// `ISSUER`; equal to the `iss` claim of every token.
    pub issuer: String,
    /// Where the JWKS is: `ISSUER` + `/.well-known/jwks.json`.
    pub jwks_uri: String,
    pub response_types_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
}

#[derive(ApiResponse)]
pub enum DiscoveryResponse {
    /// The discovery document (only when `ISSUER` is configured).
    #[oai(status = 200)]
    Ok(
        Json<Discovery>,
        #[oai(header = "Cache-Control")] Header,
        #[oai(header = "Access-Control-Allow-Origin")] Header,
    ),
    /// `ISSUER` is not configured, so there is no discovery document.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
}

/// Anyone may fetch the keys and the discovery document from a browser.
const ANY_ORIGIN: Header = Header::from_static("*");

pub struct WellKnownApi(pub Served);

#[OpenApi(tag = "ApiTags::Keys")]
impl WellKnownApi {
    /// The JSON Web Key Set that verifies the tokens
    ///
    /// Every key a token may name in its `kid` is here from at least `JWKS_MAX_AGE` before
    /// it signs until `CLOCK_LEEWAY` after the last token it signed expires. Before the
    /// first key is known the answer is `503`, never a cacheable empty set; while keys are
    /// known but this process cannot sign, they are served `no-store`.
    #[oai(path = "/.well-known/jwks.json", method = "get", operation_id = "jwks")]
    async fn jwks(&self, req: &Request) -> JwksResponse {
        let state = self.0.state();
        let snapshot = state.ring.load();
        if snapshot.keys().is_empty() {
            let u = problem::unavailable(1, "the first signing key is being generated; retry shortly");
            return JwksResponse::Unavailable(u.problem, u.retry_after, NO_STORE, ANY_ORIGIN);
        }
        let etag = Header(snapshot.etag().clone());
        // Known keys are always served (tokens they signed are still valid); while this
        // process cannot sign, nobody may keep the answer.
        let cache = match snapshot.signer(time::OffsetDateTime::now_utc()) {
            Some(_) => Header(state.jwks_cache_control.clone()),
            None => NO_STORE,
        };
        if if_none_match(req, etag.0.as_bytes()) {
            return JwksResponse::NotModified(etag, cache, ANY_ORIGIN);
        }
        JwksResponse::Ok(Binary(snapshot.jwks().clone()), etag, cache, ANY_ORIGIN)
    }

    /// OpenID Connect discovery document
    #[oai(
        path = "/.well-known/openid-configuration",
        method = "get",
        operation_id = "openid_configuration"
    )]
    async fn openid_configuration(&self) -> DiscoveryResponse {
        let state = self.0.state();
        let config = &state.config;
        let Some(issuer) = &config.issuer else {
            return DiscoveryResponse::NotFound(Json(Problem::new(
                poem::http::StatusCode::NOT_FOUND,
                "discovery is served only when ISSUER is configured",
            )));
        };
        let doc = Discovery {
            issuer: issuer.clone(),
            jwks_uri: format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')),
            response_types_supported: vec!["id_token".into()],
            subject_types_supported: vec!["public".into()],
            id_token_signing_alg_values_supported: vec![config.algorithm.name().into()],
        };
        DiscoveryResponse::Ok(Json(doc), Header(state.jwks_cache_control.clone()), ANY_ORIGIN)
    }
}

/// RFC 9110 §13.1.2: weak comparison, `*` matches any.
fn if_none_match(req: &Request, etag: &[u8]) -> bool {
    let Some(value) = req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/").as_bytes() == etag)
}
