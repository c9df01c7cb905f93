//! `dotdir backup`, `dotdir backup --verify` and `dotdir restore`: the library's selection
//! ([`dotdir_engine::backup::select`]) and archive ([`dotdir_engine::archive`]), presented.

use std::{
    io::{self, Write},
    path::Path,
};

use anyhow::{Context, Result, bail};
use dotdir_engine::{backup::Selection, leftover::Leftover};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use crate::{
    Outcome,
    layouts::{Layouts, Target, Targets},
    style::{self, Style},
};

/// `backup`'s switches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    /// `--list`: only show what would go in.
    pub(crate) list: bool,
    /// `--force`: replace an existing archive.
    pub(crate) force: bool,
    /// `--layout L --force`: back up a directory that does not fit its layout.
    pub(crate) overridden: bool,
}

pub(crate) fn run(
    layouts: &Layouts,
    targets: Targets,
    out: Option<&Path>,
    options: Options,
    json: bool,
    style: &Style,
) -> Result<Outcome> {
    let Options { list, force, overridden } = options;
    let mut targets = targets.list;
    if targets.len() > 1 {
        let found: Vec<String> = targets.iter().map(|t| t.dir.display().to_string()).collect();
        bail!(
            "several data directories exist ({}): pass the one to back up as DIR",
            found.join(", ")
        );
    }
    let target = targets.remove(0);
    if list {
        // Only shown, nothing archived: a misfit is said, not refused.
        let fit = target.fit()?;
        if !fit.fits() {
            writeln!(
                io::stderr().lock(),
                "{} {} does not fit the {} layout ({}): `{} backup` refuses it",
                style.warn("warning:"),
                target.dir.display(),
                target.layout.name,
                fit.explain(),
                style.command
            )?;
        }
    } else {
        let retry = format!(
            "{} backup --layout {} --force {} --out {}",
            style.command,
            target.layout.name,
            target.dir.display(),
            out.map_or_else(|| "FILE.tar.gz".to_owned(), |o| o.display().to_string())
        );
        layouts.ensure_fits(&target.dir, target.layout, "back up", overridden, &retry)?;
    }
    let selection =
        dotdir_engine::backup::select(&target.dir, target.layout).with_context(|| {
            format!(
                "cannot read {}: check that you may read every file in it",
                target.dir.display()
            )
        })?;
    let mut stdout = io::stdout().lock();
    if list {
        if json {
            crate::print_json(
                &mut stdout,
                "backup",
                Some(&selection.root),
                selection_json(&selection),
            )?;
        } else {
            render_list(&mut stdout, &selection, style)?;
        }
        return Ok(Outcome::Clean);
    }
    let Some(out) = out else { bail!("pass --out FILE.tar.gz, or --list to see what would go in") };
    check_out(out, &selection)?;
    // What killed backups left beside `--out` (their writers provably gone) goes first, named.
    let out_dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let swept = dotdir_engine::leftover::sweep(out_dir, None)
        .with_context(|| format!("cannot look for leftovers in {}", out_dir.display()))?;
    report_swept(&swept, json, style)?;
    let bar = progress(selection.total_bytes());
    bar.set_message("archiving and verifying");
    stop_on_signals();
    let written = dotdir_engine::archive::write(&selection, out, force, &mut |n| bar.inc(n));
    bar.finish_and_clear();
    if dotdir_engine::archive::interrupted() {
        bail!(
            "interrupted (SIGINT or SIGTERM): the partial archive was removed, {} was not written",
            out.display()
        );
    }
    let written =
        written.with_context(|| format!("cannot back up {}", selection.root.display()))?;
    bar.finish_and_clear();
    if json {
        let mut value = selection_json(&selection);
        value["archive"] = json!(out.display().to_string());
        value["archive_bytes"] = json!(written.archive_bytes);
        value["verified"] = json!(written.files == selection.files.len());
        value["swept"] = swept_json(&swept);
        value["torn"] = written
            .torn
            .iter()
            .map(|(path, bytes)| json!({"path": path, "bytes": bytes}))
            .collect();
        crate::print_json(&mut stdout, "backup", Some(&selection.root), value)?;
    } else {
        writeln!(
            stdout,
            "{} {}, {} from the {} layout at {} into {} ({} compressed); {}",
            style.good("backed up"),
            style::plural(written.files, "file", "files"),
            style::size(written.bytes),
            selection.layout,
            selection.root.display(),
            out.display(),
            style::size(written.archive_bytes),
            style.good("verified by reading it back (SHA-256 per file)"),
        )?;
        for (relative, bytes) in &written.torn {
            writeln!(
                stdout,
                "{} {} ends in an unfinished line ({}: a write in progress, or a crash's torn tail): archived up to its last complete line; `{} check` reports a torn tail",
                style.warn("note:"),
                style::clean(relative),
                style::plural(*bytes, "byte", "bytes"),
                style.command
            )?;
        }
        let undeclared: Vec<std::borrow::Cow<'_, str>> = selection
            .skipped
            .iter()
            .filter(|s| s.reason == dotdir_engine::backup::SkipReason::Undeclared)
            .map(|s| style::clean(&s.relative))
            .collect();
        if !undeclared.is_empty() {
            writeln!(
                stdout,
                "{} the layout does not declare these, so they stayed out (move them out of the data directory, or declare them): {}",
                style.bad("not backed up:"),
                undeclared.join(", ")
            )?;
        }
        let secrets = selection
            .skipped
            .iter()
            .filter(|s| s.reason == dotdir_engine::backup::SkipReason::Secret)
            .count();
        writeln!(
            stdout,
            "left out: {}, {secrets} of them secret (run `{} backup --list` to see them)",
            style::plural(selection.skipped.len(), "path", "paths"),
            style.command
        )?;
    }
    Ok(Outcome::Clean)
}

