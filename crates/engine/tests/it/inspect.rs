//! `inspect`: which layout a directory follows (`detect`), whether it fits one (`fit`), what is
//! never a data directory (`is_home_or_root`), and the roles of the tree's nodes.

use std::{fs, path::Path};

use dotdir_engine::{
    Entry, Format, Layout,
    inspect::{self, Role},
};
use dotdir_test_support::{child, child_role, env};

use crate::{
    check::{APP, BOT},
    support::write,
};

#[test]
fn detection_needs_a_clear_winner() {
    const OTHER: Layout = Layout::new(
        "other",
        "another layout",
        &[Entry::dir("cache", "a cache"), Entry::file("other.json", Format::Json, "x")],
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cache/x", b"");
    assert!(inspect::detect(dir.path(), &[&APP, &OTHER]).is_none(), "a tie");
    write(dir.path(), "notes/a.md", b"---\nid: a\n---\n");
    assert_eq!(inspect::detect(dir.path(), &[&APP, &OTHER]).map(|l| l.name), Some("app"));
    let tree = inspect::inspect(dir.path(), &APP).unwrap();
    assert_eq!(tree.nodes.iter().find(|n| n.relative == "notes").unwrap().role, Role::Container);
}

#[test]
fn detect_chooses_only_a_layout_whose_fingerprint_is_there() {
    let dir = tempfile::tempdir().unwrap();
    assert!(inspect::detect(dir.path(), &[&BOT, &APP]).is_none(), "an empty directory");
    // Names BOT declares, but not its fingerprint (`state/`): not a bot directory.
    write(dir.path(), "routines/a.md", b"---\nid: a\n---\n");
    assert!(inspect::detect(dir.path(), &[&BOT]).is_none());
    fs::create_dir(dir.path().join("state")).unwrap();
    assert_eq!(inspect::detect(dir.path(), &[&APP, &BOT]).map(|l| l.name), Some("bot"));
}

#[test]
fn fit_names_what_is_missing_and_what_is_foreign() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".npmrc", b"//registry/:_authToken=x");
    write(dir.path(), "src/main.rs", b"fn main() {}");
    write(dir.path(), "routines/a.md", b"---\nid: a\n---\n");
    let fit = inspect::fit(dir.path(), &BOT).unwrap();
    assert!(!fit.fits());
    assert_eq!(fit.missing, ["state/"]);
    assert_eq!(fit.foreign, [".npmrc", "src"]);
    assert!(!fit.home);
    let why = fit.explain();
    assert!(why.contains("missing state/") && why.contains(".npmrc, src"), "{why}");
    // Foreign names alone do not make a misfit; `.git` and `.gitignore` are never foreign.
    fs::create_dir(dir.path().join("state")).unwrap();
    fs::create_dir(dir.path().join(".git")).unwrap();
    write(dir.path(), ".gitignore", b"");
    let fit = inspect::fit(dir.path(), &BOT).unwrap();
    assert!(fit.fits(), "{fit:?}");
    assert_eq!(fit.foreign, [".npmrc", "src"]);
    // A file where a directory should be is missing, not present.
    let other = tempfile::tempdir().unwrap();
    write(other.path(), "state", b"a file");
    assert_eq!(inspect::fit(other.path(), &BOT).unwrap().missing, ["state/"]);
}

#[test]
fn fit_of_something_that_is_not_a_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "file", b"x");
    let error = inspect::fit(&file, &BOT).unwrap_err();
    assert!(matches!(error, dotdir_engine::Error::NotADirectory { .. }), "{error:?}");
    assert!(inspect::fit(&dir.path().join("missing"), &BOT).is_err());
}

#[test]
fn a_fingerprint_any_needs_one_of_its_paths() {
    const ANY: Layout = Layout::new(
        "any",
        "one sign of use",
        &[
            Entry::dir("state", "state"),
            Entry::file("state/bot.pid", Format::PidRecord, "its pid"),
            Entry::dir("routines", "routines"),
        ],
    )
    .fingerprint(&["state/"])
    .fingerprint_any(&["state/bot.pid", "routines/"]);
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("state")).unwrap();
    let fit = inspect::fit(dir.path(), &ANY).unwrap();
    assert_eq!(fit.missing, ["one of state/bot.pid, routines/"]);
    write(dir.path(), "state/bot.pid", b"1\n");
    assert!(inspect::fit(dir.path(), &ANY).unwrap().fits());
}

const HOME_TEST: &str = "inspect::the_home_directory_and_the_root_are_never_data_directories";

#[test]
fn the_home_directory_and_the_root_are_never_data_directories() {
    if child_role().as_deref() == Some("home") {
        // `HOME` is the parent's temporary directory here, never the real one.
        let home = std::path::PathBuf::from(env("HOME"));
        assert!(inspect::is_home_or_root(&home));
        assert!(inspect::is_home_or_root(&home.join("sub/..")), "named through another path");
        assert!(!inspect::is_home_or_root(&home.join("sub")));
        let fit = inspect::fit(&home, &BOT).unwrap();
        assert!(fit.home && !fit.fits());
        assert!(fit.explain().contains("home directory"), "{}", fit.explain());
        // Even with the fingerprint there, a home is nothing's data directory.
        fs::create_dir(home.join("state")).unwrap();
        assert!(inspect::detect(&home, &[&BOT]).is_none());
        std::process::exit(0);
    }
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    fs::create_dir_all(home.join("sub")).unwrap();
    let status = { child(HOME_TEST, "home").env("HOME", &home).status().unwrap() };
    assert!(status.success());
    assert!(inspect::is_home_or_root(Path::new("/")));
    assert!(inspect::is_home_or_root(Path::new("/tmp/..")));
    assert!(!inspect::is_home_or_root(tmp.path()));
    assert!(!inspect::is_home_or_root(&tmp.path().join("missing")), "nothing there");
}

#[test]
fn the_tree_gives_each_node_its_role() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "state/history.jsonl", b"{}\n");
    write(dir.path(), "state/history.jsonl.corrupt", b"{x\n");
    write(dir.path(), "state/history.jsonl.lock", b"");
    write(dir.path(), "state/tmpab12cd_4.tmp", b"");
    write(dir.path(), "stray", b"");
    write(dir.path(), ".gitignore", b"");
    let tree = inspect::inspect(dir.path(), &BOT).unwrap();
    let role = |rel: &str| tree.nodes.iter().find(|n| n.relative == rel).unwrap().role;
    assert_eq!(role("state"), Role::Declared);
    assert_eq!(role("state/history.jsonl"), Role::Declared);
    assert_eq!(role("state/history.jsonl.corrupt"), Role::SetAside);
    assert_eq!(role("state/history.jsonl.lock"), Role::LockSidecar);
    assert!(matches!(role("state/tmpab12cd_4.tmp"), Role::Temp { writer_pid: None, .. }));
    assert_eq!(role("stray"), Role::Unknown);
    assert_eq!(role(".gitignore"), Role::Gitignore);
    assert_eq!(tree.unknown().map(|n| n.relative.as_str()).collect::<Vec<_>>(), ["stray"]);
    assert!(!tree.has_git());
}

#[test]
fn enclosing_finds_the_data_directory_a_path_lies_in() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("bot");
    fs::create_dir_all(root.join("state")).unwrap();
    fs::create_dir_all(root.join("routines/deep")).unwrap();
    let (found, layout) = inspect::enclosing(&root.join("routines/deep"), &[&BOT]).unwrap();
    assert_eq!((found, layout.name), (root.canonicalize().unwrap(), "bot"));
    assert!(inspect::enclosing(tmp.path(), &[&BOT]).is_none());
}
