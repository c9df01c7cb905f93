//! The Codex example on its own layout: TOML, YAML and Markdown checked with their lines,
//! `init` without a repository, no `push` or `clone`, and a lint-clean declaration.

#![allow(clippy::unwrap_used, reason = "tests unwrap")]

use std::{
    fs,
    path::Path,
    process::{Command, Output},
};

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_codex-data"))
        .args(args)
        .env("HOME", "/nonexistent-home")
        .env_remove("CODEX_HOME")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A `~/.codex` as Codex leaves it, with `files` written over it.
fn codex_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let base: &[(&str, &str)] = &[
        ("config.toml", "model = \"o3\"\n\n[profiles.fast]\nmodel = \"o4-mini\"\n"),
        ("history.jsonl", "{\"session_id\":\"s1\",\"ts\":1763549853,\"text\":\"hi\"}\n"),
        (
            "sessions/2026/08/10/rollout-2026-08-10T13-02-51-0199.jsonl",
            "{\"timestamp\":\"t\",\"type\":\"session_meta\",\"payload\":{}}\n",
        ),
    ];
    for (path, content) in base.iter().chain(files) {
        let path = tmp.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
    tmp
}

/// `check --json` on `dir`: its exit code and problems.
fn check(dir: &Path) -> (i32, Vec<Value>) {
    let output = run(&["check", "--json", dir.to_str().unwrap()]);
    let json: Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&output)));
    (output.status.code().unwrap(), json["problems"].as_array().unwrap().clone())
}

fn problem<'a>(problems: &'a [Value], path: &str) -> &'a Value {
    problems
        .iter()
        .find(|p| p["path"] == path)
        .unwrap_or_else(|| panic!("no problem for {path} in {problems:#?}"))
}

#[test]
fn a_well_kept_directory_checks_clean() {
    let dir = codex_dir(&[]);
    let (code, problems) = check(dir.path());
    assert_eq!((code, problems.len()), (0, 0), "{problems:#?}");
}

#[test]
fn a_broken_config_toml_is_an_error_with_its_line() {
    let dir = codex_dir(&[("config.toml", "model = \"o3\"\n\n[profiles.fast\nmodel = 1\n")]);
    let (code, problems) = check(dir.path());
    assert_ne!(code, 0);
    let broken = problem(&problems, "config.toml");
    assert_eq!(broken["severity"], "error", "{broken:#}");
    assert_eq!(broken["line"], 3, "{broken:#}");
    assert!(broken["column"].as_u64().is_some(), "{broken:#}");
}

#[test]
fn broken_yaml_in_a_yaml_entry_is_an_error_with_its_line() {
    let dir = codex_dir(&[
        ("skills/review/SKILL.md", "---\nname: review\ndescription: Reviews a diff\n---\nBody\n"),
        ("skills/review/agents/openai.yaml", "interface:\n  display_name: Review\n  icon: [a, b\n"),
    ]);
    let (code, problems) = check(dir.path());
    assert_ne!(code, 0);
    let broken = problem(&problems, "skills/review/agents/openai.yaml");
    assert_eq!(broken["severity"], "error", "{broken:#}");
    assert!(broken["line"].as_u64().is_some_and(|line| line >= 3), "{broken:#}");
}

#[test]
fn a_prompt_without_front_matter_is_fine_and_a_skill_without_one_is_not() {
    let dir = codex_dir(&[
        ("prompts/plain.md", "Explain this code in plain words.\n"),
        (
            "prompts/with.md",
            "---\ndescription: Summarise\nargument-hint: FILE\n---\nSummarise $1\n",
        ),
        ("AGENTS.md", "# Rules\nBe brief.\n"),
        ("skills/bare/SKILL.md", "No front matter here.\n"),
    ]);
    let (_, problems) = check(dir.path());
    assert!(problems.iter().all(|p| !p["path"].as_str().unwrap().starts_with("prompts/")));
    assert!(problems.iter().all(|p| p["path"] != "AGENTS.md"), "{problems:#?}");
    let bare = problem(&problems, "skills/bare/SKILL.md");
    assert!(bare["advice"].as_str().unwrap().contains("Codex skips it"), "{bare:#}");
    assert!(!bare["advice"].as_str().unwrap().contains("ollim"), "{bare:#}");
}

#[test]
fn init_makes_no_git_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".codex");
    let output = run(&["init", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(dir.is_dir());
    assert!(!dir.join(".git").exists(), "{}", text(&output));
    assert!(text(&output).contains("no git repository"), "{}", text(&output));
    assert!(dir.join("sessions").is_dir() && dir.join("prompts").is_dir());
}

#[test]
fn help_offers_no_push_or_clone() {
    let output = run(&["--help"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let help = text(&output);
    for command in ["inspect", "check", "backup", "restore", "init"] {
        assert!(help.contains(&format!("  {command} ")), "{command} missing from\n{help}");
    }
    for command in ["push", "clone"] {
        assert!(!help.contains(&format!("  {command} ")), "{command} offered:\n{help}");
    }
    assert!(help.contains("$CODEX_HOME or ~/.codex"), "{help}");
}

#[test]
fn secrets_and_caches_stay_out_of_a_backup() {
    let dir =
        codex_dir(&[("auth.json", "{\"OPENAI_API_KEY\":\"sk-canary\"}"), ("state_5.sqlite", "x")]);
    let archive = dir
        .path()
        .parent()
        .unwrap()
        .join(format!("codex-{}.tar.gz", dir.path().file_name().unwrap().to_string_lossy()));
    let output = run(&["backup", dir.path().to_str().unwrap(), "--out", archive.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let list = Command::new("tar").arg("tzf").arg(&archive).output().unwrap();
    let names = String::from_utf8_lossy(&list.stdout);
    assert!(names.contains("config.toml") && names.contains("history.jsonl"), "{names}");
    assert!(!names.contains("auth.json") && !names.contains("state_5.sqlite"), "{names}");
    fs::remove_file(archive).unwrap();
}

#[test]
fn the_layout_lints_clean() {
    assert_eq!(codex_data::LAYOUT.lint(), Vec::<String>::new());
}