/// One line for a leftover of a killed writer: "removed a partial archive a killed backup
/// left: PATH (SIZE)".
pub(crate) fn leftover_line(verb: &str, leftover: &Leftover) -> String {
    format!(
        "{verb} {}: {} ({})",
        leftover.kind.describe(),
        style::clean(&leftover.path.display().to_string()),
        style::size(leftover.bytes)
    )
}

/// Names each removed leftover, one line each: on standard output, or on standard error when
/// standard output carries JSON (which lists them as `"swept"`).
fn report_swept(swept: &[Leftover], json: bool, style: &Style) -> Result<()> {
    for leftover in swept {
        let line = format!("{} {}", style.warn("note:"), leftover_line("removed", leftover));
        if json {
            writeln!(io::stderr().lock(), "{line}")?;
        } else {
            writeln!(io::stdout().lock(), "{line}")?;
        }
    }
    Ok(())
}

pub(crate) fn swept_json(swept: &[Leftover]) -> Value {
    swept
        .iter()
        .map(|l| {
            json!({"path": l.path.display().to_string(), "what": l.kind.describe(), "bytes": l.bytes})
        })
        .collect()
}

fn selection_json(selection: &Selection) -> Value {
    json!({
        "layout": selection.layout,
        "files": selection.files.len(),
        "bytes": selection.total_bytes(),
        "included": selection.files.iter().map(|f| json!({"path": f.relative, "bytes": f.size})).collect::<Vec<_>>(),
        "skipped": selection.skipped.iter().map(|s| json!({"path": s.relative, "reason": s.reason.label()})).collect::<Vec<_>>(),
    })
}

fn render_list(out: &mut impl Write, selection: &Selection, style: &Style) -> Result<()> {
    writeln!(
        out,
        "{}",
        style.bold(&format!(
            "backup of the {} layout at {}",
            selection.layout,
            selection.root.display()
        ))
    )?;
    writeln!(
        out,
        "goes in ({}, {}):",
        style::plural(selection.files.len(), "file", "files"),
        style::size(selection.total_bytes())
    )?;
    for file in &selection.files {
        writeln!(out, "  {:>7}  {}", style::size(file.size), style::clean(&file.relative))?;
    }
    writeln!(out, "stays out:")?;
    for skipped in &selection.skipped {
        let reason = style::pad(skipped.reason.label(), 12);
        let reason = if skipped.reason == dotdir_engine::backup::SkipReason::Secret {
            style.bad(&reason)
        } else {
            style.dim(&reason)
        };
        writeln!(out, "  {reason} {}", style::clean(&skipped.relative))?;
    }
    Ok(())
}

