//! The checks of one entry's content: modes, JSON, JSON Lines, pid records, specs, temporary
//! files and retention.

use std::{
    collections::BTreeMap,
    fs,
    os::unix::fs::PermissionsExt,
    path::Path,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use dotdir_atomic_store as store;
use serde_json::Value;

use super::{
    Options,
    problem::{Action, Problem, ProblemKind},
};
use crate::{
    Format,
    inspect::{Node, NodeKind, Role, Tree},
};

pub(super) fn check_node(node: &Node, options: &Options, problems: &mut Vec<Problem>) {
    if let Some(why) = &node.unreadable {
        let what = if node.kind == NodeKind::Dir { "directory" } else { "file" };
        problems.push(Problem::new(
            ProblemKind::Unreadable,
            &node.relative,
            format!("cannot read this {what}: {why}"),
        ));
        return;
    }
    // A FIFO, socket or device is never opened for reading (it could block every reader) and
    // never archived, wherever it is.
    if node.kind == NodeKind::Other {
        problems.push(Problem::new(
            ProblemKind::SpecialFile,
            &node.relative,
            "a FIFO, socket or device file: never read, never backed up",
        ));
        return;
    }
    if let Some(problem) = loose_set_aside(node) {
        problems.push(problem);
    }
    match node.role {
        Role::Temp { writer_pid, writer_ns } => {
            problems.push(orphan_temp(node, writer_pid, writer_ns, options));
        }
        Role::Unknown if options.report_unknown => problems.push(Problem::new(
            ProblemKind::UnknownEntry,
            &node.relative,
            match node.kind {
                NodeKind::Dir => "a directory the layout does not declare".to_owned(),
                kind => format!("a {} the layout does not declare", kind.as_str()),
            },
        )),
        Role::Declared => check_declared(node, options, problems),
        // A `.git` that is a file (`gitdir: …`) or a symlink points git, and a journal opened
        // here, at another repository: commits would land there.
        Role::GitDir if node.kind != NodeKind::Dir => problems.push(Problem::new(
            ProblemKind::WrongKind,
            &node.relative,
            format!(
                "is a {}, not git's directory: it points git at another repository (`gitdir:`), where commits would land",
                node.kind.as_str()
            ),
        )),
        _ => {}
    }
}

/// A set-aside copy (`<name>.corrupt`, `<name>.<n>.corrupt`) more readable than what it came
/// from: its source's mode when the source is there, else its entry's (`0o600` for a private
/// or secret entry). Fixed by taking the extra bits away.
fn loose_set_aside(node: &Node) -> Option<Problem> {
    let name = node.path.file_name()?.to_str()?;
    if node.kind != NodeKind::File || !name.ends_with(".corrupt") {
        return None;
    }
    let stem = name.strip_suffix(".corrupt")?;
    // `<name>.<n>.corrupt`: the n-th copy of `<name>`.
    let stem = match stem.rsplit_once('.') {
        Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => stem,
    };
    let source = node.path.with_file_name(stem);
    let allowed = match fs::symlink_metadata(&source) {
        Ok(meta) if meta.is_file() => meta.permissions().mode() & 0o777,
        _ => node.entry.filter(|_| node.role == Role::SetAside).and_then(|e| e.write_mode())?,
    };
    let extra = node.mode & 0o077 & !allowed;
    if extra == 0 {
        return None;
    }
    let to = node.mode & 0o7777 & !extra;
    Some(
        Problem::new(
            ProblemKind::SetAsideMode,
            &node.relative,
            format!(
                "set-aside bytes are more readable ({:04o}) than the file they came from ({allowed:04o})",
                node.mode & 0o7777
            ),
        )
        .fix_with(Action::Tighten { to }, &node.path),
    )
}

/// A temporary file of a writer that names no pid (Python's `tempfile.mkstemp`) is abandoned
/// once it is this old.
pub(super) const UNNAMED_TEMP_MAX_AGE: Duration = Duration::from_secs(15 * 60);

pub(super) fn orphan_temp(
    node: &Node,
    writer_pid: Option<u32>,
    writer_ns: Option<u64>,
    options: &Options,
) -> Problem {
    let (abandoned, why) = match writer_pid {
        // Ours name their writer: whether it still holds the file decides, no clock.
        Some(pid) => {
            let temp = store::TempFile { path: node.path.clone(), writer_pid: pid, writer_ns };
            let foreign = writer_ns.is_some_and(|ns| Some(ns) != store::own_pid_namespace());
            if temp.in_flight() {
                (false, format!("its writer (pid {pid}) may still be writing"))
            } else if foreign {
                (true, format!("its writer (pid {pid} of another pid namespace) is gone"))
            } else if store::process_alive(pid) {
                (true, format!("pid {pid} is alive but no longer holds the file"))
            } else {
                (true, format!("its writer (pid {pid}) is gone"))
            }
        }
        None => {
            let age = options
                .now
                .duration_since(UNIX_EPOCH + Duration::from_secs(node.modified.max(0) as u64))
                .unwrap_or_default();
            if age > UNNAMED_TEMP_MAX_AGE {
                (true, format!("left by a Python writer {}s ago", age.as_secs()))
            } else {
                (false, "a Python writer may still be writing".to_owned())
            }
        }
    };
    let problem = Problem::new(
        ProblemKind::OrphanTemp,
        &node.relative,
        format!("leftover temporary file: {why}"),
    );
    if abandoned { problem.fix_with(Action::RemoveTemp, &node.path) } else { problem }
}

pub(super) fn check_declared(node: &Node, options: &Options, problems: &mut Vec<Problem>) {
    let Some(entry) = node.entry else { return };
    if node.wrong_kind() {
        problems.push(Problem::new(
            ProblemKind::WrongKind,
            &node.relative,
            format!(
                "declared as a {} ({}) but is a {}",
                match entry.kind {
                    crate::Kind::File => "file",
                    crate::Kind::Dir => "directory",
                    crate::Kind::Symlink => "symlink",
                },
                entry.description,
                node.kind.as_str()
            ),
        ));
        return;
    }
    if entry.secret && matches!(node.kind, NodeKind::File | NodeKind::Dir) && node.mode & 0o077 != 0
    {
        let to = node.mode & !0o077;
        problems.push(
            Problem::new(
                ProblemKind::SecretMode,
                &node.relative,
                format!(
                    "a secret with mode {:04o}: group or others can access it (should be {to:04o})",
                    node.mode
                ),
            )
            .fix_with(Action::Tighten { to }, &node.path),
        );
    }
    if node.kind != NodeKind::File {
        return;
    }
    let content = match entry.format {
        Format::Json => check_json(node, options, problems),
        Format::Jsonl => {
            check_jsonl(node, problems);
            None
        }
        Format::PidRecord => {
            check_pid_record(node, options, problems);
            None
        }
        Format::Yaml | Format::Toml | Format::Markdown => {
            check_document(node, entry.format, problems)
        }
        // Specs are checked per directory (duplicate ids) in `check_specs`.
        Format::Spec => None,
        // Nothing to parse.
        Format::Text | Format::Opaque => None,
    };
    // A document that does not parse is reported under the layout's own kind when it declares
    // a validator (ollim-bot's `corrupt-yaml`), with the parser's line and column.
    if let Some(validator) = entry.validator
        && let Some(problem) = problems
            .iter_mut()
            .find(|p| p.path == node.relative && p.kind == ProblemKind::CorruptDocument)
    {
        problem.kind = ProblemKind::from_name(validator.problem);
        problem.severity = validator.severity;
        problem.advice = validator.advice.unwrap_or(problem.advice);
        return;
    }
    if let Some(validator) = entry.validator {
        let bytes = match content {
            Some(bytes) => Some(bytes),
            None => store::read(&node.path, store::DEFAULT_MAX_DOCUMENT).ok().flatten(),
        };
        if let Some(bytes) = bytes
            && let Err(finding) = (validator.check)(&bytes)
            && !problems.iter().any(|p| {
                p.path == node.relative
                    && matches!(p.kind, ProblemKind::CorruptJson | ProblemKind::CorruptDocument)
            })
        {
            let kind = ProblemKind::from_name(validator.problem);
            let mut problem =
                Problem::new(kind, &node.relative, finding.reason).at(finding.line, finding.column);
            problem.severity = validator.severity;
            problem.advice = validator.advice.unwrap_or(problem.advice);
            problems.push(problem);
        }
    }
}

/// Parses a YAML or TOML document, or the front matter of a Markdown file that has one, and
/// reports where it breaks (line and column). Returns the bytes for the validator.
pub(super) fn check_document(
    node: &Node,
    format: Format,
    problems: &mut Vec<Problem>,
) -> Option<Vec<u8>> {
    let bytes = store::read(&node.path, store::DEFAULT_MAX_DOCUMENT).ok().flatten()?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text,
        Err(e) => {
            problems.push(Problem::new(
                ProblemKind::CorruptDocument,
                &node.relative,
                format!("not UTF-8 text (byte {})", e.valid_up_to()),
            ));
            return Some(bytes);
        }
    };
    if let Some((line, column, reason)) = document_error(text, format) {
        problems.push(
            Problem::new(ProblemKind::CorruptDocument, &node.relative, reason)
                .at(Some(line as u64), Some(column as u64)),
        );
    }
    Some(bytes)
}

