//! `cusdeb-anonymous keys …`: the operator's view of the configured key store, with the same
//! environment as the server. Running processes follow a change within one sync.
//!
//! - `keys list [--json]`: kid, algorithm, state, times and sealing key of every stored key.
//!   Public facts only: no `KEY_ENCRYPTION_KEY` needed, and it works beside a running server.
//! - `keys rotate`: the pending key signs as soon as that is safe for every replica.
//! - `keys revoke KID`: the key is removed now (compromise); the pending key takes over. It
//!   breaks invariant 1 on purpose, and says so.
//! - `keys rewrap`: every stored key sealed again under the first `KEY_ENCRYPTION_KEY`.
//! - `keys new-encryption-key`: a fresh base64url key for `KEY_ENCRYPTION_KEY`.
//!
//! Exit status: 0 done; 2 for a configuration or content error (the same on every store);
//! 1 when the store is out of reach or the change cannot be made now.

use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use super::{config_error, fail, print};
use crate::config::Config;
use crate::keyring::{KeyRecord, KeyState, later, plan};
use crate::store::crypt::Kek;
use crate::store::{Access, CALL_TIMEOUT, KeyStore, Listed, Ring, StoreError, StoreLocation};
use crate::zone::Zone;

const USAGE: &str = "usage: cusdeb-anonymous keys list [--json] | keys rotate | keys revoke KID | keys rewrap | keys new-encryption-key";

/// Runs `keys ARGS…`.
pub fn run(args: &[&str]) -> ExitCode {
    let command = match args {
        ["list"] => Command::List { json: false },
        ["list", "--json"] => Command::List { json: true },
        ["rotate"] => Command::Rotate,
        ["revoke", kid] => Command::Revoke(kid.to_string()),
        ["rewrap"] => Command::Rewrap,
        ["new-encryption-key"] => return print(&format!("{}\n", Kek::generate())),
        _ => return fail(USAGE, 2),
    };
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => return config_error(&e),
    };
    if config.store.location == StoreLocation::Memory {
        return fail(
            "KEY_STORE=memory: keys live only inside the running process; there is nothing outside it to act on (set KEY_STORE to the store the issuer uses)",
            2,
        );
    }
    let access = match command {
        Command::List { .. } => Access::ListOnly,
        Command::Rewrap => Access::Rewrap,
        _ => Access::Serve,
    };
    match with_store(&config, access, async |store| command.run(&config, store).await) {
        Ok(text) => print(&text),
        Err(code) => code,
    }
}

/// Opens the store `config` names with `access`, runs `work` on it, and turns a store error
/// into its one line and exit status.
pub(super) fn with_store<T>(
    config: &Config,
    access: Access,
    work: impl AsyncFnOnce(&KeyStore) -> Result<T, StoreError>,
) -> Result<T, ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(&format!("cannot start the runtime: {e}"), 1))?;
    let result = runtime.block_on(async {
        let store = KeyStore::open(&config.store, access)?;
        work(&store).await
    });
    result.map_err(|e| fail(&e.to_string(), e.exit_status()))
}

enum Command {
    List { json: bool },
    Rotate,
    Revoke(String),
    Rewrap,
}

/// One key in `keys list`.
#[derive(Serialize)]
struct Shown {
    kid: String,
    algorithm: String,
    state: &'static str,
    sealed_by: String,
    published_at: String,
    activates_at: String,
    retires_at: String,
    removed_at: String,
}

/// `keys list --json`.
#[derive(Serialize)]
struct ListJson {
    ring_algorithm: Option<&'static str>,
    keys: Vec<Shown>,
}

