//! The committed ollim-bot fixture tree is byte-identical to the shared fixtures it copies
//! (`/work/shared/fixtures/ollim-bot`, or `DOTDIR_SHARED_FIXTURES`), and the helpers find it.

#![allow(clippy::unwrap_used, reason = "tests unwrap")]

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use dotdir_test_support::fixtures;

/// Every file under `dir` (symbolic links and all), by its path relative to `dir`, with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if fs::symlink_metadata(&path).unwrap().is_dir() {
                walk(root, &path, out);
            } else {
                let bytes = fs::read(&path).unwrap();
                out.insert(path.strip_prefix(root).unwrap().to_path_buf(), bytes);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn the_committed_ollim_bot_tree_is_the_shared_one_byte_for_byte() {
    let shared = std::env::var_os("DOTDIR_SHARED_FIXTURES")
        .map_or_else(|| PathBuf::from("/work/shared/fixtures/ollim-bot"), PathBuf::from);
    assert!(shared.is_dir(), "the shared fixtures are missing: {}", shared.display());
    let committed = tree(&fixtures::ollim_bot());
    let original = tree(&shared);
    let names = |t: &BTreeMap<PathBuf, Vec<u8>>| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&committed), names(&original), "the same files");
    for (name, bytes) in &original {
        assert!(committed[name] == *bytes, "{} differs from the shared copy", name.display());
    }
    assert!(committed.len() >= 27, "only {} fixture files", committed.len());
}

#[test]
fn fixture_paths_resolve_and_a_missing_one_panics() {
    let pid = fixtures::ollim_bot_file("hazards/state/bot.pid");
    assert_eq!(fs::read(pid).unwrap(), b"999999");
    assert!(std::panic::catch_unwind(|| fixtures::ollim_bot_file("typical/nope.json")).is_err());
}
