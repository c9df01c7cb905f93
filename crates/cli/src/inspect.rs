//! `dotdir inspect`: the annotated tree of a data directory.

use std::io::Write;

use anyhow::{Context, Result};
use dotdir_engine::{
    Git,
    inspect::{Node, NodeKind, Role, Tree},
};
use serde_json::{Value, json};

use crate::{
    Outcome,
    layouts::{Target, Targets},
    style::{self, Style},
};

pub(crate) fn run(targets: Targets, all: bool, json: bool, style: &Style) -> Result<Outcome> {
    let mut out = std::io::stdout().lock();
    let mut documents = Vec::new();
    for target in &targets.list {
        let bar = style::working(format!("reading {}", target.dir.display()));
        let tree =
            dotdir_engine::inspect::inspect(&target.dir, target.layout).with_context(|| {
                format!("cannot inspect {}: check that you may read it", target.dir.display())
            })?;
        let fit = target.fit()?;
        bar.finish_and_clear();
        // Inspecting writes nothing: what a killed restore left beside the directory is named,
        // and `check --fix` removes it.
        let leftovers = dotdir_engine::leftover::beside(&target.dir).unwrap_or_default();
        if json {
            let mut document = to_json(&tree);
            document["fit"] = crate::check::fit_json(&fit);
            document["leftovers"] = crate::backup::swept_json(&leftovers);
            documents.push(document);
        } else {
            crate::check::render_misfit(&mut out, target, &fit, style)?;
            render(&mut out, target, &tree, all, style)?;
            for leftover in &leftovers {
                writeln!(
                    out,
                    "{} {}; `{} check --fix {}` removes it",
                    style.warn("leftover:"),
                    crate::backup::leftover_line("found", leftover),
                    style.command,
                    target.dir.display()
                )?;
            }
            writeln!(out)?;
        }
    }
    if json {
        match targets.list.as_slice() {
            [target] if targets.named => {
                crate::print_json(&mut out, "inspect", Some(&target.dir), documents.remove(0))?;
            }
            _ => crate::print_json(&mut out, "inspect", None, json!({"directories": documents}))?,
        }
    }
    // Inspecting only shows; `dotdir check` judges.
    Ok(Outcome::Clean)
}

/// The JSON form of a classified tree.
pub(crate) fn to_json(tree: &Tree) -> Value {
    let entries: Vec<Value> = tree
        .nodes
        .iter()
        .map(|node| {
            let entry = node.entry;
            json!({
                "path": node.relative,
                "kind": node.kind.as_str(),
                "size": node.summary.map_or(node.size, |s| s.bytes),
                "files": node.summary.map(|s| s.files),
                "mode": format!("{:04o}", node.mode),
                "role": node.role.label(),
                "description": description(node),
                "secret": node.is_secret(),
                "tracked": node.tracked(),
                "backed_up": node.backed_up(),
                "retention_seconds": entry.and_then(|e| e.retention).map(|d| d.as_secs()),
                "unknown": node.role == Role::Unknown,
                "link_target": node.link_target.as_ref().map(|t| t.display().to_string()),
            })
        })
        .collect();
    json!({
        "layout": tree.layout.name,
        "root": tree.root.display().to_string(),
        "entries": entries,
    })
}

fn description(node: &Node) -> String {
    match (node.role, node.entry) {
        (Role::Declared, Some(entry)) => entry.description.to_owned(),
        (Role::Container, _) => "holds declared entries".to_owned(),
        (Role::GitDir, _) => "git repository (history of the tracked files)".to_owned(),
        (Role::Gitignore, _) => "ignore list derived from the layout".to_owned(),
        (Role::Temp { writer_pid: Some(pid), .. }, _) => {
            format!("temporary file of an interrupted write (writer pid {pid})")
        }
        (Role::Temp { writer_pid: None, .. }, _) => {
            "temporary file of an interrupted write".to_owned()
        }
        (Role::LockSidecar, _) => "lock file of a cross-process read-modify-write".to_owned(),
        (Role::SetAside, _) => "bytes set aside by `dotdir check --fix`".to_owned(),
        (Role::Unknown, _) => "not declared by the layout".to_owned(),
        _ => String::new(),
    }
}

const NAME_WIDTH: usize = 44;

/// dotdir's lock sidecar: an empty-ish `<file>.lock` next to the file whose read-modify-writes
/// it orders (by its exact name, never a bare `*.lock`). Listed only with `--all`.
fn is_lock_sidecar(node: &Node) -> bool {
    node.kind == NodeKind::File && node.role == Role::LockSidecar
}

