//! The ollim-bot layout: fixtures, a scripted day, the `state/` guard, download names.

// clippy.toml allows unwrap in `#[test]` functions only; the helpers and child roles are tests too.
#![allow(clippy::unwrap_used, reason = "test helpers: a failing unwrap says where")]

mod day;
mod deny;
mod deny_property;
mod downloads;
mod failures;
mod guard;
mod layout;
mod record;
mod state;
mod symlinks;
mod typical;

use std::path::{Path, PathBuf};

use dotdir::ollim::{DataDir, FakeClock, Options};
use jiff::tz::{TimeZone, offset};

/// The ollim-bot fixture set `<name>` (`typical`, `hazards`) in `dotdir-test-support`.
pub(crate) fn fixture(name: &str) -> PathBuf {
    dotdir_test_support::fixtures::ollim_bot().join(name)
}

/// A writable copy of a fixture in a fresh temporary directory; returns (tempdir, data dir).
pub(crate) fn copy_fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ollim");
    copy_tree(&fixture(name), &root);
    (tmp, root)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::write(&target, std::fs::read(entry.path()).unwrap()).unwrap();
        }
    }
}

/// The fixtures' zone: Pacific standard time (a fixed offset: no tz database needed).
pub(crate) fn pacific() -> TimeZone {
    TimeZone::fixed(offset(-8))
}

/// Just after the `typical` fixture was written (its last timestamp is 14:02:00.818756-08:00).
pub(crate) const FIXTURE_NOW: &str = "2026-11-21T14:02:00.817516-08:00";

/// [`FIXTURE_NOW`] as a `SystemTime`, for `check::Options::now`.
pub(crate) fn fixture_now() -> std::time::SystemTime {
    FIXTURE_NOW.parse::<jiff::Timestamp>().unwrap().into()
}

/// A clock at `rfc3339`.
pub(crate) fn clock_at(rfc3339: &str) -> FakeClock {
    FakeClock::new(rfc3339.parse().unwrap())
}

/// Opens `root` with `clock`, Pacific time, git as asked, the journal's fixed identity.
pub(crate) fn open(root: &Path, clock: &FakeClock, git: bool) -> DataDir {
    let options = Options::new()
        .time_zone(pacific())
        .clock(clock.clone())
        .track_in_git(git)
        .git_identity_from_config(false)
        .durability(dotdir::atomic_store::Durability::None);
    DataDir::open(root, options).unwrap()
}
