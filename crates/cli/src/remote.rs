//! `dotdir push` and `dotdir clone`: the journal off the machine and back, through the user's
//! own `git` (every transport, their credentials), with the audit before anything leaves
//! (judged against what the destination holds, by path and by a secret's content). A URL is
//! shown without its credentials ([`redact_url`]), in text, JSON and errors alike.

use std::{
    io::{Read, Write},
    path::Path,
    process::{Command, Stdio},
};

use anyhow::{Context, Result, bail};
use dotdir_engine::Layout;
use dotdir_git_journal::{Error as JournalError, Journal, Leak, redact_text, redact_url};
use serde_json::json;

use crate::{
    Outcome,
    layouts::{Layouts, Targets},
    style::{self, Style},
};

/// The layout a fresh clone at `staging` (to become `dir`) follows: the forced one or the one
/// it fits; refused when it fits none, or does not fit the forced one (unless `overridden`).
fn choose_layout(
    layouts: &Layouts,
    url: &str,
    dir: &Path,
    staging: &Path,
    forced: Option<&'static Layout>,
    overridden: bool,
    style: &Style,
) -> Result<&'static Layout> {
    let single = match layouts.all[..] {
        [layout] => Some(layout),
        _ => None,
    };
    let Some(layout) =
        forced.or_else(|| dotdir_engine::inspect::detect(staging, &layouts.all)).or(single)
    else {
        bail!(
            "cannot tell which layout {url} follows: it fits none ({}); nothing was kept. Pass --layout {}",
            layouts
                .all
                .iter()
                .filter_map(|l| dotdir_engine::inspect::fit(staging, l).ok())
                .map(|f| format!("{}: {}", f.layout, f.explain()))
                .collect::<Vec<_>>()
                .join("; "),
            layouts.names()
        );
    };
    let fit = dotdir_engine::inspect::fit(staging, layout)?;
    if !fit.fits() && !overridden {
        bail!(
            "refusing to clone {url} into {}: it does not fit the {} layout ({}){}; nothing was kept. If it really is one, run `{} clone --layout {} --force {url} {}`",
            dir.display(),
            layout.name,
            fit.explain(),
            layouts.fitting_others(staging, layout),
            style.command,
            layout.name,
            dir.display()
        );
    }
    Ok(layout)
}

/// Refuses a layout without a journal, pointing to what moves it instead.
fn require_journal(layout: &Layout, style: &Style) -> Result<()> {
    if !layout.has_journal() {
        bail!(
            "the {} layout keeps no git journal: move it with `{cmd} backup DIR --out FILE` and `{cmd} restore FILE DIR`",
            layout.name,
            cmd = style.command
        );
    }
    Ok(())
}

/// `push [DIR] [--to URL] [--remote NAME]`.
/// The files present in the directory that git does not carry but a backup does
/// ([`dotdir_engine::Layout::not_in_git`]), with what each is.
fn left_behind(target: &crate::layouts::Target) -> Result<Vec<(String, &'static str)>> {
    let tree = dotdir_engine::inspect::inspect(&target.dir, target.layout)?;
    let kept: Vec<&'static dotdir_engine::Entry> = target.layout.not_in_git().collect();
    Ok(tree
        .nodes
        .iter()
        .filter(|n| n.kind == dotdir_engine::inspect::NodeKind::File && n.direct)
        .filter_map(|n| {
            let entry = n.entry?;
            kept.iter()
                .any(|k| std::ptr::eq(*k, entry))
                .then(|| (n.relative.clone(), entry.description))
        })
        .collect())
}

