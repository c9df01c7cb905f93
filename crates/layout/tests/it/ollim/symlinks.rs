//! A layout directory (`state/`, `routines/`, `downloads/`, …) replaced by a symbolic link to a
//! directory outside the data directory: every write under it is refused with a typed error
//! naming it, at open or at the write, and nothing lands outside. The data directory itself
//! may be reached through a link.

use std::{fs, os::unix::fs::symlink, path::Path};

use dotdir::ollim::{DataDir, Error, Names, Options, Routine};

use super::{clock_at, open};

fn options() -> Options {
    Options::new()
        .clock(clock_at("2026-11-21T08:00:00-08:00"))
        .time_zone(super::pacific())
        .git_identity_from_config(false)
        .durability(dotdir::atomic_store::Durability::None)
}

/// Every file under `dir`, recursively (relative names).
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().unwrap().is_dir() {
            out.extend(files(&entry.path()).into_iter().map(|f| format!("{name}/{f}")));
        } else {
            out.push(name);
        }
    }
    out.sort();
    out
}

fn assert_refused(result: Result<impl std::fmt::Debug, Error>, path: &Path) {
    match result {
        Err(Error::NotADirectory { path: refused }) => assert_eq!(refused, path),
        other => panic!("expected NotADirectory for {}, got {other:?}", path.display()),
    }
}

#[test]
fn a_symlinked_layout_directory_is_refused_at_open() {
    for dir in ["state", "routines", "downloads", ".git", ".claude"] {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        fs::create_dir(&outside).unwrap();
        let root = tmp.path().join("ollim");
        fs::create_dir(&root).unwrap();
        symlink(&outside, root.join(dir)).unwrap();
        assert_refused(DataDir::open(&root, options()), &root.join(dir));
        assert_eq!(files(&outside), Vec::<String>::new(), "{dir}: nothing written outside");
    }
}

#[test]
fn a_directory_replaced_by_a_symlink_after_open_is_refused_at_the_write() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let root = tmp.path().join("ollim");
    let dd = open(&root, &clock_at("2026-11-21T08:00:00-08:00"), true);
    let plant = |dir: &str| {
        let path = root.join(dir);
        if path.exists() {
            fs::remove_dir_all(&path).unwrap();
        }
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        symlink(&outside, &path).unwrap();
        path
    };

    let state = plant("state");
    assert_refused(dd.set_config("model_main", "opus"), &state);
    assert_refused(dd.append_update("x"), &state);
    assert_refused(dd.write_secret("token.json", b"{}"), &state);
    assert_refused(dd.save_session_id("s-1"), &state);
    assert_refused(dd.lock_instance(), &state);
    let routines = plant("routines");
    assert_refused(dd.save_routine(&Routine::new("0 9 * * *", "x")), &routines);
    let downloads = plant("downloads");
    assert_refused(dd.save_download("a.pdf", b"%PDF"), &downloads);
    let reflections = plant("reflections");
    assert_refused(dd.write_reflection("item-1", "ok"), &reflections);
    let agents = plant(".claude/agents");
    assert_refused(dd.ensure_sdk_layout(&Names::new("A", "B")), &agents);
    assert_eq!(files(&outside), Vec::<String>::new(), "nothing written outside");
}

#[test]
fn the_data_directory_itself_may_be_a_symlink() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("disk/ollim");
    fs::create_dir_all(&real).unwrap();
    let root = tmp.path().join("ollim");
    symlink(&real, &root).unwrap();
    let dd = DataDir::open(&root, options()).unwrap();
    dd.set_config("model_main", "opus").unwrap();
    dd.save_routine(&Routine::new("0 9 * * *", "Morning")).unwrap();
    assert!(real.join("state/config.json").is_file());
    assert!(real.join("routines/morning.md").is_file());
}
