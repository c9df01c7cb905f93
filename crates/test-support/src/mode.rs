//! File modes for tests: read the permission bits of a path, set them.

use std::{fs, os::unix::fs::PermissionsExt, path::Path};

/// The permission bits (`st_mode & 0o7777`: setuid, setgid and sticky included) of `path`
/// itself (a symbolic link is not followed).
pub fn mode(path: &Path) -> u32 {
    let metadata = fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("cannot stat {}: {e}", path.display()));
    metadata.permissions().mode() & 0o7777
}

/// Sets the permission bits of `path` (a symbolic link is followed, as `chmod` does).
pub fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("cannot chmod {:o} {}: {e}", mode, path.display()));
}
