//! The issuing limits at the edge: a token request over a limit becomes its `429` (or, with
//! Redis out of reach and `LIMIT_STORE_FAILURE=deny`, a `503`) before it waits.

use std::net::{IpAddr, Ipv4Addr};

use poem::{Addr, Request, Response};

use super::problem;
use crate::limits::{Limiter, Outcome, Policy};

/// The `RateLimit` field for an allowed request, or the answer for a refused one.
pub async fn check(limiter: &Limiter, req: &Request) -> Result<poem::http::HeaderValue, Response> {
    let peer = match req.remote_addr().0 {
        Addr::SocketAddr(addr) => addr.ip(),
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    match limiter.check(peer, req.headers()).await {
        Outcome::Allowed(value) => Ok(value),
        Outcome::Limited {
            policy,
            retry_after,
            rate_limit,
        } => {
            let detail = match policy {
                Policy::Client => {
                    format!("this client has taken its tokens for now (ISSUE_RATE); retry after {retry_after} s")
                }
                Policy::Global => {
                    format!(
                        "too many tokens are being taken by everyone at once (ISSUE_RATE_GLOBAL); retry after {retry_after} s"
                    )
                }
            };
            Err(problem::too_many_requests(
                &detail,
                retry_after,
                limiter.policy(),
                rate_limit,
            ))
        }
        Outcome::Unavailable => Err(problem::unavailable(
            1,
            "issuing limits cannot be checked now (Redis out of reach, LIMIT_STORE_FAILURE=deny); retry shortly",
        )
        .into_response()),
    }
}
