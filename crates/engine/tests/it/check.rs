//! `check::check` on layouts declared here: each kind of problem is found from the declaration
//! alone, at its path (and line and column when it has them), graded, and marked fixable only
//! when a repair loses nothing.

use std::{fs, path::Path, time::Duration};

use dotdir_engine::{
    Backup, Entry, Format, Layout, Severity,
    check::{self, Options, ProblemKind},
};

use crate::support::{chmod, dead_pid, kinds, kinds_with, own_pid_namespace, owned, write};

/// A throwaway layout (moved here from the facade's tests: the machinery is driven by the
/// declaration alone).
pub(crate) const APP: Layout = Layout::new(
    "app",
    "a throwaway layout",
    &[
        Entry::file("notes/*.md", Format::Spec, "a note"),
        // Declared after a general entry on purpose: backup still never takes it.
        Entry::dir("vault", "a directory of secrets").secret(),
        Entry::file("data/*.json", Format::Json, "user data"),
        Entry::file("data/api-key.json", Format::Json, "an API key").secret(),
        Entry::file("log.jsonl", Format::Jsonl, "a log"),
        Entry::dir("cache", "a cache").backup(Backup::Recreatable).untracked(),
        Entry::file("state.json", Format::Json, "state").validate("bad-state", |bytes| {
            if bytes.starts_with(b"{") { Ok(()) } else { Err("not an object".into()) }
        }),
    ],
);

/// One day.
const DAY: Duration = Duration::from_secs(86_400);

/// An ollim-bot-like layout: state, a pid record, a TTL map, routines (specs), prompts
/// (optional front matter), a YAML policy with its own kind, a TOML config, a history log.
pub(crate) const BOT: Layout = Layout::new(
    "bot",
    "an ollim-bot-like layout",
    &[
        Entry::dir("state", "the bot's state").private(),
        Entry::file("state/token.json", Format::Json, "an OAuth token").secret(),
        Entry::file("state/bot.pid", Format::PidRecord, "the bot's pid").untracked(),
        Entry::file("state/pings.json", Format::Json, "recent pings").retention(DAY).untracked(),
        Entry::file("state/history.jsonl", Format::Jsonl, "the history").untracked(),
        Entry::file("state/config.json", Format::Json, "settings").private(),
        Entry::dir("routines", "the routines"),
        Entry::file("routines/*.md", Format::Spec, "a routine"),
        Entry::dir("prompts", "prompts"),
        Entry::file("prompts/*.md", Format::Markdown, "a prompt"),
        Entry::file("policy.yaml", Format::Yaml, "a policy").validate("corrupt-yaml", |_| Ok(())),
        Entry::file("config.toml", Format::Toml, "configuration"),
        Entry::file("notes.yaml", Format::Yaml, "notes"),
    ],
)
.fingerprint(&["state/"]);

/// The problems `check` finds in `root` under [`BOT`], unknown entries left out.
fn bot_problems(root: &Path) -> Vec<check::Problem> {
    let options = Options::default().report_unknown(false);
    check::check(root, &BOT, &options).unwrap().problems
}

fn the<'a>(problems: &'a [check::Problem], kind: &str, path: &str) -> &'a check::Problem {
    problems
        .iter()
        .find(|p| p.kind.as_str() == kind && p.path == path)
        .unwrap_or_else(|| panic!("no {kind} at {path}: {problems:#?}"))
}

#[test]
fn validators_unknown_entries_and_wrong_kinds() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "state.json", b"[1]");
    write(dir.path(), "notes/a.md", b"---\nid: a\n---\nhello\n");
    write(dir.path(), "notes/b.md/x", b"a directory named like a note");
    write(dir.path(), "notes/c.txt", b"?");
    assert_eq!(
        kinds(dir.path(), &APP),
        owned(&[
            // Errors first (by path), then the notice.
            ("wrong-kind", "notes/b.md"),
            ("bad-state", "state.json"),
            ("unknown-entry", "notes/c.txt"),
        ])
    );
    assert_eq!(ProblemKind::from_name("bad-state"), ProblemKind::Other("bad-state"));
}

#[test]
fn a_clean_directory_has_no_problem() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "state/token.json", b"\"t\"");
    chmod(dir.path(), "state/token.json", 0o600);
    write(dir.path(), "state/history.jsonl", b"{\"a\":1}\n{\"b\":2}\n");
    write(dir.path(), "routines/a.md", b"---\nid: a\n---\nbody\n");
    write(dir.path(), "config.toml", b"model = \"o3\"\n");
    let report = check::check(dir.path(), &BOT, &Options::default()).unwrap();
    assert_eq!(report.problems, vec![]);
    assert_eq!(report.worst(), None);
    assert_eq!(report.layout, "bot");
}

