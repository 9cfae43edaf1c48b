//! `KEY_STORE=file:PATH`: the embedded store of one process. The ring is one JSON document,
//! written atomically (a 0600 temporary file in the same directory, fsync, rename, fsync of
//! the directory) and guarded by an exclusive lock on `PATH.lock` held for the process's
//! life, so a second process is refused. A file that cannot be read or decrypted is an error
//! at start and is never replaced.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::StoreError;
use super::crypt::Kek;
use super::record::{self, StoredKey};
use crate::keyring::KeyRecord;

/// What the file holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct Document {
    /// `cusdeb-anonymous keys 1`: what wrote the file, and which layout.
    format: String,
    keys: Vec<StoredKey>,
}

const FORMAT: &str = "cusdeb-anonymous keys 1";

/// The file store of this process.
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    kek: Option<Arc<Kek>>,
    /// Held open (and locked) for the process's life; also serialises this process's writes.
    lock: Mutex<File>,
}

impl FileStore {
    /// Takes the store at `path`: creates its directory if missing, takes the lock, and reads
    /// it once to refuse a corrupt or undecryptable file at start.
    pub fn open(path: &Path, kek: Option<Arc<Kek>>) -> Result<FileStore, StoreError> {
        let dir = directory(path);
        fs::create_dir_all(&dir)
            .map_err(|e| StoreError::config("KEY_STORE", format!("cannot create {}: {e}", dir.display())))?;
        let lock_path = path.with_extension("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| StoreError::config("KEY_STORE", format!("cannot open {}: {e}", lock_path.display())))?;
        lock.try_lock().map_err(|e| match e {
            fs::TryLockError::WouldBlock => StoreError::config(
                "KEY_STORE",
                format!(
                    "{} is in use by another process (one process per file store; use PostgreSQL for replicas)",
                    path.display()
                ),
            ),
            fs::TryLockError::Error(e) => {
                StoreError::config("KEY_STORE", format!("cannot lock {}: {e}", lock_path.display()))
            }
        })?;
        let store = FileStore {
            path: path.to_owned(),
            kek,
            lock: Mutex::new(lock),
        };
        store.read()?;
        Ok(store)
    }

    /// Every record; an absent file is an empty ring.
    pub fn read(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let text = match fs::read(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.corrupt(&e.to_string())),
        };
        let document: Document = serde_json::from_slice(&text).map_err(|e| self.corrupt(&e.to_string()))?;
        if document.format != FORMAT {
            return Err(self.corrupt(&format!("unknown format {:?}", document.format)));
        }
        document
            .keys
            .into_iter()
            .map(|stored| record::open(stored, self.kek.as_deref()))
            .collect()
    }

    /// Applies `change` to the records on disk and writes them back if it changed anything.
    pub fn update<F>(&self, change: F) -> Result<Vec<KeyRecord>, StoreError>
    where
        F: FnOnce(&mut Vec<KeyRecord>) -> bool,
    {
        let _writer = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut records = self.read()?;
        if change(&mut records) {
            self.write(&records)?;
        }
        Ok(records)
    }

    fn write(&self, records: &[KeyRecord]) -> Result<(), StoreError> {
        let document = Document {
            format: FORMAT.into(),
            keys: records.iter().map(|r| record::seal(r, self.kek.as_deref())).collect(),
        };
        let bytes = serde_json::to_vec_pretty(&document).map_err(|e| StoreError::io(e.to_string()))?;
        let tmp = self.path.with_extension(format!("tmp.{}", std::process::id()));
        let failed = |e: std::io::Error| StoreError::io(format!("cannot write {}: {e}", self.path.display()));
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(failed)?;
        file.write_all(&bytes).and_then(|()| file.sync_all()).map_err(failed)?;
        drop(file);
        fs::rename(&tmp, &self.path).map_err(failed)?;
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

fn directory(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    }
}
