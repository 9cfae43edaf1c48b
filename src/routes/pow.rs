//! The proof-of-work gate at the edge: a token request without a valid solved challenge
//! (`altcha` query parameter or `Altcha` header) gets its `403` here, before a limit slot is
//! spent and before `ISSUE_DELAY`.

use std::borrow::Cow;

use poem::http::{HeaderValue, StatusCode, header};
use poem::{IntoResponse, Request, Response};
use poem_openapi::types::ToJSON;

use super::challenge::PowProblem;
use super::problem;
use crate::pow::{Gate, Refusal};

/// Where problem types live: RFC 9457 recommends tag URIs for types that are not pages.
pub const TYPE_PREFIX: &str = "tag:cusdeb.com,2026:anonymous/pow/";

/// The request's payload: the `altcha` query parameter, else the `Altcha` header.
fn payload(req: &Request) -> Option<Cow<'_, str>> {
    let from_query = req.uri().query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(name, _)| name == "altcha")
            .map(|(_, value)| value)
    });
    from_query.or_else(|| {
        req.headers()
            .get("altcha")
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
    })
}

/// Lets the request on, or answers its `403` (or `503`).
pub async fn check(gate: &Gate, req: &Request, challenge_url: &str) -> Result<(), Response> {
    let payload = payload(req);
    match gate.admit(payload.as_deref(), crate::clock::unix_now()).await {
        Ok(()) => Ok(()),
        Err(Refusal::Unavailable) => Err(problem::unavailable(
            1,
            "used challenges cannot be checked now (Redis out of reach, LIMIT_STORE_FAILURE=deny); retry shortly",
        )
        .into_response()),
        Err(refusal) => Err(forbidden(refusal, challenge_url)),
    }
}

/// The `403` problem for `refusal`.
fn forbidden(refusal: Refusal, challenge_url: &str) -> Response {
    let (kind, title, detail): (&str, &str, Cow<'_, str>) = match refusal {
        Refusal::Missing => (
            "missing",
            "Proof of work required",
            "this issuer asks for a solved ALTCHA challenge: get one from the challenge URL, solve it, and send the payload in the altcha query parameter or the Altcha header".into(),
        ),
        Refusal::Malformed(why) => (
            "malformed",
            "Malformed proof of work",
            format!("the payload cannot be read ({why}); send the ALTCHA widget's base64 payload as it is").into(),
        ),
        Refusal::Tampered => (
            "tampered",
            "Tampered proof of work",
            "the challenge's signature does not match its parameters: it was not issued here, or was changed".into(),
        ),
        Refusal::Expired => (
            "expired",
            "Expired proof of work",
            "the challenge's time is up (POW_TTL); get a fresh one".into(),
        ),
        Refusal::Wrong => (
            "wrong",
            "Wrong proof of work",
            "the solution does not solve this challenge; the challenge is used up, get a fresh one".into(),
        ),
        Refusal::Replayed => (
            "replayed",
            "Proof of work already used",
            "this solved challenge bought a token already; each buys one, get a fresh one".into(),
        ),
        // Answered 503 by `check`; worded all the same.
        Refusal::Unavailable => (
            "unavailable",
            "Proof of work cannot be checked now",
            "retry shortly".into(),
        ),
    };
    let body = PowProblem {
        kind: format!("{TYPE_PREFIX}{kind}"),
        title: title.into(),
        status: 403,
        detail: detail.into_owned(),
        challenge: challenge_url.into(),
    };
    // The schema the spec documents, serialised by it.
    let mut resp = body.to_json_string().with_status(StatusCode::FORBIDDEN).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(problem::CONTENT_TYPE));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
