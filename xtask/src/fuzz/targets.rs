//! The fuzz targets: one per parser or name rule, each with the properties it must keep on any
//! input (beyond "no panic, no hang").

use std::{
    ffi::OsStr,
    fs,
    os::unix::ffi::OsStrExt,
    path::{Component, Path, PathBuf},
};

use anyhow::Result;
use dotdir::{
    frontmatter::{self, SpecDir},
    jsonl_log::{LineStyle, Log, LogOptions},
    ollim::{self, DataDir, Landing, StateGuard},
    omicos,
};
use serde_json::Value;

use super::{Runner, Target, Verdict};

/// Every target, in the order they run.
pub(crate) fn all() -> Vec<Target> {
    vec![
        Target {
            name: "frontmatter",
            seeds: &[b"---\nid: x\n---\nbody\n"],
            make: frontmatter_target,
        },
        Target { name: "frontmatter-specdir", seeds: &[], make: specdir_target },
        Target { name: "jsonl", seeds: &[b"{\"a\": 1}\n{\"b\"\n"], make: jsonl_target },
        Target {
            name: "ollim-sessions",
            seeds: &[b"abc"],
            make: || state_target(ollim::files::SESSIONS),
        },
        Target {
            name: "ollim-config",
            seeds: &[b"{}"],
            make: || state_target(ollim::files::CONFIG),
        },
        Target {
            name: "ollim-fork-messages",
            seeds: &[b"[]"],
            make: || state_target(ollim::files::FORK_MESSAGES),
        },
        Target {
            name: "ollim-inquiries",
            seeds: &[b"{}"],
            make: || state_target(ollim::files::INQUIRIES),
        },
        Target {
            name: "ollim-pending-updates",
            seeds: &[b"[]"],
            make: || state_target(ollim::files::PENDING_UPDATES),
        },
        Target {
            name: "ollim-ping-budget",
            seeds: &[b"{}"],
            make: || state_target(ollim::files::PING_BUDGET),
        },
        Target {
            name: "ollim-session-history",
            seeds: &[b""],
            make: || state_target(ollim::files::SESSION_HISTORY),
        },
        Target { name: "pid-record", seeds: &[b"1", b"123\n8765\n", b""], make: pid_target },
        Target { name: "layout-validators", seeds: &[b"{}"], make: validators_target },
        Target { name: "slugify", seeds: &[b"Check email & summarize!"], make: slug_target },
        Target { name: "download-name", seeds: &[b"../../etc/passwd"], make: download_target },
        Target {
            name: "state-guard",
            seeds: &[b"state/x", b"../state", b"a/../STATE/y"],
            make: guard_target,
        },
        Target {
            name: "omicos-ids",
            seeds: &[b"0123456789abcdef0123456789abcdef"],
            make: omicos_ids_target,
        },
        Target { name: "omicos-documents", seeds: &[b"{}"], make: omicos_documents_target },
    ]
}

fn tempdir() -> Result<tempfile::TempDir> {
    Ok(tempfile::Builder::new().prefix("dotdir-fuzz-").tempdir()?)
}

fn fail<T>(message: impl Into<String>) -> std::result::Result<T, String> {
    Err(message.into())
}

// ---- frontmatter ---------------------------------------------------------------------------

/// The splitter, the parser of every ollim spec type and the render round trip: a file that
/// parses renders to text that parses back to the same spec, and re-rendering gives the same
/// bytes.
fn frontmatter_target() -> Result<Runner> {
    Ok(Box::new(|data: &[u8]| {
        let text = String::from_utf8_lossy(data);
        if let Ok(split) = frontmatter::split(&text) {
            let _ = split.message();
            if !text.contains(split.yaml) || !text.ends_with(split.body) {
                return fail("split returned text that is not part of the input");
            }
        }
        round_trip::<ollim::Routine>(data)?;
        round_trip::<ollim::Reminder>(data)?;
        round_trip::<ollim::Webhook>(data)?;
        round_trip::<ollim::Skill>(data)?;
        Ok(())
    }))
}

