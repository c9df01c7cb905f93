//! The deny-by-default property: generated ollim-bot directories full of declared, undeclared
//! and secret-shaped files, then random sequences of typed writes, `check --fix` (the engine's
//! `fix`), pushes to a bare repository and backups. A canary placed in every undeclared or
//! secret file must never appear in a commit, a pushed object or an archive.
//!
//! `DOTDIR_DENY_CASES` cases (default 1,000). The negative control runs the same sequences with
//! the journal's exclusions as they were before the allow-list (only the excluded entries):
//! there the canary leaks into commits and pushes.

use std::{
    fs,
    io::Read,
    path::{Path, PathBuf},
    process::Command,
};

use dotdir::{
    check,
    git_journal::{Exclusions, Journal, JournalOptions},
    ollim::{self, LAYOUT, Routine, SessionEventKind},
};

use super::{clock_at, pacific};

/// Secret-shaped and undeclared names, and declared names, a directory can hold.
const NAMES: &[&str] = &[
    ".env",
    ".npmrc",
    "token.json.bak",
    "state/token.json.bak",
    "state/token.json",
    "state/credentials.json",
    "state/api_token.json",
    "state/routine_sessions/0a1b2c3d",
    "State/Token.json",
    "secrets/key.pem",
    "routines/draft.bak",
    "routines/notes/plan.md",
    "reminders/token.txt",
    "webhooks/secret.env",
    "reflections/credentials.json",
    "IDENTITY.md",
    "notes.md",
    "routines/morning.md",
    "skills/triage/SKILL.md",
    "skills/triage/token.json",
    "downloads/report.pdf",
    "state/session_history.jsonl.bak",
    ".claude/settings.json",
];

fn git_objects(dir: &Path) -> Vec<u8> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["cat-file", "--batch-all-objects", "--batch"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .unwrap();
    out.stdout
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    let file = fs::File::open(path).unwrap();
    flate2::read::GzDecoder::new(file).read_to_end(&mut bytes).unwrap();
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The exclusions before deny-by-default: the built-ins and the excluded entries only.
fn legacy_exclusions() -> Exclusions {
    let excluded = LAYOUT
        .all_entries()
        .filter(|e| e.git == dotdir::Git::Excluded)
        .map(|e| format!("/{}", e.pattern))
        .filter(|p| !p.starts_with("/.git"));
    Exclusions::new(excluded).unwrap()
}

/// Runs one generated case; returns where a canary was found (empty when none).
fn run_case(seed: u64, work: &Path, remote: &Path, exclusions: &Exclusions) -> Vec<String> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let root = work.join(format!("case-{seed}"));
    let canary = format!("canary-{seed:x}-{:016x}", rng.u64(..));
    let options = ollim::Options::new()
        .time_zone(pacific())
        .clock(clock_at("2026-11-21T22:00:00Z"))
        .git_identity_from_config(false)
        .durability(dotdir::atomic_store::Durability::None);
    let data = ollim::DataDir::open(&root, options).unwrap();
    let declared = LAYOUT.journal_exclusions();
    let plant = |rng: &mut fastrand::Rng| {
        let rel = NAMES[rng.usize(..NAMES.len())];
        let path = root.join(rel);
        if fs::create_dir_all(path.parent().unwrap()).is_err() {
            return;
        }
        // Git may carry only what the allow-list allows; an archive only what is declared and
        // not secret (a declared file kept out of git, `.claude/settings.json`, is user data).
        let entry = LAYOUT.entry_for(rel);
        let mut content = format!("content {}\n", rng.u32(..));
        if !declared.allows(rel) {
            content.push_str(&format!("{{\"key\": \"{canary}-git\"}}\n"));
        }
        if entry.is_none_or(|e| e.secret) {
            content.push_str(&format!("{{\"key\": \"{canary}-any\"}}\n"));
        }
        let _ = fs::write(path, content);
    };
    for _ in 0..rng.usize(2..6) {
        plant(&mut rng);
    }
    let mut archives = Vec::new();
    for step in 0..rng.usize(3..7) {
        match rng.usize(..7) {
            0 => {
                let _ = data
                    .save_routine(&Routine::new("0 8 * * *", &format!("check {}", rng.u32(..))))
                    .unwrap();
            }
            1 => {
                let _ = data
                    .log_session_event(
                        SessionEventKind::Created,
                        &format!("{:032x}", rng.u128(..)),
                        None,
                    )
                    .unwrap();
            }
            2 => data.write_secret("token.json", format!("{canary}-any").as_bytes()).unwrap(),
            3 => {
                let _ = check::fix(&root, &LAYOUT, &check::Options::default()).unwrap();
            }
            4 => {
                let journal = Journal::open(
                    &root,
                    // Its `.gitignore` block too (the same one the data directory keeps).
                    JournalOptions::new()
                        .exclusions(exclusions.clone())
                        .durability(dotdir::atomic_store::Durability::None),
                )
                .unwrap();
                let _ = journal.commit_all_changed("sweep").unwrap();
                journal.set_remote_url("origin", remote.to_str().unwrap()).unwrap();
                // A refused push (a leak in the history) sends nothing: both are fine here,
                // what was sent is scanned below.
                let _ = journal.push_with_git("origin", false);
            }
            5 => {
                let selection = dotdir::backup::select(&root, &LAYOUT).unwrap();
                let out = work.join(format!("case-{seed}-{step}.tar.gz"));
                let _ = dotdir::archive::write(&selection, &out, false, &mut |_| {}).unwrap();
                archives.push(out);
            }
            _ => plant(&mut rng),
        }
    }
    drop(data);
    let mut leaks = Vec::new();
    // `-git` and `-any` both start with the canary.
    if contains(&git_objects(&root), &canary) {
        leaks.push(format!("case {seed}: committed"));
    }
    if contains(&git_objects(remote), &canary) {
        leaks.push(format!("case {seed}: pushed"));
    }
    for archive in archives {
        if contains(&gunzip(&archive), &format!("{canary}-any")) {
            leaks.push(format!("case {seed}: archived in {}", archive.display()));
        }
    }
    let _ = fs::remove_dir_all(&root);
    leaks
}

