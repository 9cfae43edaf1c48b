//! `/anonymous/` under HS*: the seed's contract, verified independently.

use std::collections::HashSet;

use crate::helpers::verify::{split, verify_hmac};
use crate::helpers::{TEST_SECRET, spawn_app, unix_now};

#[tokio::test]
async fn token_has_the_seed_payload_and_headers() {
    let app = spawn_app(&[("TOKEN_TTL", "20")]).await;
    for path in ["/anonymous/", "/anonymous"] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let token = resp.text().await.unwrap();
        let parts = split(&token);
        assert_eq!(parts.header, serde_json::json!({"alg": "HS256", "typ": "JWT"}));
        let claims = parts.claims.as_object().unwrap();
        let mut names: Vec<&str> = claims.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(names, ["exp", "jti", "token_type", "user_id"]);
        assert_eq!(claims["token_type"], "access");
        assert_eq!(claims["user_id"], -1);
        let jti = claims["jti"].as_str().unwrap();
        assert!(
            jti.len() == 32 && jti.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
            "{jti}"
        );
        assert_eq!(&jti[12..13], "4", "UUID version 4");
        let exp = claims["exp"].as_i64().unwrap();
        assert!((exp - (unix_now() + 20)).abs() <= 2, "exp {exp} is not now + 20");
    }
}

#[tokio::test]
async fn every_hs_algorithm_verifies_independently() {
    for alg in ["HS256", "HS384", "HS512"] {
        let app = spawn_app(&[("ALGO", alg)]).await;
        let token = app.token().await;
        assert_eq!(split(&token).header["alg"], alg);
        let claims = verify_hmac(&token, TEST_SECRET.as_bytes()).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(claims["user_id"], -1);
        assert!(
            verify_hmac(&token, b"another secret").is_err(),
            "{alg} verified with the wrong secret"
        );
        let mut tampered = token.clone().into_bytes();
        let at = tampered.len() - 5;
        tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
        assert!(verify_hmac(std::str::from_utf8(&tampered).unwrap(), TEST_SECRET.as_bytes()).is_err());
    }
}

#[tokio::test]
async fn jsonwebtoken_with_our_provider_accepts_the_token() {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
    let app = spawn_app(&[("ALGO", "HS384")]).await;
    let token = app.token().await;
    let mut validation = Validation::new(Algorithm::HS384);
    validation.set_required_spec_claims(&["exp"]);
    let data = decode::<cusdeb_anonymous::token::Claims>(
        &token,
        &DecodingKey::from_secret(TEST_SECRET.as_bytes()).unwrap(),
        &validation,
    )
    .unwrap();
    assert_eq!(data.claims.token_type, "access");
    assert_eq!(data.claims.user_id, -1);
}

#[tokio::test]
async fn json_form_on_request() {
    let app = spawn_app(&[("TIME_ZONE", "Asia/Kathmandu"), ("TOKEN_TTL", "30")]).await;
    let resp = app.get_with("/anonymous/", "Accept", "application/json").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 30);
    let token = body["access_token"].as_str().unwrap();
    let exp = verify_hmac(token, TEST_SECRET.as_bytes()).unwrap()["exp"]
        .as_i64()
        .unwrap();
    // expires_at is exp on the Kathmandu wall clock (+05:45).
    let expires_at = body["expires_at"].as_str().unwrap();
    assert!(expires_at.ends_with("+05:45"), "{expires_at}");
    let expected = time::OffsetDateTime::from_unix_timestamp(exp)
        .unwrap()
        .to_offset(time::macros::offset!(+5:45))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert_eq!(expires_at, expected);

    // text/plain preferred, or no JSON asked for: the seed's plain body.
    for accept in [
        "text/plain, application/json",
        "*/*",
        "application/json;q=0, text/plain",
    ] {
        let resp = app.get_with("/anonymous/", "Accept", accept).await;
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain"),
            "{accept}"
        );
    }
}

#[tokio::test]
async fn exp_is_true_unix_time_whatever_the_zone() {
    // The seed encoded local wall-clock time as UTC; zones far from UTC would shift exp by hours.
    for zone in ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Moscow", "UTC"] {
        let app = spawn_app(&[("TIME_ZONE", zone), ("TOKEN_TTL", "20")]).await;
        let before = unix_now();
        let claims = verify_hmac(&app.token().await, TEST_SECRET.as_bytes()).unwrap();
        let after = unix_now();
        let exp = claims["exp"].as_i64().unwrap();
        assert!(
            exp >= before + 20 && exp <= after + 20,
            "{zone}: exp {exp} not in [{before}+20, {after}+20]"
        );
    }
}

#[tokio::test]
async fn iss_and_aud_only_when_configured() {
    let app = spawn_app(&[("ISSUER", "https://anonymous.cusdeb.test"), ("AUDIENCE", "cusdeb-api")]).await;
    let claims = verify_hmac(&app.token().await, TEST_SECRET.as_bytes()).unwrap();
    assert_eq!(claims["iss"], "https://anonymous.cusdeb.test");
    assert_eq!(claims["aud"], "cusdeb-api");
    assert_eq!(claims.as_object().unwrap().len(), 6);
}

#[tokio::test]
async fn jti_is_unique() {
    let app = spawn_app(&[]).await;
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let claims = split(&app.token().await).claims;
        assert!(seen.insert(claims["jti"].as_str().unwrap().to_owned()), "jti repeated");
    }
}