/// Where `text`, as a document of `format`, fails to parse: 1-based line and column, and why.
pub(crate) fn document_error(text: &str, format: Format) -> Option<(usize, usize, String)> {
    let yaml = |yaml: &str, first_line: usize| {
        let error = serde_yaml::from_str::<serde_yaml::Value>(yaml).err()?;
        let (line, column) =
            error.location().map_or((first_line, 1), |l| (l.line() + first_line - 1, l.column()));
        let reason = error.to_string();
        let reason = reason.split(" at line ").next().unwrap_or(&reason).to_owned();
        Some((line, column, format!("invalid YAML: {reason}")))
    };
    match format {
        Format::Yaml => yaml(text, 1),
        Format::Markdown => {
            let opens = text.trim_start_matches('\u{feff}').starts_with("---");
            if !opens {
                return None;
            }
            match dotdir_frontmatter::split(text) {
                Ok(split) => yaml(split.yaml, split.yaml_line)
                    .map(|(l, c, reason)| (l, c, format!("front matter: {reason}"))),
                Err(error) => {
                    Some((error.line, error.column, format!("front matter: {}", error.reason)))
                }
            }
        }
        Format::Toml => {
            let error = text.parse::<toml::Table>().err()?;
            let at = error.span().map_or(0, |span| span.start).min(text.len());
            let before = &text[..at];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let reason = error.message().to_owned();
            Some((line, column, format!("invalid TOML: {reason}")))
        }
        _ => None,
    }
}

