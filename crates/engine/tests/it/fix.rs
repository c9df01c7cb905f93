//! `check::fix`: every repair loses nothing — a secret's mode tightened, torn and corrupt lines
//! set aside with every good byte kept, expired records pruned, an abandoned temporary file and a
//! stale pid record removed — each reported, and refused while the application runs.

use std::{
    fs,
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use dotdir_engine::{
    Layout, backup,
    check::{self, Options, ProblemKind},
};
use dotdir_test_support::git;

use crate::{
    check::{APP, BOT},
    support::{chmod, dead_pid, kinds, mode, own_pid_namespace, owned, write},
};

fn fix(root: &Path, layout: &Layout) -> check::FixReport {
    let report = dotdir_engine::check::fix(root, layout, &Options::default()).unwrap();
    assert_eq!(report.failures, vec![], "{report:#?}");
    report
}

#[test]
fn corrupt_jsonl_in_the_middle_is_set_aside_and_good_lines_kept_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "log.jsonl", b"{\"a\": 1}\n{oops\n{\"b\":   2}\n{\"c\"");
    assert_eq!(
        kinds(dir.path(), &APP),
        owned(&[("corrupt-jsonl", "log.jsonl"), ("torn-jsonl", "log.jsonl")])
    );
    let fixed = fix(dir.path(), &APP);
    assert_eq!(fixed.repairs.len(), 1, "one repair for both problems of the file");
    assert_eq!(fs::read(dir.path().join("log.jsonl")).unwrap(), b"{\"a\": 1}\n{\"b\":   2}\n");
    assert_eq!(fs::read(dir.path().join("log.jsonl.corrupt")).unwrap(), b"{oops\n{\"c\"\n");
    assert!(kinds(dir.path(), &APP).is_empty());
    // The set-aside bytes are user data: a backup keeps them.
    let selection = backup::select(dir.path(), &APP).unwrap();
    let files: Vec<&str> = selection.files.iter().map(|f| f.relative.as_str()).collect();
    assert_eq!(files, ["log.jsonl", "log.jsonl.corrupt"]);
}

#[test]
fn secret_directory_contents_are_tightened() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "vault/key", b"s");
    chmod(dir.path(), "vault/key", 0o640);
    chmod(dir.path(), "vault", 0o750);
    assert_eq!(
        kinds(dir.path(), &APP),
        owned(&[("secret-mode", "vault"), ("secret-mode", "vault/key")])
    );
    let fixed = fix(dir.path(), &APP);
    assert!(fixed.repairs.iter().all(|r| r.kind == ProblemKind::SecretMode), "{fixed:?}");
    assert_eq!(
        (mode(&dir.path().join("vault")), mode(&dir.path().join("vault/key"))),
        (0o700, 0o600)
    );
    assert_eq!(fs::read(dir.path().join("vault/key")).unwrap(), b"s", "only the mode changed");
}

#[test]
fn a_torn_tail_is_set_aside_keeping_every_complete_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "state/history.jsonl", b"{\"a\":1}\n{\"b\":\"\xc3\xa9\"}\n{\"c\":");
    let fixed = fix(dir.path(), &BOT);
    assert_eq!(fixed.repairs.len(), 1);
    assert_eq!(fixed.repairs[0].kind, ProblemKind::TornJsonl);
    assert!(fixed.repairs[0].action.contains("2 records kept"), "{}", fixed.repairs[0].action);
    let history = dir.path().join("state/history.jsonl");
    assert_eq!(fs::read(&history).unwrap(), b"{\"a\":1}\n{\"b\":\"\xc3\xa9\"}\n");
    assert_eq!(fs::read(history.with_extension("jsonl.corrupt")).unwrap(), b"{\"c\":\n");
    assert!(kinds(dir.path(), &BOT).is_empty());
}

