//! A directory must fit its layout (its declared fingerprint, not `$HOME`) before anything
//! writes to it: `check --fix`, `init`, `restore --force`, `clone`, `backup` and `push` refuse
//! one that does not, `$HOME` and `/` always; a path inside a data directory is its root; `check`
//! and `inspect` still read a misfit and say so.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Output,
};

use dotdir_test_support::git;

use crate::{Env, code, demo_dirs, json, stderr, stdout};

fn text(output: &Output) -> String {
    format!("{}{}", stdout(output), stderr(output))
}

/// A dotfiles repository as a home directory holds it: Claude Code's `.claude/` (a name the
/// ollim-bot layout declares too), an npm token, one commit.
fn dotfiles(dir: &Path) -> String {
    fs::create_dir_all(dir.join(".claude/agents")).unwrap();
    fs::write(dir.join(".claude/settings.json"), "{}").unwrap();
    fs::write(dir.join(".npmrc"), "//registry.npmjs.org/:_authToken=npm_CANARY\n").unwrap();
    fs::write(dir.join(".bashrc"), "export EDITOR=vi\n").unwrap();
    git(dir, &["init", "-q"]);
    git(dir, &["add", ".bashrc"]);
    git(dir, &["commit", "-qm", "dotfiles"]);
    git(dir, &["rev-parse", "HEAD"])
}

/// Asserts that the dotfiles repository at `dir` is as [`dotfiles`] left it.
fn untouched(dir: &Path, head: &str, context: &str) {
    assert!(!dir.join(".gitignore").exists(), "{context}: .gitignore written");
    assert_eq!(git(dir, &["rev-parse", "HEAD"]), head, "{context}: a commit was made");
    assert_eq!(git(dir, &["ls-files"]), ".bashrc\n", "{context}: something was staged");
    assert!(!dir.join("state").exists() && !dir.join("routines").exists(), "{context}");
}

#[test]
fn a_home_with_claude_and_a_dotfiles_repository_is_never_written_to() {
    let env = Env::new();
    let home = env.home.path();
    let head = dotfiles(home);
    let path = home.to_str().unwrap();
    let archive = tempfile::tempdir().unwrap();
    let out = archive.path().join("home.tar.gz");
    let out = out.to_str().unwrap();
    let runs: [&[&str]; 9] = [
        &["check", "--fix", path],
        &["check", "--fix", "."],
        &["check", "--fix", "--layout", "ollim-bot", path],
        &["check", "--fix", "--layout", "ollim-bot", "--force", path],
        &["backup", path, "--out", out],
        &["backup", "--layout", "ollim-bot", "--force", path, "--out", out],
        &["init", "--layout", "ollim-bot", path],
        &["init", "--layout", "ollim-bot", "--force", path],
        &["push", "--layout", "ollim-bot", "--force", path, "--to", out],
    ];
    for args in runs {
        let output = env.run(args);
        let context = format!("{args:?}: {}", text(&output));
        assert_eq!(code(&output), 2, "{context}");
        // `.` is reported as given; every other refusal names the home.
        assert!(stderr(&output).contains(path) || args.contains(&"."), "{context}");
        assert!(
            stderr(&output).contains("home directory") || stderr(&output).contains("fits none"),
            "{context}"
        );
        untouched(home, &head, &context);
        assert!(!archive.path().join("home.tar.gz").exists(), "{context}: archived");
    }
    // Under --json the refusal is a JSON error like every other.
    let output = env.run(&["--json", "check", "--fix", "--layout", "ollim-bot", "--force", path]);
    assert_eq!(code(&output), 2);
    let document = json(&output);
    assert!(document["error"].as_str().unwrap().contains(path), "{document}");
    assert!(document["error"].as_str().unwrap().contains("home directory"), "{document}");
    untouched(home, &head, "--json");
    // Read-only, it may still be looked at, with the misfit said.
    let output = env.run(&["check", "--layout", "ollim-bot", path]);
    assert_eq!(code(&output), 1, "{}", text(&output));
    assert!(stdout(&output).contains("misfit:"), "{}", stdout(&output));
    untouched(home, &head, "check");
}

