//! Deny by default through the command: unknown and undeclared files are never committed by
//! `check --fix` nor sent by `push`; a `.gitignore` negation that un-ignores a secret is an
//! error that `--fix` repairs.

use std::{fs, path::Path};

use dotdir_test_support::git_output;

use crate::{Env, code, demo_dirs, json, problems, stderr, stdout};

/// Every object of the repository at `dir` (a work tree or a bare repository), decompressed.
fn objects(dir: &Path) -> String {
    let out = git_output(dir, &["cat-file", "--batch-all-objects", "--batch"]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn unknown_and_undeclared_files_are_never_committed_nor_pushed() {
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let [ollim, _, _] = demo_dirs(&env, temp.path());
    let canary =
        format!("canary-{}-{}", std::process::id(), temp.path().display().to_string().len());
    for rel in [".env", "state/token.json.bak", "state/routine_sessions/0123abcd", "notes/x.md"] {
        let path = ollim.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, format!("KEY={canary}\n")).unwrap();
    }
    // An interrupted write of a declared file, for `--fix` to commit.
    fs::write(ollim.join("USER.md"), "edited by hand\n").unwrap();
    let path = ollim.to_str().unwrap();
    let document = json(&env.run(&["check", "--json", path]));
    let found = problems(&document);
    for rel in [".env", "state/token.json.bak", "state/routine_sessions", "notes"] {
        assert!(
            found.contains(&("unknown-entry".to_owned(), rel.to_owned())),
            "{rel} not reported: {found:?}"
        );
    }
    assert!(
        !found.iter().any(|(kind, p)| kind == "uncommitted-change" && p == ".env"),
        "{found:?}"
    );
    let fixed = env.run(&["check", "--fix", path]);
    assert_eq!(code(&fixed), 0, "{}{}", stdout(&fixed), stderr(&fixed));
    let tracked = String::from_utf8(git_output(&ollim, &["ls-files"]).stdout).unwrap();
    assert!(tracked.lines().any(|l| l == "USER.md"), "{tracked}");
    assert!(!objects(&ollim).contains(&canary), "an undeclared file was committed:\n{tracked}");
    // And nothing undeclared leaves the machine.
    let remote = temp.path().join("remote.git");
    assert!(
        git_output(temp.path(), &["init", "-q", "--bare", remote.to_str().unwrap()])
            .status
            .success()
    );
    let pushed = env.run(&["push", path, "--to", remote.to_str().unwrap()]);
    assert_eq!(code(&pushed), 0, "{}{}", stdout(&pushed), stderr(&pushed));
    let sent = objects(&remote);
    assert!(sent.contains("edited by hand"), "the push sent the history");
    assert!(!sent.contains(&canary), "an undeclared file was pushed");
}

#[test]
fn a_commit_by_hand_of_an_undeclared_file_is_reported_refused_by_push_and_untracked_by_fix() {
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let [ollim, _, _] = demo_dirs(&env, temp.path());
    fs::write(ollim.join(".env"), "API_KEY=canary\n").unwrap();
    assert!(git_output(&ollim, &["add", "-f", ".env"]).status.success());
    assert!(git_output(&ollim, &["commit", "-q", "-m", "oops"]).status.success());
    let path = ollim.to_str().unwrap();
    let document = json(&env.run(&["check", "--json", path]));
    let found = problems(&document);
    assert!(found.contains(&("tracked-undeclared".to_owned(), ".env".to_owned())), "{found:?}");
    let remote = temp.path().join("remote.git");
    assert!(
        git_output(temp.path(), &["init", "-q", "--bare", remote.to_str().unwrap()])
            .status
            .success()
    );
    let pushed = env.run(&["push", path, "--to", remote.to_str().unwrap()]);
    assert_ne!(code(&pushed), 0, "{}{}", stdout(&pushed), stderr(&pushed));
    assert!(stdout(&pushed).contains(".env") || stderr(&pushed).contains(".env"));
    assert!(!objects(&remote).contains("API_KEY=canary"), "nothing is sent");
    let fixed = env.run(&["check", "--fix", path]);
    assert_eq!(code(&fixed), 0, "{}{}", stdout(&fixed), stderr(&fixed));
    let tracked = String::from_utf8(git_output(&ollim, &["ls-files"]).stdout).unwrap();
    assert!(!tracked.lines().any(|l| l == ".env"), "{tracked}");
    assert!(ollim.join(".env").exists(), "the file stays");
}

#[test]
fn a_gitignore_negation_that_unignores_a_secret_is_an_error_and_fix_ignores_and_untracks_it() {
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let [ollim, _, _] = demo_dirs(&env, temp.path());
    // What a cloned repository can carry: a negation after the generated block.
    let mut gitignore = fs::read_to_string(ollim.join(".gitignore")).unwrap();
    gitignore.push_str("!/state/\n!state/credentials.json\n");
    fs::write(ollim.join(".gitignore"), gitignore).unwrap();
    assert!(git_output(&ollim, &["add", ".gitignore", "state/credentials.json"]).status.success());
    assert!(git_output(&ollim, &["commit", "-q", "-m", "negation"]).status.success());
    let path = ollim.to_str().unwrap();
    let output = env.run(&["check", "--json", path]);
    let found = problems(&json(&output));
    assert!(
        found.contains(&("unignored-secret".to_owned(), "state/credentials.json".to_owned())),
        "{found:?}"
    );
    assert!(
        found.contains(&("tracked-secret".to_owned(), "state/credentials.json".to_owned())),
        "{found:?}"
    );
    assert_eq!(code(&output), 1);
    let fixed = env.run(&["check", "--fix", path]);
    assert!(stdout(&fixed).contains("2 repairs"), "{}{}", stdout(&fixed), stderr(&fixed));
    // The commit by hand put the secret in the history: that stays an error after the repair.
    assert_eq!(code(&fixed), 1, "{}{}", stdout(&fixed), stderr(&fixed));
    assert!(git_output(&ollim, &["check-ignore", "-q", "state/credentials.json"]).status.success());
    let tracked = String::from_utf8(git_output(&ollim, &["ls-files"]).stdout).unwrap();
    assert!(!tracked.lines().any(|l| l == "state/credentials.json"), "{tracked}");
    let again = json(&env.run(&["check", "--json", path]));
    assert_eq!(
        problems(&again),
        [("secret-in-history".to_owned(), "state/credentials.json".to_owned())],
        "only what no repair can undo is left"
    );
}
