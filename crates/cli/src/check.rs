//! `dotdir check [--fix]`: every problem the layout can detect, and the repairs that lose nothing.

use std::io::Write;

use anyhow::{Context, Result};
use dotdir_engine::{
    check::{FixReport, Problem, Report, Severity},
    inspect::Fit,
};
use serde_json::{Value, json};

use crate::{
    Outcome,
    layouts::{Target, Targets},
    style::{self, Style},
};

pub(crate) fn run(
    targets: Targets,
    fix: Option<bool>,
    strict: bool,
    json: bool,
    style: &Style,
) -> Result<Outcome> {
    let mut out = std::io::stdout().lock();
    let mut documents = Vec::new();
    let mut outcome = Outcome::Clean;
    for target in &targets.list {
        let bar = style::working(format!("reading {}", target.dir.display()));
        let options = target.check_options()?;
        let fixed = if let Some(assume_stopped) = fix {
            let options = options.clone().assume_stopped(assume_stopped);
            Some(dotdir_engine::check::fix(&target.dir, target.layout, &options).with_context(
                || format!("cannot repair {}: check that you own it", target.dir.display()),
            )?)
        } else {
            None
        };
        let report = dotdir_engine::check::check(&target.dir, target.layout, &options)
            .with_context(|| {
                format!("cannot check {}: check that you may read it", target.dir.display())
            })?;
        // A directory that does not fit its layout is read, and said prominently: it fails
        // the check, and every command that writes refuses it.
        let fit = target.fit()?;
        bar.finish_and_clear();
        if !fit.fits() {
            outcome = Outcome::Problems;
        }
        // Errors fail the check, warnings only under --strict, notices never; so does a repair
        // that failed or was refused.
        let failing = if strict { Severity::Warning } else { Severity::Error };
        if report.worst().is_some_and(|worst| worst >= failing)
            || fixed.as_ref().is_some_and(|f| !f.failures.is_empty())
        {
            outcome = Outcome::Problems;
        }
        if json {
            let mut document = to_json(&report, fixed.as_ref());
            document["fit"] = fit_json(&fit);
            documents.push(document);
        } else {
            render_misfit(&mut out, target, &fit, style)?;
            render(&mut out, target, &report, fixed.as_ref(), style)?;
        }
    }
    if json {
        match targets.list.as_slice() {
            [target] if targets.named => {
                crate::print_json(&mut out, "check", Some(&target.dir), documents.remove(0))?;
            }
            _ => crate::print_json(&mut out, "check", None, json!({"directories": documents}))?,
        }
    }
    Ok(outcome)
}

/// `{"fits": …, "missing": […], "foreign": […]}`.
pub(crate) fn fit_json(fit: &Fit) -> Value {
    json!({"fits": fit.fits(), "home": fit.home, "missing": fit.missing, "foreign": fit.foreign})
}

/// The warning line of a directory that does not fit its layout (nothing when it fits).
pub(crate) fn render_misfit(
    out: &mut impl Write,
    target: &Target,
    fit: &Fit,
    style: &Style,
) -> Result<()> {
    if fit.fits() {
        return Ok(());
    }
    writeln!(
        out,
        "{} {} does not fit the {} layout: {}.",
        style.bad("misfit:"),
        target.dir.display(),
        target.layout.name,
        fit.explain()
    )?;
    let advice = if fit.home {
        "Nothing will write to it or archive it, even with --force: pass the data directory itself."
            .to_owned()
    } else {
        format!(
            "`{cmd} check --fix`, `{cmd} backup` and `{cmd} push` refuse it; if it really is one, add `--layout {} --force`.",
            target.layout.name,
            cmd = style.command
        )
    };
    writeln!(out, "  {}", style.dim(&advice))?;
    Ok(())
}

pub(crate) fn problem_json(problem: &Problem) -> Value {
    let mut value = json!({
        "kind": problem.kind.as_str(),
        "severity": problem.severity.as_str(),
        "path": problem.path,
        "message": problem.message,
        "fixable": problem.fixable,
    });
    if !problem.fixable {
        value["advice"] = json!(problem.advice);
    }
    if let Some(line) = problem.line {
        value["line"] = json!(line);
    }
    if let Some(column) = problem.column {
        value["column"] = json!(column);
    }
    value
}