#[test]
fn restore_never_replaces_a_home() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let [ollim, _, _] = demo_dirs(&env, tmp.path());
    let archive = tmp.path().join("b.tar.gz");
    let output = env.run(&["backup", ollim.to_str().unwrap(), "--out", archive.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", text(&output));
    let home = env.home.path();
    let head = dotfiles(home);
    let parent = home.parent().unwrap();
    let name = home.file_name().unwrap().to_string_lossy();
    let (archive, path) = (archive.to_str().unwrap(), home.to_str().unwrap());
    for args in [
        &["restore", "--force", archive, path][..],
        &["restore", "--force", "--layout", "ollim-bot", archive, path][..],
    ] {
        let output = env.run(args);
        assert!(home.join(".npmrc").exists(), "{args:?}: the home was moved aside");
        assert!(!parent.join(format!("{name}.before-restore-1")).exists(), "{args:?}");
        assert_eq!(code(&output), 2, "{}", text(&output));
        assert!(stderr(&output).contains(path), "{}", stderr(&output));
        assert!(stderr(&output).contains("home directory"), "{}", stderr(&output));
        untouched(home, &head, "restore");
    }
}

#[test]
fn a_forced_layout_that_does_not_fit_commits_no_secret() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let [ollim, _, _] = demo_dirs(&env, tmp.path());
    fs::write(ollim.join("state/credentials.json"), "{\"client_secret\": \"CANARY\"}").unwrap();
    let head = git(&ollim, &["rev-parse", "HEAD"]);
    let path = ollim.to_str().unwrap();
    for _ in 0..2 {
        let output = env.run(&["check", "--fix", "--layout", "omicos-home", path]);
        assert_eq!(code(&output), 2, "{}", text(&output));
        let message = stderr(&output);
        assert!(message.contains(path), "{message}");
        assert!(message.contains("does not fit the omicos-home layout"), "{message}");
        assert!(message.contains("it fits the ollim-bot layout"), "{message}");
        assert!(message.contains("--layout omicos-home --force"), "{message}");
        assert_eq!(git(&ollim, &["rev-parse", "HEAD"]), head, "a commit was made");
        let tracked = git(&ollim, &["ls-files", "state"]);
        assert!(!tracked.contains("token.json") && !tracked.contains("credentials"), "{tracked}");
    }
    // Read-only, the misfit is reported, in text and JSON.
    let output = env.run(&["check", "--layout", "omicos-home", path]);
    assert_eq!(code(&output), 1, "{}", text(&output));
    assert!(stdout(&output).contains("misfit:"), "{}", stdout(&output));
    let document = json(&env.run(&["inspect", "--json", "--layout", "omicos-home", path]));
    assert_eq!(document["fit"]["fits"], false, "{document}");
    assert!(!document["fit"]["missing"].as_array().unwrap().is_empty(), "{document}");
    assert!(
        document["fit"]["foreign"].as_array().unwrap().contains(&serde_json::json!("state")),
        "{document}"
    );
    // With its own layout it fits, and says nothing of it.
    let document = json(&env.run(&["check", "--json", path]));
    assert_eq!(document["fit"]["fits"], true, "{document}");
}

#[test]
fn a_path_inside_a_data_directory_is_its_root() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let [ollim, _, _] = demo_dirs(&env, tmp.path());
    fs::write(ollim.join("state/credentials.json"), "{\"client_secret\": \"CANARY\"}").unwrap();
    let root = ollim.canonicalize().unwrap();
    let out = tmp.path().join("state.tar.gz");
    let output = env
        .command(&["backup", ".", "--layout", "ollim-bot", "--out", out.to_str().unwrap()])
        .current_dir(ollim.join("state"))
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", text(&output));
    let paths = crate::backup::archive_paths(&out);
    for secret in ["state/token.json", "state/credentials.json", "token.json", "credentials.json"] {
        assert!(!paths.contains(secret), "{secret} archived: {paths:?}");
    }
    assert!(paths.contains("state/session_history.jsonl"), "the root was archived: {paths:?}");
    assert!(
        stderr(&output)
            .contains(&format!("inside the ollim-bot data directory {}", root.display())),
        "{}",
        stderr(&output)
    );

    // check --fix on a subdirectory repairs the root, and writes nothing into the subdirectory.
    let routines = ollim.join("routines");
    let output = env.run(&["check", "--fix", "--json", routines.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", text(&output));
    assert_eq!(json(&output)["root"], root.to_str().unwrap());
    assert!(!routines.join(".gitignore").exists() && !routines.join(".git").exists());

    // init never nests a data directory in another.
    let nested = ollim.join("routines/new");
    let output = env.run(&["init", "--layout", "ollim-bot", nested.to_str().unwrap()]);
    assert_eq!(code(&output), 2, "{}", text(&output));
    assert!(stderr(&output).contains("inside the ollim-bot data directory"), "{}", text(&output));
    assert!(!nested.exists());
}

/// A directory with none of the fingerprint: some notes and a secret.
fn stranger(dir: &Path) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join(".npmrc"), "//registry.npmjs.org/:_authToken=npm_CANARY\n").unwrap();
    fs::write(dir.join("notes.txt"), "mine\n").unwrap();
    dir.to_path_buf()
}

#[test]
fn init_over_a_directory_that_does_not_fit_needs_layout_and_force() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = stranger(&tmp.path().join("project"));
    let path = dir.to_str().unwrap();
    for args in [
        &["init", "--layout", "ollim-bot", path][..],
        &["--json", "init", "--layout", "omicos-workspace", path][..],
    ] {
        let output = env.run(args);
        assert_eq!(code(&output), 2, "{}", text(&output));
        assert!(text(&output).contains(path), "{}", text(&output));
        assert!(text(&output).contains("--force"), "{}", text(&output));
        assert!(!dir.join(".git").exists() && !dir.join(".gitignore").exists(), "{args:?}");
        assert!(!dir.join("state").exists() && !dir.join("conversations").exists(), "{args:?}");
    }
    assert!(
        json(&env.run(&["--json", "init", "--layout", "ollim-bot", path]))["error"]
            .as_str()
            .unwrap()
            .contains("missing state/")
    );
    // A person who really means it.
    let output = env.run(&["init", "--layout", "ollim-bot", "--force", path]);
    assert_eq!(code(&output), 0, "{}", text(&output));
    assert!(dir.join("state").is_dir() && dir.join(".git").is_dir());
}

