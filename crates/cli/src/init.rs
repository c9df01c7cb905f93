//! `dotdir init`: creates a data directory from its layout.

use std::{io::Write, path::Path};

use anyhow::{Context, Result};
use serde_json::json;

use crate::{Outcome, style::Style};

/// Refuses to initialise `dir` where that would write into something that is not a data
/// directory of `layout`: `$HOME` or `/` (always), an existing non-empty directory that does
/// not fit the layout, or a directory inside another data directory — unless `overridden`
/// (`--layout L --force`) for the last two. A new or empty directory is what `init` is for.
pub(crate) fn ensure_may_init(
    layouts: &crate::layouts::Layouts,
    dir: &Path,
    layout: &'static dotdir_engine::Layout,
    overridden: bool,
) -> Result<()> {
    let retry =
        format!("{} init --layout {} --force {}", layouts.command, layout.name, dir.display());
    let occupied = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if occupied || dotdir_engine::inspect::is_home_or_root(dir) {
        layouts.ensure_fits(dir, layout, "initialise", overridden, &retry)?;
    }
    // The nearest directory that exists: is it, or is it inside, another data directory?
    let Some(existing) = dir.ancestors().find(|a| a.is_dir()) else { return Ok(()) };
    let inside = if existing == dir {
        dotdir_engine::inspect::enclosing(existing, &layouts.all)
    } else {
        dotdir_engine::inspect::detect(existing, &layouts.all)
            .map(|l| (existing.to_path_buf(), l))
            .or_else(|| dotdir_engine::inspect::enclosing(existing, &layouts.all))
    };
    if let Some((root, other)) = inside
        && !overridden
    {
        anyhow::bail!(
            "refusing to initialise {}: it is inside the {} data directory {}, and a data directory is never nested in another; nothing was written. If you really mean it, run `{retry}`",
            dir.display(),
            other.name,
            root.display()
        );
    }
    Ok(())
}

pub(crate) fn run(
    dir: &Path,
    layout: &'static dotdir_engine::Layout,
    json: bool,
    style: &Style,
) -> Result<Outcome> {
    let existed = dir.exists();
    let had_git = dir.join(".git").exists();
    let created = dotdir_engine::Dir::new(dir, layout).init().with_context(|| {
        format!("cannot initialise {}: check that it is writable", dir.display())
    })?;
    let git = match (layout.has_journal(), had_git) {
        (false, _) => "none",
        (true, true) => "existing",
        (true, false) => "initialised",
    };
    let report =
        dotdir_engine::check::check(dir, layout, &dotdir_engine::check::Options::default())?;
    let mut out = std::io::stdout().lock();
    let cmd = style.command;
    if json {
        let value = json!({
            "layout": layout.name,
            "root": dir.display().to_string(),
            "created": created,
            "git": git,
            "problems": report.problems.iter().map(crate::check::problem_json).collect::<Vec<_>>(),
        });
        crate::print_json(&mut out, "init", Some(dir), value)?;
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
        match git {
            "none" => writeln!(out, "  no git repository: the layout keeps no journal")?,
            "existing" => writeln!(out, "  git repository kept, with the layout's .gitignore")?,
            _ => writeln!(out, "  git repository initialised with the layout's .gitignore")?,
        }
        if report.problems.is_empty() {
            writeln!(out, "  {}", style.good(&format!("{} check: no problems", style.command)))?;
        } else {
            writeln!(
                out,
                "  {cmd} check found {}: run `{cmd} check {}`",
                crate::style::plural(report.problems.len(), "problem", "problems"),
                dir.display()
            )?;
        }
    }
    // As `check`: only errors fail (an existing directory may hold edits git has not seen).
    let failing =
        report.worst().is_some_and(|worst| worst >= dotdir_engine::check::Severity::Error);
    Ok(if failing { Outcome::Problems } else { Outcome::Clean })
}
