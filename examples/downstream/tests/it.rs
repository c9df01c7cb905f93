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
