//! Issuing limits over real HTTP: a client over `ISSUE_RATE` is answered `429` at once (not
//! after `ISSUE_DELAY`) with `Retry-After` and the IETF `RateLimit` fields, parsed here as
//! structured fields; clients are told apart behind a trusted proxy by the rightmost hop, a
//! forged leftmost one changes nothing; the global ceiling holds; CORS exposes the fields.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

/// A structured-field list: each member's string and integer parameters.
pub fn sf_list(value: &str) -> Vec<(String, HashMap<String, i64>)> {
    let list: sfv::List = sfv::Parser::new(value)
        .parse()
        .unwrap_or_else(|e| panic!("{value:?} is not a structured-field list: {e}"));
    list.into_iter()
        .map(|entry| match entry {
            sfv::ListEntry::Item(item) => (
                item.bare_item
                    .as_string()
                    .expect("a string names the policy")
                    .as_str()
                    .to_owned(),
                item.params
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_owned(),
                            i64::from(v.as_integer().expect("integer parameter")),
                        )
                    })
                    .collect(),
            ),
            other => panic!("unexpected member {other:?}"),
        })
        .collect()
}

/// `GET /anonymous/` as the client a trusted proxy names by `x-forwarded-for`.
pub async fn as_client(app: &TestApp, forwarded_for: &str) -> reqwest::Response {
    app.get_with("/anonymous/", "x-forwarded-for", forwarded_for).await
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> &'a str {
    resp.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn a_client_over_its_limit_is_answered_429_at_once_with_the_ratelimit_fields() {
    let app = spawn_app(&[
        ("ISSUE_RATE", "3/min"),
        ("ISSUE_DELAY", "1"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("CORS_ALLOWED_ORIGINS", "*"),
    ])
    .await;
    // Three tokens at once (each waits ISSUE_DELAY), left 2, 1, 0 in some order.
    let tokens = futures_join(&app, "198.51.100.7", 3).await;
    let mut left: Vec<i64> = tokens
        .iter()
        .map(|(status, rate_limit)| {
            assert_eq!(*status, 200);
            let fields = sf_list(rate_limit);
            assert_eq!(fields[0].0, "client");
            fields[0].1["r"]
        })
        .collect();
    left.sort();
    assert_eq!(left, [0, 1, 2]);

    // The fourth: 429 at once, not after the second of ISSUE_DELAY.
    let started = Instant::now();
    let resp = app
        .client
        .get(app.url("/anonymous/"))
        .header("x-forwarded-for", "6.6.6.6, 198.51.100.7")
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(resp.status(), 429, "a forged leftmost hop made another client");
    assert!(took < Duration::from_millis(500), "429 took {took:?}: it waited");
    let retry_after: u64 = header(&resp, "retry-after").parse().unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    assert_eq!(
        sf_list(header(&resp, "ratelimit-policy")),
        [("client".into(), HashMap::from([("q".into(), 3), ("w".into(), 60)]))]
    );
    let rate_limit = sf_list(header(&resp, "ratelimit"));
    assert_eq!((rate_limit[0].0.as_str(), rate_limit[0].1["r"]), ("client", 0));
    assert_eq!(rate_limit[0].1["t"], retry_after as i64);
    assert_eq!(header(&resp, "cache-control"), "no-store");
    let exposed = header(&resp, "access-control-expose-headers");
    assert!(
        exposed.contains("RateLimit") && exposed.contains("Retry-After"),
        "{exposed}"
    );
    assert_eq!(header(&resp, "content-type"), "application/problem+json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], 429);
    assert!(body["detail"].as_str().unwrap().contains("ISSUE_RATE"));

    // Another client is its own; the proxy itself (no header) too.
    assert_eq!(as_client(&app, "198.51.100.8").await.status(), 200);
    assert_eq!(app.get("/anonymous/").await.status(), 200);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("cusdeb_anonymous_requests_limited_total{policy=\"client\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("cusdeb_anonymous_limit_tracked_clients 3"),
        "{metrics}"
    );
    assert_eq!(
        app.metric("cusdeb_anonymous_requests_shed_total").await,
        0.0,
        "a limited request took no waiting place"
    );
}

/// `n` requests at once as `client`; their statuses and `RateLimit` fields.
async fn futures_join(app: &TestApp, client: &str, n: usize) -> Vec<(u16, String)> {
    let mut handles = Vec::new();
    for _ in 0..n {
        let (http, url, client) = (app.client.clone(), app.url("/anonymous/"), client.to_owned());
        handles.push(tokio::spawn(async move {
            let resp = http.get(url).header("x-forwarded-for", client).send().await.unwrap();
            let rate_limit = resp.headers().get("ratelimit").map(|v| v.to_str().unwrap().to_owned());
            (resp.status().as_u16(), rate_limit.unwrap_or_default())
        }));
    }
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_global_ceiling_holds_for_many_clients_and_untrusted_headers_are_ignored() {
    let app = spawn_app(&[("ISSUE_RATE_GLOBAL", "5/min"), ("TRUSTED_PROXIES", "10.0.0.0/8")]).await;
    // The peer (127.0.0.1) is not trusted: its headers name nobody, the global ceiling holds.
    let mut statuses = Vec::new();
    for i in 0..7 {
        statuses.push(as_client(&app, &format!("198.51.100.{i}")).await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429]);
    let resp = as_client(&app, "198.51.100.99").await;
    assert_eq!(
        sf_list(header(&resp, "ratelimit-policy")),
        [("global".into(), HashMap::from([("q".into(), 5), ("w".into(), 60)]))]
    );
    assert!(
        resp.json::<Value>().await.unwrap()["detail"]
            .as_str()
            .unwrap()
            .contains("ISSUE_RATE_GLOBAL")
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("cusdeb_anonymous_requests_limited_total{policy=\"global\"} 3"),
        "{metrics}"
    );
}

#[tokio::test]
async fn limits_off_change_nothing_and_a_malformed_header_from_a_proxy_is_counted_not_refused() {
    let app = spawn_app(&[]).await;
    let resp = app.get("/anonymous/").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("ratelimit").is_none() && resp.headers().get("ratelimit-policy").is_none());

    let app = spawn_app(&[("ISSUE_RATE", "100/s"), ("TRUSTED_PROXIES", "127.0.0.0/8")]).await;
    let resp = app.get_with("/anonymous/", "forwarded", "for=\"[2001:db8::1").await;
    assert_eq!(resp.status(), 200, "a broken header is no error page");
    assert_eq!(app.metric("cusdeb_anonymous_forwarded_malformed_total").await, 1.0);
}