pub(crate) fn push(
    targets: Targets,
    to: Option<&str>,
    remote: &str,
    json: bool,
    style: &Style,
) -> Result<Outcome> {
    let [target] = &targets.list[..] else {
        let found: Vec<String> = targets.list.iter().map(|t| t.dir.display().to_string()).collect();
        bail!("several data directories exist ({}): pass the one to push as DIR", found.join(", "));
    };
    require_journal(target.layout, style)?;
    if !target.dir.join(".git").is_dir() {
        bail!(
            "{} has no git repository yet: `{} init {}` creates one",
            target.dir.display(),
            style.command,
            target.dir.display()
        );
    }
    let options = dotdir_engine::Dir::new(&target.dir, target.layout)
        .journal_options()
        .manage_gitignore(false);
    let journal = Journal::open(&target.dir, options)
        .with_context(|| format!("cannot open the git repository of {}", target.dir.display()))?;
    // `--to` is remembered only once a push to it succeeded: a failed or refused push puts the
    // remote back as it was.
    let previous = journal.remote_url(remote)?;
    let given = to.map(destination).transpose()?;
    if let Some(url) = &given
        && previous.as_deref() != Some(url.as_str())
    {
        journal.set_remote_url(remote, url).context("cannot set the remote")?;
    }
    let Some(url) = journal.remote_url(remote)? else {
        bail!(
            "{} has no remote {remote:?}: pass `--to URL` once, it is remembered",
            target.dir.display()
        );
    };
    // Shown without credentials; git reads the real one from the repository's configuration.
    let url = redact_url(&url);
    let mut out = std::io::stdout().lock();
    let pushed = journal.push_with_git(remote, true);
    if pushed.is_err()
        && let Some(given) = &given
        && previous.as_deref() != Some(given.as_str())
    {
        match &previous {
            Some(previous) => journal.set_remote_url(remote, previous),
            None => journal.remove_remote(remote),
        }
        .with_context(|| format!("cannot put the remote {remote} back as it was"))?;
    }
    match pushed {
        Ok(()) => {
            let branch = journal.current_branch()?.unwrap_or_default();
            let left = left_behind(target)?;
            if json {
                let value = json!({
                    "pushed": true,
                    "remote": remote,
                    "url": url,
                    "branch": branch,
                    "not_in_git": left.iter().map(|(path, what)| json!({"path": path, "description": what})).collect::<Vec<_>>(),
                });
                crate::print_json(&mut out, "push", Some(&target.dir), value)?;
            } else {
                writeln!(
                    out,
                    "{} {branch} to {remote} ({url}): every commit sent was audited, no excluded path",
                    style.good("pushed")
                )?;
                if !left.is_empty() {
                    writeln!(
                        out,
                        "  not in git, so not pushed ({}); to move them, `{} backup` here and `{} restore` there:",
                        style::plural(left.len(), "file", "files"),
                        style.command,
                        style.command
                    )?;
                    for (path, what) in &left {
                        writeln!(out, "    {}  ({what})", style::clean(path))?;
                    }
                }
            }
            Ok(Outcome::Clean)
        }
        Err(JournalError::Leaks { remote, leaks }) => {
            if json {
                let leaks: Vec<_> = leaks
                    .iter()
                    .map(|l| json!({"commit": l.commit, "summary": l.summary, "path": l.path, "pattern": l.pattern, "same_as": l.same_as}))
                    .collect();
                let value = json!({"pushed": false, "remote": remote, "url": url, "leaks": leaks});
                crate::print_json(&mut out, "push", Some(&target.dir), value)?;
            } else {
                writeln!(
                    out,
                    "{} to push to {remote} ({url}): the history to send holds {} the {} layout excludes or a secret's content; nothing was sent",
                    style.bad("refused"),
                    style::plural(leaks.len(), "path", "paths"),
                    target.layout.name
                )?;
                for leak in &leaks {
                    writeln!(
                        out,
                        "  {}  in {} {:?} ({})",
                        leak.path,
                        &leak.commit[..leak.commit.len().min(12)],
                        leak.summary,
                        why(leak)
                    )?;
                }
                writeln!(
                    out,
                    "Rewrite that history without them (for example `git -C {} filter-repo --invert-paths --path <path>`), rotate any secret among them, then push again.",
                    target.dir.display()
                )?;
            }
            Ok(Outcome::Problems)
        }
        Err(error) => Err(error).with_context(|| format!("cannot push to {remote} ({url})")),
    }
}

/// `--to` as the repository's configuration must hold it: a URL with a scheme (`https://`,
/// `ssh://`, `file://`) or scp-style (`host:path`) as given, a local path absolute — a relative
/// one is the person's, resolved against the working directory (git would resolve it against
/// the data directory).
fn destination(to: &str) -> Result<String> {
    // git's own rule: a `:` with no `/` before it makes a URL or `host:path`.
    let remote = to.find(':').is_some_and(|colon| !to[..colon].contains('/'));
    let path = Path::new(to);
    if remote || path.is_absolute() {
        return Ok(to.to_owned());
    }
    let absolute = std::path::absolute(path)
        .with_context(|| format!("cannot resolve {to} against the working directory"))?;
    absolute
        .into_os_string()
        .into_string()
        .map_err(|p| anyhow::anyhow!("{} is not UTF-8: pass another path", p.display()))
}

