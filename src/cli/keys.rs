//! `cusdeb-anonymous keys …`: the operator's view of the configured key store, with the same
//! environment as the server. Running processes follow a change within one sync.
//!
//! - `keys list [--json]`: kid, algorithm, state and times of every stored key.
//! - `keys rotate`: the pending key signs as soon as it has been published long enough.
//! - `keys revoke KID`: the key is removed now (compromise); the pending key takes over.
//! - `keys new-encryption-key`: a fresh base64url key for `KEY_ENCRYPTION_KEY`.

use std::process::ExitCode;

use serde::Serialize;
use time::OffsetDateTime;

use super::{config_error, fail, print};
use crate::config::Config;
use crate::keyring::{KeyRecord, KeyState, plan};
use crate::store::crypt::Kek;
use crate::store::{KeyStore, StoreLocation};
use crate::zone::Zone;

const USAGE: &str =
    "usage: cusdeb-anonymous keys list [--json] | keys rotate | keys revoke KID | keys new-encryption-key";

/// Runs `keys ARGS…`.
pub fn run(args: &[&str]) -> ExitCode {
    let command = match args {
        ["list"] => Command::List { json: false },
        ["list", "--json"] => Command::List { json: true },
        ["rotate"] => Command::Rotate,
        ["revoke", kid] => Command::Revoke(kid.to_string()),
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
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the runtime: {e}"), 1),
    };
    let store = match runtime.block_on(async { KeyStore::open(&config.store) }) {
        Ok(store) => store,
        Err(e) => return fail(&e.to_string(), 2),
    };
    match runtime.block_on(command.run(&config, &store)) {
        Ok(text) => print(&text),
        Err(line) => fail(&line, 1),
    }
}

enum Command {
    List { json: bool },
    Rotate,
    Revoke(String),
}

/// One key in `keys list`.
#[derive(Serialize)]
struct Listed {
    kid: String,
    algorithm: &'static str,
    state: &'static str,
    published_at: String,
    activates_at: String,
    retires_at: String,
    removed_at: String,
}

impl Command {
    async fn run(self, config: &Config, store: &KeyStore) -> Result<String, String> {
        let now = crate::rotation::clock::to_millis(OffsetDateTime::now_utc());
        let schedule = config.schedule();
        let zone = &config.time_zone;
        match self {
            Command::List { json } => {
                let records = store.load().await.map_err(|e| e.to_string())?;
                let listed: Vec<Listed> = records.iter().map(|r| listed(r, now, zone)).collect();
                if json {
                    return serde_json::to_string_pretty(&listed)
                        .map(|s| s + "\n")
                        .map_err(|e| e.to_string());
                }
                let mut out = format!(
                    "{:<44} {:<6} {:<8} {:<26} {:<26} {:<26}\n",
                    "KID", "ALG", "STATE", "ACTIVATES", "RETIRES", "REMOVED"
                );
                for k in &listed {
                    out.push_str(&format!(
                        "{:<44} {:<6} {:<8} {:<26} {:<26} {:<26}\n",
                        k.kid, k.algorithm, k.state, k.activates_at, k.retires_at, k.removed_at
                    ));
                }
                Ok(out)
            }
            Command::Rotate => {
                let rotated = decide(store, move |records| plan::rotate(records, now, &schedule))
                    .await?
                    .1;
                let (kid, at) = rotated.map_err(|e| e.to_string())?;
                Ok(format!(
                    "key {kid} signs from {} (published at least JWKS_MAX_AGE before); running processes follow within KEY_STORE_SYNC_INTERVAL and publish the next pending key when it activates\n",
                    zone.rfc3339(at)
                ))
            }
            Command::Revoke(kid) => {
                let target = kid.clone();
                let (records, revoked) =
                    decide(store, move |records| plan::revoke(records, &target, now, &schedule)).await?;
                let was = revoked.map_err(|e| e.to_string())?;
                let mut out = format!(
                    "revoked key {kid} (it was {}): it is gone from the store; running processes drop it from the JWKS within KEY_STORE_SYNC_INTERVAL, and tokens signed with it stop verifying once verifiers refresh the JWKS (at most JWKS_MAX_AGE)\n",
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
        }
    }
}

/// Runs `change` in the store's transaction; the records afterwards and what `change` said.
/// The store writes only when `change` succeeded.
async fn decide<T, E>(
    store: &KeyStore,
    change: impl FnOnce(&mut Vec<KeyRecord>) -> Result<T, E> + Send + 'static,
) -> Result<(Vec<KeyRecord>, Result<T, E>), String>
where
    T: Send + 'static,
    E: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let records = store
        .update(move |records| {
            let outcome = change(records);
            let changed = outcome.is_ok();
            let _ = tx.send(outcome);
            changed
        })
        .await
        .map_err(|e| e.to_string())?;
    let outcome = rx
        .try_recv()
        .map_err(|_| "the store did not run the change".to_owned())?;
    Ok((records, outcome))
}

fn listed(record: &KeyRecord, now: OffsetDateTime, zone: &Zone) -> Listed {
    Listed {
        kid: record.kid.clone(),
        algorithm: record.algorithm.name(),
        state: record.times.state(now).map_or("removed", KeyState::name),
        published_at: zone.rfc3339(record.times.published_at),
        activates_at: zone.rfc3339(record.times.activates_at),
        retires_at: zone.rfc3339(record.times.retires_at),
        removed_at: zone.rfc3339(record.times.removed_at),
    }
}
