//! The committed ollim-bot fixture tree is byte-identical to the files the real ollim-bot wrote
//! (the shared fixtures): every file's SHA-256 is recorded in `data/ollim-bot.sha256`, taken
//! from the shared tree; the committed tree must match it, and so must the shared tree
//! wherever it is present (`../shared/fixtures/ollim-bot` beside the workspace, or
//! `DOTDIR_SHARED_FIXTURES`). The helpers find the tree.

#![allow(clippy::unwrap_used, reason = "tests unwrap")]

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use dotdir_test_support::fixtures;
use sha2::{Digest, Sha256};

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

/// `path  sha256` of every file of a tree (a symbolic link: of its target's name), sorted.
fn digests(tree: &BTreeMap<PathBuf, Vec<u8>>) -> BTreeMap<String, String> {
    tree.iter()
        .map(|(name, bytes)| {
            let digest: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
            (name.to_string_lossy().into_owned(), digest)
        })
        .collect()
}

/// The recorded digests (`sha256sum` format: digest, two spaces, path).
fn recorded() -> BTreeMap<String, String> {
    let list = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/ollim-bot.sha256");
    fs::read_to_string(list)
        .unwrap()
        .lines()
        .map(|line| {
            let (digest, path) = line.split_once("  ").unwrap();
            (path.to_owned(), digest.to_owned())
        })
        .collect()
}

#[test]
fn the_committed_ollim_bot_tree_is_the_shared_one_byte_for_byte() {
    let recorded = recorded();
    assert!(recorded.len() >= 27, "only {} fixture files recorded", recorded.len());
    assert_eq!(digests(&tree(&fixtures::ollim_bot())), recorded, "the committed tree");
    let shared = std::env::var_os("DOTDIR_SHARED_FIXTURES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/ollim-bot"),
        PathBuf::from,
    );
    if shared.is_dir() {
        assert_eq!(digests(&tree(&shared)), recorded, "the shared tree {}", shared.display());
    }
}

#[test]
fn fixture_paths_resolve_and_a_missing_one_panics() {
    let pid = fixtures::ollim_bot_file("hazards/state/bot.pid");
    assert_eq!(fs::read(pid).unwrap(), b"999999");
    assert!(std::panic::catch_unwind(|| fixtures::ollim_bot_file("typical/nope.json")).is_err());
}
