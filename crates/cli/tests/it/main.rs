//! Tests of the `dotdir` command: each runs the real binary in a clean environment (its own
//! `HOME`, no data-directory variables, a pinned clock), on copies of the ollim-bot fixtures or on
//! directories `dotdir demo` builds.

#![allow(clippy::unwrap_used, reason = "test helpers: a failing unwrap says where")]

mod backup;
mod check;
mod demo;
mod deny;
mod fit;
mod hostile;
mod hostile_clone;
mod init;
mod inspect;
mod launch;
mod leftover;
mod live;
mod push_audit;
mod remote;
mod schema;
mod setaside;
mod special;
mod tracked;
mod unreadable;

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::Value;

/// "Now" for every test run: 2026-11-21T22:26:40Z, about half an hour after the fixtures were
/// written, so their 7-day TTL records are live (and the hazards' 2023 record is expired)
/// whatever the real date.
pub(crate) const NOW: &str = "1795300000";

/// A clean environment for the binary: an empty `HOME`, no data-directory overrides.
pub(crate) struct Env {
    pub(crate) home: tempfile::TempDir,
}

impl Env {
    pub(crate) fn new() -> Self {
        Self { home: tempfile::tempdir().unwrap() }
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dotdir"));
        command
            .args(args)
            .current_dir(self.home.path())
            .env("HOME", self.home.path())
            .env("DOTDIR_NOW", NOW)
            .env("NO_COLOR", "1")
            .env_remove("OLLIM_DATA_DIR")
            .env_remove("OMICOS_LOCAL_HOME")
            .env_remove("OMICOS_WORKSPACE_ROOT")
            .env_remove("OLLIM_TIMEZONE");
        command
    }

    /// Runs `dotdir args…` and returns its output.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }
}

/// Runs the binary in a fresh clean environment.
pub(crate) fn dotdir(args: &[&str]) -> Output {
    Env::new().run(args)
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

pub(crate) fn code(output: &Output) -> i32 {
    output.status.code().expect("the binary exited, not killed")
}

/// Parses the JSON the binary printed.
pub(crate) fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(output)))
}

/// `text` with `dir` replaced by `<DIR>`.
pub(crate) fn normalise(text: &str, dir: &Path) -> String {
    text.replace(&dir.display().to_string(), "<DIR>")
}

/// The fixture `name` (`typical`, `hazards`) copied into a new temporary directory; returns
/// the directory and the copy's path (`<tmp>/.ollim-bot`).
pub(crate) fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let target = temp.path().join(".ollim-bot");
    copy_dir(&dotdir_test_support::fixtures::ollim_bot().join(name), &target);
    (temp, target)
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The `kind`s of the problems in a `check --json` document, with their paths.
pub(crate) fn problems(document: &Value) -> Vec<(String, String)> {
    document["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["kind"].as_str().unwrap().to_owned(), p["path"].as_str().unwrap().to_owned()))
        .collect()
}

/// Builds the demo directories into `<dir>/demo` and returns them (ollim-bot, omicos home,
/// omicos workspace).
pub(crate) fn demo_dirs(env: &Env, dir: &Path) -> [PathBuf; 3] {
    let root = dir.join("demo");
    let output = env.run(&["demo", "--dir", root.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    [root.join("ollim-bot"), root.join("omicos-home"), root.join("workspace/.omicos")]
}
