//! `dotdir check [--fix]` after a `git add -A -f`: secrets are errors, other excluded paths
//! warnings, `--fix` untracks them all in one commit, and a secret left in the history is said.

use std::{collections::BTreeSet, path::Path};

use serde_json::Value;

use dotdir_test_support::git;

use crate::{Env, code, demo_dirs, json, problems, stderr, stdout};

const SECRETS: [&str; 2] = ["state/credentials.json", "state/token.json"];

fn commits(dir: &Path) -> u64 {
    git(dir, &["rev-list", "--count", "HEAD"]).trim().parse().unwrap()
}

/// The problems of `kind`, with their severity.
fn of_kind<'a>(document: &'a Value, kind: &str) -> Vec<&'a Value> {
    document["problems"].as_array().unwrap().iter().filter(|p| p["kind"] == kind).collect()
}

#[test]
fn git_add_all_splits_secrets_from_other_exclusions_and_fix_untracks_in_one_commit() {
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let [ollim, _, _] = demo_dirs(&env, temp.path());
    let dir = ollim.to_str().unwrap();

    // Everything but the secrets staged: warnings only, and `check` passes.
    git(&ollim, &["add", "-A", "-f"]);
    git(&ollim, &["rm", "-q", "--cached", "--", SECRETS[0], SECRETS[1]]);
    let output = env.run(&["check", "--json", dir]);
    let document = json(&output);
    let kinds: BTreeSet<String> = problems(&document).into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, BTreeSet::from(["tracked-excluded".to_owned()]), "{document:#}");
    assert_eq!(code(&output), 0, "warnings alone do not fail: {document:#}");

    // The secrets too, committed: they are the only errors, and the only reason for exit 1.
    git(&ollim, &["add", "-f", "--", SECRETS[0], SECRETS[1]]);
    git(&ollim, &["commit", "-qm", "everything"]);
    let output = env.run(&["check", "--json", dir]);
    let document = json(&output);
    assert_eq!(code(&output), 1, "{document:#}");
    let secrets: Vec<String> = of_kind(&document, "tracked-secret")
        .iter()
        .map(|p| {
            assert_eq!(p["severity"], "error", "{p}");
            assert!(p["message"].as_str().unwrap().contains("rotate"), "{p}");
            p["path"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(secrets, SECRETS);
    let excluded: Vec<String> = of_kind(&document, "tracked-excluded")
        .iter()
        .map(|p| {
            assert_eq!(p["severity"], "warning", "{p}");
            assert_eq!(p["fixable"], true, "{p}");
            assert!(!p["message"].as_str().unwrap().contains("rotate"), "{p}");
            p["path"].as_str().unwrap().to_owned()
        })
        .collect();
    for path in ["state/ping_budget.json", "state/bot.pid.lock", ".claude/agents/user-proxy.md"] {
        assert!(excluded.iter().any(|p| p == path), "{path} in {excluded:?}");
    }
    assert_eq!(
        problems(&document).len(),
        secrets.len() + excluded.len(),
        "nothing else is reported: {document:#}"
    );
    let errors = document["problems"].as_array().unwrap().iter();
    assert_eq!(errors.filter(|p| p["severity"] == "error").count(), SECRETS.len());

    // `--fix`: one commit for every path, a repair line each.
    let before = commits(&ollim);
    let output = env.run(&["check", "--fix", dir]);
    let text = stdout(&output);
    assert_eq!(commits(&ollim), before + 1, "one commit untracks them all:\n{text}");
    for path in secrets.iter().chain(&excluded) {
        assert!(
            text.lines().any(|l| l.contains("fixed") && l.contains(path.as_str())),
            "{path}: {text}"
        );
    }
    let message = git(&ollim, &["log", "-1", "--format=%s"]);
    let count = secrets.len() + excluded.len();
    assert!(message.contains(&format!("untrack {count} paths")), "{message}");
    // Nothing excluded is tracked any more; every file stays.
    let tracked = git(&ollim, &["ls-files"]);
    for path in secrets.iter().chain(&excluded) {
        assert!(
            !tracked.lines().any(|l| l == path || l.starts_with(&format!("{path}/"))),
            "{path} tracked:\n{tracked}"
        );
        assert!(ollim.join(path).exists(), "{path} stays");
    }
    let output_after = env.run(&["check", "--json", dir]);
    let after = json(&output_after);
    let left = problems(&after);
    assert!(!left.iter().any(|(k, _)| k.starts_with("tracked-")), "{left:?}: {}", stderr(&output));
    // Untracked now, but in the history: `check` says so (not only `push`), as an error.
    let in_history: Vec<&str> = of_kind(&after, "secret-in-history")
        .iter()
        .map(|p| {
            assert_eq!(p["severity"], "error", "{p}");
            assert!(p["message"].as_str().unwrap().contains("rotate"), "{p}");
            p["path"].as_str().unwrap()
        })
        .collect();
    assert_eq!(in_history, SECRETS, "{after:#}");
    assert_eq!(code(&output_after), 1);
}
