//! RFC 9457 problem details: the one shape of every error this service answers, whether an
//! operation returns it or the router does (unknown path, wrong method).

use poem::http::{StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::Object;
use poem_openapi::payload::Json;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// An error, as `application/problem+json`.
#[derive(Debug, Clone, Object)]
pub struct Problem {
    /// A URI identifying the problem type; `about:blank` when the status says it all.
    #[oai(rename = "type")]
    pub kind: String,
    /// Short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What happened, for a person.
    pub detail: String,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: detail.into(),
        }
    }

    /// The problem as a plain poem response (for errors raised outside an operation).
    pub fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = serde_json::json!({
            "type": self.kind, "title": self.title, "status": self.status, "detail": self.detail,
        });
        let mut resp = body.to_string().with_status(status).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, header::HeaderValue::from_static(CONTENT_TYPE));
        resp
    }
}

/// A `503`: the problem and how many seconds to wait (`Retry-After`). Every 503 this service
/// answers is built here; each carries `Cache-Control: no-store` too.
pub struct Unavailable {
    pub problem: Json<Problem>,
    pub retry_after: u64,
}

pub fn unavailable(retry_after: u64, detail: &str) -> Unavailable {
    Unavailable {
        problem: Json(Problem::new(StatusCode::SERVICE_UNAVAILABLE, detail)),
        retry_after,
    }
}

impl Unavailable {
    /// As a plain poem response, for the edge (outside any operation).
    pub fn into_response(self) -> Response {
        let mut resp = self.problem.0.into_response();
        let headers = resp.headers_mut();
        headers.insert(header::RETRY_AFTER, self.retry_after.into());
        headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
        resp
    }
}

/// A `429` over an issuing limit, for the edge: the problem, `Retry-After`, the `RateLimit`
/// fields and `Cache-Control: no-store`.
pub fn too_many_requests(
    detail: &str,
    retry_after: u64,
    policy: &header::HeaderValue,
    rate_limit: header::HeaderValue,
) -> Response {
    let mut resp = Problem::new(StatusCode::TOO_MANY_REQUESTS, detail).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::RETRY_AFTER, retry_after.into());
    headers.insert(RATELIMIT_POLICY, policy.clone());
    headers.insert(RATELIMIT, rate_limit);
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    resp
}

/// The IETF rate-limit fields (draft-ietf-httpapi-ratelimit-headers).
pub const RATELIMIT: header::HeaderName = header::HeaderName::from_static("ratelimit");
pub const RATELIMIT_POLICY: header::HeaderName = header::HeaderName::from_static("ratelimit-policy");

/// Converts any error the router or a payload extractor raises into a problem response.
pub fn from_error(err: &poem::Error) -> Response {
    let status = err.status();
    let detail = match status {
        StatusCode::NOT_FOUND => "no such resource; see /openapi.json for the API".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed on this resource".to_owned(),
        s if s.is_server_error() => "the server could not complete the request".to_owned(),
        _ => err.to_string(),
    };
    Problem::new(status, detail).into_response()
}
