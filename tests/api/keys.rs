//! Asymmetric ALGO over HTTP: tokens verify through the served JWKS with RustCrypto; the JWKS
//! has public members only, RFC 7638 kids, caching headers and 304s; discovery; readiness.

use serde_json::Value;

use crate::helpers::verify::{split, thumbprint, verify_jwk};
use crate::helpers::{gated_generator, spawn_app, spawn_app_with, unix_now};

const ASYMMETRIC: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

fn find<'a>(jwks: &'a Value, kid: &str) -> &'a Value {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("kid {kid} not in {jwks}"))
}

#[tokio::test]
async fn every_asymmetric_algorithm_verifies_through_the_jwks() {
    for alg in ASYMMETRIC {
        let app = spawn_app(&[("ALGO", alg)]).await;
        app.wait_ready().await;
        let token = app.token().await;
        let parts = split(&token);
        assert_eq!(parts.header["alg"], alg);
        assert_eq!(parts.header["typ"], "JWT");
        let kid = parts.header["kid"].as_str().expect("kid in header");
        let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
        let jwk = find(&jwks, kid);

        let claims = verify_jwk(&token, jwk).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(claims["token_type"], "access");
        assert_eq!(claims["user_id"], -1);
        assert!((claims["exp"].as_i64().unwrap() - unix_now() - 20).abs() <= 2);

        // Public members only, kid is the RFC 7638 thumbprint, use/alg set, no key_ops.
        let mut names: Vec<&str> = jwk.as_object().unwrap().keys().map(String::as_str).collect();
        names.sort();
        let expected: &[&str] = match alg {
            "ES256" | "ES384" => &["alg", "crv", "kid", "kty", "use", "x", "y"],
            "EdDSA" => &["alg", "crv", "kid", "kty", "use", "x"],
            _ => &["alg", "e", "kid", "kty", "n", "use"],
        };
        assert_eq!(names, expected, "{alg}");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(thumbprint(jwk), kid, "{alg}: kid is not the RFC 7638 thumbprint");
        if alg.starts_with("RS") || alg.starts_with("PS") {
            let n = base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                jwk["n"].as_str().unwrap(),
            );
            assert_eq!(n.unwrap().len(), 256, "RSA_KEY_BITS default 2048");
        }

        // A pending key is published next to the active one (generated right after it).
        let ready = app.wait_pending().await;
        assert_eq!(ready["active_kid"], kid);
        let next = ready["next_kid"].as_str().expect("a pending key");
        let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
        find(&jwks, next);
        find(&jwks, kid);
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);

        // A token whose claims were altered does not verify.
        let mut forged = parts.claims.clone();
        forged["user_id"] = 1.into();
        let segments: Vec<&str> = token.split('.').collect();
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, forged.to_string());
        let bad = format!("{}.{}.{}", segments[0], b64, segments[2]);
        assert!(verify_jwk(&bad, jwk).is_err(), "{alg}: forged claims verified");
    }
}

#[tokio::test]
async fn rsa_key_bits_are_honoured() {
    let app = spawn_app(&[("ALGO", "PS256"), ("RSA_KEY_BITS", "3072")]).await;
    app.wait_ready().await;
    let token = app.token().await;
    let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    let jwk = find(&jwks, split(&token).header["kid"].as_str().unwrap());
    let n = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        jwk["n"].as_str().unwrap(),
    );
    assert_eq!(n.unwrap().len(), 384);
    verify_jwk(&token, jwk).unwrap();
}

#[tokio::test]
async fn jwks_caching_headers_etag_and_304() {
    let app = spawn_app(&[("ALGO", "ES256"), ("JWKS_MAX_AGE", "120")]).await;
    app.wait_ready().await;
    app.wait_pending().await;
    let resp = app.get("/.well-known/jwks.json").await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["cache-control"], "public, max-age=120");
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h["content-type"].to_str().unwrap().starts_with("application/json"));
    let etag = h["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"),
        "strong ETag: {etag}"
    );

    for inm in [
        etag.clone(),
        format!("\"other\", {etag}"),
        format!("W/{etag}"),
        "*".to_owned(),
    ] {
        let resp = app.get_with("/.well-known/jwks.json", "If-None-Match", &inm).await;
        assert_eq!(resp.status(), 304, "If-None-Match: {inm}");
        assert_eq!(resp.headers()["etag"], etag.as_str());
        assert_eq!(resp.headers()["cache-control"], "public, max-age=120");
        assert!(resp.bytes().await.unwrap().is_empty());
    }
    let resp = app
        .get_with("/.well-known/jwks.json", "If-None-Match", "\"stale\"")
        .await;
    assert_eq!(resp.status(), 200);

    // Under HS* the JWKS is empty: the secret is never published.
    let hs = spawn_app(&[]).await;
    assert_eq!(
        hs.get("/.well-known/jwks.json").await.text().await.unwrap(),
        r#"{"keys":[]}"#
    );
}

#[tokio::test]
async fn discovery_and_claims_with_issuer_and_audience() {
    let app = spawn_app(&[
        ("ALGO", "EdDSA"),
        ("ISSUER", "https://anonymous.cusdeb.test/"),
        ("AUDIENCE", "cusdeb"),
    ])
    .await;
    app.wait_ready().await;
    let resp = app.get("/.well-known/openid-configuration").await;
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(doc["issuer"], "https://anonymous.cusdeb.test/");
    assert_eq!(doc["jwks_uri"], "https://anonymous.cusdeb.test/.well-known/jwks.json");
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["EdDSA"])
    );
    assert_eq!(doc["response_types_supported"], serde_json::json!(["id_token"]));
    assert_eq!(doc["subject_types_supported"], serde_json::json!(["public"]));
    let claims = split(&app.token().await).claims;
    assert_eq!(claims["iss"], "https://anonymous.cusdeb.test/");
    assert_eq!(claims["aud"], "cusdeb");
}

#[tokio::test]
async fn not_ready_until_a_key_is_active_and_generation_failures_are_retried() {
    let (allow, generator) = gated_generator();
    let app = spawn_app_with(&[("ALGO", "ES256")], |app| app.with_generator(generator)).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["ready"], false);
    assert!(body["active_kid"].is_null());
    let resp = app.get("/anonymous/").await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    assert!(resp.headers().contains_key("retry-after"));
    // No key yet: the JWKS is not a cacheable empty set but a 503 nobody may keep.
    let jwks = app.get("/.well-known/jwks.json").await;
    assert_eq!(jwks.status(), 503);
    assert_eq!(jwks.headers()["cache-control"], "no-store");
    assert_eq!(jwks.headers()["retry-after"], "1");
    assert_eq!(jwks.headers()["content-type"], "application/problem+json");

    allow.store(true, std::sync::atomic::Ordering::SeqCst);
    app.wait_ready().await;
    assert_eq!(app.get("/anonymous/").await.status(), 200);
}