fn round_trip<T: frontmatter::Spec + PartialEq + std::fmt::Debug>(data: &[u8]) -> Verdict {
    let Ok(file) = frontmatter::parse::<T>(data) else { return Ok(()) };
    let Ok(rendered) = frontmatter::render(&file) else { return Ok(()) };
    let again = match frontmatter::parse::<T>(rendered.as_bytes()) {
        Ok(again) => again,
        Err(e) => {
            return fail(format!(
                "{}: a parsed spec renders to text that does not parse: {e}\nrendered: {rendered:?}",
                std::any::type_name::<T>()
            ));
        }
    };
    if again != file {
        return fail(format!(
            "{}: parse(render(x)) != x\nfirst: {file:?}\nagain: {again:?}\nrendered: {rendered:?}",
            std::any::type_name::<T>()
        ));
    }
    match frontmatter::render(&again) {
        Ok(second) if second == rendered => Ok(()),
        Ok(second) => fail(format!(
            "{}: re-rendering an unchanged spec changed the bytes\nfirst: {rendered:?}\nsecond: {second:?}",
            std::any::type_name::<T>()
        )),
        Err(e) => {
            fail(format!("{}: render failed on a re-parsed spec: {e}", std::any::type_name::<T>()))
        }
    }
}

/// A spec directory holding the input as a file (and one good file): listing never fails, and
/// every `.md` file is either an entry or a reported problem.
fn specdir_target() -> Result<Runner> {
    let dir = tempdir()?;
    let routines = dir.path().join("routines");
    fs::create_dir_all(&routines)?;
    fs::write(routines.join("good.md"), "---\nid: \"a1b2c3d4\"\ncron: \"0 8 * * *\"\n---\nGood\n")?;
    Ok(Box::new(move |data: &[u8]| {
        let _keep = &dir;
        fs::write(routines.join("fuzz.md"), data).map_err(|e| e.to_string())?;
        let specs = SpecDir::<ollim::Routine>::new(&routines);
        let listing = match specs.list() {
            Ok(listing) => listing,
            Err(e) => return fail(format!("SpecDir::list failed on one bad file: {e}")),
        };
        if !listing.entries.iter().any(|e| e.path.ends_with("good.md")) {
            return fail("the good file was lost from the listing");
        }
        let fuzz_entries = listing.entries.iter().filter(|e| e.path.ends_with("fuzz.md")).count();
        if fuzz_entries > 1 {
            return fail("the fuzzed file is listed twice");
        }
        if fuzz_entries == 0 && listing.problems.is_empty() {
            return fail("the fuzzed file is neither an entry nor a reported problem");
        }
        Ok(())
    }))
}

// ---- jsonl-log -----------------------------------------------------------------------------

/// The lenient and strict readers in each format, `read_from` and `last`: the lenient read never
/// fails on content, strict agrees with it when there are no problems, the last N records are the
/// tail of the full read.
fn jsonl_target() -> Result<Runner> {
    let dir = tempdir()?;
    let path = dir.path().join("log.jsonl");
    Ok(Box::new(move |data: &[u8]| {
        let _keep = &dir;
        fs::write(&path, data).map_err(|e| e.to_string())?;
        for format in [LineStyle::Python, LineStyle::Compact, LineStyle::Checksummed] {
            let log: Log<Value> = Log::with_options(&path, LogOptions::new().format(format));
            let scan = match log.read() {
                Ok(scan) => scan,
                Err(e) => return fail(format!("{format:?}: lenient read failed: {e}")),
            };
            if scan.next_offset > data.len() as u64 {
                return fail(format!("{format:?}: next_offset {} past the end", scan.next_offset));
            }
            let mut lenient_count = 0;
            for entry in log.records().map_err(|e| format!("records: {e}"))? {
                let _ = entry;
                lenient_count += 1;
                if lenient_count > data.len() + 1 {
                    return fail(format!("{format:?}: the lenient iterator does not end"));
                }
            }
            let strict = log.read_strict();
            if let Ok(strict) = &strict
                && strict.records != scan.records
            {
                return fail(format!("{format:?}: strict and lenient reads disagree"));
            }
            if scan.corrupt().count() == 0 && strict.is_err() {
                return fail(format!(
                    "{format:?}: strict read failed with no corrupt line: {:?}",
                    strict.err()
                ));
            }
            let middle = data.len() as u64 / 2;
            let _ = log.read_from(middle);
            match log.read_from(scan.next_offset) {
                Ok(rest) if !rest.records.is_empty() => {
                    return fail(format!("{format:?}: records after next_offset"));
                }
                Ok(_) => {}
                Err(e) => return fail(format!("{format:?}: read_from(next_offset) failed: {e}")),
            }
            let values: Vec<&Value> = scan.records.iter().map(|r| &r.value).collect();
            for n in [1usize, 3] {
                match log.last(n) {
                    Ok(last) => {
                        let tail = &values[values.len().saturating_sub(n)..];
                        let got: Vec<&Value> = last.records.iter().map(|r| &r.value).collect();
                        if got != tail {
                            return fail(format!(
                                "{format:?}: last({n}) = {got:?} but the forward read ends with {tail:?}"
                            ));
                        }
                    }
                    Err(e) => return fail(format!("{format:?}: last({n}) failed: {e}")),
                }
            }
        }
        let _ = fs::remove_file(&path);
        Ok(())
    }))
}

