//! Keys that outlive the process: the file store and PostgreSQL keep the ring across restarts
//! (the last kid before is the first after, and old tokens verify); the file store is 0600,
//! sealed, one process at a time, and a corrupt file is refused and left as it is.

use std::os::unix::fs::PermissionsExt;

use cusdeb_anonymous::startup::Application;
use serde_json::Value;

use crate::helpers::binary::run;
use crate::helpers::postgres::fresh_database;
use crate::helpers::verify::{split, verify_jwk};
use crate::helpers::{TestApp, config, spawn_app};

const KEK: &str = "q2ovCyDO3HKLdnCEC-dOa0MKuMgbzFUAfPcc0BEBWgQ";

/// A temporary directory for one test's file store.
fn store_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cusdeb-store-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

async fn stop(mut app: TestApp) {
    app.trigger_stop();
    app.join().await.unwrap();
}

fn find<'a>(jwks: &'a Value, kid: &str) -> Option<&'a Value> {
    jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid)
}

/// Issue a token, restart, and check: ready at once, same signing kid, the old token verifies
/// against the new process's JWKS.
async fn restart_keeps_the_ring(env: &[(&str, &str)]) {
    let app = spawn_app(env).await;
    app.wait_ready().await;
    let before: Value = app.wait_pending().await;
    let token = app.token().await;
    let kid = split(&token).header["kid"].as_str().unwrap().to_owned();
    assert_eq!(before["active_kid"], kid);
    stop(app).await;

    let app = spawn_app(env).await;
    let ready = app.get("/readyz").await;
    assert_eq!(
        ready.status(),
        200,
        "ready from the first request: the stored key signs"
    );
    let after: Value = ready.json().await.unwrap();
    assert_eq!(
        after["active_kid"], kid,
        "the last kid before the restart signs first after it"
    );
    assert_eq!(after["next_kid"], before["next_kid"], "no new key at start");
    let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    verify_jwk(&token, find(&jwks, &kid).expect("old kid published")).unwrap();
    assert_eq!(split(&app.token().await).header["kid"], kid);
    stop(app).await;
}

#[tokio::test]
async fn file_store_keeps_the_ring_across_restarts() {
    let dir = store_dir("restart");
    let store = format!("file:{}", dir.join("keys.json").display());
    restart_keeps_the_ring(&[("ALGO", "ES256"), ("KEY_STORE", &store), ("KEY_ENCRYPTION_KEY", KEK)]).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn postgres_store_keeps_the_ring_across_restarts() {
    let Some(db) = fresh_database("postgres_store_keeps_the_ring_across_restarts").await else {
        return;
    };
    let url = db.url.clone();
    restart_keeps_the_ring(&[("ALGO", "EdDSA"), ("KEY_STORE", &url), ("KEY_ENCRYPTION_KEY", KEK)]).await;
}

#[tokio::test]
async fn file_store_is_private_sealed_single_and_never_replaced() {
    let dir = store_dir("file");
    let path = dir.join("keys.json");
    let store = format!("file:{}", path.display());
    let env = [
        ("ALGO", "ES256"),
        ("KEY_STORE", store.as_str()),
        ("KEY_ENCRYPTION_KEY", KEK),
    ];
    let app = spawn_app(&env).await;
    app.wait_pending().await;

    // 0600, sealed: no PKCS#8 (base64url of DER starts "MI" or "MC"), every key marked sealed.
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for key in doc["keys"].as_array().unwrap() {
        assert_eq!(key["encrypted"], true);
        let private = key["private_key"].as_str().unwrap();
        assert!(
            !private.starts_with("MI") && !private.starts_with("MC"),
            "plain DER stored"
        );
    }

    // A second process is refused while the first holds the store.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let refused = Application::with_listener(config(&env), listener)
        .err()
        .expect("second process accepted");
    assert!(
        refused.to_string().contains("in use") && refused.to_string().contains("stop the server"),
        "{refused}"
    );
    // `keys list` reads beside the running server, public facts only: no encryption key needed.
    for kek in [KEK, ""] {
        let out = run(
            &[("ALGO", "ES256"), ("KEY_STORE", &store), ("KEY_ENCRYPTION_KEY", kek)],
            &["keys", "list"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let listed = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            listed.lines().count(),
            4,
            "ring algorithm + header + active + pending:\n{listed}"
        );
        assert!(listed.starts_with("ring algorithm: ES256"), "{listed}");
    }
    // Other commands need the server stopped, and say so (exit 2, as for PostgreSQL's errors).
    let out = run(&env, &["keys", "rotate"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("stop the server") && !stderr.contains("invalid"),
        "{stderr}"
    );
    stop(app).await;

    // Wrong or missing encryption key: refused, naming KEY_ENCRYPTION_KEY, never echoing it.
    let other = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    for kek in [other, ""] {
        let out = run(
            &[("ALGO", "ES256"), ("KEY_STORE", &store), ("KEY_ENCRYPTION_KEY", kek)],
            &["keys", "rotate"],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("KEY_ENCRYPTION_KEY") && !stderr.contains(other) && stderr.lines().count() == 1,
            "{stderr}"
        );
    }
    let out = run(&env, &["keys", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let listed = String::from_utf8_lossy(&out.stdout);
    let sealed_by: Vec<&str> = listed
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().nth(3).unwrap())
        .collect();
    assert!(
        sealed_by.len() == 2 && sealed_by.iter().all(|f| f.len() == 11 && *f == sealed_by[0]),
        "every key names the fingerprint that sealed it: {listed}"
    );

    // A corrupt file is refused at start and left as it is.
    std::fs::write(&path, b"{\"format\": \"cusdeb-anonymous keys 1\", \"keys\": [tr").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let refused = Application::with_listener(config(&env), listener)
        .err()
        .expect("corrupt store accepted");
    assert!(
        refused.to_string().contains("KEY_STORE") && refused.to_string().contains("left as it is"),
        "{refused}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"{\"format\": \"cusdeb-anonymous keys 1\", \"keys\": [tr"
    );
    let _ = std::fs::remove_dir_all(dir);
}
