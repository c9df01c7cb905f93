//! `dotdir check [--fix]` on the ollim-bot fixtures and on planted problems.

use std::{collections::BTreeSet, fs, os::unix::fs::PermissionsExt, path::Path, process::Command};

use expect_test::expect;
use serde_json::Value;

use dotdir_test_support::git;

use crate::{Env, code, demo_dirs, dotdir, fixture, json, normalise, problems, stderr, stdout};

#[test]
fn typical_fixture_has_no_problem() {
    let (_temp, dir) = fixture("typical");
    let output = dotdir(&["check", "--json", dir.to_str().unwrap()]);
    let document = json(&output);
    assert_eq!(document["layout"], "ollim-bot", "detected from the directory's content");
    assert_eq!(problems(&document), Vec::<(String, String)>::new());
    assert_eq!(code(&output), 0);
}

#[test]
fn hazards_fixture_reports_every_hazard() {
    let (_temp, dir) = fixture("hazards");
    let output = dotdir(&["check", "--json", dir.to_str().unwrap()]);
    assert_eq!(code(&output), 1, "problems found");
    let found: BTreeSet<(String, String)> = problems(&json(&output)).into_iter().collect();
    for (kind, path) in [
        ("corrupt-spec", "routines/say-hi-to-the-team.md"),
        ("corrupt-spec", "routines/no-frontmatter.md"),
        ("torn-jsonl", "state/session_history.jsonl"),
        ("expired-entries", "state/fork_messages.json"),
        ("stale-lock", "state/bot.pid"),
        ("unknown-entry", "routines/notes.txt"),
    ] {
        assert!(found.contains(&(kind.to_owned(), path.to_owned())), "{kind} {path} in {found:#?}");
    }
}

#[test]
fn corrupt_spec_has_line_and_column() {
    let (_temp, dir) = fixture("hazards");
    let document = json(&dotdir(&["check", "--json", dir.to_str().unwrap()]));
    let spec = document["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"] == "routines/say-hi-to-the-team.md")
        .expect("the quoted description is reported");
    assert_eq!(spec["kind"], "corrupt-spec");
    assert!(spec["line"].as_u64().is_some_and(|l| l >= 1), "{spec}");
    assert!(spec["column"].as_u64().is_some_and(|c| c >= 1), "{spec}");
    assert_eq!(spec["fixable"], false);
}