// ---- ollim state files ---------------------------------------------------------------------

fn fake_clock() -> ollim::FakeClock {
    ollim::FakeClock::new("2026-05-12T10:00:00Z".parse().expect("a valid timestamp"))
}

fn data_dir(root: &Path) -> Result<DataDir> {
    Ok(DataDir::open(
        root,
        ollim::Options::new()
            .track_in_git(false)
            .clock(fake_clock())
            .time_zone(jiff::tz::TimeZone::UTC)
            .durability(dotdir::atomic_store::Durability::None),
    )?)
}

/// One state file holding the input, read through the facade's typed reader; then the facade's
/// writer of that file: when the reader refused the content, the writer must refuse too and leave
/// the bytes as they were, or move them aside to `<name>.corrupt` — never a silent reset; an
/// append must keep what was there.
fn state_target(file: &'static str) -> Result<Runner> {
    let dir = tempdir()?;
    let data = data_dir(dir.path())?;
    let path = data.state_dir().join(file);
    Ok(Box::new(move |input: &[u8]| {
        let _keep = &dir;
        fs::write(&path, input).map_err(|e| e.to_string())?;
        let read_ok = match file {
            ollim::files::SESSIONS => {
                let id = data.session_id();
                if let Ok(Some(id)) = &id
                    && (id.is_empty() || id.trim() != id)
                {
                    return fail(format!("session id {id:?} is not stripped"));
                }
                let _ = ollim::parse_session_id(input);
                id.is_ok()
            }
            ollim::files::CONFIG => match data.config() {
                Ok(config) => {
                    let _ = config.problems();
                    let _ = config.format_all();
                    true
                }
                Err(_) => false,
            },
            ollim::files::FORK_MESSAGES => {
                let _ = data.lookup_fork_session(1);
                data.fork_messages().is_ok()
            }
            ollim::files::INQUIRIES => {
                let _ = data.peek_inquiry("abcd1234");
                data.inquiries().is_ok()
            }
            ollim::files::PENDING_UPDATES => data.peek_updates().is_ok(),
            ollim::files::PING_BUDGET => {
                let budget = data.ping_budget();
                let _ = budget.status();
                let _ = budget.minutes_to_next_refill();
                let _ = dotdir::ping_bucket::BudgetState::from_json(input, &path);
                budget.full_status().is_ok()
            }
            ollim::files::SESSION_HISTORY => {
                let _ = data.session_start_time();
                if let Err(e) = data.session_history() {
                    return fail(format!("session history read failed on content: {e}"));
                }
                true
            }
            _ => true,
        };
        let wrote = match file {
            ollim::files::SESSIONS => {
                data.save_session_id("fuzz-session").map_err(|e| e.to_string())
            }
            ollim::files::CONFIG => {
                data.set_config("model_main", "opus").map(drop).map_err(|e| e.to_string())
            }
            ollim::files::FORK_MESSAGES => {
                data.record_fork_messages(&[7], "fork", None).map_err(|e| e.to_string())
            }
            ollim::files::INQUIRIES => {
                data.register_inquiry("p").map(drop).map_err(|e| e.to_string())
            }
            ollim::files::PENDING_UPDATES => data.append_update("m").map_err(|e| e.to_string()),
            ollim::files::PING_BUDGET => {
                data.ping_budget().try_use().map(drop).map_err(|e| e.to_string())
            }
            ollim::files::SESSION_HISTORY => data
                .log_session_event(ollim::SessionEventKind::Created, "s1", None)
                .map(drop)
                .map_err(|e| e.to_string()),
            _ => Ok(()),
        };
        let after = fs::read(&path).unwrap_or_default();
        if file == ollim::files::SESSION_HISTORY {
            if wrote.is_ok() && !after.starts_with(input) {
                return fail("an append changed what was already in the log");
            }
        } else if file == ollim::files::SESSIONS {
            // The reference ignores a legacy or unreadable session file and replaces it.
        } else if !read_ok {
            // A refused file may be moved aside to `<name>.corrupt` (kept for a person) and the
            // feature start afresh; it may never be replaced without a copy.
            let mut aside = path.as_os_str().to_owned();
            aside.push(".corrupt");
            let kept = fs::read(&aside).ok();
            let _ = fs::remove_file(&aside);
            if wrote.is_ok() && kept.as_deref() != Some(input) {
                return fail(format!(
                    "the reader refused {file} but the writer replaced it without keeping a copy \
                     (silent reset): {:?} -> {:?}",
                    String::from_utf8_lossy(input),
                    String::from_utf8_lossy(&after)
                ));
            }
            if wrote.is_err() && after != input {
                return fail(format!("a refused write changed {file}"));
            }
        }
        Ok(())
    }))
}