/// Refuses an `--out` that cannot be what the person meant: standard output, another format,
/// a path inside the directory being backed up.
fn check_out(out: &Path, selection: &Selection) -> Result<()> {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if out == Path::new("-") {
        bail!(
            "--out - (standard output) is not supported: the archive is verified before it takes its name; pass a file name ending in .tar.gz"
        );
    }
    if !(name.ends_with(".tar.gz") || name.ends_with(".tgz")) {
        bail!(
            "{} does not end in .tar.gz or .tgz: the archive is a gzip-compressed tar",
            out.display()
        );
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if out.starts_with(&selection.root)
        || parent
            .canonicalize()
            .ok()
            .zip(selection.root.canonicalize().ok())
            .is_some_and(|(p, r)| p.starts_with(r))
    {
        bail!(
            "the archive would be written inside the data directory it backs up: choose an --out outside {}",
            selection.root.display()
        );
    }
    Ok(())
}

/// SIGINT and SIGTERM stop the archive work at its next read instead of killing the process:
/// the temporary archive or the staging directory is removed, and the command says so.
pub(crate) fn stop_on_signals() {
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(signal, dotdir_engine::archive::interrupt_flag());
    }
}

fn progress(total: u64) -> ProgressBar {
    use std::io::IsTerminal;
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(template) =
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} {eta}")
    {
        bar.set_style(template.progress_chars("=> "));
    }
    bar
}

/// `dotdir backup --verify ARCHIVE`.
pub(crate) fn verify(
    layouts: &Layouts,
    archive: &Path,
    json: bool,
    style: &Style,
) -> Result<Outcome> {
    // An archive that cannot be opened at all is an I/O error (exit 2); one that opens and then
    // fails its digests or the layout's rules does not verify (exit 1).
    match dotdir_atomic_store::open_regular_following(archive).and_then(|file| file.metadata()) {
        Err(e) => bail!("cannot read {}: {e}", archive.display()),
        Ok(meta) if meta.is_dir() => {
            bail!("cannot read {}: a directory, not an archive", archive.display())
        }
        Ok(meta) if !meta.is_file() => {
            bail!("cannot read {}: not a regular file", archive.display())
        }
        Ok(_) => {}
    }
    let verified =
        dotdir_engine::archive::verify(archive).map_err(anyhow::Error::from).and_then(|manifest| {
            // Whatever a restore would refuse, verify refuses too.
            if let Some(layout) = layouts.all.iter().find(|l| l.name == manifest.layout) {
                dotdir_engine::archive::check_members(archive, &manifest, layout)
                    .context("a restore would refuse it")?;
            }
            Ok(manifest)
        });
    let mut out = io::stdout().lock();
    let manifest = match verified {
        Ok(manifest) => manifest,
        Err(error) => {
            let message = format!("{} does not verify: {error:#}", archive.display());
            if json {
                let value = json!({
                    "archive": archive.display().to_string(),
                    "verified": false,
                    "error": message,
                    "causes": error.chain().map(|e| e.to_string()).collect::<Vec<_>>(),
                });
                crate::print_json(&mut out, "verify", None, value)?;
            } else {
                writeln!(
                    io::stderr().lock(),
                    "{} {}",
                    style.error("error:"),
                    style::clean(&message)
                )?;
            }
            return Ok(Outcome::Problems);
        }
    };
    let bytes: u64 = manifest.files.iter().map(|f| f.size).sum();
    if json {
        let value = json!({
            "archive": archive.display().to_string(),
            "layout": manifest.layout,
            "files": manifest.files.len(),
            "bytes": bytes,
            "verified": true,
        });
        crate::print_json(&mut out, "verify", None, value)?;
    } else {
        writeln!(
            out,
            "{} {}: {}, {} of the {} layout, each matching its SHA-256",
            style.good("verified"),
            archive.display(),
            style::plural(manifest.files.len(), "file", "files"),
            style::size(bytes),
            manifest.layout
        )?;
    }
    Ok(Outcome::Clean)
}

