//! `KEY_STORE=file:PATH`: the embedded store of one process. The ring is one JSON document,
//! written atomically (a fresh temporary file with a random name, created exclusively, never
//! through a symlink, 0600, fsync, rename, fsync of the directory) and guarded by an exclusive
//! lock on `PATH.lock` held for the process's life, so a second server is refused. The
//! directory must be writable at start. A file that cannot be read or decrypted is an error
//! at start and is never replaced; a file that disappears while the server runs is an error,
//! not an empty ring. `keys list` reads it beside a running server without the lock.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

mod admin;
mod temp;

use temp::TempFile;

use super::crypt::Kek;
use super::record::{self, StoredKey};
use super::{Access, Ring, StoreError};
use crate::clock::Clock;

/// What the file holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct Document {
    /// `cusdeb-anonymous keys 2`: what wrote the file, and which layout.
    format: String,
    /// The ring's algorithm (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    algorithm: Option<String>,
    keys: Vec<StoredKey>,
    /// Kids removed from this store, and when: they never come back (format 2).
    #[serde(default)]
    removed: Vec<Tombstone>,
}

#[derive(serde::Serialize, serde::Deserialize, Clone)]
struct Tombstone {
    kid: String,
    #[serde(with = "time::serde::rfc3339")]
    removed_at: OffsetDateTime,
}

const FORMAT: &str = "cusdeb-anonymous keys 2";
/// Still read; written as [`FORMAT`] at the next change.
const FORMAT_1: &str = "cusdeb-anonymous keys 1";

/// The file store of this process.
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    kek: Option<Arc<Kek>>,
    /// Held open (and locked) for the process's life; `None` when opened to list only.
    _lock: Option<File>,
    /// Serialises this process's writes.
    writer: Mutex<()>,
    /// Whether the file has existed: once it has, its absence is an error.
    existed: AtomicBool,
}