// ---- pid record ----------------------------------------------------------------------------

/// The pid record parser through `probe`, and `acquire` over whatever record is there: a corrupt
/// or foreign record never blocks a starter whose program runs nowhere.
fn pid_target() -> Result<Runner> {
    let dir = tempdir()?;
    let path = dir.path().join("bot.pid");
    Ok(Box::new(move |input: &[u8]| {
        let _keep = &dir;
        fs::write(&path, input).map_err(|e| e.to_string())?;
        let _ = dotdir::pidlock::probe(&path);
        let lock = dotdir::pidlock::PidLock::new(&path)
            .format(dotdir::pidlock::RecordFormat::Lines)
            .program("dotdir-fuzz-no-such-program")
            .durability(dotdir::atomic_store::Durability::None);
        let _ = lock.probe();
        match lock.acquire() {
            Ok(guard) => {
                let record = fs::read(&path).unwrap_or_default();
                if record != format!("{}\n", std::process::id()).as_bytes() {
                    return fail(format!(
                        "acquire published {:?}",
                        String::from_utf8_lossy(&record)
                    ));
                }
                guard.release().map_err(|e| format!("release failed: {e}"))?;
            }
            Err(e) => return fail(format!("a record naming no holder blocked acquire: {e}")),
        }
        Ok(())
    }))
}

// ---- layout validators ---------------------------------------------------------------------

/// Every validator of the three declared layouts, and the glob matcher, on the input.
fn validators_target() -> Result<Runner> {
    let layouts = [&ollim::LAYOUT, &omicos::HOME_LAYOUT, &omicos::WORKSPACE_LAYOUT];
    Ok(Box::new(move |input: &[u8]| {
        let text = String::from_utf8_lossy(input);
        for layout in layouts {
            for entry in layout.entries {
                if let Some(validator) = &entry.validator {
                    let _ = (validator.check)(input);
                }
                let _ = entry.matches(&text);
                let _ = dotdir::glob_match(&text, entry.pattern);
            }
            let _ = layout.entry_for(&text);
        }
        Ok(())
    }))
}

// ---- names ---------------------------------------------------------------------------------

/// The slugger: `[a-z0-9-]`, at most 50 characters, no dash at either end, no double dash,
/// idempotent.
fn slug_target() -> Result<Runner> {
    Ok(Box::new(|input: &[u8]| {
        let text = String::from_utf8_lossy(input);
        let slug = frontmatter::slugify(&text);
        if slug.len() > frontmatter::MAX_SLUG {
            return fail(format!("slug {slug:?} is longer than {}", frontmatter::MAX_SLUG));
        }
        if !slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return fail(format!("slug {slug:?} has characters outside [a-z0-9-]"));
        }
        if slug.starts_with('-') || slug.ends_with('-') || slug.contains("--") {
            return fail(format!("slug {slug:?} has a dash at an edge or a double dash"));
        }
        if frontmatter::slugify(&slug) != slug {
            return fail(format!("slugify is not idempotent on {slug:?}"));
        }
        let stem = frontmatter::file_stem(&text);
        if stem.is_empty() || stem.starts_with('.') {
            return fail(format!("file stem {stem:?} is empty or hidden"));
        }
        Ok(())
    }))
}

