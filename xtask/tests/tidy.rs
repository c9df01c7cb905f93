//! Repository rules as a test: every `.rs` file opens with `//!`, every crate inherits the
//! workspace lints, no test carries the ignore attribute, every publishable crate carries the
//! metadata crates.io needs.

use std::{
    fs,
    path::{Path, PathBuf},
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" || name == "targets" {
            continue;
        }
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn workspace_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    files(&root(), &mut out);
    out
}

#[test]
fn every_rust_file_opens_with_module_docs() {
    let offenders: Vec<_> = workspace_files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .filter(|p| !p.components().any(|c| c.as_os_str() == "fuzz_corpus"))
        .filter(|p| !fs::read_to_string(p).unwrap_or_default().starts_with("//!"))
        .collect();
    assert!(offenders.is_empty(), "files without a `//!` header: {offenders:#?}");
}

#[test]
fn every_crate_inherits_workspace_lints() {
    let offenders: Vec<_> = workspace_files()
        .into_iter()
        .filter(|p| {
            p.file_name().is_some_and(|n| n == "Cargo.toml") && *p != root().join("Cargo.toml")
        })
        .filter(|p| {
            let text = fs::read_to_string(p).unwrap_or_default();
            !text.contains("[lints]\nworkspace = true")
        })
        .collect();
    assert!(offenders.is_empty(), "crates that do not inherit the workspace lints: {offenders:#?}");
}

#[test]
fn no_ignored_tests() {
    let needle = concat!("#[", "ignore");
    let offenders: Vec<_> = workspace_files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .filter(|p| fs::read_to_string(p).unwrap_or_default().contains(needle))
        .collect();
    assert!(offenders.is_empty(), "ignored tests: {offenders:#?}");
}

/// A `#[test]` whose first statement returns unless an environment variable is set is a child
/// role counted as a passed test: the role belongs inside the test that spawns it.
#[test]
fn no_test_is_only_a_child_role() {
    let mut offenders = Vec::new();
    for path in workspace_files().into_iter().filter(|p| p.extension().is_some_and(|e| e == "rs")) {
        let text = fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.trim() != concat!("#[", "test]") {
                continue;
            }
            let body: String =
                lines.iter().skip(i + 2).take(3).map(|l| l.trim()).collect::<Vec<_>>().join(" ");
            let returns_early = body.contains("else { return }")
                || (body.starts_with("if ")
                    && body.contains("!= Some(")
                    && body.contains("return"))
                || (body.starts_with("if ")
                    && body.contains(".is_err()")
                    && body.contains("return"));
            if returns_early {
                offenders.push(format!("{}:{}", path.display(), i + 2));
            }
        }
    }
    assert!(offenders.is_empty(), "tests that only play a child role: {offenders:#?}");
}

#[test]
fn every_crate_folder_is_a_package_named_after_it() {
    for entry in fs::read_dir(root().join("crates")).expect("crates/ exists").flatten() {
        let folder = entry.file_name().to_string_lossy().into_owned();
        let manifest = fs::read_to_string(entry.path().join("Cargo.toml")).unwrap_or_default();
        let expected = match folder.as_str() {
            "layout" => "dotdir".to_owned(),
            other => format!("dotdir-{other}"),
        };
        assert!(
            manifest.contains(&format!("name = \"{expected}\"")),
            "crates/{folder} must be package {expected}"
        );
    }
}

#[test]
fn every_publishable_crate_can_be_cherry_picked() {
    // What crates.io shows and searches: keywords, categories and a README in the package.
    let mut checked = 0;
    for entry in fs::read_dir(root().join("crates")).expect("crates/ exists").flatten() {
        let manifest = fs::read_to_string(entry.path().join("Cargo.toml")).unwrap_or_default();
        if manifest.contains("publish = false") {
            continue;
        }
        let folder = entry.file_name().to_string_lossy().into_owned();
        for key in ["keywords = [", "categories = [", "readme = \"README.md\""] {
            assert!(manifest.contains(key), "crates/{folder}/Cargo.toml has no {key}");
        }
        assert!(entry.path().join("README.md").is_file(), "crates/{folder}/README.md is missing");
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} publishable crates found");
}

/// One home for test helpers and fixtures (`dotdir-test-support`): no published crate ships a
/// copy of them, so none is checked for drift. The ollim-bot fixture tree lives only in
/// `crates/test-support/data/ollim-bot`: no `tests/data/ollim-bot` elsewhere, no fixture file
/// copied into a test directory, and no test defines its own `fn git(` helper.
#[test]
fn test_helpers_and_fixtures_have_one_home() {
    let fixtures = root().join("crates/test-support/data/ollim-bot");
    let mut originals = Vec::new();
    files(&fixtures, &mut originals);
    assert!(originals.len() >= 26, "only {} fixture files in {fixtures:?}", originals.len());
    let contents: Vec<Vec<u8>> =
        originals.iter().map(|p| fs::read(p).expect("a fixture is readable")).collect();
    let helper = concat!("fn ", "git(");
    let mut copies = Vec::new();
    let mut helpers = Vec::new();
    for path in workspace_files() {
        let relative = path.strip_prefix(root()).expect("under the root").to_path_buf();
        let text = relative.to_string_lossy();
        if text.contains("tests/data/ollim-bot") && !text.starts_with("crates/test-support/") {
            copies.push(relative.clone());
        }
        let parts: Vec<_> = relative.components().map(|c| c.as_os_str().to_owned()).collect();
        let in_tests = parts.len() > 3
            && (parts[0] == "crates" || parts[0] == "examples")
            && parts[2] == "tests"
            && parts[1] != "test-support";
        if !in_tests {
            continue;
        }
        let is_code = path.extension().is_some_and(|e| e == "rs" || e == "py");
        if is_code {
            if fs::read_to_string(&path).unwrap_or_default().contains(helper) {
                helpers.push(relative);
            }
        } else if contents.contains(&fs::read(&path).unwrap_or_default()) {
            copies.push(relative);
        }
    }
    assert!(copies.is_empty(), "fixture copies outside crates/test-support: {copies:#?}");
    assert!(
        helpers.is_empty(),
        "tests with their own `{helper}` (use dotdir_test_support::git): {helpers:#?}"
    );
}
