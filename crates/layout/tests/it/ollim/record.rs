//! A damaged record of deferred commits never locks the application out: `DataDir::open` goes
//! on (without blocking on a FIFO), writes still commit, `check` reports it and `--fix` sets it
//! aside and commits what it named by scanning.

use std::{fs, path::Path, process::Command};

use dotdir::{check, ollim};

use super::{clock_at, pacific};

fn open(root: &Path) -> ollim::DataDir {
    let options = ollim::Options::new()
        .time_zone(pacific())
        .clock(clock_at("2026-11-21T22:00:00Z"))
        .git_identity_from_config(false)
        .durability(dotdir::atomic_store::Durability::None);
    ollim::DataDir::open(root, options).unwrap()
}

#[test]
fn every_damaged_shape_of_the_pending_record_is_survived_reported_and_repaired() {
    type Plant = fn(&Path);
    let shapes: [(&str, Plant); 5] = [
        ("truncated", |p| fs::write(p, "[{\"message\": \"add rout").unwrap()),
        ("empty", |p| fs::write(p, "").unwrap()),
        ("wrong shape", |p| fs::write(p, "{\"message\": 1}").unwrap()),
        ("a directory", |p| fs::create_dir(p).unwrap()),
        ("a FIFO", |p| assert!(Command::new("mkfifo").arg(p).status().unwrap().success())),
    ];
    for (shape, plant) in shapes {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("ollim");
        drop(open(&root));
        let record = root.join(".git").join(dotdir::git_journal::PENDING_COMMITS_FILE);
        // A change whose commit was deferred, then the record damaged.
        fs::write(root.join("NOTES.md"), "written, never committed\n").unwrap();
        plant(&record);
        let data = open(&root);
        let _ = data.save_routine(&ollim::Routine::new("0 8 * * *", "after the damage")).unwrap();
        let report = check::check(&root, &ollim::LAYOUT, &check::Options::default()).unwrap();
        assert!(
            report.problems.iter().any(|p| p.kind == check::ProblemKind::DamagedRecord),
            "{shape}: not reported: {:?}",
            report.problems
        );
        drop(data);
        let fixed = check::fix(&root, &ollim::LAYOUT, &check::Options::default()).unwrap();
        assert!(fixed.failures.is_empty(), "{shape}: {:?}", fixed.failures);
        let report = check::check(&root, &ollim::LAYOUT, &check::Options::default()).unwrap();
        assert!(
            !report.problems.iter().any(|p| p.kind == check::ProblemKind::DamagedRecord),
            "{shape}: still damaged"
        );
        let tracked = Command::new("git").arg("-C").arg(&root).args(["ls-files"]).output().unwrap();
        let tracked = String::from_utf8(tracked.stdout).unwrap();
        assert!(
            tracked.lines().any(|l| l == "NOTES.md"),
            "{shape}: the change was lost: {tracked}"
        );
        assert!(tracked.lines().any(|l| l.starts_with("routines/")), "{shape}: {tracked}");
    }
}
