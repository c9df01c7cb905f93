//! The example's command and typed access on its own layout: `--help`, `init` then `check`,
//! and check, fix, backup and restore of a populated `~/.claude`.

#![allow(clippy::unwrap_used, reason = "tests unwrap")]

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::Path,
    process::{Command, Output},
};

use claude_data::{ClaudeDir, LAYOUT, project_dir_name};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_claude-data"))
        .args(args)
        .env("HOME", "/nonexistent-home")
        .env_remove("CLAUDE_CONFIG_DIR")
        .output()
        .unwrap()
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn help_lists_the_commands() {
    let output = run(&["--help"]);
    assert_eq!(code(&output), 0, "{}", text(&output));
    let help = text(&output);
    for command in ["inspect", "check", "backup", "restore", "init"] {
        assert!(help.contains(&format!("  {command} ")), "{command} missing from\n{help}");
    }
    assert!(!help.contains("demo"), "the example has no demo:\n{help}");
    assert!(help.contains("$CLAUDE_CONFIG_DIR or ~/.claude"), "{help}");
}

#[test]
fn init_then_check_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".claude");
    let dir = dir.to_str().unwrap();
    let output = run(&["init", dir]);
    assert_eq!(code(&output), 0, "{}", text(&output));
    let output = run(&["check", dir]);
    assert_eq!(code(&output), 0, "{}", text(&output));
    assert!(Path::new(dir).join("projects").is_dir());
}

/// `claude-data args…` with `HOME` set to `home`.
fn run_in(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_claude-data"))
        .args(args)
        .env("HOME", home)
        .env_remove("CLAUDE_CONFIG_DIR")
        .output()
        .unwrap()
}

/// A single-layout command recognises nothing by default any more: a directory that does not
/// fit `~/.claude`'s fingerprint, and the home itself, are never written to or archived.
#[test]
fn a_directory_that_does_not_fit_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let project = home.join("project");
    fs::create_dir_all(project.join(".git")).unwrap();
    fs::write(
        project.join(".npmrc"),
        "//registry.npmjs.org/:_authToken=npm_CANARY
",
    )
    .unwrap();
    fs::write(project.join("CLAUDE.md"), "Be brief.\n").unwrap();
    let archive = tmp.path().join("out.tar.gz");
    let (dir, out) = (project.to_str().unwrap(), archive.to_str().unwrap());
    for args in [
        &["check", "--fix", dir][..],
        &["backup", dir, "--out", out][..],
        &["init", dir][..],
        &["--json", "check", "--fix", dir][..],
    ] {
        let output = run_in(&home, args);
        assert_eq!(code(&output), 2, "{args:?}: {}", text(&output));
        assert!(text(&output).contains(dir), "{args:?}: {}", text(&output));
        assert!(text(&output).contains("--layout claude-code --force"), "{}", text(&output));
        assert!(!project.join(".gitignore").exists(), "{args:?}: .gitignore written");
        assert!(!project.join("projects").exists(), "{args:?}: init ran");
        assert!(!archive.exists(), "{args:?}: archived");
    }
    // Read-only, it is checked and the misfit said (and fails the check).
    let output = run_in(&home, &["check", dir]);
    assert_eq!(code(&output), 1, "{}", text(&output));
    assert!(text(&output).contains("misfit:"), "{}", text(&output));
    // The home itself: never, not even forced.
    fs::write(home.join(".bashrc"), "x\n").unwrap();
    let home_dir = home.to_str().unwrap();
    let output = run_in(&home, &["check", "--fix", "--layout", "claude-code", "--force", home_dir]);
    assert_eq!(code(&output), 2, "{}", text(&output));
    assert!(text(&output).contains("home directory"), "{}", text(&output));
    assert!(!home.join(".gitignore").exists() && !home.join(".git").exists());
    // A person who means it names the layout and forces.
    let output = run_in(&home, &["check", "--fix", "--layout", "claude-code", "--force", dir]);
    assert!(project.join(".gitignore").exists(), "{}", text(&output));
}