/// The download-name sanitiser: the result is one safe, non-hidden path component of at most
/// `MAX_DOWNLOAD_NAME` bytes, idempotent, and a file of that name lands in the directory.
fn download_target() -> Result<Runner> {
    let dir = tempdir()?;
    Ok(Box::new(move |input: &[u8]| {
        let text = String::from_utf8_lossy(input);
        let name = ollim::sanitize_download_name(&text);
        safe_component(&name)?;
        if name.len() > ollim::MAX_DOWNLOAD_NAME {
            return fail(format!("{} bytes > {}", name.len(), ollim::MAX_DOWNLOAD_NAME));
        }
        if name.starts_with(['.', '-', ' ']) || name.ends_with(['.', ' ']) {
            return fail(format!("{name:?} starts with . - or space, or ends with . or space"));
        }
        if name.chars().any(char::is_control) {
            return fail(format!("{name:?} has a control character"));
        }
        let again = ollim::sanitize_download_name(&name);
        if again != name {
            return fail(format!("not idempotent: {name:?} -> {again:?}"));
        }
        for n in [2, 99] {
            let numbered = ollim::numbered_name(&name, n);
            safe_component(&numbered)?;
        }
        let joined = dir.path().join(&name);
        if joined.parent() != Some(dir.path()) {
            return fail(format!("{name:?} does not name an entry of its directory"));
        }
        Ok(())
    }))
}

fn safe_component(name: &str) -> Verdict {
    let mut components = Path::new(name).components();
    let one = matches!(components.next(), Some(Component::Normal(c)) if c == OsStr::new(name))
        && components.next().is_none();
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) || !one {
        return fail(format!("{name:?} is not a single path component"));
    }
    if name.len() > 255 {
        return fail(format!("{name:?} is longer than NAME_MAX"));
    }
    Ok(())
}

/// The `state/` guard on a real directory without symlinks: it never panics, and its verdict
/// agrees with a resolution through the kernel (`canonicalize` of each existing prefix, the
/// rest taken lexically). The guard may be stricter where a name folds to `state` (`STATE`,
/// `st\u{200b}ate`); it may never call a path in `state/` anything else.
fn guard_target() -> Result<Runner> {
    let dir = tempdir()?;
    let root = fs::canonicalize(dir.path())?;
    for sub in ["state/sub", "routines", "downloads/x", "a/b/c"] {
        fs::create_dir_all(root.join(sub))?;
    }
    for file in ["state/sessions.json", "routines/r.md", "a/b/file"] {
        fs::write(root.join(file), "x")?;
    }
    let guard = StateGuard::new(&root)?;
    Ok(Box::new(move |input: &[u8]| {
        let _keep = &dir;
        let path = Path::new(OsStr::from_bytes(input));
        let got = guard.locate(path);
        let _ = guard.check_tool("Write", std::str::from_utf8(input).ok());
        let expected = oracle(&root, input);
        if got == expected {
            return Ok(());
        }
        let stricter =
            got == Landing::State && expected == Landing::Data && folds_loosely(&root, input);
        if stricter {
            return Ok(());
        }
        fail(format!("guard says {got:?}, the kernel's resolution says {expected:?} for {path:?}"))
    }))
}

fn oracle(root: &Path, input: &[u8]) -> Landing {
    if input.is_empty() || input.contains(&0) {
        return Landing::Unresolvable;
    }
    let Some(resolved) = kernel_resolve(root, Path::new(OsStr::from_bytes(input))) else {
        return Landing::Unresolvable;
    };
    match resolved.strip_prefix(root) {
        Ok(inside) => match inside.components().next() {
            Some(Component::Normal(first)) if first == "state" => Landing::State,
            _ => Landing::Data,
        },
        Err(_) => Landing::Outside,
    }
}

