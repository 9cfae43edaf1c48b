//! `GET /anonymous/` (and `/anonymous`): the seed's endpoint. Answers a fresh token — plain
//! text by default, JSON on request — once the request has waited `ISSUE_DELAY` in the
//! waiting room at the edge (`super::waiting`).

use poem::Request;
use poem::http::header;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi, ResponseContent, Tags};
use time::OffsetDateTime;

use super::Served;
use super::challenge::PowProblem;
use super::edge_param::EdgeParam;
use super::problem::{self, Problem};
use super::response_header::Header;

#[derive(Tags)]
enum ApiTags {
    /// Anonymous access tokens
    Tokens,
}

/// The token as JSON (`Accept: application/json`).
#[derive(Debug, Object)]
pub struct TokenJson {
    /// The compact JWT.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds the token is valid for (`TOKEN_TTL`).
    pub expires_in: u64,
    /// When it expires, RFC 3339 in the configured `TIME_ZONE`.
    pub expires_at: String,
}

#[derive(ResponseContent)]
pub enum TokenBody {
    /// The compact JWT (the seed's answer).
    Text(PlainText<String>),
    /// The JWT with its lifetime.
    Json(Json<TokenJson>),
}

#[derive(ApiResponse)]
pub enum TokenResponse {
    /// A fresh token: header `{"alg","typ":"JWT"[,"kid"]}`, payload `{"token_type":"access",
    /// "exp","jti","user_id":-1[,"iss"][,"aud"]}`.
    #[oai(status = 200)]
    Ok(TokenBody, #[oai(header = "Cache-Control")] Header),
    /// `POW=altcha` and no valid proof of work: the `altcha` query parameter (or `Altcha`
    /// header) is missing, malformed, tampered with, expired, wrong, or already used; the
    /// problem's `type` says which and `challenge` where to get a fresh one. Answered at once,
    /// before a limit slot is spent and before `ISSUE_DELAY`.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<PowProblem>, #[oai(header = "Cache-Control")] Header),
    /// Over an issuing limit (`ISSUE_RATE` for this client, or `ISSUE_RATE_GLOBAL` for all
    /// clients): answered at once, before `ISSUE_DELAY`. `Retry-After` says when the next token
    /// comes; `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers,
    /// structured fields) name the policy, its quota and window, and what is left of it.
    /// Allowed answers carry `RateLimit` too, when a limit is on.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(
        Json<Problem>,
        #[oai(header = "Retry-After")] u64,
        #[oai(header = "RateLimit-Policy")] Header,
        #[oai(header = "RateLimit")] Header,
        #[oai(header = "Cache-Control")] Header,
    ),
    /// Too many requests are waiting on `ISSUE_DELAY` (`MAX_PENDING`), no signing key is
    /// active, or (with `LIMIT_STORE_FAILURE=deny`) the limits' Redis is out of reach; retry
    /// after `Retry-After` seconds.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(
        Json<Problem>,
        #[oai(header = "Retry-After")] u64,
        #[oai(header = "Cache-Control")] Header,
    ),
}

/// Every token is fresh: no cache may keep one.
const NO_STORE: Header = Header::from_static("no-store");

pub struct AnonymousApi(pub Served);

#[OpenApi(tag = "ApiTags::Tokens")]
impl AnonymousApi {
    /// Issue an anonymous access token
    ///
    /// Waits `ISSUE_DELAY` seconds, then answers a JWT that CusDeb's API accepts for an
    /// anonymous user (`user_id` -1). Plain text by default; send `Accept: application/json`
    /// for the token with its lifetime.
    ///
    /// With `POW=altcha`, send a solved challenge from `GET /anonymous/challenge` in the
    /// `altcha` query parameter or the `Altcha` header (the ALTCHA widget's payload).
    ///
    /// The seed's URL, `/anonymous/` (with the slash), is served identically; OpenAPI paths
    /// cannot end in a slash in poem-openapi, so the spec names it `/anonymous`.
    #[oai(path = "/anonymous", method = "get", operation_id = "issue_token")]
    async fn anonymous(
        &self,
        req: &Request,
        /// `POW=altcha`: the solved challenge, base64 (the ALTCHA widget's payload).
        #[oai(name = "altcha")]
        _altcha: EdgeParam<false>,
        /// `POW=altcha`: the same, as a header (the query parameter wins).
        #[oai(name = "Altcha")]
        _altcha_header: EdgeParam<true>,
    ) -> TokenResponse {
        // The payload was checked at the edge (`super::pow`); declared here for the spec.
        // The ISSUE_DELAY wait and MAX_PENDING shedding happened before routing (`waiting`).
        let state = self.0.state();
        let snapshot = state.ring.load();
        let now = OffsetDateTime::now_utc();
        // No key may sign past its retire time: without a successor, answer 503 (fail closed).
        let Some(key) = snapshot.signer(now) else {
            return unavailable(1, "no signing key is active; retry shortly");
        };
        let minted = match state.minter.mint(key, now) {
            Ok(minted) => minted,
            Err(_) => return unavailable(1, "signing failed; retry shortly"),
        };
        state.metrics.token_issued();
        let body = if wants_json(req) {
            let ttl = state.config.token_ttl.as_secs();
            let expires_at = OffsetDateTime::from_unix_timestamp(minted.exp).unwrap_or(now);
            TokenBody::Json(Json(TokenJson {
                access_token: minted.token,
                token_type: "Bearer".into(),
                expires_in: ttl,
                expires_at: state.config.time_zone.rfc3339(expires_at),
            }))
        } else {
            TokenBody::Text(PlainText(minted.token))
        };
        TokenResponse::Ok(body, NO_STORE)
    }
}

fn unavailable(retry_after: u64, detail: &str) -> TokenResponse {
    let problem::Unavailable { problem, retry_after } = problem::unavailable(retry_after, detail);
    TokenResponse::Unavailable(problem, retry_after, NO_STORE)
}

/// JSON when the client lists `application/json` (with q > 0) ahead of any `text/plain`.
fn wants_json(req: &Request) -> bool {
    let Some(accept) = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim();
        let refused = parts.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=")
                .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
        });
        if refused {
            continue;
        }
        if media.eq_ignore_ascii_case("application/json") {
            return true;
        }
        if media.eq_ignore_ascii_case("text/plain") {
            return false;
        }
    }
    false
}