/// Parses a JSON entry; reports corrupt JSON and expired records. Returns the bytes for the
/// validator.
pub(super) fn check_json(
    node: &Node,
    options: &Options,
    problems: &mut Vec<Problem>,
) -> Option<Vec<u8>> {
    let bytes = match store::read(&node.path, store::DEFAULT_MAX_DOCUMENT) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return None,
        Err(e) => {
            problems.push(Problem::new(
                ProblemKind::CorruptJson,
                &node.relative,
                crate::error_chain(&e),
            ));
            return None;
        }
    };
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(e) => {
            let line = u64::try_from(e.line()).ok().filter(|l| *l > 0);
            let column = u64::try_from(e.column()).ok().filter(|c| *c > 0);
            problems.push(
                Problem::new(
                    ProblemKind::CorruptJson,
                    &node.relative,
                    format!("does not parse as JSON: {e}"),
                )
                .at(line, column),
            );
            return Some(bytes);
        }
    };
    if let Some(ttl) = node.entry.and_then(|e| e.retention) {
        let expired = expired_records(&value, options.now, ttl);
        if expired > 0 {
            problems.push(
                Problem::new(
                    ProblemKind::ExpiredEntries,
                    &node.relative,
                    format!(
                        "{} older than the {} retention {} still stored",
                        super::plural(expired, "record", "records"),
                        human_duration(ttl),
                        if expired == 1 { "is" } else { "are" }
                    ),
                )
                .fix_with(Action::Prune { ttl }, &node.path),
            );
        }
    }
    Some(bytes)
}