/// Existing prefixes through `canonicalize` (the kernel), missing ones lexically.
fn kernel_resolve(root: &Path, path: &Path) -> Option<PathBuf> {
    let mut resolved = if path.is_absolute() { PathBuf::from("/") } else { root.to_path_buf() };
    for component in path.components() {
        match component {
            Component::RootDir | Component::Prefix(_) => resolved = PathBuf::from("/"),
            Component::CurDir => {}
            Component::ParentDir => {
                resolved.pop();
            }
            Component::Normal(name) => {
                let candidate = resolved.join(name);
                resolved = match fs::canonicalize(&candidate) {
                    Ok(real) => real,
                    Err(e) if e.raw_os_error() == Some(40) => return None, // ELOOP
                    Err(_) => candidate,
                };
            }
        }
    }
    Some(resolved)
}

/// Whether the first component under the root, with non-ASCII characters dropped and ASCII
/// lowercased, reads `state`: a variant the guard may refuse on purpose.
fn folds_loosely(root: &Path, input: &[u8]) -> bool {
    let Some(resolved) = kernel_resolve(root, Path::new(OsStr::from_bytes(input))) else {
        return false;
    };
    let Ok(inside) = resolved.strip_prefix(root) else { return false };
    let Some(Component::Normal(first)) = inside.components().next() else { return false };
    let folded: String = first
        .to_string_lossy()
        .chars()
        .filter(char::is_ascii)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    folded == "state"
}

// ---- omicos --------------------------------------------------------------------------------

/// `workspace_id` content, conversation and owner ids: an accepted id is 32 lowercase hex digits;
/// an accepted name is one plain component that stays inside `conversations/`.
fn omicos_ids_target() -> Result<Runner> {
    let dir = tempdir()?;
    let workspace = omicos::Workspace::at(
        omicos::GlobalHome::at(dir.path().join("home")),
        dir.path().join("ws/.omicos"),
        omicos::Flavor::Serve,
    );
    let conversations = workspace.conversations_dir();
    Ok(Box::new(move |input: &[u8]| {
        let _keep = &dir;
        if let Ok(id) = omicos::WorkspaceId::parse(input) {
            let s = id.as_str();
            if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return fail(format!("accepted workspace id {s:?}"));
            }
            if id.process_id() != format!("local-{s}") {
                return fail("process id is not local-<id>");
            }
        }
        let text = String::from_utf8_lossy(input);
        for check in [
            omicos::validate_name("conversation id", &text).is_ok(),
            omicos::validate_owner_id(&text).is_ok(),
        ] {
            if check {
                safe_component(&text)?;
                if text.starts_with('.') {
                    return fail(format!("accepted hidden name {text:?}"));
                }
            }
        }
        if let Ok(conversation) = workspace.conversation(&text)
            && conversation.dir().parent() != Some(conversations.as_path())
        {
            return fail(format!("conversation {text:?} escapes conversations/"));
        }
        Ok(())
    }))
}

/// The omicos JSON documents and the `workspace_id` file holding the input, read through their
/// typed readers.
fn omicos_documents_target() -> Result<Runner> {
    let dir = tempdir()?;
    let home = omicos::GlobalHome::at(dir.path().join("home"));
    let workspace =
        omicos::Workspace::at(home.clone(), dir.path().join("ws/.omicos"), omicos::Flavor::Serve);
    workspace.ensure()?;
    home.ensure()?;
    Ok(Box::new(move |input: &[u8]| {
        let _keep = &dir;
        let put = |path: &Path| -> Verdict {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            fs::write(path, input).map_err(|e| e.to_string())
        };
        put(workspace.account().path())?;
        let _ = workspace.account().read();
        put(workspace.llm_config().path())?;
        let _ = workspace.llm_config().read();
        put(workspace.cloud_login().path())?;
        let _ = workspace.cloud_login().read();
        let _ = workspace.credentials();
        let _ = workspace.owner();
        put(workspace.conversation_index().path())?;
        let _ = workspace.conversation_index().read();
        let _ = workspace.conversation_index_drift();
        put(workspace.conversation_sync().path())?;
        let _ = workspace.conversation_sync().read();
        let _ = workspace.conversation_sync_mark("c1");
        put(workspace.trajectory_sync().path())?;
        let _ = workspace.trajectory_sync().read();
        put(&home.cloud_login_path())?;
        let _ = home.read_cloud_login();
        put(&workspace.workspace_id_path())?;
        match workspace.read_workspace_id() {
            Ok(Some(id)) if id.as_str().len() != 32 => {
                return fail(format!("read workspace id {id}"));
            }
            _ => {}
        }
        Ok(())
    }))
}