#[test]
fn a_secret_readable_by_others_is_secret_mode_and_fixable() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "state/token.json", b"\"t\"");
    chmod(dir.path(), "state/token.json", 0o640);
    let problems = bot_problems(dir.path());
    let problem = the(&problems, "secret-mode", "state/token.json");
    assert!(problem.fixable);
    assert_eq!(problem.severity, Severity::Error);
    assert!(problem.message.contains("0640") && problem.message.contains("0600"), "{problem:?}");
    // 0600 is fine, and a non-secret file may be 0644.
    chmod(dir.path(), "state/token.json", 0o600);
    write(dir.path(), "config.toml", b"a = 1\n");
    chmod(dir.path(), "config.toml", 0o644);
    assert_eq!(bot_problems(dir.path()), vec![]);
}

#[test]
fn corrupt_json_is_reported_at_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "state/config.json", b"{\n  \"a\": 1,\n  \"b\": ]\n}\n");
    let problems = bot_problems(dir.path());
    let problem = the(&problems, "corrupt-json", "state/config.json");
    assert_eq!(problem.line, Some(3), "{problem:?}");
    assert_eq!(problem.column, Some(8), "{problem:?}");
    assert!(!problem.fixable, "nothing to repair without losing the file");
    assert_eq!(problem.kind.advice(), ProblemKind::CorruptJson.advice());
}

#[test]
fn a_torn_last_line_is_torn_jsonl_at_its_line_and_a_bad_middle_line_is_corrupt_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "state/history.jsonl", b"{\"a\":1}\n{\"b\":2}\n{\"c\":");
    let problems = bot_problems(dir.path());
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let torn = the(&problems, "torn-jsonl", "state/history.jsonl");
    assert_eq!(torn.line, Some(3));
    assert!(torn.fixable);
    assert!(torn.message.contains("unterminated"), "{}", torn.message);
    write(dir.path(), "state/history.jsonl", b"{\"a\":1}\nnot json\n{\"b\":2}\n");
    let problems = bot_problems(dir.path());
    let corrupt = the(&problems, "corrupt-jsonl", "state/history.jsonl");
    assert_eq!(corrupt.line, Some(2));
    assert!(corrupt.fixable);
}

#[test]
fn broken_yaml_is_reported_with_line_and_column_under_the_layouts_own_kind() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "policy.yaml", b"allow:\n  - Read\n bad: [\n");
    write(dir.path(), "notes.yaml", b"a: 1\nb: [1,\n  c: d: e\n");
    let problems = bot_problems(dir.path());
    // A validator names the kind (`corrupt-yaml`), with the parser's line and column.
    let policy = the(&problems, "corrupt-yaml", "policy.yaml");
    assert_eq!(policy.line, Some(3), "{policy:?}");
    assert!(policy.column.is_some());
    assert_eq!(policy.severity, Severity::Error);
    // Without one, it is `corrupt-document`.
    let notes = the(&problems, "corrupt-document", "notes.yaml");
    assert!(notes.line.is_some_and(|l| l >= 2) && notes.column.is_some(), "{notes:?}");
    assert!(notes.message.contains("YAML"), "{}", notes.message);
    assert_eq!(problems.len(), 2, "{problems:#?}");
}

#[test]
fn broken_toml_is_corrupt_document_at_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "config.toml", b"model = \"o3\"\nx = = 2\n");
    let problems = bot_problems(dir.path());
    let toml = the(&problems, "corrupt-document", "config.toml");
    assert_eq!((toml.line, toml.column), (Some(2), Some(5)), "{toml:?}");
    assert!(toml.message.contains("TOML"), "{}", toml.message);
    write(dir.path(), "config.toml", b"model = \"o3\"\n[profiles.fast]\nmodel = \"o4\"\n");
    assert_eq!(bot_problems(dir.path()), vec![]);
}

#[test]
fn front_matter_is_optional_for_markdown_and_required_for_a_spec() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "prompts/plain.md", b"Just a prompt.\n");
    write(dir.path(), "routines/plain.md", b"Just a routine, no front matter.\n");
    let problems = bot_problems(dir.path());
    assert_eq!(problems.len(), 1, "{problems:#?}");
    the(&problems, "corrupt-spec", "routines/plain.md");
    // Front matter that does not parse is reported either way, with its line.
    write(dir.path(), "prompts/plain.md", b"---\ndescription: a\n  b: [\n---\nbody\n");
    write(dir.path(), "routines/plain.md", b"---\nid: a\ncron: [\n---\nbody\n");
    let problems = bot_problems(dir.path());
    assert!(the(&problems, "corrupt-document", "prompts/plain.md").line.is_some_and(|l| l >= 3));
    assert!(the(&problems, "corrupt-spec", "routines/plain.md").line.is_some_and(|l| l >= 3));
}