/// A small deterministic generator (xorshift), so the cases are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn fix_never_loses_a_valid_record() {
    let mut rng = Rng(0x5eed_d07d);
    for case in 0..40 {
        let dir = tempfile::tempdir().unwrap();
        let (mut bytes, mut valid, mut all_lines) = (Vec::new(), Vec::new(), Vec::new());
        let lines = 1 + rng.next() % 12;
        for i in 0..lines {
            let line = match rng.next() % 5 {
                0 => format!("{{broken {i}"),
                1 => format!("[{i}, \"x\"] trailing"),
                _ => {
                    let record = format!("{{\"n\": {i}, \"case\": {case}, \"s\": \"é {i}\"}}");
                    valid.push(record.clone());
                    record
                }
            };
            all_lines.push(line.clone());
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
        }
        if rng.next().is_multiple_of(2) {
            // A torn tail: an append cut short.
            bytes.extend_from_slice(b"{\"torn\": ");
            all_lines.push("{\"torn\": ".to_owned());
        }
        let log = write(dir.path(), "state/history.jsonl", &bytes);
        let _ = fix(dir.path(), &BOT);
        let kept = fs::read_to_string(&log).unwrap();
        let kept: Vec<&str> = kept.lines().collect();
        assert_eq!(kept, valid, "case {case}: every valid record kept, in order, byte for byte");
        let set_aside = fs::read_to_string(log.with_extension("jsonl.corrupt")).unwrap_or_default();
        let mut together: Vec<&str> = kept.iter().copied().chain(set_aside.lines()).collect();
        let mut expected: Vec<&str> = all_lines.iter().map(String::as_str).collect();
        together.sort_unstable();
        expected.sort_unstable();
        assert_eq!(together, expected, "case {case}: no byte of any line is lost");
        assert!(kinds(dir.path(), &BOT).is_empty(), "case {case}");
    }
}

#[test]
fn expired_records_are_pruned_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    write(
        dir.path(),
        "state/pings.json",
        br#"{"old": {"ts": 1799000000}, "new": {"ts": 1799999000, "x": [1, 2]}, "no-ts": {"y": 1}}"#,
    );
    let options = Options::default().now(now);
    let fixed = dotdir_engine::check::fix(dir.path(), &BOT, &options).unwrap();
    assert_eq!(fixed.repairs.len(), 1, "{fixed:?}");
    assert_eq!(fixed.repairs[0].kind, ProblemKind::ExpiredEntries);
    let pruned: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("state/pings.json")).unwrap()).unwrap();
    assert_eq!(
        pruned,
        serde_json::json!({"new": {"ts": 1_799_999_000, "x": [1, 2]}, "no-ts": {"y": 1}})
    );
    assert!(check::check(dir.path(), &BOT, &options).unwrap().problems.is_empty());
}

#[test]
fn an_abandoned_temporary_file_is_removed_and_one_in_flight_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let ns = own_pid_namespace();
    let abandoned = format!("state/.config.json.{}@{ns}.0badc0de.dotdir-tmp", dead_pid());
    write(dir.path(), &abandoned, b"{\"half\":");
    let held = format!("state/.config.json.{}@{ns}.12345678.dotdir-tmp", std::process::id());
    let open = fs::File::create(dir.path().join(&held)).unwrap();
    let fixed = fix(dir.path(), &BOT);
    assert_eq!(fixed.repairs.len(), 1, "{fixed:?}");
    assert_eq!(
        (fixed.repairs[0].kind, fixed.repairs[0].path.as_str()),
        (ProblemKind::OrphanTemp, abandoned.as_str())
    );
    assert!(!dir.path().join(&abandoned).exists());
    assert!(dir.path().join(&held).exists(), "a writer still holds it");
    drop(open);
}

#[test]
fn a_stale_pid_record_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "state/bot.pid", format!("{}\n", dead_pid()).as_bytes());
    let fixed = fix(dir.path(), &BOT);
    assert_eq!(fixed.repairs.len(), 1, "{fixed:?}");
    assert_eq!(fixed.repairs[0].kind, ProblemKind::StaleLock);
    assert!(fixed.repairs[0].action.contains("was gone"), "{}", fixed.repairs[0].action);
    assert!(!dir.path().join("state/bot.pid").exists());
    assert!(check::check(dir.path(), &BOT, &Options::default()).unwrap().problems.is_empty());
}

