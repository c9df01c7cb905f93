//! Every declared format that can be parsed is: a TOML or YAML document, or a Markdown file's
//! optional front matter, that does not parse is `corrupt-document` with its line and column;
//! a Markdown file without front matter is fine.

use std::fs;

use dotdir_engine::{Entry, Format, Layout, check};

const LAYOUT: Layout = Layout::new(
    "formats",
    "one entry per format",
    &[
        Entry::file("config.toml", Format::Toml, "configuration"),
        Entry::file("policy.yaml", Format::Yaml, "a policy"),
        Entry::dir("prompts", "prompts"),
        Entry::file("prompts/*.md", Format::Markdown, "a prompt (optional front matter)"),
    ],
);

/// `(kind, path, line, column)` of every problem in `dir`.
fn found(dir: &std::path::Path) -> Vec<(String, String, Option<u64>, Option<u64>)> {
    let report =
        check::check(dir, &LAYOUT, &check::Options::default().report_unknown(false)).unwrap();
    report
        .problems
        .iter()
        .map(|p| (p.kind.as_str().to_owned(), p.path.clone(), p.line, p.column))
        .collect()
}

#[test]
fn valid_documents_and_a_prompt_without_front_matter_are_clean() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("config.toml"),
        "model = \"o3\"\n[profiles.fast]\nmodel = \"o4-mini\"\n",
    )
    .unwrap();
    fs::write(dir.path().join("policy.yaml"), "allow:\n  - Read\n").unwrap();
    fs::create_dir(dir.path().join("prompts")).unwrap();
    fs::write(dir.path().join("prompts/plain.md"), "Review the diff.\n---\nNot front matter.\n")
        .unwrap();
    fs::write(dir.path().join("prompts/with.md"), "---\ndescription: review\n---\nReview.\n")
        .unwrap();
    assert_eq!(found(dir.path()), []);
}

#[test]
fn broken_documents_are_reported_at_their_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("config.toml"), "model = \"o3\"\n\n[profiles\nx = 1\n").unwrap();
    fs::write(dir.path().join("policy.yaml"), "allow:\n  - Read\n bad: [\n").unwrap();
    fs::create_dir(dir.path().join("prompts")).unwrap();
    fs::write(dir.path().join("prompts/broken.md"), "---\ndescription: a\n  b: [\n---\nbody\n")
        .unwrap();
    fs::write(dir.path().join("prompts/unclosed.md"), "---\ndescription: a\n").unwrap();
    let found = found(dir.path());
    let at =
        |path: &str| found.iter().find(|(k, p, ..)| k == "corrupt-document" && p == path).cloned();
    let toml = at("config.toml").expect("the TOML error is reported");
    assert_eq!(toml.2, Some(3), "{found:?}");
    assert!(toml.3.is_some());
    let yaml = at("policy.yaml").expect("the YAML error is reported");
    assert_eq!(yaml.2, Some(3), "{found:?}");
    // The front matter's line counts from the top of the file.
    let front = at("prompts/broken.md").expect("the front matter error is reported");
    assert!(front.2.is_some_and(|line| line >= 3), "{found:?}");
    assert!(at("prompts/unclosed.md").is_some(), "{found:?}");
    assert_eq!(found.len(), 4, "{found:?}");
}