impl FileStore {
    /// Takes the store at `path`. To serve: creates its directory if missing, takes the lock,
    /// checks that the directory can be written, and reads it once to refuse a corrupt or
    /// undecryptable file at start. To list: nothing but a read.
    pub fn open(path: &Path, kek: Option<Arc<Kek>>, access: Access) -> Result<FileStore, StoreError> {
        let mut store = FileStore {
            path: path.to_owned(),
            kek,
            _lock: None,
            writer: Mutex::new(()),
            existed: AtomicBool::new(false),
        };
        if access == Access::ListOnly {
            return Ok(store);
        }
        let dir = directory(path);
        fs::create_dir_all(&dir)
            .map_err(|e| StoreError::config("KEY_STORE", format!("cannot create {}: {e}", dir.display())))?;
        let lock_path = lock_path(path);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| unwritable(&dir, &e))?;
        lock.try_lock().map_err(|e| match e {
            fs::TryLockError::WouldBlock => StoreError::in_use(format!(
                "KEY_STORE {} is in use by another process: stop the server first (one process per file store; `keys list` works beside it; use PostgreSQL for replicas)",
                path.display()
            )),
            fs::TryLockError::Error(e) => {
                StoreError::config("KEY_STORE", format!("cannot lock {}: {e}", lock_path.display()))
            }
        })?;
        store._lock = Some(lock);
        // The directory must take the temporary file every write makes.
        let probe = TempFile::create(path).map_err(|e| unwritable(&dir, &e))?;
        probe.discard();
        store.read_ring(access == Access::Rewrap)?;
        Ok(store)
    }

    /// The ring, every record validated and opened.
    pub fn read(&self) -> Result<Ring, StoreError> {
        Ok(self.read_ring(false)?.0)
    }

    /// The ring and the tombstones; `plaintext_ok` only for `keys rewrap`.
    fn read_ring(&self, plaintext_ok: bool) -> Result<(Ring, Vec<Tombstone>), StoreError> {
        let Some(document) = self.document()? else {
            return Ok((Ring::default(), Vec::new()));
        };
        let removed: HashMap<&str, OffsetDateTime> = document
            .removed
            .iter()
            .map(|t| (t.kid.as_str(), t.removed_at))
            .collect();
        let mut records = Vec::with_capacity(document.keys.len());
        for stored in document.keys {
            if let Some(at) = removed.get(stored.kid.as_str()) {
                return Err(record::malformed(
                    &stored.kid,
                    &format!(
                        "was removed at {at}; a removed key never comes back (the record was restored or replayed)"
                    ),
                ));
            }
            records.push(record::open(stored, self.kek.as_deref(), plaintext_ok)?);
        }
        let algorithm = match document.algorithm.as_deref() {
            Some(name) => Some(record::algorithm("(ring)", name)?),
            None => None,
        };
        Ok((Ring { algorithm, records }, document.removed))
    }

    /// The document on disk; `None` when there is none yet.
    fn document(&self) -> Result<Option<Document>, StoreError> {
        let text = match fs::read(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if self.existed.load(Ordering::Acquire) {
                    return Err(StoreError::config(
                        "KEY_STORE",
                        format!(
                            "{} has disappeared while the server runs; restore it (the keys in memory keep serving until they retire)",
                            self.path.display()
                        ),
                    ));
                }
                return Ok(None);
            }
            Err(e) => return Err(self.corrupt(&e.to_string())),
        };
        let document: Document = serde_json::from_slice(&text).map_err(|e| self.corrupt(&e.to_string()))?;
        if document.format != FORMAT && document.format != FORMAT_1 {
            return Err(self.corrupt(&format!(
                "format {:?} is not one this binary knows ({FORMAT:?}); a newer binary may have written it",
                document.format
            )));
        }
        self.existed.store(true, Ordering::Release);
        Ok(Some(document))
    }

    /// Applies `change` to the ring on disk at `now` (read once the write lock is held) and
    /// writes it back if it changed anything. Kids that left are remembered.
    pub fn update<F>(&self, clock: Clock, change: F) -> Result<Ring, StoreError>
    where
        F: FnOnce(&mut Ring, OffsetDateTime) -> bool,
    {
        let _writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let (mut ring, mut removed) = self.read_ring(false)?;
        let now = clock.now();
        let before: Vec<String> = ring.records.iter().map(|r| r.kid.clone()).collect();
        if change(&mut ring, now) {
            for kid in before {
                if !ring.records.iter().any(|r| r.kid == kid) {
                    removed.push(Tombstone { kid, removed_at: now });
                }
            }
            self.write(&ring, removed)?;
        }
        Ok(ring)
    }

    fn write(&self, ring: &Ring, removed: Vec<Tombstone>) -> Result<(), StoreError> {
        let document = Document {
            format: FORMAT.into(),
            algorithm: ring.algorithm.map(|a| a.name().to_owned()),
            keys: ring
                .records
                .iter()
                .map(|r| record::seal(r, self.kek.as_deref()))
                .collect(),
            removed,
        };
        let bytes = serde_json::to_vec_pretty(&document).map_err(|e| StoreError::passing(e.to_string()))?;
        let failed = |e: std::io::Error| StoreError::passing(format!("cannot write {}: {e}", self.path.display()));
        let mut tmp = TempFile::create(&self.path).map_err(failed)?;
        let written = tmp
            .file
            .write_all(&bytes)
            .and_then(|()| tmp.file.sync_all())
            .and_then(|()| fs::rename(&tmp.path, &self.path));
        if let Err(e) = written {
            tmp.discard();
            return Err(failed(e));
        }
        tmp.renamed = true;
        self.existed.store(true, Ordering::Release);
        File::open(directory(&self.path))
            .and_then(|d| d.sync_all())
            .map_err(failed)
    }

    fn corrupt(&self, why: &str) -> StoreError {
        StoreError::config(
            "KEY_STORE",
            format!(
                "cannot read the key store {} ({why}); it is left as it is",
                self.path.display()
            ),
        )
    }
}

/// `PATH.lock`: the store's name with `.lock` appended.
fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn unwritable(dir: &Path, e: &std::io::Error) -> StoreError {
    StoreError::config(
        "KEY_STORE",
        format!(
            "the file store's directory {} cannot be written ({e}); the store needs it writable",
            dir.display()
        ),
    )
}

pub(super) fn directory(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_is_path_dot_lock() {
        assert_eq!(lock_path(Path::new("/d/keys.json")), Path::new("/d/keys.json.lock"));
        assert_eq!(lock_path(Path::new("x.lock")), Path::new("x.lock.lock"));
    }
}
