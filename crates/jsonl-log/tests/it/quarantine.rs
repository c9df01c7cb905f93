//! The `<log>.corrupt` sidecar under I/O errors: a repair that fails leaves it as it was (never a
//! torn copy), and a retry after a repair that failed once the lines were quarantined does not
//! copy them a second time.
//!
//! The I/O error is real: a child (this test binary again) runs the repair under a file-size
//! limit (`ulimit -f`, with `SIGXFSZ` ignored), so a write past the limit fails with `EFBIG`.

use std::{path::Path, process::Command, time::Duration};

use dotdir_jsonl_log::{Log, LogOptions};

use crate::child_role;

/// Runs `test` in a child under a file-size limit of at most 1 KiB (`ulimit -f 1`: one block of
/// 512 bytes, or 1024 in a shell that counts in KiB) where the child repairs the log at `log`.
#[expect(clippy::unwrap_used, reason = "a test helper: a failure panics where it happens")]
fn repair_under_a_size_limit(test: &str, log: &Path) -> std::process::Output {
    Command::new("sh")
        .args(["-c", "trap '' XFSZ; ulimit -f 1 && exec \"$0\" \"$@\""])
        .arg(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("DOTDIR_CHILD", "repair-limited")
        .env("DOTDIR_LOG", log)
        .output()
        .unwrap()
}

/// The child's side: the repair must fail (with the size limit's `EFBIG`), not panic.
#[expect(clippy::unwrap_used, reason = "a test helper: a failure panics where it happens")]
fn child_repair() {
    let log: Log<serde_json::Value> = Log::new(std::env::var_os("DOTDIR_LOG").unwrap());
    let result = log.repair();
    assert!(result.is_err(), "the repair under the size limit succeeded: {result:?}");
}

#[expect(clippy::unwrap_used, reason = "a test helper: a failure panics where it happens")]
fn temps(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".dotdir-tmp"))
        .collect()
}

fn assert_child_failed_cleanly(output: &std::process::Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child: {:?}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_failed_repair_leaves_the_sidecar_as_it_was() {
    if child_role().as_deref() == Some("repair-limited") {
        return child_repair();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    // 300 bytes already quarantined, and a 2,000-byte corrupt line: the sidecar would grow
    // past the limit, so its write fails part way.
    let old_sidecar = format!("{}\n", "x".repeat(299));
    let garbage = "g".repeat(2000);
    std::fs::write(&path, format!("{{\"n\": 1}}\n{garbage}\n{{\"n\": 2}}\n")).unwrap();
    let log: Log<serde_json::Value> = Log::with_options(&path, LogOptions::new());
    std::fs::write(log.corrupt_path(), &old_sidecar).unwrap();
    let old_log = std::fs::read(&path).unwrap();

    let output = repair_under_a_size_limit(
        "quarantine::a_failed_repair_leaves_the_sidecar_as_it_was",
        &path,
    );
    assert_child_failed_cleanly(&output);
    // Old, not torn (appending in place left the first bytes of the line glued to the end).
    assert_eq!(std::fs::read_to_string(log.corrupt_path()).unwrap(), old_sidecar);
    assert_eq!(std::fs::read(&path).unwrap(), old_log);
    assert_eq!(temps(dir.path()), Vec::<String>::new());

    // Without the limit the repair completes: the line is quarantined once, after the old ones.
    let report = log.repair().unwrap();
    assert_eq!((report.kept, report.quarantined.len(), report.rewritten), (2, 1, true));
    assert_eq!(
        std::fs::read_to_string(log.corrupt_path()).unwrap(),
        format!("{old_sidecar}{garbage}\n")
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"n\": 1}\n{\"n\": 2}\n");
}

#[test]
fn a_retry_after_a_failed_rewrite_quarantines_each_line_once() {
    if child_role().as_deref() == Some("repair-limited") {
        return child_repair();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    // The corrupt lines are small (the sidecar is written), the kept records are 4 KiB (the
    // rewrite of the log fails): the repair fails after the sidecar is published.
    let kept: String = (0..100).map(|n| format!("{{\"n\": {n:>30}}}\n")).collect();
    assert!(kept.len() > 2048);
    std::fs::write(&path, format!("garbage one\n{kept}garbage two\n")).unwrap();
    let log: Log<serde_json::Value> = Log::new(&path);
    let old_log = std::fs::read(&path).unwrap();

    let output = repair_under_a_size_limit(
        "quarantine::a_retry_after_a_failed_rewrite_quarantines_each_line_once",
        &path,
    );
    assert_child_failed_cleanly(&output);
    assert_eq!(std::fs::read(&path).unwrap(), old_log, "the log is untouched");
    let quarantined = "garbage one\ngarbage two\n";
    assert_eq!(std::fs::read_to_string(log.corrupt_path()).unwrap(), quarantined);
    assert_eq!(temps(dir.path()), Vec::<String>::new());

    // The retry finishes the job without copying the lines again.
    let report = log.repair().unwrap();
    assert_eq!((report.kept, report.quarantined.len(), report.rewritten), (100, 2, true));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), kept);
    assert_eq!(std::fs::read_to_string(log.corrupt_path()).unwrap(), quarantined);
    // And a clean log quarantines nothing more.
    assert_eq!(log.repair().unwrap().quarantined.len(), 0);
    assert_eq!(std::fs::read_to_string(log.corrupt_path()).unwrap(), quarantined);
}

/// The negative control of the retry rule: the same bytes torn again after a repair that
/// completed are a new loss, and are quarantined again.
#[test]
fn the_same_fragment_torn_again_after_a_repair_is_quarantined_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let log: Log<u64> = Log::new(&path);
    std::fs::write(&path, "1\n{\"n\"").unwrap();
    // The log's time must differ from the repair's: this test is about the rule, not about
    // coarse timestamps (see the crate's limitations).
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(log.repair().unwrap().quarantined.len(), 1);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "1\n");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"{\"n\""))
        .unwrap();
    assert_eq!(log.repair().unwrap().quarantined.len(), 1);
    assert_eq!(std::fs::read_to_string(log.corrupt_path()).unwrap(), "{\"n\"\n{\"n\"\n");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "1\n");
}

#[test]
fn a_symlink_at_the_sidecar_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let outside = dir.path().join("outside.txt");
    std::fs::write(&outside, "canary\n").unwrap();
    std::fs::write(&path, "1\ngarbage\n2\n").unwrap();
    let log: Log<u64> = Log::new(&path);
    std::os::unix::fs::symlink(&outside, log.corrupt_path()).unwrap();
    assert!(log.repair().is_err());
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "canary\n");
    assert!(std::fs::symlink_metadata(log.corrupt_path()).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "1\ngarbage\n2\n");
}