#[test]
fn hazards_human_output() {
    let (temp, dir) = fixture("hazards");
    let output = dotdir(&["check", dir.to_str().unwrap()]);
    assert_eq!(code(&output), 1);
    let text = normalise(&stdout(&output), temp.path());
    expect![[r#"
        ollim-bot layout at <DIR>/.ollim-bot: 3 errors, 2 warnings, 2 notices; 3 fixable
          error   corrupt-spec      routines/no-frontmatter.md:1:1  missing front matter: the file must start with a `---` line
                                      -> the application cannot read this file until its front matter parses: fix the YAML at the given line, or move the file away
          error   corrupt-spec      routines/say-hi-to-the-team.md:4:20  invalid YAML: did not find expected key
                                      -> the application cannot read this file until its front matter parses: fix the YAML at the given line, or move the file away
          error   torn-jsonl        state/session_history.jsonl:4  the last line (24 bytes at byte 235) is unterminated: an append was interrupted
          warning stale-lock        state/bot.pid  pid 999999 is not running: the lock holder is gone
          warning bad-session-id    state/sessions.json  legacy JSON form: ignored, the next session id replaces it
                                      -> the application may not read this file as intended: fix or restore it by hand
          notice  unknown-entry     routines/notes.txt  a file the layout does not declare
                                      -> the layout does not know this path: move it out of the data directory if it is not yours to keep here
          notice  expired-entries   state/fork_messages.json  1 record older than the 7-day retention is still stored
        Run `dotdir check --fix <DIR>/.ollim-bot` to repair the 3 fixable problems; nothing is lost.
    "#]]
    .assert_eq(&text);
}

/// Every JSON record a reader can get from the hazards directory: the session events, the live
/// TTL records, the routines' bytes.
fn readable_records(dir: &Path) -> BTreeSet<String> {
    let mut records = BTreeSet::new();
    let history = fs::read_to_string(dir.join("state/session_history.jsonl")).unwrap();
    for line in history.lines() {
        if let Ok(value) = serde_json::from_str::<Value>(line) {
            records.insert(format!("history {value}"));
        }
    }
    let forks: Value =
        serde_json::from_slice(&fs::read(dir.join("state/fork_messages.json")).unwrap()).unwrap();
    for record in forks.as_array().unwrap() {
        if record["ts"].as_f64().unwrap() > crate::NOW.parse::<f64>().unwrap() - 7.0 * 86_400.0 {
            records.insert(format!("fork {record}"));
        }
    }
    for entry in fs::read_dir(dir.join("routines")).unwrap() {
        let entry = entry.unwrap();
        records.insert(format!(
            "routine {} {}",
            entry.file_name().to_string_lossy(),
            String::from_utf8_lossy(&fs::read(entry.path()).unwrap())
        ));
    }
    records
}

#[test]
fn fix_repairs_what_loses_nothing_then_nothing_fixable_remains() {
    let (temp, dir) = fixture("hazards");
    let env = Env::new();
    let before = readable_records(&dir);
    let torn_tail = {
        let bytes = fs::read(dir.join("state/session_history.jsonl")).unwrap();
        let start = bytes.iter().rposition(|&b| b == b'\n').unwrap() + 1;
        bytes[start..].to_vec()
    };

    let output = env.run(&["check", "--fix", "--json", dir.to_str().unwrap()]);
    let document = json(&output);
    let fixed: BTreeSet<(String, String)> = document["fixed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["kind"].as_str().unwrap().to_owned(), f["path"].as_str().unwrap().to_owned()))
        .collect();
    for (kind, path) in [
        ("torn-jsonl", "state/session_history.jsonl"),
        ("expired-entries", "state/fork_messages.json"),
        ("stale-lock", "state/bot.pid"),
    ] {
        assert!(fixed.contains(&(kind.to_owned(), path.to_owned())), "{kind} {path} in {fixed:?}");
    }
    assert_eq!(document["failed"], Value::Array(vec![]));

    // A second check: nothing fixable is left.
    let second = json(&env.run(&["check", "--json", dir.to_str().unwrap()]));
    let fixable: Vec<&Value> =
        second["problems"].as_array().unwrap().iter().filter(|p| p["fixable"] == true).collect();
    assert!(fixable.is_empty(), "{fixable:#?}");
    // What --fix cannot repair is still reported.
    assert!(
        problems(&second).contains(&("corrupt-spec".into(), "routines/no-frontmatter.md".into()))
    );

    // No record that was readable before is gone, and the torn tail is kept aside.
    let after = readable_records(&dir);
    let lost: Vec<&String> = before.difference(&after).collect();
    assert!(lost.is_empty(), "lost records: {lost:#?}");
    assert_eq!(
        fs::read(dir.join("state/session_history.jsonl.corrupt")).unwrap(),
        [torn_tail, b"\n".to_vec()].concat()
    );
    assert!(!dir.join("state/bot.pid").exists(), "the stale record is reclaimed");
    drop(temp);
}

#[test]
fn fix_human_output() {
    let (temp, dir) = fixture("hazards");
    let output = dotdir(&["check", "--fix", dir.to_str().unwrap()]);
    let text = normalise(&stdout(&output), temp.path());
    expect![[r#"
        ollim-bot layout at <DIR>/.ollim-bot: 3 repairs
          fixed torn-jsonl        state/session_history.jsonl  moved 1 line (24 bytes) to session_history.jsonl.corrupt; 2 records kept; dropped 1 blank line
          fixed stale-lock        state/bot.pid  reclaimed the stale lock (pid 999999 was gone) and removed the record
          fixed expired-entries   state/fork_messages.json  pruned 1 expired record
        ollim-bot layout at <DIR>/.ollim-bot: 2 errors, 1 warning, 1 notice; 0 fixable
          error   corrupt-spec      routines/no-frontmatter.md:1:1  missing front matter: the file must start with a `---` line
                                      -> the application cannot read this file until its front matter parses: fix the YAML at the given line, or move the file away
          error   corrupt-spec      routines/say-hi-to-the-team.md:4:20  invalid YAML: did not find expected key
                                      -> the application cannot read this file until its front matter parses: fix the YAML at the given line, or move the file away
          warning bad-session-id    state/sessions.json  legacy JSON form: ignored, the next session id replaces it
                                      -> the application may not read this file as intended: fix or restore it by hand
          notice  unknown-entry     routines/notes.txt  a file the layout does not declare
                                      -> the layout does not know this path: move it out of the data directory if it is not yours to keep here
    "#]]
    .assert_eq(&text);
}

#[test]
fn secret_mode_is_reported_and_tightened() {
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let [ollim, home, _] = demo_dirs(&env, temp.path());
    let token = ollim.join("state/token.json");
    let oauth = home.join("oauth");
    fs::set_permissions(&token, fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(&oauth, fs::Permissions::from_mode(0o755)).unwrap();

    let document = json(&env.run(&["check", "--json", ollim.to_str().unwrap()]));
    assert_eq!(problems(&document), [("secret-mode".to_owned(), "state/token.json".to_owned())]);
    assert_eq!(document["problems"][0]["fixable"], true);
    let document = json(&env.run(&["check", "--json", home.to_str().unwrap()]));
    assert_eq!(problems(&document), [("secret-mode".to_owned(), "oauth".to_owned())]);

    for dir in [&ollim, &home] {
        let output = env.run(&["check", "--fix", dir.to_str().unwrap()]);
        assert_eq!(code(&output), 0, "{}", stdout(&output));
    }
    assert_eq!(fs::metadata(&token).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(fs::metadata(&oauth).unwrap().permissions().mode() & 0o777, 0o700);
}

#[test]
fn orphan_temp_of_a_dead_writer_is_swept() {
    let (_temp, dir) = fixture("typical");
    // pid 4194304 is above Linux's largest pid_max: its writer is certainly gone.
    let temp_file = dir.join("state/.config.json.4194304.0badf00d.dotdir-tmp");
    fs::write(&temp_file, b"{\"model_main\"").unwrap();
    let env = Env::new();
    let document = json(&env.run(&["check", "--json", dir.to_str().unwrap()]));
    assert_eq!(
        problems(&document),
        [("orphan-temp".to_owned(), "state/.config.json.4194304.0badf00d.dotdir-tmp".to_owned())]
    );
    assert_eq!(document["problems"][0]["fixable"], true);
    let output = env.run(&["check", "--fix", dir.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    assert!(!temp_file.exists());
}

#[test]
fn corrupt_json_and_duplicate_ids_are_reported_not_fixed() {
    let (_temp, dir) = fixture("typical");
    fs::write(dir.join("state/config.json"), b"{\"model_main\": \"opus\",\n  oops}").unwrap();
    fs::copy(dir.join("routines/weekly-review.md"), dir.join("routines/weekly-review-3.md"))
        .unwrap();
    let env = Env::new();
    let document = json(&env.run(&["check", "--json", dir.to_str().unwrap()]));
    assert_eq!(
        problems(&document),
        [
            ("duplicate-id".to_owned(), "routines/weekly-review-3.md".to_owned()),
            ("duplicate-id".to_owned(), "routines/weekly-review.md".to_owned()),
            ("corrupt-json".to_owned(), "state/config.json".to_owned()),
        ]
    );
    let corrupt = &document["problems"][2];
    assert_eq!((corrupt["line"].as_u64(), corrupt["column"].as_u64()), (Some(2), Some(3)));
    assert!(document["problems"].as_array().unwrap().iter().all(|p| p["fixable"] == false));
    // --fix leaves them as they are.
    let before = fs::read(dir.join("state/config.json")).unwrap();
    let output = env.run(&["check", "--fix", dir.to_str().unwrap()]);
    assert_eq!(code(&output), 1);
    assert_eq!(fs::read(dir.join("state/config.json")).unwrap(), before);
}

#[test]
fn missing_gitignore_is_written_and_user_lines_are_kept() {
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let [ollim, _, _] = demo_dirs(&env, temp.path());
    fs::write(ollim.join(".gitignore"), "my-notes/\n").unwrap();
    let document = json(&env.run(&["check", "--json", ollim.to_str().unwrap()]));
    assert_eq!(
        problems(&document),
        [
            // Errors first: git itself would take both secrets (`git add -A`).
            ("unignored-secret".to_owned(), "state/credentials.json".to_owned()),
            ("unignored-secret".to_owned(), "state/token.json".to_owned()),
            ("missing-gitignore".to_owned(), ".gitignore".to_owned()),
            // A person's edit git has not seen yet.
            ("uncommitted-change".to_owned(), ".gitignore".to_owned()),
        ]
    );
    let output = env.run(&["check", "--fix", ollim.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let again = json(&env.run(&["check", "--json", ollim.to_str().unwrap()]));
    assert_eq!(problems(&again), [], "the merged .gitignore is committed");
    let gitignore = fs::read_to_string(ollim.join(".gitignore")).unwrap();
    assert!(gitignore.starts_with("my-notes/\n"), "{gitignore}");
    assert!(gitignore.contains("/state/token.json\n"), "{gitignore}");
}

#[test]
fn tracked_secret_is_reported_and_untracked_by_fix() {
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let [ollim, _, _] = demo_dirs(&env, temp.path());
    // A person force-adds the token, as `git add -f state/token.json` would.
    let repo = git2::Repository::open(&ollim).unwrap();
    let mut index = repo.index().unwrap();
    index.add_path(Path::new("state/token.json")).unwrap();
    index.write().unwrap();
    let document = json(&env.run(&["check", "--json", ollim.to_str().unwrap()]));
    assert_eq!(problems(&document), [("tracked-secret".to_owned(), "state/token.json".to_owned())]);
    assert!(document["problems"][0]["message"].as_str().unwrap().contains("git rm --cached"));
    assert_eq!(document["problems"][0]["fixable"], true);

    let token = fs::read(ollim.join("state/token.json")).unwrap();
    let output = env.run(&["check", "--fix", ollim.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains("state/token.json"), "{}", stdout(&output));
    let mut index = repo.index().unwrap();
    index.read(true).unwrap();
    assert!(index.get_path(Path::new("state/token.json"), 0).is_none(), "untracked");
    let head = repo.head().unwrap().peel_to_tree().unwrap();
    assert!(head.get_path(Path::new("state/token.json")).is_err(), "not in the new commit");
    assert_eq!(fs::read(ollim.join("state/token.json")).unwrap(), token, "the file stays");
    let document = json(&env.run(&["check", "--json", ollim.to_str().unwrap()]));
    assert_eq!(problems(&document), Vec::<(String, String)>::new(), "a second check is clean");
}

#[test]
fn usage_and_io_errors_exit_2_and_say_what_to_do() {
    let output = dotdir(&["check"]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("no data directory found"), "{}", stderr(&output));
    assert!(stderr(&output).contains("dotdir demo"), "{}", stderr(&output));

    let output = dotdir(&["check", "/nonexistent/dotdir-test"]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("cannot open /nonexistent/dotdir-test"),
        "{}",
        stderr(&output)
    );

    let empty = tempfile::tempdir().unwrap();
    let output = dotdir(&["check", empty.path().to_str().unwrap()]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("--layout"), "{}", stderr(&output));

    let output = dotdir(&["check", "--layout", "nope"]);
    assert_eq!(code(&output), 2, "clap's usage errors exit 2");
}

#[test]
fn default_location_comes_from_the_environment() {
    let (_temp, dir) = fixture("typical");
    let env = Env::new();
    let output = env.command(&["check", "--json"]).env("OLLIM_DATA_DIR", &dir).output().unwrap();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    // Without DIR: every directory found, each in `directories`.
    let document = json(&output);
    assert_eq!(document["command"], "check");
    assert_eq!(document["root"], serde_json::Value::Null);
    assert_eq!(document["directories"][0]["layout"], "ollim-bot");
    assert_eq!(document["directories"][0]["root"], dir.to_str().unwrap());
}

#[test]
fn python_temp_files_are_swept_only_when_old() {
    let (_temp, dir) = fixture("typical");
    // What the reference's `tempfile.mkstemp(suffix=".tmp")` leaves when its write fails.
    let fresh = dir.join("state/tmpab12cd_4.tmp");
    let old = dir.join("state/tmpzz99yy88.tmp");
    fs::write(&fresh, b"{\"partial\"").unwrap();
    fs::write(&old, b"{\"partial\"").unwrap();
    // Ages against the injected clock (`DOTDIR_NOW`), never the wall clock.
    let now =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(crate::NOW.parse::<u64>().unwrap());
    for (path, age) in [(&fresh, 60), (&old, 3600)] {
        let at = now - std::time::Duration::from_secs(age);
        fs::File::options().write(true).open(path).unwrap().set_modified(at).unwrap();
    }

    let env = Env::new();
    let document = json(&env.run(&["check", "--json", dir.to_str().unwrap()]));
    let temps: Vec<(&str, bool)> = document["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["path"].as_str().unwrap(), p["fixable"].as_bool().unwrap()))
        .collect();
    assert_eq!(temps, [("state/tmpab12cd_4.tmp", false), ("state/tmpzz99yy88.tmp", true)]);
    let _ = env.run(&["check", "--fix", dir.to_str().unwrap()]);
    assert!(fresh.exists(), "a writer may still be using it");
    assert!(!old.exists());
}

#[test]
fn ttl_records_of_arrays_and_objects_expire_and_are_pruned() {
    let (_temp, dir) = fixture("typical");
    let env = Env::new();
    // Eight days after the fixture was written: every TTL record has expired.
    let later = (crate::NOW.parse::<u64>().unwrap() + 8 * 86_400).to_string();
    let run = |args: &[&str]| env.command(args).env("DOTDIR_NOW", &later).output().unwrap();
    let document = json(&run(&["check", "--json", dir.to_str().unwrap()]));
    assert_eq!(
        problems(&document),
        [
            ("expired-entries".to_owned(), "state/fork_messages.json".to_owned()),
            ("expired-entries".to_owned(), "state/inquiries.json".to_owned()),
        ]
    );
    assert!(document["problems"][0]["message"].as_str().unwrap().starts_with("2 records older"));
    let output = run(&["check", "--fix", dir.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    // Python's json.dumps of an empty list and an empty object, byte for byte.
    assert_eq!(fs::read(dir.join("state/fork_messages.json")).unwrap(), b"[]");
    assert_eq!(fs::read(dir.join("state/inquiries.json")).unwrap(), b"{}");
    // At the fixture's own time nothing had expired: the same check is clean.
    let document = json(&env.run(&["check", "--json", dir.to_str().unwrap()]));
    assert_eq!(problems(&document), Vec::<(String, String)>::new());
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let (_temp, dir) = fixture("hazards");
    let plain = dotdir(&["check", dir.to_str().unwrap()]);
    assert!(!stdout(&plain).contains('\x1b'), "not a terminal: no escape codes");
    let env = Env::new();
    let coloured = env
        .command(&["check", "--color", "always", dir.to_str().unwrap()])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(stdout(&coloured).contains("\x1b[31merror  "), "{}", stdout(&coloured));
    assert_eq!(code(&coloured), 1);
}

#[test]
fn severities_decide_the_exit_code() {
    let (_temp, dir) = fixture("typical");
    let env = Env::new();
    let path = dir.to_str().unwrap();
    // The real bot's files as they are: clean.
    assert_eq!(code(&env.run(&["check", path])), 0);
    // As the reference leaves a directory at start-up (`git init`, no `.gitignore`): a warning.
    let status = Command::new("git").args(["init", "-q"]).current_dir(&dir).status().unwrap();
    assert!(status.success());
    let document = json(&env.run(&["check", "--json", path]));
    assert_eq!(document["problems"][1]["kind"], "missing-gitignore");
    assert_eq!(document["problems"][1]["severity"], "warning");
    assert_eq!(document["problems"][0]["kind"], "uncommitted-change", "no commit yet");
    assert_eq!((document["errors"].as_u64(), document["warnings"].as_u64()), (Some(0), Some(2)));
    assert_eq!(code(&env.run(&["check", path])), 0, "a warning alone passes");
    assert_eq!(code(&env.run(&["check", "--strict", path])), 1, "--strict fails on it");
    // An idle week later, the records the app prunes on its next read are notices.
    let later = (crate::NOW.parse::<u64>().unwrap() + 8 * 86_400).to_string();
    let output =
        env.command(&["check", "--json", path]).env("DOTDIR_NOW", &later).output().unwrap();
    assert_eq!(code(&output), 0);
    let document = json(&output);
    let severities: Vec<(&str, &str)> = document["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["kind"].as_str().unwrap(), p["severity"].as_str().unwrap()))
        .collect();
    assert_eq!(
        severities,
        [
            ("uncommitted-change", "warning"),
            ("missing-gitignore", "warning"),
            ("expired-entries", "notice"),
            ("expired-entries", "notice")
        ]
    );
    // A torn line is an error.
    let log = dir.join("state/session_history.jsonl");
    let mut bytes = fs::read(&log).unwrap();
    bytes.extend_from_slice(b"{\"torn");
    fs::write(&log, bytes).unwrap();
    assert_eq!(code(&env.run(&["check", path])), 1);
}

#[test]
fn errors_are_json_under_json() {
    let env = Env::new();
    let output = env.run(&["--json", "check", "/nonexistent/.ollim-bot"]);
    assert_eq!(code(&output), 2);
    let document = json(&output);
    assert!(document["error"].as_str().unwrap().contains("/nonexistent"), "{document}");
    assert!(document["causes"].as_array().is_some_and(|c| !c.is_empty()));
}

#[test]
fn a_valid_record_over_the_cap_is_a_notice_and_never_moved() {
    let (_temp, dir) = fixture("typical");
    let log = dir.join("state/session_history.jsonl");
    let mut bytes = fs::read(&log).unwrap();
    // One valid 1.1 MB record (a pasted CSV), then a blank line.
    let csv = "a,b,c\\n".repeat(1_100_000 / 7);
    bytes.extend_from_slice(
        format!("{{\"session_id\": \"s\", \"note\": \"{csv}\"}}\n\n").as_bytes(),
    );
    fs::write(&log, &bytes).unwrap();
    let env = Env::new();
    let path = dir.to_str().unwrap();
    let output = env.run(&["check", "--json", path]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let document = json(&output);
    assert_eq!(
        problems(&document),
        [("oversized-record".to_owned(), "state/session_history.jsonl".to_owned())]
    );
    assert_eq!(document["problems"][0]["severity"], "notice");
    assert_eq!(document["problems"][0]["fixable"], false);
    let fixed = env.run(&["check", "--fix", path]);
    assert_eq!(code(&fixed), 0, "{}", stdout(&fixed));
    assert_eq!(fs::read(&log).unwrap(), bytes, "nothing moved, nothing dropped");
    assert!(!dir.join("state/session_history.jsonl.corrupt").exists());
}

#[test]
fn untrack_is_verified_with_relative_absolute_and_dot_paths() {
    let env = Env::new();
    for how in ["relative", "absolute", "dot", "inside"] {
        let (temp, dir) = fixture("typical");
        fs::write(dir.join("state/token.json"), "{\"t\":1}").unwrap();
        git(&dir, &["init", "-q"]);
        git(&dir, &["add", "-A"]);
        git(&dir, &["commit", "-qm", "i"]);
        assert_eq!(git(&dir, &["ls-files", "state/token.json"]), "state/token.json\n");
        let absolute = dir.to_str().unwrap().to_owned();
        let (cwd, args): (&Path, Vec<&str>) = match how {
            "relative" => (temp.path(), vec!["check", "--fix", ".ollim-bot"]),
            "absolute" => (env.home.path(), vec!["check", "--fix", &absolute]),
            "dot" => (&dir, vec!["check", "--fix", "."]),
            _ => (&dir, vec!["check", "--fix"]),
        };
        let output = env.command(&args).current_dir(cwd).output().unwrap();
        let text = stdout(&output);
        assert!(
            text.contains("fixed   tracked-secret") || text.contains("tracked-secret"),
            "{how}: {text}"
        );
        assert_eq!(
            git(&dir, &["ls-files", "state/token.json"]),
            "",
            "{how}: still tracked:\n{text}"
        );
        assert!(dir.join("state/token.json").exists(), "{how}: the file stays");
        // A second check finds nothing of the kinds the first claimed to fix.
        let again =
            json(&env.command(&["check", "--json", "."]).current_dir(&dir).output().unwrap());
        let kinds: Vec<String> = problems(&again).into_iter().map(|(kind, _)| kind).collect();
        assert!(
            !kinds.iter().any(|k| k == "tracked-secret" || k == "missing-gitignore"),
            "{how}: {kinds:?}"
        );
    }
}

#[test]
fn a_write_left_uncommitted_is_a_warning_and_fix_commits_it() {
    // A writer killed between its write and its commit: the change is on disk, not in git.
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let [ollim, _, _] = demo_dirs(&env, temp.path());
    let routine = fs::read_dir(ollim.join("routines")).unwrap().next().unwrap().unwrap().path();
    let text = fs::read_to_string(&routine).unwrap().replace("Review", "Re-review");
    fs::write(&routine, text).unwrap();
    fs::write(
        ollim.join("routines/left-behind.md"),
        "---\nid: \"c0ffee01\"\ncron: \"0 9 * * *\"\n---\nLeft\n",
    )
    .unwrap();
    let path = ollim.to_str().unwrap();
    let output = env.run(&["check", "--json", path]);
    assert_eq!(code(&output), 0, "a warning: the app survives it");
    let found: Vec<String> = problems(&json(&output))
        .into_iter()
        .filter(|(kind, _)| kind == "uncommitted-change")
        .map(|(_, path)| path)
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.contains(&"routines/left-behind.md".to_owned()), "{found:?}");
    let fixed = env.run(&["check", "--fix", path]);
    assert_eq!(code(&fixed), 0, "{}", stdout(&fixed));
    assert!(stdout(&fixed).contains("committed 2 uncommitted paths"), "{}", stdout(&fixed));
    assert_eq!(problems(&json(&env.run(&["check", "--json", path]))), []);
    let log = git(&ollim, &["log", "-1", "--name-only", "--format=%s"]);
    assert!(log.contains("routines/left-behind.md") && log.contains("interrupted"), "{log}");
}

#[test]
fn problems_come_errors_first_then_by_path_in_text_and_json() {
    let (_temp, dir) = fixture("hazards");
    let document = json(&dotdir(&["check", "--json", dir.to_str().unwrap()]));
    let rank = |severity: &str| match severity {
        "error" => 0,
        "warning" => 1,
        "notice" => 2,
        other => panic!("unknown severity {other}"),
    };
    let listed: Vec<(i32, String)> = document["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (rank(p["severity"].as_str().unwrap()), p["path"].as_str().unwrap().to_owned()))
        .collect();
    let kinds: BTreeSet<i32> = listed.iter().map(|(rank, _)| *rank).collect();
    assert!(kinds.len() > 1, "the fixture has problems of several severities: {listed:?}");
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "JSON: errors first, then by path");
    // The text lists them in the same order.
    let text = stdout(&dotdir(&["check", dir.to_str().unwrap()]));
    let severities: Vec<i32> = text
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|word| ["error", "warning", "notice"].contains(word))
        .map(rank)
        .collect();
    let ranks: Vec<i32> = listed.iter().map(|(rank, _)| *rank).collect();
    assert_eq!(severities, ranks, "text: {text}");
}
