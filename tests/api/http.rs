//! The HTTP surface: problems for 404/405, the spec and its committed copy, Swagger UI,
//! probes, CORS, graceful drain, and clients that misbehave.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app, spawn_app_with};

async fn assert_problem(resp: reqwest::Response, status: u16) {
    assert_eq!(resp.status(), status);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], "about:blank");
    assert!(body["title"].is_string() && body["detail"].is_string(), "{body}");
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_are_problems() {
    let app = spawn_app(&[]).await;
    for path in ["/nope", "/anonymous/x", "/.well-known/", "/anonymous//"] {
        assert_problem(app.get(path).await, 404).await;
    }
    // A path that is not valid percent-encoded UTF-8 is a client error too.
    assert_problem(app.get("/%ff%fe").await, 400).await;
    for (method, path) in [
        ("POST", "/anonymous/"),
        ("DELETE", "/anonymous"),
        ("PUT", "/.well-known/jwks.json"),
    ] {
        let resp = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_problem(resp, 405).await;
    }
    // Discovery without ISSUER is a documented 404 problem.
    assert_problem(app.get("/.well-known/openid-configuration").await, 404).await;
}

#[tokio::test]
async fn served_spec_is_the_committed_spec() {
    let committed = include_str!("../../openapi/openapi.json");
    let generated = cusdeb_anonymous::openapi_json();
    assert_eq!(
        committed.trim_end(),
        generated.trim_end(),
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
    );
    let app = spawn_app(&[("ALGO", "ES256"), ("ISSUER", "https://x.test")]).await;
    let served: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
    assert_eq!(served, serde_json::from_str::<serde_json::Value>(committed).unwrap());
    let yaml = app.get("/openapi.yaml").await;
    assert_eq!(yaml.status(), 200);
    assert_eq!(yaml.text().await.unwrap(), cusdeb_anonymous::openapi_yaml());

    // Every documented status of /anonymous is there.
    let responses = &served["paths"]["/anonymous"]["get"]["responses"];
    assert!(
        responses["200"]["content"]["text/plain; charset=utf-8"].is_object(),
        "{responses}"
    );
    assert!(responses["200"]["content"]["application/json; charset=utf-8"].is_object());
    assert!(responses["503"]["content"]["application/problem+json"].is_object());
}

#[tokio::test]
async fn swagger_ui_is_served_with_embedded_assets() {
    let app = spawn_app(&[]).await;
    let resp = app.get("/docs").await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("SwaggerUIBundle"), "Swagger UI bundle is inlined");
    assert!(
        !html.contains("<script src=\"http"),
        "no external script: works offline"
    );
    assert!(html.contains("/anonymous"), "the spec is embedded");

    // Compressed for clients that accept gzip, the same page once inflated.
    let resp = app.get_with("/docs", "accept-encoding", "br;q=1, gzip;q=0.8").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    assert_eq!(resp.headers()["vary"], "Accept-Encoding");
    let gzipped = resp.bytes().await.unwrap();
    assert!(
        gzipped.len() * 3 < html.len(),
        "{} of {} bytes",
        gzipped.len(),
        html.len()
    );
    let mut inflated = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gzipped[..]), &mut inflated).unwrap();
    assert_eq!(inflated, html);
    // Refused or not offered: plain.
    let resp = app.get_with("/docs/", "accept-encoding", "gzip;q=0").await;
    assert!(resp.headers().get("content-encoding").is_none());
    assert_eq!(resp.text().await.unwrap(), html);
}

#[tokio::test]
async fn health_and_readiness_under_hmac() {
    let app = spawn_app(&[]).await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["ready"], true);
    assert_eq!(body["algorithm"], "HS256");
    assert!(body["active_kid"].is_null() && body["next_kid"].is_null());
}