pub(crate) fn render(
    out: &mut impl Write,
    target: &Target,
    tree: &Tree,
    all: bool,
    style: &Style,
) -> Result<()> {
    writeln!(
        out,
        "{} {}",
        style.bold(&format!("{} layout at", tree.layout.name)),
        style.bold(&target.dir.display().to_string())
    )?;
    writeln!(out, "{}", style.dim(tree.layout.description))?;
    writeln!(
        out,
        "{}",
        style.dim(&format!(
            "{}{:>7}  {:4}  {:3}  {:6}  what",
            style::pad("path", NAME_WIDTH),
            "size",
            "mode",
            "git",
            "backup"
        ))
    )?;
    let mut hidden = 0;
    for node in &tree.nodes {
        if !all && is_lock_sidecar(node) {
            hidden += 1;
            continue;
        }
        writeln!(out, "{}", row(node, style))?;
    }
    let unknown = tree.unknown().count();
    let secrets = tree.nodes.iter().filter(|n| n.is_secret() && n.kind == NodeKind::File).count();
    let kept: Vec<&Node> = tree.nodes.iter().filter(|n| n.backed_up()).collect();
    writeln!(
        out,
        "{}, {}; {}; backup keeps {}, {}; {}",
        style::plural(tree.nodes.len(), "entry", "entries"),
        style::size(tree.total_bytes()),
        style::plural(secrets, "secret file", "secret files"),
        style::plural(kept.len(), "file", "files"),
        style::size(kept.iter().map(|n| n.size).sum()),
        if unknown == 0 {
            style.good("nothing unknown")
        } else {
            style.warn(&style::plural(unknown, "unknown entry", "unknown entries"))
        }
    )?;
    if hidden > 0 {
        writeln!(
            out,
            "{}",
            style.dim(&format!(
                "({} not listed: `--all` lists them)",
                style::plural(hidden, "lock file", "lock files")
            ))
        )?;
    }
    Ok(())
}

fn row(node: &Node, style: &Style) -> String {
    let name = node.relative.rsplit('/').next().unwrap_or(&node.relative);
    let suffix = match node.kind {
        NodeKind::Dir => "/",
        NodeKind::Symlink => "@",
        _ => "",
    };
    let mut label = format!("{}{}{suffix}", "  ".repeat(node.depth - 1), style::clean(name));
    if let Some(target) = &node.link_target {
        label.push_str(&format!(" -> {}", style::clean(&target.display().to_string())));
    }
    let size = match (node.kind, node.summary) {
        (_, Some(summary)) => style::size(summary.bytes),
        (NodeKind::Dir, None) => "-".to_owned(),
        _ => style::size(node.size),
    };
    let git = match (node.role, node.entry) {
        (Role::Declared, Some(entry)) if entry.git == Git::Tracked && !entry.secret => "yes",
        (Role::Gitignore, _) => "yes",
        (Role::Container | Role::GitDir, _) => "",
        _ => "no",
    };
    let backup = match node.role {
        Role::Container => "",
        _ if node.is_secret() => "never",
        _ if node.backed_up() => "yes",
        _ if node.kind == NodeKind::Dir
            && node.entry.is_some_and(|e| e.backup == dotdir_engine::Backup::Keep) =>
        {
            ""
        }
        _ => "no",
    };
    let mut what = Vec::new();
    if node.is_secret() {
        what.push(style.bad("[secret]"));
    }
    if let Some(ttl) = node.entry.and_then(|e| e.retention) {
        what.push(style.info(&format!("[ttl {}]", style::duration(ttl))));
    }
    if let Some(summary) = node.summary {
        what.push(
            style.dim(&format!("[{}, not listed]", style::plural(summary.files, "file", "files"))),
        );
    }
    match node.role {
        Role::Unknown => what.push(style.warn("[unknown] not declared by the layout")),
        Role::Temp { .. } => what.push(style.warn(&description(node))),
        _ => what.push(description(node)),
    }
    let line = format!(
        "{}{:>7}  {:04o}  {:3}  {:6}  {}",
        style::pad(&style::shorten(&label, NAME_WIDTH - 1), NAME_WIDTH),
        size,
        node.mode,
        git,
        backup,
        what.join(" ")
    );
    if node.kind == NodeKind::Dir { line.replacen(&label, &style.bold(&label), 1) } else { line }
}
