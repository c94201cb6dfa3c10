//! Secret files (bootstrap credentials, token keys): written once, atomically, readable by the
//! owner only (mode 0600), in a directory only the owner can list.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` with mode 0600 unless `path` exists: a temporary file, fsync, then a
/// hard link, which never replaces a file another process created first. Returns false when it
/// existed.
pub fn write_private_new(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.exists() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir)?;
    }
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("secret"),
        std::process::id()
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    let linked = std::fs::hard_link(&tmp, path);
    std::fs::remove_file(&tmp)?;
    match linked {
        Ok(()) => {
            std::fs::File::open(dir)?.sync_all()?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// The contents of `path`, creating it from `make` the first time. Returns whether it was
/// created; when two processes race, both end up with the winner's contents.
pub fn load_or_create(path: &Path, make: impl FnOnce() -> Vec<u8>) -> std::io::Result<(Vec<u8>, bool)> {
    match std::fs::read(path) {
        Ok(b) => Ok((b, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let b = make();
            if write_private_new(path, &b)? {
                Ok((b, true))
            } else {
                Ok((std::fs::read(path)?, false))
            }
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("k");
        let (a, created) = load_or_create(&path, || b"first".to_vec()).unwrap();
        assert!(created);
        let (b, created) = load_or_create(&path, || b"second".to_vec()).unwrap();
        assert!(!created);
        assert_eq!((a.as_slice(), b.as_slice()), (&b"first"[..], &b"first"[..]));
        // A racing writer that comes second does not replace the file.
        assert!(!write_private_new(&path, b"third").unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
        }
        // No temporary files are left behind.
        assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }
}
