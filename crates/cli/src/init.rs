//! `dotdir init`: creates a data directory from its layout.

use std::{io::Write, path::Path};

use anyhow::{Context, Result};
use serde_json::json;

use crate::{Outcome, style::Style};

pub(crate) fn run(
    dir: &Path,
    layout: &'static dotdir_engine::Layout,
    json: bool,
    style: &Style,
) -> Result<Outcome> {
    let existed = dir.exists();
    let had_git = dir.join(".git").exists();
    let (created, _) = prepare(dir, layout)?;
    let report =
        dotdir_engine::check::check(dir, layout, &dotdir_engine::check::Options::default())?;
    let mut out = std::io::stdout().lock();
    let cmd = style.command;
    if json {
        let value = json!({
            "layout": layout.name,
            "root": dir.display().to_string(),
            "created": created,
            "git": if had_git { "existing" } else { "initialised" },
            "problems": report.problems.iter().map(crate::check::problem_json).collect::<Vec<_>>(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        writeln!(
            out,
            "{} {} layout at {}{}",
            style.good("initialised"),
            layout.name,
            dir.display(),
            if existed { " (it existed; nothing was overwritten)" } else { "" }
        )?;
        for path in &created {
            writeln!(out, "  created {path}")?;
        }
        writeln!(
            out,
            "  git repository {} with the layout's .gitignore",
            if had_git { "kept" } else { "initialised" }
        )?;
        if report.problems.is_empty() {
            writeln!(out, "  {}", style.good(&format!("{} check: no problems", style.command)))?;
        } else {
            writeln!(
                out,
                "  {cmd} check found {} problem(s): run `{cmd} check {}`",
                report.problems.len(),
                dir.display()
            )?;
        }
    }
    // As `check`: only errors fail (an existing directory may hold edits git has not seen).
    let failing =
        report.worst().is_some_and(|worst| worst >= dotdir_engine::check::Severity::Error);
    Ok(if failing { Outcome::Problems } else { Outcome::Clean })
}

/// Creates `dir` and the layout's directories with their modes, then opens (or initialises) its
/// git journal, which writes the derived `.gitignore`. Returns the directories it created and
/// the journal.
pub(crate) fn prepare(
    dir: &Path,
    layout: &dotdir_engine::Layout,
) -> Result<(Vec<String>, dotdir_git_journal::Journal)> {
    create_dir(dir, 0o700)?;
    let mut created = Vec::new();
    for (pattern, mode) in layout.initial_dirs() {
        let path = dir.join(pattern);
        if !path.exists() {
            created.push(format!("{pattern}/"));
        }
        create_dir(&path, mode)?;
    }
    let options = dotdir_git_journal::JournalOptions::new()
        .exclusions(layout.journal_exclusions())
        .identity_from_git_config(false);
    let journal = dotdir_git_journal::Journal::open(dir, options).with_context(|| {
        format!("cannot create the git repository in {}: check that it is writable", dir.display())
    })?;
    Ok((created, journal))
}

/// Creates `path` with `mode`; a private one (`0o700`) that exists (a clone's, made by the
/// umask) loses its group and other permissions.
fn create_dir(path: &Path, mode: u32) -> Result<()> {
    let durability = dotdir_atomic_store::Durability::Full;
    let created = if mode == 0o700 {
        dotdir_atomic_store::create_private_dir(path, durability)
    } else {
        dotdir_atomic_store::create_dirs(path, mode, durability)
    };
    created.with_context(|| {
        format!("cannot create {}: check the parent directory's permissions", path.display())
    })
}
