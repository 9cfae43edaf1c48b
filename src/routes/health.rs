//! `/healthz` (the process serves), `/readyz` (a key is active, with the ring's state) and
//! `/metrics` (Prometheus).

use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use super::Served;
use crate::keyring::KeyState;

#[derive(Tags)]
enum ApiTags {
    /// Probes for orchestrators
    Operations,
}

/// One key of the ring.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct KeyStatus {
    /// Absent for the HMAC secret, which is never published.
    pub kid: Option<String>,
    /// `pending`, `active` or `retired`.
    pub state: String,
    /// When it was published (RFC 3339, `TIME_ZONE`).
    pub published_at: String,
    /// When it starts or started signing.
    pub activates_at: String,
    /// When it leaves the JWKS (retired keys).
    pub remove_at: Option<String>,
}

/// The key ring's state.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Readiness {
    /// Whether a signing key is active.
    pub ready: bool,
    /// Why not, when not ready.
    pub reason: Option<String>,
    /// `ALGO`.
    pub algorithm: String,
    /// kid of the key signing now.
    pub active_kid: Option<String>,
    /// kid of the pending key that signs next.
    pub next_kid: Option<String>,
    /// When the pending key takes over (RFC 3339, `TIME_ZONE`).
    pub next_rotation: Option<String>,
    pub keys: Vec<KeyStatus>,
}

#[derive(ApiResponse)]
pub enum MetricsResponse {
    /// Prometheus text format 0.0.4: tokens issued, requests by route and status, latency,
    /// requests waiting and shed, keys by state, active key age, next rotation, rotations,
    /// key generation failures, accept errors, build info.
    #[oai(status = 200, content_type = "text/plain; version=0.0.4; charset=utf-8")]
    Ok(PlainText<String>),
}

#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// A signing key is active: tokens can be issued.
    #[oai(status = 200)]
    Ready(Json<Readiness>),
    /// No key may sign now: none made yet, the store out of reach past the known keys'
    /// retirement, or (shared store) not read for `KEY_STORE_MAX_STALENESS`; `reason` says which.
    #[oai(status = 503)]
    NotReady(Json<Readiness>),
}

pub struct HealthApi(pub Served);

#[OpenApi(tag = "ApiTags::Operations")]
impl HealthApi {
    /// Liveness: 200 while the process serves
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> PlainText<&'static str> {
        PlainText("ok")
    }

    /// Prometheus metrics
    #[oai(path = "/metrics", method = "get", operation_id = "metrics")]
    async fn metrics(&self) -> MetricsResponse {
        let state = self.0.state();
        if let Some(gate) = &state.gate {
            gate.refresh_gauges();
        }
        if let Some(limiter) = &state.limiter {
            limiter.refresh_gauges();
        }
        let text = state
            .metrics
            .render(&state.ring.load(), state.waiting(), time::OffsetDateTime::now_utc());
        MetricsResponse::Ok(PlainText(text))
    }

    /// Readiness: 200 once a signing key is active
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self) -> ReadyResponse {
        let state = self.0.state();
        let snapshot = state.ring.load();
        let zone = &state.config.time_zone;
        let pending = snapshot.pending();
        let now = time::OffsetDateTime::now_utc();
        let signer = snapshot.signer(now);
        let reason = match (signer, snapshot.freshness()) {
            (Some(_), _) => None,
            (None, Some(f)) if snapshot.is_stale(now) => Some(format!(
                "the key store has not been read since {} (KEY_STORE_MAX_STALENESS): this replica stops signing until it answers, so that a key revoked meanwhile cannot sign",
                zone.rfc3339(f.last_read)
            )),
            (None, _) if snapshot.keys().is_empty() => Some(
                "no key is known yet: the first key is being made, or the key store has not answered since start"
                    .into(),
            ),
            (None, _) => Some(
                "no key may sign now: the key store has been out of reach past the last known key's retirement".into(),
            ),
        };
        let body = Readiness {
            ready: signer.is_some(),
            reason,
            algorithm: state.config.algorithm.name().into(),
            active_kid: signer.and_then(|k| k.kid().map(str::to_owned)),
            next_kid: pending.and_then(|k| k.key.kid().map(str::to_owned)),
            next_rotation: pending.map(|k| zone.rfc3339(k.times.activates_at)),
            keys: snapshot
                .keys()
                .iter()
                .map(|k| KeyStatus {
                    kid: k.key.kid().map(str::to_owned),
                    state: k.state.name().into(),
                    published_at: zone.rfc3339(k.times.published_at),
                    activates_at: zone.rfc3339(k.times.activates_at),
                    remove_at: (k.state == KeyState::Retired).then(|| zone.rfc3339(k.times.removed_at)),
                })
                .collect(),
        };
        if body.ready {
            ReadyResponse::Ready(Json(body))
        } else {
            ReadyResponse::NotReady(Json(body))
        }
    }
}
