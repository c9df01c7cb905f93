//! The typed handles never make the user's home directory a data directory, and ollim-bot's
//! never takes over an existing directory of something else (deny by default).

#![allow(clippy::unwrap_used, reason = "test helpers and child roles unwrap")]

use std::{fs, path::Path};

use dotdir::{
    atomic_store::Durability,
    ollim::{self, DataDir, Options},
    omicos::{self, Flavor, GlobalHome, Workspace},
};
use dotdir_test_support::{child, child_role, env};

const HOME_TEST: &str = "home::the_home_directory_is_never_opened_as_a_data_directory";

fn options() -> Options {
    Options::new()
        .time_zone(jiff::tz::TimeZone::UTC)
        .git_identity_from_config(false)
        .durability(Durability::None)
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

#[test]
fn the_home_directory_is_never_opened_as_a_data_directory() {
    if child_role().as_deref() == Some("open-home") {
        // `HOME` is the parent's temporary directory, never the real one.
        let home = std::path::PathBuf::from(env("HOME"));
        let error = DataDir::open(&home, options()).unwrap_err();
        assert!(matches!(error, ollim::Error::NotADataDirectory { .. }), "{error}");
        assert!(error.to_string().contains(&home.display().to_string()), "{error}");
        // Named through a path that resolves to it, too.
        let error = DataDir::open(home.join(".claude/.."), options()).unwrap_err();
        assert!(matches!(error, ollim::Error::NotADataDirectory { .. }), "{error}");
        let global = GlobalHome::at(&home);
        let error = global.write_plan_token("a.b.c").unwrap_err();
        assert!(matches!(error, omicos::Error::NotADataDirectory { .. }), "{error}");
        let workspace = Workspace::at(GlobalHome::at(home.join(".omicos")), &home, Flavor::Serve);
        let error = workspace.workspace_id().unwrap_err();
        assert!(matches!(error, omicos::Error::NotADataDirectory { .. }), "{error}");
        println!("CHILD-OK");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    fs::create_dir_all(home.join(".claude/agents")).unwrap();
    fs::write(home.join(".bashrc"), "x\n").unwrap();
    let before = names(&home);
    let output = child(HOME_TEST, "open-home").env("HOME", &home).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("CHILD-OK"),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(names(&home), before, "something was written into the home");
    // Below the home, a data directory opens as always.
    let ollim_dir = home.join(".ollim-bot");
    DataDir::open(&ollim_dir, options()).unwrap();
    assert!(ollim_dir.join("state").is_dir());
}

#[test]
fn a_directory_of_something_else_is_not_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    fs::create_dir_all(project.join("src")).unwrap();
    fs::write(project.join(".npmrc"), "//registry/:_authToken=npm_CANARY\n").unwrap();
    let before = names(&project);
    let error = DataDir::open(&project, options()).unwrap_err();
    match &error {
        ollim::Error::NotADataDirectory { path, reason } => {
            assert_eq!(path, &project);
            assert!(reason.contains("missing state/") && reason.contains(".npmrc"), "{reason}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(names(&project), before, "something was written");

    // New, empty, or already one of its own: opened.
    for dir in [tmp.path().join("new"), tmp.path().join("empty")] {
        if dir.ends_with("empty") {
            fs::create_dir(&dir).unwrap();
        }
        DataDir::open(&dir, options()).unwrap();
        // Reopened with only what opening made (state/, .git): still its own.
        DataDir::open(&dir, options()).unwrap();
    }
    let (_fixture_tmp, typical) = crate::ollim::copy_fixture("hazards");
    fs::write(typical.join("stray.bin"), "?").unwrap();
    DataDir::open(&typical, options()).unwrap();
}