fn bare(work: &Path, name: &str) -> PathBuf {
    let remote = work.join(name);
    let status = Command::new("git")
        .args(["init", "-q", "--bare"])
        .arg(&remote)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .unwrap();
    assert!(status.success());
    remote
}

#[test]
fn no_canary_in_an_undeclared_or_secret_file_reaches_a_commit_a_push_or_an_archive() {
    let cases = dotdir_test_support::knob("DOTDIR_DENY_CASES", 1000) as u64;
    let tmp = tempfile::tempdir().unwrap();
    let exclusions = LAYOUT.journal_exclusions();
    let mut leaks = Vec::new();
    for seed in 0..cases {
        // A remote per 50 cases: each push sends a new, unrelated history to it.
        let remote = tmp.path().join(format!("remote-{}.git", seed / 50));
        if !remote.exists() {
            let _ = bare(tmp.path(), remote.file_name().unwrap().to_str().unwrap());
        }
        leaks.extend(run_case(seed, tmp.path(), &remote, &exclusions));
    }
    assert!(leaks.is_empty(), "{} leak(s) in {cases} cases: {leaks:?}", leaks.len());
    eprintln!("deny-by-default property: {cases} cases, 0 leaks");
}

#[test]
fn negative_control_the_exclusions_alone_leak_the_canary() {
    let tmp = tempfile::tempdir().unwrap();
    let legacy = legacy_exclusions();
    let mut leaks = Vec::new();
    for seed in 0..40 {
        let remote = bare(tmp.path(), &format!("remote-{seed}.git"));
        leaks.extend(run_case(seed, tmp.path(), &remote, &legacy));
    }
    assert!(
        leaks.iter().any(|l| l.ends_with("committed"))
            && leaks.iter().any(|l| l.ends_with("pushed")),
        "the negative control found no leak: the property cannot fail ({leaks:?})"
    );
}