#[test]
fn two_specs_with_one_id_are_duplicate_ids() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "routines/a.md", b"---\nid: same\n---\n");
    write(dir.path(), "routines/b.md", b"---\nid: same\n---\n");
    write(dir.path(), "routines/c.md", b"---\nid: other\n---\n");
    let problems = bot_problems(dir.path());
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(the(&problems, "duplicate-id", "routines/a.md").message.contains("routines/b.md"));
    the(&problems, "duplicate-id", "routines/b.md");
}

#[test]
fn records_past_their_retention_are_expired_entries_measured_against_options_now() {
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let ts = |days_ago: u64| 1_800_000_000 - days_ago * 86_400;
    let body = format!(
        "{{\"a\": {{\"ts\": {}}}, \"b\": {{\"ts\": {}}}, \"c\": {{\"ts\": {}}}, \"d\": {{}}}}",
        ts(3),
        ts(2),
        0
    );
    write(dir.path(), "state/pings.json", body.as_bytes());
    let at = |now| check::check(dir.path(), &BOT, &Options::default().now(now)).unwrap().problems;
    let problems = at(now);
    let expired = the(&problems, "expired-entries", "state/pings.json");
    assert!(expired.message.starts_with("3 records older than the 1-day retention"), "{expired:?}");
    assert!(expired.fixable);
    assert_eq!(expired.severity, Severity::Notice);
    // A day after the newest record was written, one record fewer is expired… and before the
    // oldest is a day old, none.
    let earlier = |secs: u64| std::time::UNIX_EPOCH + Duration::from_secs(secs);
    assert_eq!(at(earlier(ts(2) + 86_400 - 1))[0].message.split(' ').next(), Some("2"));
    let problems = at(earlier(ts(3) + 60));
    assert!(problems[0].message.starts_with("1 record older"), "only 1970's: {problems:#?}");
}

#[test]
fn an_undeclared_path_is_an_unknown_entry_unless_asked_not_to_report_it() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".env", b"KEY=x\n");
    write(dir.path(), "state/token.json.bak", b"\"old\"");
    write(dir.path(), "scratch/notes.txt", b"mine");
    let found = kinds(dir.path(), &BOT);
    assert_eq!(
        found,
        owned(&[
            ("unknown-entry", ".env"),
            // An unknown directory is one problem, not one per file inside.
            ("unknown-entry", "scratch"),
            ("unknown-entry", "state/token.json.bak"),
        ])
    );
    let report = check::check(dir.path(), &BOT, &Options::default()).unwrap();
    assert!(report.problems.iter().all(|p| !p.fixable && p.severity == Severity::Notice));
    assert_eq!(kinds_with(dir.path(), &BOT, &Options::default().report_unknown(false)), []);
}

#[test]
fn a_pid_record_of_a_dead_process_is_a_stale_lock_and_a_live_holder_is_not() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "state/bot.pid", format!("{}\n", dead_pid()).as_bytes());
    let problems = bot_problems(dir.path());
    let stale = the(&problems, "stale-lock", "state/bot.pid");
    assert!(stale.fixable && stale.message.contains("not running"), "{stale:?}");
    assert_eq!(stale.severity, Severity::Warning);
    // A record that names no pid at all is stale too.
    write(dir.path(), "state/bot.pid", b"not a pid\n");
    assert!(the(&bot_problems(dir.path()), "stale-lock", "state/bot.pid").fixable);
    // A record naming a live process (the layout names no program, so any live pid holds it)
    // is no problem.
    let mut holder =
        std::process::Command::new("cat").stdin(std::process::Stdio::piped()).spawn().unwrap();
    write(dir.path(), "state/bot.pid", format!("{}\n", holder.id()).as_bytes());
    let problems = bot_problems(dir.path());
    drop(holder.stdin.take());
    holder.wait().unwrap();
    assert_eq!(problems, vec![]);
}

