//! The real binary: configuration errors, --help/--version, SIGTERM, and what it logs.

use std::process::Stdio;
use std::time::Duration;

use crate::helpers::binary::{BIN, run, sigterm, start_binary};

#[test]
fn every_bad_parameter_exits_2_with_one_line_naming_it() {
    let secret_file = std::env::temp_dir().join(format!("cusdeb-empty-secret-{}", std::process::id()));
    std::fs::write(&secret_file, "\n").unwrap();
    let secret_path = secret_file.to_str().unwrap();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("ALGO", "none")], "ALGO"),
        (&[("ALGO", "hs256")], "ALGO"),
        (&[("SECRET_KEY", "")], "SECRET_KEY"),
        (
            &[("SECRET_KEY", "s3cr3t-value"), ("SECRET_KEY_FILE", "/etc/hostname")],
            "SECRET_KEY_FILE",
        ),
        (&[("SECRET_KEY_FILE", "/nonexistent/secret")], "SECRET_KEY_FILE"),
        (&[("SECRET_KEY_FILE", secret_path)], "SECRET_KEY_FILE"),
        (&[("ISSUE_DELAY", "-1")], "ISSUE_DELAY"),
        (&[("ISSUE_DELAY", "soon")], "ISSUE_DELAY"),
        (&[("ISSUE_DELAY", "NaN")], "ISSUE_DELAY"),
        (&[("PORT", "0")], "PORT"),
        (&[("PORT", "65536")], "PORT"),
        (&[("PORT", "http")], "PORT"),
        (&[("HOST", "not a host")], "HOST"),
        (&[("TIME_ZONE", "Mars/Olympus_Mons")], "TIME_ZONE"),
        (&[("TOKEN_TTL", "0")], "TOKEN_TTL"),
        (&[("TOKEN_TTL", "1.5")], "TOKEN_TTL"),
        (&[("KEY_ROTATION_INTERVAL", "0")], "KEY_ROTATION_INTERVAL"),
        (
            &[
                ("ALGO", "ES256"),
                ("KEY_ROTATION_INTERVAL", "10"),
                ("JWKS_MAX_AGE", "5"),
                ("TOKEN_TTL", "600"),
            ],
            "KEY_ROTATION_INTERVAL",
        ),
        (&[("JWKS_MAX_AGE", "-5")], "JWKS_MAX_AGE"),
        (&[("ALGO", "ES256"), ("JWKS_MAX_AGE", "21600")], "JWKS_MAX_AGE"),
        (&[("CLOCK_LEEWAY", "a minute")], "CLOCK_LEEWAY"),
        (&[("RSA_KEY_BITS", "1024")], "RSA_KEY_BITS"),
        (&[("ISSUER", "anonymous.cusdeb.com")], "ISSUER"),
        (&[("ISSUER", "https://")], "ISSUER"),
        (
            &[
                ("ALGO", "ES256"),
                (
                    "SECRET_KEY",
                    "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----",
                ),
            ],
            "SECRET_KEY",
        ),
        (&[("MAX_PENDING", "0")], "MAX_PENDING"),
        (&[("CORS_ALLOWED_ORIGINS", "cusdeb.com")], "CORS_ALLOWED_ORIGINS"),
    ];
    for (env, param) in cases {
        let out = run(env, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{env:?}: not one line: {stderr}");
        assert!(stderr.contains(param), "{env:?}: {stderr} does not name {param}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{stderr}"
        );
        assert!(!stderr.contains("s3cr3t-value"), "secret echoed: {stderr}");
    }
    std::fs::remove_file(secret_file).ok();
}

#[test]
fn help_lists_every_parameter_and_version_works() {
    let out = run(&[], &["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for p in cusdeb_anonymous::config::PARAMS {
        assert!(help.contains(p.name), "--help misses {}", p.name);
        if let Some(default) = p.default {
            assert!(
                help.contains(&format!("default {default}")),
                "--help misses the default of {}",
                p.name
            );
        }
    }
    let out = run(&[], &["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("cusdeb-anonymous {}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(run(&[], &["--bogus"]).status.code(), Some(2));
}

#[test]
fn openapi_subcommand_prints_the_committed_spec() {
    let out = run(&[], &["openapi"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        include_str!("../../openapi/openapi.json").trim_end()
    );
}

#[tokio::test]
async fn sigterm_drains_in_flight_requests_and_logs_no_secret_or_token() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let secret = "binary-test-secret-which-must-never-be-logged-0123456789abcdef";
    let child = tokio::process::Command::new(BIN)
        .env_clear()
        .envs([
            ("HOST", "127.0.0.1"),
            ("PORT", &port.to_string()),
            ("ISSUE_DELAY", "1"),
            ("SECRET_KEY", secret),
            ("RUST_LOG", "debug"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "binary did not start");
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
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("no exit")
        .unwrap();
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

#[test]
fn check_config_prints_the_effective_configuration_or_exits_2() {
    let secret = "check-config-secret-that-must-not-be-printed";
    let out = run(&[("ALGO", "HS256"), ("SECRET_KEY", secret)], &["check-config"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for p in cusdeb_anonymous::config::PARAMS {
        assert!(
            p.name == "SECRET_KEY_FILE" || text.contains(p.name),
            "{} missing:\n{text}",
            p.name
        );
    }
    assert!(text.contains("[redacted, 44 bytes]"), "{text}");
    assert!(!text.contains(secret), "secret printed");
    assert!(text.contains("never rotated"), "{text}");

    let out = run(
        &[("ALGO", "ES256"), ("KEY_ROTATION_INTERVAL", "600"), ("TOKEN_TTL", "30")],
        &["check-config"],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("every 600s: the pending key starts signing"), "{text}");
    assert!(
        text.contains("stays published 91s"),
        "TOKEN_TTL + CLOCK_LEEWAY + 1: {text}"
    );
    assert!(text.contains("at most 3 keys"), "{text}");

    let out = run(
        &[
            ("ALGO", "ES256"),
            ("JWKS_MAX_AGE", "900"),
            ("KEY_ROTATION_INTERVAL", "600"),
        ],
        &["check-config"],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1);
    assert!(
        stderr.contains("JWKS_MAX_AGE") && stderr.contains("KEY_ROTATION_INTERVAL"),
        "{stderr}"
    );
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
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
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

/// CPU time (user + system, clock ticks) a process has used.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[tokio::test]
async fn accept_errors_neither_kill_nor_spin_the_server() {
    // 40 descriptors: a few dozen connections exhaust them and accept() fails with EMFILE.
    let (child, base) = start_binary(&[("ISSUE_DELAY", "0"), ("RUST_LOG", "warn")], Some("ulimit -n 40")).await;
    let pid = child.id().unwrap();
    let addr = base.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for _ in 0..80 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = cpu_ticks(pid);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = cpu_ticks(pid) - before;
    assert!(
        used < 40,
        "the server used {used} ticks in 2 s while out of descriptors: spinning"
    );

    drop(held);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let mut recovered = false;
    for _ in 0..50 {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "the server did not recover once descriptors were free");
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let errors: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("cusdeb_anonymous_accept_errors_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(errors >= 1.0, "no accept error was counted");
    let out = child.wait_with_output();
    sigterm(pid);
    let out = tokio::time::timeout(Duration::from_secs(10), out)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let log = String::from_utf8_lossy(&out.stderr);
    let warnings = log.matches("accept failed").count();
    assert!(
        (1..=5).contains(&warnings),
        "one warning per streak of failures, not one per failure: {log}"
    );
}