#[test]
fn what_fix_cannot_repair_is_left_as_it_was_and_a_second_fix_does_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broken = b"{\"a\": ]";
    write(dir.path(), "state/config.json", broken);
    write(dir.path(), "stray.txt", b"mine");
    write(dir.path(), "state/token.json", b"\"t\"");
    chmod(dir.path(), "state/token.json", 0o604);
    let fixed = fix(dir.path(), &BOT);
    assert_eq!(fixed.repairs.len(), 1, "{fixed:?}");
    assert_eq!(fs::read(dir.path().join("state/config.json")).unwrap(), broken);
    assert_eq!(fs::read(dir.path().join("stray.txt")).unwrap(), b"mine");
    assert_eq!(
        kinds(dir.path(), &BOT),
        owned(&[("corrupt-json", "state/config.json"), ("unknown-entry", "stray.txt")])
    );
    assert_eq!(fix(dir.path(), &BOT).repairs, vec![]);
}

#[test]
fn repairs_that_race_a_running_application_are_refused_but_a_mode_is_tightened() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "state/history.jsonl", b"{\"a\":1}\n{\"torn");
    write(dir.path(), "state/token.json", b"\"t\"");
    chmod(dir.path(), "state/token.json", 0o644);
    // Another process keeps a file open inside the directory: the application, as far as
    // anyone can tell.
    let mut app = Command::new("python3")
        .args([
            "-c",
            "import sys\nf = open(sys.argv[1])\nprint('ready', flush=True)\nsys.stdin.read()\n",
        ])
        .arg(dir.path().join("state/history.jsonl"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(app.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    let fixed = dotdir_engine::check::fix(dir.path(), &BOT, &Options::default()).unwrap();
    drop(app.stdin.take());
    app.wait().unwrap();
    let running = fixed.running.as_ref().expect("the application is seen");
    assert_eq!(running.pid(), Some(app.id()), "{running}");
    assert_eq!(fixed.failures.len(), 1, "{fixed:#?}");
    assert_eq!(fixed.failures[0].kind, ProblemKind::TornJsonl);
    assert!(fixed.failures[0].error.contains("stop it first"), "{}", fixed.failures[0].error);
    assert_eq!(fs::read(dir.path().join("state/history.jsonl")).unwrap(), b"{\"a\":1}\n{\"torn");
    assert_eq!(fixed.repairs.len(), 1);
    assert_eq!(mode(&dir.path().join("state/token.json")), 0o600);
    // Stopped, the repair runs.
    let fixed = fix(dir.path(), &BOT);
    assert!(fixed.running.is_none());
    assert_eq!(fixed.repairs.len(), 1);
}

#[test]
fn a_force_added_secret_is_untracked_by_fix_and_a_second_check_says_it_is_in_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "data/a.json", b"{}");
    write(root, "data/api-key.json", b"\"k-123\"");
    chmod(root, "data/api-key.json", 0o600);
    write(root, ".gitignore", APP.journal_exclusions().gitignore_block().as_bytes());
    git(root, &["init", "-q"]);
    git(root, &["add", ".gitignore", "data/a.json"]);
    git(root, &["add", "-f", "data/api-key.json"]);
    git(root, &["commit", "-q", "-m", "a person force-adds the key"]);
    assert_eq!(kinds(root, &APP), owned(&[("tracked-secret", "data/api-key.json")]));
    let report = check::check(root, &APP, &Options::default()).unwrap();
    assert!(report.problems[0].fixable);
    assert!(report.problems[0].kind.advice().contains("dotdir check --fix"));

    let fixed = fix(root, &APP);
    assert_eq!(fixed.repairs.len(), 1);
    assert_eq!(fixed.repairs[0].kind, ProblemKind::TrackedSecret);
    assert!(fixed.repairs[0].action.contains("rotate"), "{}", fixed.repairs[0].action);
    assert_eq!(git(root, &["ls-files"]), ".gitignore\ndata/a.json\n");
    assert_eq!(git(root, &["log", "-1", "--format=%s %an"]), "untrack data/api-key.json dotdir\n");
    assert_eq!(fs::read(root.join("data/api-key.json")).unwrap(), b"\"k-123\"", "the file stays");
    assert_eq!(git(root, &["status", "--porcelain"]), "", "nothing left staged or untracked");
    // What no repair undoes is said: the key is in the history, to rotate.
    assert_eq!(
        kinds(root, &APP),
        owned(&[("secret-in-history", "data/api-key.json")]),
        "a second check finds nothing else"
    );
    // Nothing left to do: a second fix repairs nothing.
    assert_eq!(fix(root, &APP).repairs, []);
}