/// A directory as Claude Code leaves it, with a world-readable credentials file and a transcript
/// a killed session left torn.
fn populated(dir: &Path) {
    let project = dir.join("projects").join(project_dir_name(Path::new("/home/u/app")));
    fs::create_dir_all(&project).unwrap();
    fs::create_dir_all(dir.join("commands")).unwrap();
    fs::create_dir_all(dir.join("statsig")).unwrap();
    fs::write(dir.join("settings.json"), "{\n  \"model\": \"opus\"\n}\n").unwrap();
    fs::write(dir.join("CLAUDE.md"), "Be brief.\n").unwrap();
    fs::write(dir.join("commands/review.md"), "---\ndescription: review\n---\nReview $ARGUMENTS\n")
        .unwrap();
    fs::write(dir.join("statsig/cache"), "x").unwrap();
    // What surveys of real directories find, so that nothing is unknown.
    for (path, text) in [
        ("history.jsonl", "{\"display\":\"hi\",\"timestamp\":1}\n"),
        ("backups/.claude.json.backup.1772119081716", "{}"),
        ("sessions/4242.json", "{\"pid\":4242}"),
        ("tasks/s1/1.json", "{}"),
        ("plans/quiet-river.md", "# plan\n"),
        ("skills/review/SKILL.md", "---\nname: review\n---\n"),
        ("file-history/s1/abc@v1", "old"),
        ("todos/s1-agent-s1.json", "[]"),
        ("stats-cache.json", "{}"),
    ] {
        fs::create_dir_all(dir.join(path).parent().unwrap()).unwrap();
        fs::write(dir.join(path), text).unwrap();
    }
    let credentials = dir.join(".credentials.json");
    fs::write(&credentials, r#"{"claudeAiOauth":{"accessToken":"sk-ant-oat-CANARY"}}"#).unwrap();
    fs::set_permissions(&credentials, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(
        project.join("s1.jsonl"),
        "{\"type\":\"user\",\"sessionId\":\"s1\"}\n{\"type\":\"assistant\",\"sessionId\":\"s1\"}\n{\"type\":\"us",
    )
    .unwrap();
}

#[test]
fn check_fix_backup_and_restore_on_its_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".claude");
    populated(&dir);
    let d = dir.to_str().unwrap();

    // The transcript reads, the torn line reported, not an error.
    let scan = ClaudeDir::at(&dir).transcript(Path::new("/home/u/app"), "s1").unwrap();
    assert_eq!(scan.records.len(), 2);
    assert!(scan.torn_tail().is_some());

    let output = run(&["check", "--json", d]);
    assert_eq!(code(&output), 1, "{}", text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let kinds: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"secret-mode"), "{kinds:?}");
    assert!(kinds.contains(&"torn-jsonl"), "{kinds:?}");
    let unknown: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "unknown-entry")
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert!(unknown.is_empty(), "{unknown:?}");

    let output = run(&["check", "--fix", d]);
    assert_eq!(code(&output), 0, "{}", text(&output));
    let mode = fs::metadata(dir.join(".credentials.json")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let output = run(&["check", d]);
    assert_eq!(code(&output), 0, "{}", text(&output));

    let archive = tmp.path().join("claude.tar.gz");
    let output = run(&["backup", d, "--out", archive.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", text(&output));
    let bytes = fs::read(&archive).unwrap();
    let gz = flate_contains(&bytes, b"sk-ant-oat-CANARY");
    assert!(!gz, "the secret is in the archive");

    let restored = tmp.path().join("restored");
    let output = run(&["restore", archive.to_str().unwrap(), restored.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", text(&output));
    assert!(text(&output).contains(".credentials.json"), "the secret to re-create is listed");
    for path in ["settings.json", "CLAUDE.md", "commands/review.md"] {
        assert_eq!(
            fs::read(dir.join(path)).unwrap(),
            fs::read(restored.join(path)).unwrap(),
            "{path}"
        );
    }
    let transcript =
        Path::new("projects").join(project_dir_name(Path::new("/home/u/app"))).join("s1.jsonl");
    assert_eq!(
        fs::read(dir.join(&transcript)).unwrap(),
        fs::read(restored.join(&transcript)).unwrap()
    );
    assert!(!restored.join(".credentials.json").exists());
    assert!(!restored.join("statsig").exists(), "a cache is not backed up");
    let output = run(&["check", restored.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", text(&output));
}

/// Whether the gzip stream `bytes` holds `needle` once decompressed.
fn flate_contains(bytes: &[u8], needle: &[u8]) -> bool {
    let output = Command::new("gzip")
        .args(["-dc"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(bytes)?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(output.status.success());
    output.stdout.windows(needle.len()).any(|w| w == needle)
}

/// Concurrent updaters of `settings.json` never lose each other's change.
#[test]
fn concurrent_settings_updates_are_never_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let claude = ClaudeDir::at(tmp.path());
    std::thread::scope(|scope| {
        for t in 0..8 {
            let claude = claude.clone();
            scope.spawn(move || {
                for i in 0..25 {
                    claude
                        .update_settings(|s| {
                            s.insert(format!("k{t}-{i}"), serde_json::json!(i));
                        })
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(claude.settings().unwrap().len(), 8 * 25);
}

#[test]
fn the_layout_keeps_secrets_out_and_names_its_home() {
    let credentials = LAYOUT.entry_for(".credentials.json").unwrap();
    assert!(credentials.secret);
    assert!(LAYOUT.journal_exclusions().is_excluded(".credentials.json".as_ref()));
    assert!(LAYOUT.journal_exclusions().is_excluded("projects/-home-u/s.jsonl".as_ref()));
    assert_eq!(LAYOUT.location.dir_name(), Some(".claude"));
    assert_eq!(LAYOUT.lint(), Vec::<String>::new(), "no entry is shadowed");
    // Claude Code's own `ide/<port>.lock` holds a token: a secret, never taken for dotdir's
    // sidecar; dotdir's sidecars are known by their exact names beside a declared file.
    assert!(LAYOUT.entry_for("ide/41234.lock").is_some_and(|e| e.secret));
    assert_eq!(
        LAYOUT.sidecar_of("settings.json.lock"),
        Some((dotdir_engine::Sidecar::Lock, "settings.json"))
    );
    assert_eq!(LAYOUT.sidecar_of("unknown.lock"), None);
    let dir = tempfile::tempdir().unwrap();
    for file in ["ide/41234.lock", "settings.json", "settings.json.lock", "unknown.lock"] {
        fs::create_dir_all(dir.path().join(file).parent().unwrap()).unwrap();
        fs::write(dir.path().join(file), b"{}").unwrap();
    }
    let tree = dotdir_engine::inspect::inspect(dir.path(), &LAYOUT).unwrap();
    let role = |path: &str| tree.nodes.iter().find(|n| n.relative == path).unwrap().role;
    use dotdir_engine::inspect::Role;
    assert_eq!(role("ide/41234.lock"), Role::Declared);
    assert!(tree.nodes.iter().any(|n| n.relative == "ide/41234.lock" && n.is_secret()));
    assert_eq!(role("settings.json.lock"), Role::LockSidecar);
    assert_eq!(role("unknown.lock"), Role::Unknown);
    assert_eq!(project_dir_name(Path::new("/home/u/my.proj")), "-home-u-my-proj");
}

/// `~/.claude.json` through `shared_config`: concurrent updaters never lose each other's key
/// (the race Claude Code's own sessions lose), and a new file is `0600` (it may hold API keys).
#[test]
fn shared_config_updates_are_never_lost_and_start_private() {
    let home = tempfile::tempdir().unwrap();
    std::thread::scope(|scope| {
        for t in 0..6 {
            let home = home.path();
            scope.spawn(move || {
                for i in 0..20 {
                    claude_data::shared_config(home)
                        .update(|config| {
                            config.insert(format!("k{t}-{i}"), serde_json::json!(true));
                        })
                        .unwrap();
                }
            });
        }
    });
    let config = claude_data::shared_config(home.path()).read().unwrap().unwrap();
    assert_eq!(config.len(), 6 * 20);
    let mode = fs::metadata(home.path().join(".claude.json")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// A `claude` stand-in: `python3` under the name `claude` (a symlink), with `HOME` set, so its
/// default data directory is `<home>/.claude`; runs until its stdin closes.
fn claude_session(home: &Path, bin: &Path, cwd: &Path) -> std::process::Child {
    use std::io::BufRead;
    let claude = bin.join("claude");
    if !claude.exists() {
        // The interpreter itself, not a launcher shim that dispatches on its own name.
        let real = Command::new("python3")
            .args(["-c", "import os, sys; print(os.path.realpath(sys.executable))"])
            .output()
            .unwrap();
        std::os::unix::fs::symlink(String::from_utf8(real.stdout).unwrap().trim(), &claude)
            .unwrap();
    }
    use std::os::unix::process::CommandExt;
    let mut child = Command::new(&claude)
        // Its own process group, as a session started in another terminal.
        .process_group(0)
        .args(["-c", "import sys; print('ready', flush=True); sys.stdin.read()"])
        .env("HOME", home)
        .env_remove("CLAUDE_CONFIG_DIR")
        .current_dir(cwd)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    child
}

fn end(mut child: std::process::Child) {
    drop(child.stdin.take());
    child.wait().unwrap();
}

/// While Claude Code runs on `~/.claude` (found by its name and its environment, or by its
/// working directory), `shared_config` refuses to rewrite `~/.claude.json`, `check --fix` makes
/// no racy repair and `restore --force` moves nothing; once it stops, all three work.
#[test]
fn a_running_claude_code_is_left_alone() {
    let home = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let dir = home.path().join(".claude");
    populated(&dir);
    fs::write(home.path().join(".claude.json"), b"{\"numStartups\": 1}").unwrap();
    let archive = home.path().join("claude.tar.gz");
    let backup =
        run_in(home.path(), &["backup", dir.to_str().unwrap(), "--out", archive.to_str().unwrap()]);
    assert_eq!(code(&backup), 0, "{}", text(&backup));
    // The populated transcript ends in a torn line: a repair that rewrites a live transcript.
    let project = fs::read_dir(dir.join("projects")).unwrap().next().unwrap().unwrap().path();
    let transcript = project.join("s1.jsonl");
    let torn = fs::read(&transcript).unwrap();

    // Found by name and environment (working elsewhere), then by working directory (any name).
    for cwd in [bin.path().to_path_buf(), dir.join("projects")] {
        let session = claude_session(home.path(), bin.path(), &cwd);
        let pid = session.id();
        let error = claude_data::shared_config(home.path())
            .update(|c| c.insert("k".into(), true.into()))
            .unwrap_err();
        assert!(matches!(error, claude_data::Error::AppRunning(_)), "{error}");
        assert!(error.to_string().contains(&format!("pid {pid}")), "{error}");
        let fixed = run_in(home.path(), &["check", "--fix", dir.to_str().unwrap()]);
        assert!(text(&fixed).contains("refused"), "{}", text(&fixed));
        assert_eq!(fs::read(&transcript).unwrap(), torn, "a live transcript was rewritten");
        let restored = run_in(
            home.path(),
            &["restore", "--force", archive.to_str().unwrap(), dir.to_str().unwrap()],
        );
        assert_eq!(code(&restored), 2, "{}", text(&restored));
        assert!(!home.path().join(".claude.before-restore-1").exists());
        end(session);
    }
    claude_data::shared_config(home.path()).update(|c| c.insert("k".into(), true.into())).unwrap();
    let fixed = run_in(home.path(), &["check", "--fix", dir.to_str().unwrap()]);
    assert!(!text(&fixed).contains("refused"), "{}", text(&fixed));
    assert_ne!(fs::read(&transcript).unwrap(), torn);
}

/// What an unlocked peer costs, measured: a peer doing Claude Code's unlocked rewrite of
/// `.claude.json` (read, change, write a temporary file, rename) beside our locked updates with
/// `beside_running_app`. Printed on every run; the file stays valid JSON throughout.
#[test]
fn shared_config_beside_an_unlocked_peer() {
    let home = tempfile::tempdir().unwrap();
    fs::write(home.path().join(".claude.json"), b"{}").unwrap();
    let peer = r#"
import json, os, sys
path = sys.argv[1]
for i in range(300):
    with open(path) as f:
        data = json.load(f)
    data[f"peer{i}"] = True
    tmp = path + f".tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)
"#;
    let mut child = Command::new("python3")
        .args(["-c", peer])
        .arg(home.path().join(".claude.json"))
        .spawn()
        .unwrap();
    let config = claude_data::shared_config(home.path()).beside_running_app();
    for i in 0..300 {
        config.update(|c| c.insert(format!("ours{i}"), true.into())).unwrap();
    }
    assert!(child.wait().unwrap().success());
    let last = config.read().unwrap().unwrap();
    let ours = (0..300).filter(|i| last.contains_key(&format!("ours{i}"))).count();
    let theirs = (0..300).filter(|i| last.contains_key(&format!("peer{i}"))).count();
    assert!(
        last.contains_key("ours299") || last.contains_key("peer299"),
        "the last write is there"
    );
    println!(
        "beside an unlocked peer: {} of our 300 updates and {} of the peer's 300 lost",
        300 - ours,
        300 - theirs
    );
}

/// The names `~/.claude` really holds are long — a todo list is
/// `<session uuid>-agent-<session uuid>.json` (87 characters), a project folder is the whole
/// working directory's path — and the columns stay aligned: a name longer than its column is
/// cut in the middle, keeping its start and its end.
#[test]
fn long_names_keep_the_columns() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".claude");
    let session = "0f9c2a7e-4b1d-4c3e-9a8f-5d6e7f8a9b0c";
    let project = "-home-someone-work-clients-acme-corp-projects-data-pipeline-ingestion-service";
    for (path, text) in [
        (format!("projects/{project}/{session}.jsonl"), "{\"type\":\"user\"}\n"),
        (format!("todos/{session}-agent-{session}.json"), "[]"),
        ("history.jsonl".to_owned(), "{\"display\":\"hi\"}\n"),
        ("settings.json".to_owned(), "{}"),
    ] {
        fs::create_dir_all(dir.join(&path).parent().unwrap()).unwrap();
        fs::write(dir.join(&path), text).unwrap();
        fs::set_permissions(dir.join(&path), fs::Permissions::from_mode(0o644)).unwrap();
    }
    for sub in ["", "projects", &format!("projects/{project}"), "todos"] {
        fs::set_permissions(dir.join(sub), fs::Permissions::from_mode(0o755)).unwrap();
    }
    let output = run_in(home.path(), &["inspect", dir.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", text(&output));
    let shown =
        String::from_utf8(output.stdout).unwrap().replace(home.path().to_str().unwrap(), "<HOME>");
    expect_test::expect![[r#"
        claude-code layout at <HOME>/.claude
        the data directory of Claude Code (~/.claude, or $CLAUDE_CONFIG_DIR)
        path                                           size  mode  git  backup  what
        history.jsonl                                   17B  0644  no   yes     prompt history
        projects/                                         -  0755  no           session transcripts, one directory per working directory
          -home-someone-work-…ne-ingestion-service/       -  0755  no           one working directory's sessions
            0f9c2a7e-4b1d-4c3…8f-5d6e7f8a9b0c.jsonl     16B  0644  no   yes     a session transcript
        settings.json                                    2B  0644  yes  yes     user settings: permissions, hooks, env, model
        todos/                                            -  0755  no   no      per-session todo lists
          0f9c2a7e-4b1d-4c3e-…a8f-5d6e7f8a9b0c.json      2B  0644  no   no      a session's todo list
        7 entries, 37B; 0 secret files; backup keeps 3 files, 35B; nothing unknown

    "#]].assert_eq(&shown);
    // Every row's size column starts at the same place.
    let columns: std::collections::BTreeSet<usize> = shown
        .lines()
        .filter(|l| l.contains(" 0644 ") || l.contains(" 0755 "))
        .map(|l| {
            let at = l.find(" 0644 ").or(l.find(" 0755 ")).unwrap();
            l[..at].chars().count()
        })
        .collect();
    assert_eq!(columns.len(), 1, "{shown}");
}