/// The `ts` (unix seconds) of a TTL record, when it has a numeric one.
pub(super) fn record_ts(record: &Value) -> Option<f64> {
    record.get("ts").and_then(Value::as_f64)
}

pub(super) fn cutoff(now: SystemTime, ttl: Duration) -> f64 {
    now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64() - ttl.as_secs_f64()
}

/// Records are expired when their `ts` is at or before `now - ttl` (the reference keeps
/// `ts > now - ttl`). A record without a numeric `ts` is kept: nothing is pruned that the check
/// does not understand.
pub(super) fn is_expired(record: &Value, cutoff: f64) -> bool {
    record_ts(record).is_some_and(|ts| ts <= cutoff)
}

pub(super) fn expired_records(value: &Value, now: SystemTime, ttl: Duration) -> usize {
    let cutoff = cutoff(now, ttl);
    match value {
        Value::Array(records) => records.iter().filter(|r| is_expired(r, cutoff)).count(),
        Value::Object(map) => map.values().filter(|r| is_expired(r, cutoff)).count(),
        _ => 0,
    }
}

pub(super) fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        s if s % 86_400 == 0 => format!("{}-day", s / 86_400),
        s if s % 3_600 == 0 => format!("{}-hour", s / 3_600),
        s if s % 60 == 0 => format!("{}-minute", s / 60),
        s => format!("{s}-second"),
    }
}

pub(super) fn check_jsonl(node: &Node, problems: &mut Vec<Problem>) {
    let log = dotdir_jsonl_log::Log::<Value>::new(&node.path);
    let unreadable = |e: dotdir_jsonl_log::Error| {
        Problem::new(ProblemKind::CorruptJsonl, &node.relative, crate::error_chain(&e))
    };
    let records = match log.records() {
        Ok(records) => records,
        Err(e) => return problems.push(unreadable(e)),
    };
    for entry in records {
        let bad = match entry {
            Ok(dotdir_jsonl_log::Line::Problem(bad)) => bad,
            Ok(_) => continue,
            Err(e) => return problems.push(unreadable(e)),
        };
        if log.is_valid_oversized(&bad).unwrap_or(false) {
            problems.push(
                Problem::new(
                    ProblemKind::OversizedRecord,
                    &node.relative,
                    format!(
                        "a valid record of {} bytes at byte {}, over the reader's record cap",
                        bad.len, bad.offset
                    ),
                )
                .at(bad.line, None),
            );
            continue;
        }
        let (kind, message) = if bad.is_torn_tail() {
            (
                ProblemKind::TornJsonl,
                format!(
                    "the last line ({} bytes at byte {}) is unterminated: an append was interrupted",
                    bad.len, bad.offset
                ),
            )
        } else {
            (ProblemKind::CorruptJsonl, format!("{bad}"))
        };
        problems.push(
            Problem::new(kind, &node.relative, message)
                .at(bad.line, None)
                .fix_with(Action::SetAsideLines, &node.path),
        );
    }
}

