//! `dotdir check [--fix]`: every problem the layout can detect, and the repairs that lose nothing.

use std::{io::Write, path::Path};

use anyhow::{Context, Result};
use dotdir::check::{FixReport, Problem, Report};
use serde_json::{Value, json};

use crate::{
    Outcome,
    layouts::{self, LayoutName, Target},
    style::{self, Style},
};

pub(crate) fn run(
    dir: Option<&Path>,
    layout: Option<LayoutName>,
    fix: bool,
    json: bool,
    style: &Style,
) -> Result<Outcome> {
    let targets = layouts::targets(dir, layout)?;
    let mut out = std::io::stdout().lock();
    let mut documents = Vec::new();
    let mut outcome = Outcome::Clean;
    for target in &targets {
        let options = target.check_options()?;
        let fixed = if fix {
            Some(dotdir::check::fix(&target.dir, target.layout(), &options).with_context(|| {
                format!("cannot repair {}: check that you own it", target.dir.display())
            })?)
        } else {
            None
        };
        let report =
            dotdir::check::check(&target.dir, target.layout(), &options).with_context(|| {
                format!("cannot check {}: check that you may read it", target.dir.display())
            })?;
        if !report.problems.is_empty() || fixed.as_ref().is_some_and(|f| !f.failures.is_empty()) {
            outcome = Outcome::Problems;
        }
        if json {
            documents.push(to_json(&report, fixed.as_ref()));
        } else {
            render(&mut out, target, &report, fixed.as_ref(), style)?;
        }
    }
    if json {
        let document = if dir.is_some() { documents.remove(0) } else { Value::Array(documents) };
        writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
    }
    Ok(outcome)
}

pub(crate) fn problem_json(problem: &Problem) -> Value {
    let mut value = json!({
        "kind": problem.kind.as_str(),
        "path": problem.path,
        "message": problem.message,
        "fixable": problem.fixable,
    });
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
    if let Some(fixed) = fixed {
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
    let header =
        style.bold(&format!("{} layout at {}", report.layout, layouts::display(&target.dir)));
    if let Some(fixed) = fixed {
        writeln!(out, "{header}: {} repair(s)", fixed.repairs.len())?;
        for repair in &fixed.repairs {
            writeln!(
                out,
                "  {} {} {}  {}",
                style.good("fixed"),
                style::pad(repair.kind.as_str(), 17),
                repair.path,
                repair.action
            )?;
        }
        for failure in &fixed.failures {
            writeln!(
                out,
                "  {} {} {}  {}",
                style.bad("failed"),
                style::pad(failure.kind.as_str(), 17),
                failure.path,
                failure.error
            )?;
        }
    }
    let fixable = report.fixable().count();
    if report.problems.is_empty() {
        writeln!(out, "{header}: {}", style.good("no problems"))?;
        return Ok(());
    }
    writeln!(out, "{header}: {} problem(s), {fixable} fixable", report.problems.len())?;
    for problem in &report.problems {
        let kind = style::pad(problem.kind.as_str(), 17);
        let kind = if problem.fixable { style.warn(&kind) } else { style.bad(&kind) };
        writeln!(out, "  {kind} {}  {}", location(problem), problem.message)?;
        if !problem.fixable {
            writeln!(
                out,
                "  {}   {}",
                " ".repeat(17),
                style.dim(&format!("-> {}", problem.kind.advice()))
            )?;
        }
    }
    if fixable > 0 {
        writeln!(
            out,
            "Run `dotdir check --fix {}` to repair the {fixable} fixable problem(s); nothing is lost.",
            layouts::display(&target.dir)
        )?;
    }
    Ok(())
}
