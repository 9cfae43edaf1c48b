//! `GET /anonymous/challenge` (with `POW=altcha`): a fresh ALTCHA challenge for the widget,
//! and the `403` problem a token request gets without a valid solution.

use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use super::Served;
use super::problem::Problem;
use super::response_header::Header;
use crate::pow::altcha;

#[derive(Tags)]
enum ApiTags {
    /// Anonymous access tokens
    Tokens,
}

/// What the solver derives and looks for (ALTCHA v2 parameters; the signature covers their
/// canonical JSON).
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct ChallengeParameters {
    /// The key derivation: `PBKDF2/SHA-256`.
    pub algorithm: String,
    /// Random, 16 bytes in hex: the password is `nonce ‖ counter` (big-endian u32).
    pub nonce: String,
    /// Random, 16 bytes in hex.
    pub salt: String,
    /// PBKDF2 iterations per attempt (`POW_COST`).
    pub cost: u32,
    /// Bytes of the derived key.
    pub key_length: u32,
    /// Hex digits the derived key must start with (`000`: about 4096 attempts).
    pub key_prefix: String,
    /// Unix time after which the challenge is refused (`POW_TTL` after it was handed out).
    pub expires_at: u64,
}

/// An ALTCHA challenge, as the widget (`challenge` attribute) and the official libraries take it.
#[derive(Debug, Object)]
pub struct Challenge {
    pub parameters: ChallengeParameters,
    /// HMAC-SHA256 (hex) of the parameters' canonical JSON.
    pub signature: String,
}

#[derive(ApiResponse)]
pub enum ChallengeResponse {
    /// A fresh challenge; solve it (the ALTCHA widget does) and send the base64 payload with
    /// `GET /anonymous/` in the `altcha` query parameter or the `Altcha` header.
    #[oai(status = 200)]
    Ok(Json<Challenge>, #[oai(header = "Cache-Control")] Header),
    /// `POW=off`: no proof of work is asked for.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
}

/// The `403` of a token request without a valid proof of work (RFC 9457).
#[derive(Debug, Clone, Object)]
pub struct PowProblem {
    /// Which: `tag:cusdeb.com,2026:anonymous/pow/` + `missing`, `malformed`, `tampered`,
    /// `expired`, `wrong` or `replayed`.
    #[oai(rename = "type")]
    pub kind: String,
    pub title: String,
    /// `403`.
    pub status: u16,
    pub detail: String,
    /// Where to get a fresh challenge.
    pub challenge: String,
}

pub struct ChallengeApi(pub Served);

#[OpenApi(tag = "ApiTags::Tokens")]
impl ChallengeApi {
    /// Get a proof-of-work challenge
    ///
    /// With `POW=altcha`, `GET /anonymous/` needs a solved ALTCHA challenge: fetch one here,
    /// solve it (the ALTCHA widget, or an official ALTCHA library), and send the payload. Each
    /// challenge buys one token and expires after `POW_TTL` seconds.
    #[oai(path = "/anonymous/challenge", method = "get", operation_id = "get_challenge")]
    async fn challenge(&self) -> ChallengeResponse {
        let state = self.0.state();
        let Some(gate) = &state.gate else {
            return ChallengeResponse::NotFound(Json(Problem::new(
                StatusCode::NOT_FOUND,
                "no proof of work is asked for here (POW=off): GET /anonymous/ directly",
            )));
        };
        let issued = gate.challenge(crate::clock::unix_now());
        ChallengeResponse::Ok(
            Json(Challenge {
                parameters: ChallengeParameters {
                    algorithm: altcha::ALGORITHM.into(),
                    nonce: issued.nonce,
                    salt: issued.salt,
                    cost: issued.cost,
                    key_length: altcha::KEY_LENGTH as u32,
                    key_prefix: altcha::KEY_PREFIX.into(),
                    expires_at: issued.expires_at,
                },
                signature: issued.signature,
            }),
            Header::from_static("no-store"),
        )
    }
}