pub(super) fn check_pid_record(node: &Node, options: &Options, problems: &mut Vec<Problem>) {
    let lock = pid_lock(&node.path, options);
    let message = match lock.probe() {
        Ok(Some(holder)) if holder.running => return,
        Ok(Some(holder)) => match holder.pid {
            Some(pid) if holder.alive => {
                format!(
                    "pid {pid} is alive but is not the holder (the pid was reused): the lock is stale"
                )
            }
            Some(pid) => format!("pid {pid} is not running: the lock holder is gone"),
            None => "the record names no holder: the lock is stale".to_owned(),
        },
        Ok(None) => "the record does not name a valid pid: the lock is stale".to_owned(),
        Err(e) => {
            problems.push(Problem::new(
                ProblemKind::StaleLock,
                &node.relative,
                format!("cannot tell whether the lock is held: {}", crate::error_chain(&e)),
            ));
            return;
        }
    };
    problems.push(
        Problem::new(ProblemKind::StaleLock, &node.relative, message)
            .fix_with(Action::RemoveStaleLock, &node.path),
    );
}

pub(super) fn pid_lock(path: &Path, options: &Options) -> dotdir_pidlock::PidLock {
    let lock = dotdir_pidlock::PidLock::new(path).durability(store::Durability::Full);
    match options.program {
        Some(program) => lock.program(program.name).launched_as(program),
        None => lock,
    }
}

pub(super) fn check_specs(tree: &Tree, problems: &mut Vec<Problem>) {
    let specs: Vec<&Node> = tree
        .nodes
        .iter()
        .filter(|n| {
            n.role == Role::Declared
                && n.kind == NodeKind::File
                && n.unreadable.is_none()
                && n.entry.is_some_and(|e| e.format == Format::Spec)
        })
        .collect();
    let mut ids: BTreeMap<(String, String), Vec<&Node>> = BTreeMap::new();
    for node in specs {
        match spec_id(&node.path) {
            Ok(Some(id)) => {
                let dir = node.relative.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
                ids.entry((dir, id)).or_default().push(node);
            }
            Ok(None) => {}
            Err(SpecError { message, line, column }) => {
                let mut problem = Problem::new(ProblemKind::CorruptSpec, &node.relative, message)
                    .at(line, column);
                problem.advice = node.entry.and_then(|e| e.advice).unwrap_or(problem.advice);
                problems.push(problem);
            }
        }
    }
    for ((_, id), nodes) in ids {
        if nodes.len() < 2 {
            continue;
        }
        let names: Vec<&str> = nodes.iter().map(|n| n.relative.as_str()).collect();
        for node in &nodes {
            problems.push(Problem::new(
                ProblemKind::DuplicateId,
                &node.relative,
                format!("id {id:?} is used by {} specs: {}", nodes.len(), names.join(", ")),
            ));
        }
    }
}

pub(super) struct SpecError {
    message: String,
    line: Option<u64>,
    column: Option<u64>,
}

/// Any spec: its id (`id`, or `name` for a skill); every other key is kept as unknown.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct AnySpec {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
}

impl dotdir_frontmatter::Spec for AnySpec {
    fn id(&self) -> &str {
        if self.id.is_empty() { &self.name } else { &self.id }
    }
}

/// The id of a spec file, parsed by `dotdir-frontmatter` (strict delimiters, YAML errors with
/// line and column). `Ok(None)` for a spec without an id.
pub(super) fn spec_id(path: &Path) -> Result<Option<String>, SpecError> {
    use dotdir_frontmatter::Spec;
    let bytes = store::read(path, store::DEFAULT_MAX_DOCUMENT)
        .map_err(|e| SpecError { message: crate::error_chain(&e), line: None, column: None })?
        .unwrap_or_default();
    match dotdir_frontmatter::parse::<AnySpec>(&bytes) {
        Ok(file) => {
            let id = file.spec.id();
            Ok((!id.is_empty()).then(|| id.to_owned()))
        }
        Err(dotdir_frontmatter::Error::Parse(e)) => Err(SpecError {
            message: e.reason.to_string(),
            line: Some(e.line as u64),
            column: Some(e.column as u64),
        }),
        Err(e) => Err(SpecError { message: crate::error_chain(&e), line: None, column: None }),
    }
}
