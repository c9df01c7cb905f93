//! The house rules of `crates/*/src` as a test: files split by verb (under 600 lines before
//! their inline tests), one error vocabulary (typed steps, no variant that prints its own
//! source), explicit imports.

use std::{
    fs,
    path::{Path, PathBuf},
};

/// The longest a source file may be before its inline tests.
const MAX_LINES: usize = 600;

fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    let mut out = Vec::new();
    for krate in fs::read_dir(&crates).expect("crates/").flatten() {
        walk(&krate.path().join("src"), &mut out);
    }
    assert!(out.len() > 50, "found only {} source files under {}", out.len(), crates.display());
    out.sort();
    out
}

/// Each file's lines, with the file's name relative to `crates/`.
fn each_file() -> impl Iterator<Item = (String, Vec<String>)> {
    sources().into_iter().map(|path| {
        let text = fs::read_to_string(&path).expect("a readable source file");
        let name = path.to_string_lossy().split("/crates/").last().unwrap_or_default().to_owned();
        (name, text.lines().map(str::to_owned).collect())
    })
}

fn is_test_file(name: &str) -> bool {
    name.ends_with("/tests.rs")
}

#[test]
fn no_source_file_is_over_600_lines_before_its_tests() {
    let long: Vec<String> = each_file()
        .filter(|(name, _)| !is_test_file(name))
        .filter_map(|(name, lines)| {
            let before = lines.iter().position(|l| l == "#[cfg(test)]").unwrap_or(lines.len());
            (before > MAX_LINES).then(|| format!("{name}: {before} lines"))
        })
        .collect();
    assert!(long.is_empty(), "split these by verb: {long:#?}");
}

#[test]
fn every_step_is_typed() {
    let found: Vec<String> = each_file()
        .flat_map(|(name, lines)| {
            lines
                .into_iter()
                .enumerate()
                .filter(|(_, l)| {
                    l.contains("IoError<&")
                        || l.contains("step: \"")
                        || l.contains("IoError::on(\"")
                        || l.contains("step: &'static str")
                })
                .map(move |(i, l)| format!("{name}:{}: {}", i + 1, l.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(found.is_empty(), "string-typed steps (use the crate's `Step` enum): {found:#?}");
}

#[test]
fn no_error_variant_prints_its_own_source() {
    let mut found = Vec::new();
    for (name, lines) in each_file() {
        for (i, line) in lines.iter().enumerate() {
            let attribute = line.trim_start();
            if !attribute.starts_with("#[error(") {
                continue;
            }
            let prints =
                ["{0}", "{source}", "{0:", "{source:"].iter().any(|p| attribute.contains(p));
            // The variant's fields: up to the line that closes it.
            let fields = lines[i + 1..]
                .iter()
                .take_while(|l| !l.trim_start().starts_with("#[error("))
                .take(12);
            let has_source = fields.filter(|l| !l.trim_start().starts_with("///")).any(|l| {
                l.contains("#[from]") || l.contains("#[source]") || l.contains(" source:")
            });
            if prints && has_source {
                found.push(format!("{name}:{}: {}", i + 1, attribute));
            }
        }
    }
    assert!(found.is_empty(), "the cause is `source()`, never repeated in the message: {found:#?}");
}

#[test]
fn glob_imports_of_the_parent_only_in_tests() {
    let found: Vec<String> = each_file()
        .filter(|(name, _)| !is_test_file(name))
        .flat_map(|(name, lines)| {
            let mut in_tests = false;
            let mut out = Vec::new();
            for (i, line) in lines.iter().enumerate() {
                if line.trim_start().starts_with("mod tests") {
                    in_tests = true;
                }
                if line.trim() == "use super::*;" && !in_tests {
                    out.push(format!("{name}:{}", i + 1));
                }
            }
            out
        })
        .collect();
    assert!(found.is_empty(), "import explicitly: {found:#?}");
}

#[test]
fn a_public_type_name_means_one_thing() {
    // Each crate's own `Error`, `Result`, `Options` and `Step` are the convention.
    const PER_CRATE: &[&str] = &["Error", "Result", "Options", "Step"];
    let mut seen: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (name, lines) in each_file() {
        for line in &lines {
            let declared = ["pub struct ", "pub enum ", "pub trait ", "pub type "]
                .iter()
                .find_map(|p| line.strip_prefix(p));
            let Some(rest) = declared else { continue };
            let ident: String =
                rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !PER_CRATE.contains(&ident.as_str()) {
                seen.entry(ident).or_default().push(name.clone());
            }
        }
    }
    let twice: Vec<_> = seen.into_iter().filter(|(_, files)| files.len() > 1).collect();
    assert!(twice.is_empty(), "one name, two meanings: {twice:#?}");
}

#[test]
fn fn_git_is_defined_only_in_test_support() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found: Vec<String> = each_file()
        .filter(|(name, _)| !name.starts_with("test-support/"))
        .filter(|(_, lines)| lines.iter().any(|l| l.contains("fn git(")))
        .map(|(name, _)| name)
        .collect();
    let xtask = fs::read_dir(root.join("xtask/src")).expect("xtask/src").flatten().count();
    assert!(xtask > 3, "xtask/src not found");
    let mut stack = vec![root.join("xtask/src")];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("a directory").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if fs::read_to_string(&path).is_ok_and(|text| text.contains("fn git(")) {
                found.push(path.display().to_string());
            }
        }
    }
    assert!(found.is_empty(), "use dotdir_test_support::{{git, try_git}}: {found:#?}");
}