#[tokio::test]
async fn cors_only_for_configured_origins() {
    let app = spawn_app(&[("CORS_ALLOWED_ORIGINS", "https://cusdeb.com, https://app.cusdeb.test")]).await;
    let get = |origin: &'static str| app.get_with("/anonymous/", "Origin", origin);
    let ok = get("https://cusdeb.com").await;
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://cusdeb.com");
    assert!(ok.headers().get_all("vary").iter().any(|v| v == "Origin"));
    let other = get("https://evil.test").await;
    assert_eq!(other.status(), 200);
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/anonymous/"))
        .header("Origin", "https://app.cusdeb.test")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-methods"], "GET");

    // Unset: no CORS headers on /anonymous/, but the JWKS is always public.
    let plain = spawn_app(&[]).await;
    let resp = plain.get_with("/anonymous/", "Origin", "https://cusdeb.com").await;
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    assert_eq!(
        plain.get("/.well-known/jwks.json").await.headers()["access-control-allow-origin"],
        "*"
    );
}

#[tokio::test]
async fn graceful_shutdown_drains_delayed_requests() {
    let mut app = spawn_app(&[("ISSUE_DELAY", "1")]).await;
    let in_flight: Vec<_> = (0..20)
        .map(|_| {
            let (client, url) = (app.client.clone(), app.url("/anonymous/"));
            tokio::spawn(async move {
                let resp = client.get(url).send().await.unwrap();
                (resp.status(), resp.text().await.unwrap())
            })
        })
        .collect();
    for _ in 0..100 {
        if app.state.waiting() == 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let addr = app.addr;
    let t = Instant::now();
    app.trigger_stop();
    for request in in_flight {
        let (status, body) = request.await.unwrap();
        assert_eq!(status, 200, "an in-flight request was cut off");
        assert_eq!(body.split('.').count(), 3);
    }
    app.join().await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(5), "drain took {:?}", t.elapsed());
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
}

#[tokio::test]
async fn slow_and_garbage_clients_do_not_hold_the_server() {
    let app = spawn_app(&[]).await;
    // Clients that open a request and never finish their headers.
    let mut idle = Vec::new();
    for _ in 0..50 {
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        s.write_all(b"GET /anonymous/ HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        idle.push(s);
    }
    let t = Instant::now();
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert!(t.elapsed() < Duration::from_secs(1));

    // Garbage and oversized headers get a 4xx or a closed connection, never a 5xx or a hang.
    let mut huge = b"GET /anonymous/ HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 1 << 20));
    huge.extend(b"\r\n\r\n");
    for request in [b"\x00\x01garbage\r\n\r\n".to_vec(), huge] {
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        let _ = s.write_all(&request).await;
        let mut buf = vec![0; 256];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("no answer")
            .unwrap_or(0);
        let head = String::from_utf8_lossy(&buf[..n]);
        assert!(n == 0 || head.starts_with("HTTP/1.1 4"), "unexpected answer: {head}");
    }
    assert_eq!(app.get("/anonymous/").await.status(), 200);
    drop(idle);
}

#[tokio::test]
async fn clients_that_never_finish_their_head_are_cut_off_but_waiting_requests_are_not() {
    let timeout = Duration::from_millis(500);
    let app = spawn_app_with(&[("ISSUE_DELAY", "2")], |app| app.with_header_read_timeout(timeout)).await;
    // A token request waits four times the head timeout: it has sent its head, so it is answered.
    let waiting = {
        let (client, url) = (app.client.clone(), app.url("/anonymous/"));
        tokio::spawn(async move { client.get(url).send().await.unwrap().status() })
    };

    // A client trickling its head a byte every 100 ms, and one that never sends anything.
    let (mut slow_read, mut slow_write) = TcpStream::connect(app.addr).await.unwrap().into_split();
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let t = Instant::now();
    let trickle = tokio::spawn(async move {
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".iter().cycle().take(50) {
            if slow_write.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut buf = [0; 256];
    for who in ["slow", "silent"] {
        let read = match who {
            "slow" => tokio::time::timeout(Duration::from_secs(5), slow_read.read(&mut buf)).await,
            _ => tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buf)).await,
        };
        let read = read.unwrap_or_else(|_| panic!("{who} client still connected after 5 s"));
        let took = t.elapsed();
        // Closed or reset, or told 408: never served, never left hanging.
        let answer = String::from_utf8_lossy(&buf[..*read.as_ref().unwrap_or(&0)]).into_owned();
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{who}: {answer}"
        );
        assert!(
            took >= timeout - Duration::from_millis(50) && took < Duration::from_secs(3),
            "{who} client cut off after {took:?}"
        );
    }
    trickle.abort();
    assert_eq!(waiting.await.unwrap(), 200);
}
