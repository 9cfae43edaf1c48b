//! What the binary logs: request lines and key lifecycle events, text or JSON, in TIME_ZONE —
//! and never a secret, a key or a token.

use std::time::Duration;

use crate::helpers::binary::{exited, sigterm, start_binary};

#[tokio::test]
async fn sigterm_drains_in_flight_requests_and_logs_no_secret_or_token() {
    let secret = "binary-test-secret-which-must-never-be-logged-0123456789abcdef";
    let (child, base) = start_binary(
        &[("ISSUE_DELAY", "1"), ("SECRET_KEY", secret), ("RUST_LOG", "debug")],
        None,
    )
    .await;
    let client = reqwest::Client::new();
    let in_flight: Vec<_> = (0..5)
        .map(|_| {
            let (client, url) = (client.clone(), format!("{base}/anonymous/"));
            tokio::spawn(async move { client.get(url).send().await.unwrap().text().await.unwrap() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    sigterm(child.id().unwrap());
    let mut tokens = Vec::new();
    for r in in_flight {
        let token = r.await.unwrap();
        assert_eq!(token.split('.').count(), 3, "in-flight request not answered: {token}");
        tokens.push(token);
    }
    let (out, _) = exited(child).await;
    assert_eq!(out.status.code(), Some(0));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("path=/anonymous/") && log.contains("status=200"),
        "request lines logged: {log}"
    );
    assert!(log.contains("+03:00"), "timestamps in TIME_ZONE (Europe/Moscow): {log}");
    assert!(!log.contains(secret), "the secret reached the log");
    for token in &tokens {
        assert!(!log.contains(token.as_str()), "a token reached the log");
        assert!(
            !log.contains(token.split('.').nth(2).unwrap()),
            "a signature reached the log"
        );
    }
}

#[tokio::test]
async fn json_logs_parse_and_carry_lifecycle_events_but_no_secret_or_token() {
    let (child, base) = start_binary(
        &[
            ("LOG_FORMAT", "json"),
            ("ALGO", "ES256"),
            ("ISSUE_DELAY", "0"),
            ("RUST_LOG", "debug"),
        ],
        None,
    )
    .await;
    let mut tokens = Vec::new();
    for _ in 0..3 {
        tokens.push(
            reqwest::get(format!("{base}/anonymous/"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
    }
    sigterm(child.id().unwrap());
    let (out, _) = exited(child).await;
    assert_eq!(out.status.code(), Some(0));
    let log = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for line in &lines {
        assert!(line["timestamp"].as_str().unwrap().ends_with("+03:00"), "{line}");
        assert!(line["level"].is_string() && line["message"].is_string(), "{line}");
    }
    let kid = tokens[0].split('.').next().map(|h| {
        let header = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, h).unwrap();
        serde_json::from_slice::<serde_json::Value>(&header).unwrap()["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    });
    let has = |message: &str| {
        lines
            .iter()
            .any(|l| l["message"] == message && Some(l["kid"].as_str().unwrap_or("")) == kid.as_deref())
    };
    assert!(
        has("key generated") && has("key published") && has("key activated"),
        "{log}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "request" && l["status"] == 200 && l["path"] == "/anonymous/")
    );
    let start = lines
        .iter()
        .find(|l| l["message"] == "cusdeb-anonymous starting")
        .unwrap();
    assert!(
        start["configuration"].as_str().unwrap().contains("ALGO=ES256"),
        "{start}"
    );
    for token in &tokens {
        assert!(
            !log.contains(token.split('.').nth(2).unwrap()),
            "a signature reached the log"
        );
        assert!(!log.contains(token.as_str()), "a token reached the log");
    }
}

#[tokio::test]
async fn a_static_key_is_announced_by_kid_and_never_echoed() {
    let pem = std::fs::read_to_string(format!(
        "{}/tests/fixtures/keys/p256-sec1.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let (child, base) = start_binary(&[("ALGO", "ES256"), ("SECRET_KEY", &pem)], None).await;
    assert_eq!(reqwest::get(format!("{base}/readyz")).await.unwrap().status(), 200);
    sigterm(child.id().unwrap());
    let (out, _) = exited(child).await;
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("static key 6FoaG0Zw5qjTP629AsbLkkoKIKFj69aCNDReP39PKEM from SECRET_KEY"),
        "{log}"
    );
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(!log.contains(&body[..40]), "key material in the log");
}