impl Command {
    async fn run(self, config: &Config, store: &KeyStore) -> Result<String, StoreError> {
        let now = crate::clock::to_millis(OffsetDateTime::now_utc());
        let schedule = config.schedule();
        let zone = &config.time_zone;
        match self {
            Command::List { json } => {
                let (algorithm, listed) = bounded(store.list()).await?;
                let shown: Vec<Shown> = listed.iter().map(|k| shown(k, now, zone)).collect();
                let ring_algorithm = algorithm.map(|a| a.name());
                if json {
                    let doc = ListJson {
                        ring_algorithm,
                        keys: shown,
                    };
                    return Ok(serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n");
                }
                let mut out = format!("ring algorithm: {}\n", ring_algorithm.unwrap_or("not set yet"));
                out.push_str(&format!(
                    "{:<44} {:<6} {:<8} {:<12} {:<26} {:<26} {:<26}\n",
                    "KID", "ALG", "STATE", "SEALED BY", "ACTIVATES", "RETIRES", "REMOVED"
                ));
                for k in &shown {
                    out.push_str(&format!(
                        "{:<44} {:<6} {:<8} {:<12} {:<26} {:<26} {:<26}\n",
                        k.kid, k.algorithm, k.state, k.sealed_by, k.activates_at, k.retires_at, k.removed_at
                    ));
                }
                Ok(out)
            }
            Command::Rotate => {
                // A replica that has not read the change yet keeps signing with the old key
                // for up to one sync: the new key takes over no earlier than that.
                let propagation = match store.is_shared() {
                    true => config.store.sync_interval + Duration::from_secs(1),
                    false => Duration::ZERO,
                };
                let not_before = later(now, propagation);
                let (_, rotated) = bounded(decide(store, move |records, now| {
                    plan::rotate(records, now, not_before.max(now), &schedule)
                }))
                .await?;
                let (kid, at) = rotated.map_err(|e| StoreError::passing(e.to_string()))?;
                Ok(format!(
                    "key {kid} signs from {} (published at least JWKS_MAX_AGE before, and every replica has synced by then); running processes follow within KEY_STORE_SYNC_INTERVAL and publish the next pending key when it activates\n",
                    zone.rfc3339(at)
                ))
            }
            Command::Revoke(kid) => {
                let target = kid.clone();
                let (records, revoked) = bounded(decide(store, move |records, now| {
                    plan::revoke(records, &target, now, &schedule)
                }))
                .await?;
                let was = revoked.map_err(|e| StoreError::passing(e.to_string()))?;
                let mut out = format!(
                    "revoked key {kid} (it was {}): it is gone from the store and will never come back.\n\
                     WARNING: revoking breaks the issuer's promise that every token verifies until it expires, on purpose: tokens signed with {kid} stop verifying as soon as verifiers refresh the JWKS (at most JWKS_MAX_AGE). Replicas drop it within KEY_STORE_SYNC_INTERVAL; a replica cut off from the store stops signing within KEY_STORE_MAX_STALENESS.\n",
                    was.map_or("removed already", KeyState::name)
                );
                if was == Some(KeyState::Active) {
                    match plan::active(&records, now) {
                        Some(next) => out.push_str(&format!("key {} signs from now on\n", next.kid)),
                        None => out.push_str("no pending key was there to take over: a running process makes a new key, which signs at once\n"),
                    }
                }
                Ok(out)
            }
            Command::Rewrap => {
                let changed = bounded(store.rewrap()).await?;
                Ok(format!(
                    "every stored key is sealed under the first KEY_ENCRYPTION_KEY ({} re-sealed from another key, plaintext or the first format); the other keys in KEY_ENCRYPTION_KEY can now be removed\n",
                    changed
                ))
            }
        }
    }
}

/// `work`, for at most a store call's time-out (and a second).
async fn bounded<T>(work: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    match tokio::time::timeout(CALL_TIMEOUT + Duration::from_secs(1), work).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::passing("the key store did not answer".into())),
    }
}

/// Runs `change` in the store's transaction at the store's `now`; the records afterwards and
/// what `change` said. The store writes only when `change` succeeded.
async fn decide<T, E>(
    store: &KeyStore,
    change: impl FnOnce(&mut Vec<KeyRecord>, OffsetDateTime) -> Result<T, E> + Send + 'static,
) -> Result<(Vec<KeyRecord>, Result<T, E>), StoreError>
where
    T: Send + 'static,
    E: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let ring: Ring = store
        .update(crate::clock::Clock::System, move |ring, now| {
            let outcome = change(&mut ring.records, now);
            let changed = outcome.is_ok();
            let _ = tx.send(outcome);
            changed
        })
        .await?;
    let outcome = rx
        .try_recv()
        .map_err(|_| StoreError::passing("the store did not run the change".to_owned()))?;
    Ok((ring.records, outcome))
}

fn shown(listed: &Listed, now: OffsetDateTime, zone: &Zone) -> Shown {
    let t = &listed.times;
    Shown {
        kid: listed.kid.clone(),
        algorithm: listed.algorithm.clone(),
        state: t.state(now).map_or("removed", KeyState::name),
        sealed_by: listed.sealed_by.clone(),
        published_at: zone.rfc3339(t.published_at),
        activates_at: zone.rfc3339(t.activates_at),
        retires_at: zone.rfc3339(t.retires_at),
        removed_at: zone.rfc3339(t.removed_at),
    }
}