#[test]
fn backup_of_a_directory_that_does_not_fit_is_refused() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = stranger(&tmp.path().join(".ollim-bot"));
    let out = tmp.path().join("b.tar.gz");
    let (path, out_path) = (dir.to_str().unwrap(), out.to_str().unwrap());
    // Recognised by its name only: it does not fit, so nothing is archived.
    let output = env.run(&["backup", path, "--out", out_path]);
    assert_eq!(code(&output), 2, "{}", text(&output));
    assert!(stderr(&output).contains(path), "{}", stderr(&output));
    assert!(stderr(&output).contains("--layout ollim-bot --force"), "{}", stderr(&output));
    assert!(!out.exists(), "archived");
    // --force alone replaces an archive; it does not override the fit.
    let output = env.run(&["backup", path, "--out", out_path, "--force"]);
    assert_eq!(code(&output), 2, "{}", text(&output));
    assert!(!out.exists(), "archived");
    let output = env.run(&["backup", "--layout", "ollim-bot", "--force", path, "--out", out_path]);
    assert_eq!(code(&output), 0, "{}", text(&output));
    assert!(out.exists());
}

#[test]
fn clone_keeps_nothing_that_does_not_fit() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("dotfiles");
    fs::create_dir(&source).unwrap();
    dotfiles(&source);
    let url = source.to_str().unwrap();
    let target = tmp.path().join("elsewhere/.ollim-bot");
    for args in [
        &["clone", "--layout", "ollim-bot", url, target.to_str().unwrap()][..],
        &["clone", url, target.to_str().unwrap()][..],
    ] {
        let output = env.run(args);
        assert_eq!(code(&output), 2, "{args:?}: {}", text(&output));
        assert!(text(&output).contains(url), "{}", text(&output));
        assert!(text(&output).contains("nothing was kept"), "{}", text(&output));
        assert!(!target.exists(), "{args:?}: the clone was kept");
        let leftovers: Vec<_> = fs::read_dir(target.parent().unwrap()).unwrap().collect();
        assert!(leftovers.is_empty(), "{args:?}: {leftovers:?}");
    }
    // An existing non-empty directory is never cloned into.
    let occupied = stranger(&tmp.path().join("occupied"));
    let output = env.run(&["clone", "--layout", "ollim-bot", url, occupied.to_str().unwrap()]);
    assert_eq!(code(&output), 2, "{}", text(&output));
    assert!(!occupied.join(".git").exists());
    // Named and forced: kept.
    let output =
        env.run(&["clone", "--layout", "ollim-bot", "--force", url, target.to_str().unwrap()]);
    // Kept (exit 1 only for what the history holds that the layout does not allow).
    assert!(matches!(code(&output), 0 | 1), "{}", text(&output));
    assert!(stdout(&output).contains("cloned"), "{}", text(&output));
    assert!(target.join(".bashrc").exists() && target.join("state").is_dir());
}

#[test]
fn fixtures_init_and_demo_fit_their_layouts() {
    let layouts: Vec<&dotdir::Layout> = dotdir::LAYOUTS.to_vec();
    let fits = |dir: &Path, layout: &dotdir::Layout| {
        let fit = dotdir::inspect::fit(dir, layout).unwrap();
        assert!(fit.fits(), "{} does not fit {}: {}", dir.display(), layout.name, fit.explain());
        let detected = dotdir::inspect::detect(dir, &layouts).map(|l| l.name);
        assert_eq!(detected, Some(layout.name), "{}", dir.display());
    };
    for name in ["typical", "hazards"] {
        let (_temp, dir) = crate::fixture(name);
        fits(&dir, &dotdir::ollim::LAYOUT);
    }
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    for layout in &layouts {
        let dir = tmp.path().join(layout.name);
        let output = env.run(&["init", "--layout", layout.name, dir.to_str().unwrap()]);
        assert_eq!(code(&output), 0, "{}", text(&output));
        fits(&dir, layout);
    }
    let [ollim, home, workspace] = demo_dirs(&env, tmp.path());
    fits(&ollim, &dotdir::ollim::LAYOUT);
    fits(&home, &dotdir::omicos::HOME_LAYOUT);
    fits(&workspace, &dotdir::omicos::WORKSPACE_LAYOUT);
    // Each fits only its own: no layout's fingerprint is found in another's directory.
    for (dir, own) in
        [(&ollim, "ollim-bot"), (&home, "omicos-home"), (&workspace, "omicos-workspace")]
    {
        for layout in layouts.iter().filter(|l| l.name != own) {
            assert!(
                !dotdir::inspect::fit(dir, layout).unwrap().fits(),
                "{own} fits {}",
                layout.name
            );
        }
    }
}