/// `dotdir restore ARCHIVE DIR [--force [--layout L]]`. `--force` replaces (moves aside) an
/// occupied directory only when it fits the archive's layout; one that does not fit needs the
/// layout named as well (`--force --layout L`, L the archive's). `$HOME` and `/` never.
pub(crate) fn restore(
    layouts: &Layouts,
    archive: &Path,
    dir: &Path,
    force: Option<bool>,
    named: Option<&str>,
    json: bool,
    style: &Style,
) -> Result<Outcome> {
    stop_on_signals();
    let assume_stopped = force == Some(true);
    let force = force.is_some();
    let manifest = dotdir_engine::archive::verify(archive);
    if dotdir_engine::archive::interrupted() {
        bail!("interrupted (SIGINT or SIGTERM) while verifying: nothing was restored");
    }
    let manifest = manifest
        .with_context(|| format!("{} does not verify: nothing was restored", archive.display()))?;
    let Some(layout) = layouts.all.iter().copied().find(|l| l.name == manifest.layout) else {
        bail!(
            "{} is a backup of the {} layout, which this command does not know",
            archive.display(),
            manifest.layout
        );
    };
    if let Some(named) = named
        && named != layout.name
    {
        bail!(
            "{} is a backup of the {} layout, not {named}: nothing was restored",
            archive.display(),
            layout.name
        );
    }
    let occupied = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if force && occupied {
        let retry = format!(
            "{} restore --force --layout {} {} {}",
            style.command,
            layout.name,
            archive.display(),
            dir.display()
        );
        layouts.ensure_fits(dir, layout, "restore over", named.is_some(), &retry)?;
    }
    let target = Target { dir: dir.to_path_buf(), layout };
    let total: u64 = manifest.files.iter().map(|f| f.size).sum();
    let bar = progress(total * 2);
    bar.set_message("verifying and restoring");
    let restored = dotdir_engine::archive::restore_with_progress(
        archive,
        dir,
        layout,
        &target.check_options()?.assume_stopped(assume_stopped),
        force,
        &mut |n| bar.inc(n),
    );
    bar.finish_and_clear();
    if dotdir_engine::archive::interrupted() {
        bail!(
            "interrupted (SIGINT or SIGTERM): the partial copy was removed, {} is as it was",
            dir.display()
        );
    }
    let restored = restored.with_context(|| format!("cannot restore into {}", dir.display()))?;
    report_swept(&restored.swept, json, style)?;
    let mut out = io::stdout().lock();
    if json {
        let value = json!({
            "archive": archive.display().to_string(),
            "layout": manifest.layout,
            "files": restored.files,
            "bytes": restored.bytes,
            "moved_aside": restored.moved_aside.as_ref().map(|p| p.display().to_string()),
            "written": restored.dir.display().to_string(),
            "swept": swept_json(&restored.swept),
            "recreate": restored.secrets,
        });
        crate::print_json(&mut out, "restore", Some(dir), value)?;
    } else {
        writeln!(
            out,
            "{} {}, {} of the {} layout into {} (each checked against its SHA-256)",
            style.good("restored"),
            style::plural(restored.files, "file", "files"),
            style::size(restored.bytes),
            manifest.layout,
            dir.display()
        )?;
        if std::path::absolute(dir).ok().as_deref() != Some(restored.dir.as_path()) {
            writeln!(
                out,
                "{} is a symlink: the directory it points to, {}, was restored and the link kept",
                dir.display(),
                restored.dir.display()
            )?;
        }
        if let Some(aside) = &restored.moved_aside {
            writeln!(
                out,
                "the directory that was there is kept at {} (dotdir never deletes it; `check` lists it until you do)",
                style::clean(&aside.display().to_string())
            )?;
        }
        if !restored.secrets.is_empty() {
            match &restored.moved_aside {
                // The secrets that were there are still valid: copy them back, no new login.
                Some(aside) => writeln!(
                    out,
                    "never backed up; copy them back from {} (keep their 0600 mode), or re-create them (log in again, redo the OAuth flow):",
                    style::clean(&aside.display().to_string())
                )?,
                None => writeln!(
                    out,
                    "never backed up, re-create them (log in again, redo the OAuth flow):"
                )?,
            }
            for secret in &restored.secrets {
                writeln!(out, "  {}", style::clean(secret))?;
            }
        }
    }
    Ok(Outcome::Clean)
}
