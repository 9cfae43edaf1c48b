//! The real binary: configuration errors, --help/--version, SIGTERM, and what it logs.

use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_cusdeb-anonymous");

/// Runs the binary with `env` (and nothing else from the parent's configuration).
fn run(env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.wait_with_output().unwrap()
}

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
                ("KEY_ROTATION_INTERVAL", "10"),
                ("JWKS_MAX_AGE", "5"),
                ("TOKEN_TTL", "600"),
            ],
            "KEY_ROTATION_INTERVAL",
        ),
        (&[("JWKS_MAX_AGE", "-5")], "JWKS_MAX_AGE"),
        (&[("JWKS_MAX_AGE", "21600")], "JWKS_MAX_AGE"),
        (&[("CLOCK_LEEWAY", "a minute")], "CLOCK_LEEWAY"),
        (&[("RSA_KEY_BITS", "1024")], "RSA_KEY_BITS"),
        (&[("ISSUER", "anonymous.cusdeb.com")], "ISSUER"),
        (&[("ISSUER", "https://")], "ISSUER"),
        (&[("AUDIENCE", "")], "AUDIENCE"),
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
    let pid = child.id().unwrap().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
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