/// Why a leak is refused: its exclusion pattern, the layout not declaring it, or the secret
/// whose content it is (named by path, never by its bytes).
fn why(leak: &Leak) -> String {
    match &leak.same_as {
        Some(secret) => format!("the content of the secret {secret}"),
        None if leak.pattern == dotdir_git_journal::UNDECLARED => {
            "not declared by the layout".to_owned()
        }
        None => format!("excluded by {}", leak.pattern),
    }
}

/// `clone URL DIR [--layout L [--force]]`. The repository is cloned beside `DIR` first and
/// takes its name only when what it holds fits its layout (forced or detected); otherwise the
/// clone is removed and nothing is kept, unless the person named the layout and forced it.
pub(crate) fn clone(
    layouts: &Layouts,
    url: &str,
    dir: &Path,
    forced: Option<&'static Layout>,
    overridden: bool,
    json: bool,
    style: &Style,
) -> Result<Outcome> {
    if let Some(layout) = forced {
        require_journal(layout, style)?;
    }
    if dotdir_engine::inspect::is_home_or_root(dir) {
        bail!(
            "refusing to clone into {}: it is your home directory (or /), never a data directory, and --force does not change that",
            dir.display()
        );
    }
    if dir.exists() && std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!(
            "{} exists and is not empty: clone into a new directory (remove what an interrupted clone left, then run it again)",
            dir.display()
        );
    }
    let Some(name) = dir.file_name() else {
        bail!("{} names no directory: pass the directory to create", dir.display());
    };
    let parent = match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let staging =
        parent.join(format!(".{}.dotdir-clone", name.to_string_lossy().trim_start_matches('.')));
    if staging.symlink_metadata().is_ok() {
        bail!(
            "{} exists, left by an interrupted clone: remove it, then run the clone again",
            staging.display()
        );
    }
    let shown = redact_url(url);
    crate::backup::stop_on_signals();
    // Not checked out yet: the tree is judged first (a symlink out of the directory, a `.git`
    // entry), so that nothing of a hostile repository is ever written.
    let mut child = Command::new("git")
        .args(["clone", "--no-checkout"])
        .args(if json { &["--quiet"][..] } else { &[][..] })
        .arg("--")
        .arg(url)
        .arg(&staging)
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run git: install git to clone")?;
    // SIGINT or SIGTERM: `git` is stopped, and what it cloned is removed below.
    let watcher = stop_child_on_signal(child.id());
    // git's messages and progress, passed on with any credentials in a URL redacted.
    if let Some(stderr) = child.stderr.take() {
        relay_redacted(stderr, &mut std::io::stderr());
    }
    let status = child.wait().context("cannot run git: install git to clone");
    watcher.store(true, std::sync::atomic::Ordering::Relaxed);
    if dotdir_engine::archive::interrupted() {
        let _ = std::fs::remove_dir_all(&staging);
        bail!(
            "interrupted (SIGINT or SIGTERM): the partial clone {} was removed, nothing was created",
            staging.display()
        );
    }
    let status = status?;
    if !status.success() {
        let _ = std::fs::remove_dir_all(&staging);
        bail!("git clone {shown} failed ({status}): nothing was created");
    }
    // From here on the URL is only shown: without credentials.
    let url = shown.as_str();
    let refused =
        |error: anyhow::Error| error.context(format!("refusing to clone {url}: nothing was kept"));
    let staged = check_out(&staging).map_err(refused).and_then(|()| {
        let layout = choose_layout(layouts, url, dir, &staging, forced, overridden, style)?;
        refuse_unignored_secrets(&staging, layout).map_err(refused)?;
        Ok(layout)
    });
    let layout = match staged {
        Ok(layout) => layout,
        Err(error) => {
            // Only what this command just cloned is removed (without following any link).
            let _ = std::fs::remove_dir_all(&staging);
            return Err(error);
        }
    };
    if dotdir_engine::archive::interrupted() {
        let _ = std::fs::remove_dir_all(&staging);
        bail!("interrupted (SIGINT or SIGTERM): the clone was removed, nothing was created");
    }
    std::fs::rename(&staging, dir).with_context(|| {
        format!("cannot move the clone {} to {}", staging.display(), dir.display())
    })?;
    require_journal(layout, style)?;
    let handle = dotdir_engine::Dir::new(dir, layout);
    let created = handle.init()?;
    let journal = Journal::open(dir, handle.journal_options().identity_from_git_config(false))?;
    // What the remote's history holds that the layout excludes (committed elsewhere).
    let leaks = journal.audit_history()?;
    let recreate: Vec<(&str, &str)> = layout
        .to_recreate(dir)
        .into_iter()
        .map(|e| (e.pattern, if e.secret { "secret" } else { "ephemeral state" }))
        .collect();
    let not_in_git: Vec<&dotdir_engine::Entry> = layout.not_in_git().collect();
    let report =
        dotdir_engine::check::check(dir, layout, &dotdir_engine::check::Options::default())?;
    let mut out = std::io::stdout().lock();
    if json {
        let value = json!({
            "url": url,
            "layout": layout.name,
            "created": created,
            "recreate": recreate.iter().map(|(p, why)| json!({"path": p, "kind": why})).collect::<Vec<_>>(),
            "not_in_git": not_in_git.iter().map(|e| json!({"path": e.pattern, "description": e.description})).collect::<Vec<_>>(),
            "excluded_in_history": leaks.iter().map(|l| json!({"commit": l.commit, "path": l.path})).collect::<Vec<_>>(),
            "problems": report.problems.iter().map(crate::check::problem_json).collect::<Vec<_>>(),
        });
        crate::print_json(&mut out, "clone", Some(dir), value)?;
    } else {
        writeln!(
            out,
            "{} {url} into {} ({} layout)",
            style.good("cloned"),
            dir.display(),
            layout.name
        )?;
        for path in &created {
            writeln!(out, "  created {path}")?;
        }
        if !recreate.is_empty() {
            writeln!(
                out,
                "  not in git, to re-create on this machine (log in again, start the app):"
            )?;
            for (path, why) in &recreate {
                writeln!(out, "    {path}  ({why})")?;
            }
        }
        if !not_in_git.is_empty() {
            writeln!(
                out,
                "  not in git, so not cloned: copy them over from the old machine, or move the whole directory with `{} backup` there and `{} restore` here instead:",
                style.command, style.command
            )?;
            for entry in &not_in_git {
                writeln!(out, "    {}  ({})", entry.pattern, entry.description)?;
            }
        }
        for leak in &leaks {
            writeln!(
                out,
                "  {} the history holds {} (commit {}), which the layout excludes: rotate it if it is a secret",
                style.bad("warning"),
                leak.path,
                &leak.commit[..leak.commit.len().min(12)]
            )?;
        }
        let errors = report.count(dotdir_engine::Severity::Error);
        if errors == 0 {
            writeln!(out, "  {}", style.good(&format!("{} check: no errors", style.command)))?;
        } else {
            writeln!(
                out,
                "  {} check found {}: run `{} check {}`",
                style.command,
                style::plural(errors, "error", "errors"),
                style.command,
                dir.display()
            )?;
        }
    }
    let failing = report.worst().is_some_and(|w| w >= dotdir_engine::Severity::Error);
    Ok(if failing || !leaks.is_empty() { Outcome::Problems } else { Outcome::Clean })
}

