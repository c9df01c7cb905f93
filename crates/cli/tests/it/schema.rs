//! One JSON schema for every command: the `--json` output of every command, and of its error
//! paths, validates against `docs/json-schema.json` (a JSON Schema 2020-12 document, checked
//! with the `jsonschema` crate), and the same envelope (`schema`, `command`, `root`) opens each.

use std::{fs, path::Path, process::Output};

use serde_json::Value;

use crate::{Env, code, demo_dirs, stdout};

fn validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/json-schema.json");
    let schema: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("the schema itself is valid")
}

/// The document `output` printed, checked against the schema and the envelope.
fn valid(validator: &jsonschema::Validator, output: &Output, command: &str) -> Value {
    let document: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{command}: stdout is not one JSON document ({e}): {}", stdout(output))
    });
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{command}: {errors:#?}\n{document:#}");
    assert_eq!(document["schema"], 1, "{command}");
    assert_eq!(document["command"], command, "{document:#}");
    document
}

#[test]
fn every_command_and_every_error_path_matches_the_schema() {
    let schema = validator();
    let env = Env::new();
    let temp = tempfile::tempdir().unwrap();
    let [ollim, home, _] = demo_dirs(&env, temp.path());
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    let mut seen = Vec::new();
    let mut run = |args: &[&str], command: &str| {
        let output = env.run(args);
        let document = valid(&schema, &output, command);
        seen.push(command.to_owned());
        (code(&output), document)
    };

    let demo_dir = temp.path().join("demo2");
    run(&["demo", "--json", "--dir", &path(&demo_dir)], "demo");
    let (_, single) = run(&["inspect", "--json", &path(&ollim)], "inspect");
    assert_eq!(single["root"], path(&ollim));
    run(&["check", "--json", &path(&ollim)], "check");
    run(&["check", "--fix", "--json", &path(&home)], "check");
    run(&["backup", "--list", "--json", &path(&ollim)], "backup");
    let archive = temp.path().join("b.tar.gz");
    let (_, backup) = run(&["backup", "--json", &path(&ollim), "--out", &path(&archive)], "backup");
    assert_eq!(
        backup["files"].as_u64().unwrap() as usize,
        backup["included"].as_array().unwrap().len()
    );
    let (_, verified) = run(&["backup", "--json", "--verify", &path(&archive)], "verify");
    assert_eq!(verified["files"], backup["files"], "one meaning of `files`");
    assert_eq!(verified["bytes"], backup["bytes"], "one meaning of `bytes`");
    let garbage = temp.path().join("garbage.tar.gz");
    fs::write(&garbage, b"not an archive").unwrap();
    let (failed, _) = run(&["backup", "--json", "--verify", &path(&garbage)], "verify");
    assert_eq!(failed, 1);
    let restored_dir = temp.path().join("restored/.ollim-bot");
    let (_, restored) =
        run(&["restore", "--json", &path(&archive), &path(&restored_dir)], "restore");
    assert_eq!(restored["files"], backup["files"]);
    run(&["init", "--json", "--layout", "ollim-bot", &path(&temp.path().join("new"))], "init");
    let bare = temp.path().join("remote.git");
    dotdir_test_support::git_output(temp.path(), &["init", "-q", "--bare", &path(&bare)]);
    run(&["push", "--json", &path(&ollim), "--to", &path(&bare)], "push");
    run(&["clone", "--json", &path(&bare), &path(&temp.path().join("cloned/.ollim-bot"))], "clone");

    // Several directories: `root` null, each in `directories`.
    let output = env.command(&["check", "--json"]).env("OLLIM_DATA_DIR", &ollim).output().unwrap();
    let several = valid(&schema, &output, "check");
    assert!(several["root"].is_null() && several["directories"].is_array(), "{several:#}");
    let output =
        env.command(&["inspect", "--json"]).env("OLLIM_DATA_DIR", &ollim).output().unwrap();
    valid(&schema, &output, "inspect");

    // Errors: the same envelope, `error` and `causes`, exit 2.
    let (failed, error) = run(&["check", "--json", "/nonexistent/dir"], "check");
    assert_eq!(failed, 2);
    assert!(error["error"].as_str().is_some_and(|e| !e.is_empty()), "{error:#}");
    let (failed, usage) = run(&["check", "--json", "--no-such-flag"], "usage");
    assert_eq!(failed, 2);
    assert!(usage["error"].as_str().unwrap().contains("--no-such-flag"), "{usage:#}");
    for command in [
        "demo", "inspect", "check", "backup", "verify", "restore", "init", "push", "clone", "usage",
    ] {
        assert!(seen.iter().any(|s| s == command), "{command} was not exercised");
    }
}
