//! The file store's temporary file: a random name beside the store, created exclusively (an
//! existing file or a symlink at that name is an error, never followed or truncated), 0600 on
//! the open descriptor, removed unless renamed into place.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::directory;

/// A temporary file beside the store: a random name, created exclusively (an existing file or
/// a symlink at that name is an error, never followed), 0600 on the open descriptor. Removed
/// when dropped unless renamed.
pub struct TempFile {
    pub path: PathBuf,
    pub file: File,
    pub renamed: bool,
}

impl TempFile {
    pub fn create(store: &Path) -> std::io::Result<TempFile> {
        let random = getrandom::u64().map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut name = OsString::from(".");
        name.push(store.file_name().unwrap_or_default());
        name.push(format!(".{random:016x}.tmp"));
        TempFile::create_at(directory(store).join(name))
    }

    fn create_at(path: PathBuf) -> std::io::Result<TempFile> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)?;
        let tmp = TempFile {
            path,
            file,
            renamed: false,
        };
        tmp.file.set_permissions(fs::Permissions::from_mode(0o600))?;
        Ok(tmp)
    }

    pub fn discard(self) {}
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_files_are_fresh_private_and_never_follow_a_symlink() {
        let dir = std::env::temp_dir().join(format!("cusdeb-tmpfile-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let store = dir.join("keys.json");
        let (a, b) = (TempFile::create(&store).unwrap(), TempFile::create(&store).unwrap());
        assert_ne!(a.path, b.path, "random names");
        let mode = fs::metadata(&a.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let path = a.path.clone();
        drop(a);
        assert!(!path.exists(), "removed unless renamed");
        drop(b);
        // Whatever sits at the name — a file, a symlink to elsewhere — is an error, never
        // truncated or followed.
        let target = dir.join("target");
        fs::write(&target, b"untouched").unwrap();
        let link = dir.join(".keys.json.fixed.tmp");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(TempFile::create_at(link.clone()).is_err());
        assert_eq!(fs::read(&target).unwrap(), b"untouched");
        assert!(
            fs::symlink_metadata(&link).unwrap().file_type().is_symlink(),
            "left as it was"
        );
        let _ = fs::remove_dir_all(dir);
    }
}
