//! The file store's failure paths, with real processes: a directory that cannot be written
//! (exit 2 at start; at runtime one key generated and kept, writes backed off, then stored),
//! a file deleted under a running server, hostile records (far-future times, an altered
//! algorithm, a plaintext key under a key-encryption key, a removed key brought back), all
//! refused by kid with exit 2 — never a panic, never a replaced file.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::binary::{as_nobody, run, spawn_logged, start_refused};
use crate::helpers::{TestApp, spawn_app};

const KEK: &str = "q2ovCyDO3HKLdnCEC-dOa0MKuMgbzFUAfPcc0BEBWgQ";

fn store_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cusdeb-fail-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fast(store: &str) -> Vec<(&str, &str)> {
    vec![
        ("ALGO", "ES256"),
        ("KEY_STORE", store),
        ("KEY_ROTATION_INTERVAL", "2"),
        ("JWKS_MAX_AGE", "1"),
        ("TOKEN_TTL", "1"),
        ("CLOCK_LEEWAY", "1"),
    ]
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn count(lines: &[String], what: &str) -> usize {
    lines.iter().filter(|l| l.contains(what)).count()
}

async fn stop(mut app: TestApp) {
    app.trigger_stop();
    app.join().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_that_cannot_be_written_exits_2_at_start_and_a_failed_write_keeps_its_key() {
    // At start: exit 2 naming KEY_STORE and the directory.
    let dir = store_dir("readonly");
    chmod(&dir, 0o555);
    let store = format!("file:{}", dir.join("keys.json").display());
    let prefix = as_nobody();
    let (mut child, _, lines) = spawn_logged(&[("ALGO", "ES256"), ("KEY_STORE", &store)], prefix);
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stderr = lines.lock().unwrap().join("\n");
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.lines().count() == 1 && stderr.contains("KEY_STORE") && stderr.contains(&*dir.to_string_lossy()),
        "{stderr}"
    );

    // At runtime: the directory turns read-only after the first keys were stored.
    chmod(&dir, 0o755);
    if !prefix.is_empty() {
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    }
    let (_child, base, lines) = spawn_logged(&fast(&store), prefix);
    let client = reqwest::Client::new();
    let mut pending = None;
    for _ in 0..200 {
        if let Ok(resp) = client.get(format!("{base}/readyz")).send().await {
            let body: Value = resp.json().await.unwrap();
            if body["next_kid"].is_string() {
                pending = Some(body);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(pending.is_some(), "no pending key");
    chmod(&dir, 0o555);
    tokio::time::sleep(Duration::from_secs(8)).await;
    let (generated, failed, after_failure) = {
        let lines = lines.lock().unwrap();
        let first_failure = lines.iter().position(|l| l.contains("key store write failed"));
        let after = first_failure.map_or(0, |i| count(&lines[i..], "key generated"));
        (
            count(&lines, "key generated"),
            count(&lines, "key store write failed"),
            after,
        )
    };
    assert!(failed >= 2, "the write was not retried: {failed}");
    assert!(failed <= 8, "{failed} failed writes in 8 s: not backing off");
    assert_eq!(after_failure, 0, "a key was generated again after a failed write");
    assert!(generated <= 4, "{generated} keys generated");

    // Writable again: the kept key is stored and published, within the backoff.
    chmod(&dir, 0o755);
    let kept = {
        let lines = lines.lock().unwrap();
        let line = lines
            .iter()
            .rev()
            .find(|l| l.contains("key generated"))
            .unwrap()
            .clone();
        line.split("kid=")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .trim_matches('"')
            .to_owned()
    };
    let started = Instant::now();
    let mut stored = false;
    while started.elapsed() < Duration::from_secs(20) {
        let text = std::fs::read_to_string(dir.join("keys.json")).unwrap_or_default();
        if text.contains(&kept) {
            stored = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(stored, "the kept key {kid} was not stored", kid = kept);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_file_deleted_under_a_running_server_is_an_error_not_an_empty_ring() {
    let dir = store_dir("deleted");
    let path = dir.join("keys.json");
    let store = format!("file:{}", path.display());
    let app = spawn_app(&fast(&store)).await;
    app.wait_pending().await;
    assert!(dir.join("keys.json.lock").exists(), "the lock is PATH.lock");
    std::fs::remove_file(&path).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await; // past a rotation and its write
    assert!(!path.exists(), "a new ring was written over the lost one");
    let errors = app.metric("cusdeb_anonymous_key_store_errors_total").await;
    assert!(errors >= 1.0, "not counted");
    stop(app).await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Rewrites the stored document with `edit`.
fn edit(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut doc);
    std::fs::write(path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
}

/// The server refuses to start with exit 2, one line naming `param` and `kid`.
async fn refused(env: &[(&str, &str)], param: &str, kid: &str, why: &str) -> Duration {
    let (code, stderr, took) = start_refused(env).await;
    assert_eq!(code, Some(2), "{why}: {stderr}");
    assert!(
        stderr.lines().count() == 1 && stderr.contains(param) && stderr.contains(kid) && stderr.contains(why),
        "expected one line naming {param}, {kid}, {why}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    took
}

#[tokio::test]
async fn hostile_file_records_are_refused_by_kid_and_plaintext_is_sealed_only_on_request() {
    let dir = store_dir("hostile");
    let path = dir.join("keys.json");
    let store = format!("file:{}", path.display());
    let sealed = [
        ("ALGO", "ES256"),
        ("KEY_STORE", store.as_str()),
        ("KEY_ENCRYPTION_KEY", KEK),
    ];
    let app = spawn_app(&sealed).await;
    let ready = app.wait_pending().await;
    stop(app).await;
    let kid = ready["active_kid"].as_str().unwrap().to_owned();
    let pending = ready["next_kid"].as_str().unwrap().to_owned();
    let original = std::fs::read(&path).unwrap();
    let key_index = |doc: &Value, kid: &str| {
        doc["keys"]
            .as_array()
            .unwrap()
            .iter()
            .position(|k| k["kid"] == kid)
            .unwrap()
    };

    // A far-future time: refused by kid (it used to panic in the schedule's arithmetic).
    edit(&path, |doc| {
        let i = key_index(doc, &kid);
        doc["keys"][i]["retires_at"] = "9999-12-31T00:00:00Z".into();
        doc["keys"][i]["removed_at"] = "9999-12-31T00:00:00Z".into();
    });
    let far = refused(&sealed, "KEY_STORE", &kid, "outside").await;
    assert_eq!(
        run(&sealed, &["check-config"]).status.code(),
        Some(2),
        "check-config fails too"
    );

    // The sealed key passed off as another algorithm: the binding refuses it.
    std::fs::write(&path, &original).unwrap();
    edit(&path, |doc| {
        let i = key_index(doc, &kid);
        doc["keys"][i]["algorithm"] = "ES384".into();
    });
    let altered = refused(&sealed, "KEY_STORE", &kid, "altered").await;

    // A removed key brought back: revoked (the server stopped), then its saved record replayed.
    std::fs::write(&path, &original).unwrap();
    let saved: Value = {
        let doc: Value = serde_json::from_slice(&original).unwrap();
        doc["keys"][key_index(&doc, &pending)].clone()
    };
    let out = run(&sealed, &["keys", "revoke", &pending]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    edit(&path, |doc| doc["keys"].as_array_mut().unwrap().push(saved));
    let replayed = refused(&sealed, "KEY_STORE", &pending, "never comes back").await;

    // A plaintext key where a key-encryption key is set: refused, sealed by `keys rewrap`.
    let plain_dir = store_dir("plaintext");
    let plain_store = format!("file:{}", plain_dir.join("keys.json").display());
    let plain = [("ALGO", "ES256"), ("KEY_STORE", plain_store.as_str())];
    let app = spawn_app(&plain).await;
    let plain_kid = app.wait_pending().await["active_kid"].as_str().unwrap().to_owned();
    stop(app).await;
    let with_kek = [
        ("ALGO", "ES256"),
        ("KEY_STORE", plain_store.as_str()),
        ("KEY_ENCRYPTION_KEY", KEK),
    ];
    let plaintext = refused(&with_kek, "KEY_ENCRYPTION_KEY", &plain_kid, "unencrypted").await;
    let out = run(&with_kek, &["keys", "rewrap"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 re-sealed"));
    let out = run(&with_kek, &["check-config"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("decryptable: 2 keys"));
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "FIGURES exit 2 at start (file store): far-future time {far:?}, altered algorithm {altered:?}, replayed key {replayed:?}, plaintext under a key {plaintext:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(plain_dir);
}
