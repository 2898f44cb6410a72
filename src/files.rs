//! Files and folders only the service's own user may read.
//!
//! What the service writes to disk holds secrets: the SQLite database (password hashes, contacts,
//! sessions), its `-wal` and `-shm` files, the generated JWT secret, and outgoing e-mail as `.eml`
//! files (with live invitation and reset links). Each is created `0600`, in folders created
//! `0700`, and files and folders left by an older version are narrowed to that at start-up. On
//! other platforms than Unix these are plain file operations.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// The mode of a private file.
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;
/// The mode of a private folder.
#[cfg(unix)]
const DIR_MODE: u32 = 0o700;

/// Creates `dir` and any missing parents, each `0700`; an existing `dir` is narrowed to `0700`
/// (the service's own folders only: the data folder, the mail folder).
pub fn private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(DIR_MODE);
    }
    builder.create(dir)?;
    set_mode(dir, true)
}

/// Creates the folders above `file` that are missing, each `0700`, leaving existing ones as they
/// are (a database path may point into a folder the operator owns).
pub fn private_parents(file: &Path) -> io::Result<()> {
    match file.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) if !dir.exists() => private_dir(dir),
        _ => Ok(()),
    }
}

/// Open options whose file, if they create one, is created `0600`; the caller sets the rest.
pub fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    options
}

/// Opens `path` for writing, creating it `0600` and truncating it; an existing file is narrowed
/// to `0600` first, so nothing is ever written while others can read it.
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut options = private_options();
    options.write(true).create(true).truncate(true);
    if path.exists() {
        restrict(path)?;
    }
    options.open(path)
}

/// Creates an empty `path` `0600` when it does not exist yet (so that whatever opens it next, a
/// database for one, finds it private), and narrows an existing one to `0600`. Never truncates.
pub fn touch_private(path: &Path) -> io::Result<()> {
    drop(
        private_options()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?,
    );
    restrict(path)
}

/// Narrows an existing file to `0600`; a missing one is fine.
pub fn restrict(path: &Path) -> io::Result<()> {
    match set_mode(path, false) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, dir: bool) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if dir { DIR_MODE } else { FILE_MODE };
    let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if current == mode {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(path: &Path, _dir: bool) -> io::Result<()> {
    std::fs::metadata(path).map(|_| ())
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_and_folders_are_created_private_and_old_ones_narrowed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
        let file = dir.join("x");
        touch_private(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(&file, b"kept").unwrap();
        touch_private(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read(&file).unwrap(), b"kept");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(create_private(&file).unwrap());
        assert_eq!(mode(&file), 0o600);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        restrict(&dir.join("missing")).unwrap();
    }
}