pub(crate) fn to_json(report: &Report, fixed: Option<&FixReport>) -> Value {
    let mut value = json!({
        "layout": report.layout,
        "root": report.root.display().to_string(),
        "problems": report.problems.iter().map(problem_json).collect::<Vec<_>>(),
    });
    for severity in [Severity::Error, Severity::Warning, Severity::Notice] {
        value[format!("{}s", severity.as_str())] = json!(report.count(severity));
    }
    if let Some(fixed) = fixed {
        if let Some(running) = &fixed.running {
            value["running"] = json!({
                "seen": running.is_seen(),
                "pid": running.pid(),
                "why": running.to_string(),
            });
        }
        value["fixed"] = fixed
            .repairs
            .iter()
            .map(|r| json!({"kind": r.kind.as_str(), "path": r.path, "action": r.action}))
            .collect();
        value["failed"] = fixed
            .failures
            .iter()
            .map(|f| json!({"kind": f.kind.as_str(), "path": f.path, "error": f.error}))
            .collect();
    }
    value
}

fn location(problem: &Problem) -> String {
    match (problem.line, problem.column) {
        (Some(line), Some(column)) => format!("{}:{line}:{column}", problem.path),
        (Some(line), None) => format!("{}:{line}", problem.path),
        _ => problem.path.clone(),
    }
}

pub(crate) fn render(
    out: &mut impl Write,
    target: &Target,
    report: &Report,
    fixed: Option<&FixReport>,
    style: &Style,
) -> Result<()> {
    let header = style.bold(&format!("{} layout at {}", report.layout, target.dir.display()));
    if let Some(fixed) = fixed {
        writeln!(out, "{header}: {}", style::plural(fixed.repairs.len(), "repair", "repairs"))?;
        for repair in &fixed.repairs {
            writeln!(
                out,
                "  {} {} {}  {}",
                style.good("fixed"),
                style::pad(repair.kind.as_str(), 17),
                style::clean(&repair.path),
                style::clean(&repair.action)
            )?;
        }
        if let Some(running) = &fixed.running {
            let retry = match running.is_seen() {
                true => format!(
                    "Stop it first, then run `{} check --fix {}` again.",
                    style.command,
                    target.dir.display()
                ),
                false => format!(
                    "If it is stopped, run `{} check --fix --assume-stopped {}`.",
                    style.command,
                    target.dir.display()
                ),
            };
            writeln!(
                out,
                "  {} {}: repairs that could race it were refused. {retry}",
                style.bad("refused"),
                style::clean(&running.to_string()),
            )?;
        }
        for failure in &fixed.failures {
            writeln!(
                out,
                "  {} {} {}  {}",
                style.bad("failed"),
                style::pad(failure.kind.as_str(), 17),
                style::clean(&failure.path),
                style::clean(&failure.error.to_string())
            )?;
        }
    }
    let fixable = report.fixable().count();
    if report.problems.is_empty() {
        writeln!(out, "{header}: {}", style.good("no problems"))?;
        return Ok(());
    }
    writeln!(
        out,
        "{header}: {}, {}, {}; {fixable} fixable",
        style::plural(report.count(Severity::Error), "error", "errors"),
        style::plural(report.count(Severity::Warning), "warning", "warnings"),
        style::plural(report.count(Severity::Notice), "notice", "notices"),
    )?;
    for problem in &report.problems {
        let severity = style::pad(problem.severity.as_str(), 7);
        let severity = match problem.severity {
            Severity::Error => style.bad(&severity),
            Severity::Warning => style.warn(&severity),
            Severity::Notice => style.dim(&severity),
        };
        let kind = style::pad(problem.kind.as_str(), 17);
        writeln!(
            out,
            "  {severity} {kind} {}  {}",
            style::clean(&location(problem)),
            style.commands(&style::clean(&problem.message))
        )?;
        if !problem.fixable {
            writeln!(
                out,
                "  {}   {}",
                " ".repeat(25),
                style.dim(&format!("-> {}", style.commands(problem.advice)))
            )?;
        }
    }
    // After a refusal (the app is running), its own line says what to do: no second hint
    // that reads as if the repair could just be run.
    let refused = fixed.is_some_and(|f| f.running.is_some());
    if fixable > 0 && !refused {
        writeln!(
            out,
            "Run `{} check --fix {}` to repair the {}; nothing is lost.",
            style.command,
            target.dir.display(),
            style::plural(fixable, "fixable problem", "fixable problems")
        )?;
    }
    Ok(())
}