/// Watches for SIGINT or SIGTERM ([`dotdir_engine::archive::interrupt_flag`]) while the child
/// `pid` runs, and stops it (SIGTERM) when one comes. Setting the returned flag ends the watch.
fn stop_child_on_signal(pid: u32) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    use std::sync::atomic::Ordering;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watching = done.clone();
    let _ = std::thread::Builder::new().name("dotdir-clone-watch".to_owned()).spawn(move || {
        while !watching.load(Ordering::Relaxed) {
            if dotdir_engine::archive::interrupted() {
                if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
                }
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    });
    done
}

/// Checks out the clone at `staging` (made with `--no-checkout`) once its tree holds nothing
/// hostile: no symlink out of the directory, no `.git` entry
/// ([`dotdir_git_journal::audit_checkout`]).
fn check_out(staging: &Path) -> Result<()> {
    dotdir_git_journal::refuse_hostile_checkout(staging)?;
    let head = Command::new("git")
        .arg("-C")
        .arg(staging)
        .args(["rev-parse", "--verify", "--quiet", "HEAD"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .context("cannot run git: install git to clone")?;
    if !head.success() {
        // An empty repository: nothing to check out.
        return Ok(());
    }
    let mut child = Command::new("git")
        .arg("-C")
        .arg(staging)
        .args(["checkout", "--quiet"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run git: install git to clone")?;
    if let Some(stderr) = child.stderr.take() {
        relay_redacted(stderr, &mut std::io::stderr());
    }
    let status = child.wait().context("cannot run git: install git to clone")?;
    if !status.success() {
        bail!("git checkout failed ({status})");
    }
    Ok(())
}

/// Refuses a clone in which a negation in git's own ignore stack (a cloned `.gitignore`, at the
/// top or nested, with its `!` lines; `.git/info/exclude`; `core.excludesFile`) un-ignores a
/// secret the layout declares: `git add -A`, or an application committing with `git`, would
/// take it. The journal would put its block back at the end of the top `.gitignore`, but a
/// repository that un-ignores a secret was made to leak one. A secret that no pattern matches
/// (a repository without the journal's block yet) is not refused: that block is added next.
fn refuse_unignored_secrets(staging: &Path, layout: &Layout) -> Result<()> {
    let mut samples = Vec::new();
    for entry in layout.all_entries().filter(|entry| entry.secret) {
        let pattern = entry.pattern.trim_start_matches('/');
        if pattern == ".git" || pattern.starts_with(".git/") || pattern.contains(['[', '\\']) {
            continue;
        }
        let sample: Vec<String> = pattern
            .split('/')
            .filter(|part| !part.is_empty())
            .map(|part| if part == "**" { "x".to_owned() } else { part.replace(['*', '?'], "x") })
            .collect();
        let sample = sample.join("/");
        if layout.entry_for(&sample).is_some_and(|e| e.secret) && !samples.contains(&sample) {
            samples.push(sample);
        }
    }
    if samples.is_empty() {
        return Ok(());
    }
    // For each path, the last pattern that decides it (`::` for none), as git itself judges.
    let mut child = Command::new("git")
        .arg("-C")
        .arg(staging)
        .args(["check-ignore", "--verbose", "--non-matching", "--no-index", "-z", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run git: install git to clone")?;
    if let Some(mut stdin) = child.stdin.take() {
        // A few short paths: well within the pipe's buffer.
        let input: Vec<u8> = samples.iter().flat_map(|s| s.bytes().chain([0])).collect();
        stdin.write_all(&input).context("cannot run git check-ignore")?;
    }
    let output = child.wait_with_output().context("cannot run git check-ignore")?;
    if output.status.code().is_none_or(|code| code > 1) {
        bail!(
            "git check-ignore failed ({}): {}",
            output.status,
            redact_text(String::from_utf8_lossy(&output.stderr).trim())
        );
    }
    let fields: Vec<String> = output
        .stdout
        .split(|&b| b == 0)
        .map(|field| String::from_utf8_lossy(field).into_owned())
        .collect();
    let unignored: Vec<String> = fields
        .chunks_exact(4)
        .filter(|record| record[2].starts_with('!'))
        .map(|record| {
            format!("{} (by `{}` on line {} of {})", record[3], record[2], record[1], record[0])
        })
        .collect();
    if !unignored.is_empty() {
        bail!(
            "its ignore rules un-ignore the {} {} (unignored-secret): `git add -A` would commit {}",
            if unignored.len() == 1 { "secret" } else { "secrets" },
            unignored.join(", "),
            if unignored.len() == 1 { "it" } else { "them" }
        );
    }
    Ok(())
}

/// Copies `from` to `to` line by line (a line ends at `\n` or at the `\r` of a progress
/// update), each with [`redact_text`] applied. Best effort: a write error stops the copy.
fn relay_redacted(mut from: impl Read, to: &mut impl Write) {
    let mut pending: Vec<u8> = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        pending.extend_from_slice(&buffer[..read]);
        while let Some(end) = pending.iter().position(|&b| b == b'\n' || b == b'\r') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            if to.write_all(redact_text(&String::from_utf8_lossy(&line)).as_bytes()).is_err() {
                return;
            }
        }
        let _ = to.flush();
    }
    let _ = to.write_all(redact_text(&String::from_utf8_lossy(&pending)).as_bytes());
    let _ = to.flush();
}