#[test]
fn an_abandoned_temporary_file_is_orphan_temp_and_one_still_held_is_not_removable() {
    let dir = tempfile::tempdir().unwrap();
    let ns = own_pid_namespace();
    let abandoned = format!("state/.config.json.{}@{ns}.0badc0de.dotdir-tmp", dead_pid());
    write(dir.path(), &abandoned, b"{\"half\":");
    let problems = bot_problems(dir.path());
    let orphan = the(&problems, "orphan-temp", &abandoned);
    assert!(orphan.fixable && orphan.message.contains("gone"), "{orphan:?}");
    // This process writing one, the file open: in flight, never removed.
    let held = format!("state/.config.json.{}@{ns}.12345678.dotdir-tmp", std::process::id());
    let open = fs::File::create(dir.path().join(&held)).unwrap();
    let problems = bot_problems(dir.path());
    let in_flight = the(&problems, "orphan-temp", &held);
    assert!(!in_flight.fixable, "{in_flight:?}");
    drop(open);
    // Not one of ours (a wrong random part): just an unknown entry.
    let odd = "state/.config.json.1.xyz.dotdir-tmp";
    write(dir.path(), odd, b"");
    assert!(kinds(dir.path(), &BOT).contains(&("unknown-entry".to_owned(), odd.to_owned())));
}

#[test]
fn a_set_aside_copy_more_readable_than_its_source_is_set_aside_mode() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "state/history.jsonl", b"{\"a\":1}\n");
    chmod(dir.path(), "state/history.jsonl", 0o600);
    write(dir.path(), "state/history.jsonl.corrupt", b"{torn\n");
    chmod(dir.path(), "state/history.jsonl.corrupt", 0o644);
    let problems = bot_problems(dir.path());
    assert!(the(&problems, "set-aside-mode", "state/history.jsonl.corrupt").fixable);
    chmod(dir.path(), "state/history.jsonl.corrupt", 0o600);
    assert_eq!(bot_problems(dir.path()), vec![]);
}

#[test]
fn a_fifo_is_a_special_file_never_read() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("state")).unwrap();
    let fifo = dir.path().join("state/history.jsonl");
    let status = { std::process::Command::new("mkfifo").arg(&fifo).status().unwrap() };
    assert!(status.success());
    // Reading it would block forever: the check returns.
    let problems = bot_problems(dir.path());
    assert!(!the(&problems, "special-file", "state/history.jsonl").fixable);
}

#[test]
fn problems_come_errors_first_and_the_report_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "aaa-unknown", b"?");
    write(dir.path(), "state/bot.pid", b"nobody\n");
    write(dir.path(), "state/token.json", b"\"t\"");
    chmod(dir.path(), "state/token.json", 0o644);
    let report = check::check(dir.path(), &BOT, &Options::default()).unwrap();
    let severities: Vec<Severity> = report.problems.iter().map(|p| p.severity).collect();
    assert_eq!(severities, [Severity::Error, Severity::Warning, Severity::Notice]);
    assert_eq!(report.worst(), Some(Severity::Error));
    assert_eq!(
        (
            report.count(Severity::Error),
            report.count(Severity::Warning),
            report.count(Severity::Notice)
        ),
        (1, 1, 1)
    );
    assert_eq!(report.fixable().count(), 2);
}

#[test]
fn a_root_that_is_not_a_directory_is_an_error_not_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "file", b"x");
    let error = check::check(&file, &BOT, &Options::default()).unwrap_err();
    assert!(matches!(error, dotdir_engine::Error::NotADirectory { .. }), "{error:?}");
    let missing = dir.path().join("missing");
    assert!(check::check(&missing, &BOT, &Options::default()).is_err());
}

#[test]
fn a_validator_can_say_where_the_content_is_wrong() {
    /// A `key = value` file whose values must be numbers: the first one that is not, by line
    /// and column.
    fn numbers(bytes: &[u8]) -> Result<(), dotdir_engine::Finding> {
        let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
        for (i, line) in text.lines().enumerate() {
            if let Some((_, value)) = line.split_once(" = ")
                && value.parse::<f64>().is_err()
            {
                let column = line.len() - value.len() + 1;
                return Err(dotdir_engine::Finding::at(
                    "not a number",
                    i as u64 + 1,
                    column as u64,
                ));
            }
        }
        Ok(())
    }
    const SETTINGS: Layout = Layout::new(
        "settings",
        "numbers only",
        &[Entry::file("limits.conf", Format::Text, "limits").validate("bad-limit", numbers)],
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "limits.conf", b"a = 1\nb = 2.5\nc = many\n");
    let report = check::check(dir.path(), &SETTINGS, &Options::default()).unwrap();
    let problem = &report.problems[0];
    assert_eq!(problem.kind.as_str(), "bad-limit");
    assert_eq!((problem.line, problem.column), (Some(3), Some(5)), "{problem:?}");
    write(dir.path(), "limits.conf", b"a = 1\n");
    assert!(check::check(dir.path(), &SETTINGS, &Options::default()).unwrap().problems.is_empty());
}
