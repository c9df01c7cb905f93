//! Helpers shared by the engine's integration tests: write a file (and its parents), read a
//! mode, list the problems `check` finds, a dead pid.

use std::{
    fs,
    path::{Path, PathBuf},
};

use dotdir_engine::{Layout, check};
pub(crate) use dotdir_test_support::mode;
use dotdir_test_support::set_mode;

/// Writes `bytes` at `root/relative`, creating the parents.
pub(crate) fn write(root: &Path, relative: &str, bytes: &[u8]) -> PathBuf {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, bytes).unwrap();
    path
}

/// Sets the permission bits of `root/relative`.
pub(crate) fn chmod(root: &Path, relative: &str, mode: u32) {
    set_mode(&root.join(relative), mode);
}

/// `(kind, path)` of every problem `check` finds in `root` (unknown entries included).
pub(crate) fn kinds(root: &Path, layout: &Layout) -> Vec<(String, String)> {
    kinds_with(root, layout, &check::Options::default())
}

/// [`kinds`] with `options`.
pub(crate) fn kinds_with(
    root: &Path,
    layout: &Layout,
    options: &check::Options,
) -> Vec<(String, String)> {
    check::check(root, layout, options)
        .unwrap()
        .problems
        .iter()
        .map(|p| (p.kind.as_str().to_owned(), p.path.clone()))
        .collect()
}

/// `[(kind, path)]` as owned strings, to compare with [`kinds`].
pub(crate) fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, p)| ((*k).to_owned(), (*p).to_owned())).collect()
}

/// The pid of a process that has exited and been reaped: no process holds it now.
pub(crate) fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// The inode of this process's pid namespace, as dotdir's temporary file names record it.
pub(crate) fn own_pid_namespace() -> u64 {
    let link = fs::read_link("/proc/self/ns/pid").unwrap();
    let link = link.to_str().unwrap();
    link.strip_prefix("pid:[").unwrap().strip_suffix(']').unwrap().parse().unwrap()
}
