//! `dotdir_engine::Dir`, the one handle every writer builds on: secret and declared writes that
//! refuse what the layout does not declare (and write nothing then), the symbolic-link policy,
//! private directories, and the journal options derived from the layout.

use std::{
    fs,
    os::unix::fs::{PermissionsExt, symlink},
    path::Path,
};

use dotdir_engine::{Dir, Entry, Error, Format, Layout};
use dotdir_test_support::{child, child_role, env};

use crate::support::mode;

/// An omicos-like home: secrets at the top and in a secret directory, settings, memory notes.
static HOME: Layout = Layout::new(
    "home",
    "an omicos-like home",
    &[
        Entry::file("auth.json", Format::Json, "a login token").secret(),
        Entry::dir("oauth", "OAuth tokens").secret(),
        Entry::file("oauth/*.json", Format::Json, "an OAuth token").secret(),
        Entry::dir("settings", "settings").private(),
        Entry::file("settings/*.json", Format::Json, "a setting").private(),
        Entry::dir("memory", "memory"),
        Entry::file("memory/*.md", Format::Markdown, "a memory note"),
    ],
);

/// The same, whose root may be a symbolic link (a person moved it to another disk).
static LINKED: Layout = HOME.root_may_be_a_link();

/// The names in `dir`, recursively, sorted (empty when it does not exist).
fn tree(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        let Ok(entries) = fs::read_dir(&at) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            names.push(path.strip_prefix(dir).unwrap().display().to_string());
            if path.is_dir() && !path.is_symlink() {
                stack.push(path);
            }
        }
    }
    names.sort();
    names
}

const UMASK_TEST: &str = "dir::write_secret_gives_0600_and_a_private_directory_0700_under_umask_0";

#[test]
fn write_secret_gives_0600_and_a_private_directory_0700_under_umask_0() {
    if child_role().as_deref() == Some("umask-0") {
        // In a child of its own: the umask is the process's, and other tests run in threads.
        let _ = rustix::process::umask(rustix::fs::Mode::empty());
        let root = std::path::PathBuf::from(env("DOTDIR_TEST_ROOT"));
        let dir = Dir::new(&root, &HOME);
        dir.write_secret("oauth/google.json", b"\"sk\"").unwrap();
        dir.write_secret("auth.json", b"\"sk\"").unwrap();
        let _ = dir.write_declared("settings/llm.json", b"{}").unwrap();
        let _ = dir.write_declared("memory/a.md", b"# a").unwrap();
        std::process::exit(0);
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("home");
    let status = { child(UMASK_TEST, "umask-0").env("DOTDIR_TEST_ROOT", &root).status().unwrap() };
    assert!(status.success());
    let at = |rel: &str| mode(&root.join(rel));
    assert_eq!((at("auth.json"), at("oauth/google.json")), (0o600, 0o600));
    assert_eq!((at("oauth"), at("settings"), at("settings/llm.json")), (0o700, 0o700, 0o600));
    assert_eq!(at(""), 0o700, "the root holds secrets");
    // Not private: the umask's default, which is 0 in the child.
    assert_eq!((at("memory"), at("memory/a.md")), (0o777, 0o666));
}

#[test]
fn write_secret_refuses_a_path_the_layout_does_not_declare_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = Dir::new(tmp.path().join("home"), &HOME);
    for path in ["memory/a.md", "settings/x.json", "stray.json"] {
        let error = dir.write_secret(path, b"\"sk\"").unwrap_err();
        assert!(matches!(error, Error::NotASecret { layout: "home", .. }), "{path}: {error:?}");
        assert!(error.to_string().contains("does not declare it secret"), "{error}");
    }
    // A secret directory is secret, but no file to write.
    let error = dir.write_secret("oauth", b"\"sk\"").unwrap_err();
    assert!(matches!(error, Error::Undeclared { .. }), "{error:?}");
    assert!(!tmp.path().join("home").exists(), "nothing was written");
    dir.write_secret("oauth/a.json", b"\"sk\"").unwrap();
    assert_eq!(fs::read(dir.path("oauth/a.json")).unwrap(), b"\"sk\"");
}

#[test]
fn write_declared_refuses_undeclared_dotdot_and_directory_entries_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("home");
    fs::create_dir(&root).unwrap();
    let dir = Dir::new(&root, &HOME);
    for path in [
        "notes.txt",
        "memory/deep/a.md",
        "memory/../auth.json",
        "memory/../../escape.md",
        "../home/memory/a.md",
        "/etc/memory/a.md",
        "memory",
        "oauth",
        "",
    ] {
        let error = dir.write_declared(path, b"x").unwrap_err();
        assert!(matches!(error, Error::Undeclared { layout: "home", .. }), "{path}: {error:?}");
    }
    assert_eq!(tree(&root), Vec::<String>::new(), "nothing was written");
    assert_eq!(tree(tmp.path()), ["home"], "nothing outside either");
    let entry = dir.write_declared("memory/a.md", b"# a").unwrap();
    assert_eq!(entry.pattern, "memory/*.md");
    assert_eq!(tree(&root), ["memory", "memory/a.md"]);
}

#[test]
fn real_dir_refuses_a_symbolic_link_below_the_root() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("home");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(&root).unwrap();
    fs::create_dir_all(&outside).unwrap();
    symlink(&outside, root.join("memory")).unwrap();
    let dir = Dir::new(&root, &HOME);
    let error = dir.real_dir("memory").unwrap_err();
    assert!(
        matches!(&error, Error::NotADirectory { path } if path == &root.join("memory")),
        "{error:?}"
    );
    assert!(matches!(dir.real_dir("memory/deeper"), Err(Error::NotADirectory { .. })));
    // No write follows it.
    assert!(matches!(dir.write_declared("memory/a.md", b"x"), Err(Error::NotADirectory { .. })));
    assert!(matches!(dir.create_dir("memory"), Err(Error::NotADirectory { .. })));
    assert_eq!(tree(&outside), Vec::<String>::new());
    // A real directory, or one not there yet, is fine.
    assert_eq!(dir.real_dir("settings").unwrap(), root.join("settings"));
    assert_eq!(dir.real_dir("").unwrap(), root);
}

#[test]
fn a_symlinked_root_is_refused_unless_the_layout_allows_it() {
    let tmp = tempfile::tempdir().unwrap();
    let moved = tmp.path().join("other-disk/home");
    fs::create_dir_all(&moved).unwrap();
    let root = tmp.path().join("home");
    symlink(&moved, &root).unwrap();
    let dir = Dir::new(&root, &HOME);
    assert!(matches!(dir.real_dir(""), Err(Error::NotADirectory { .. })));
    assert!(matches!(dir.write_secret("auth.json", b"\"sk\""), Err(Error::NotADirectory { .. })));
    assert_eq!(tree(&moved), Vec::<String>::new());

    let dir = Dir::new(&root, &LINKED);
    assert_eq!(dir.real_dir("").unwrap(), root);
    dir.write_secret("auth.json", b"\"sk\"").unwrap();
    assert_eq!(fs::read(moved.join("auth.json")).unwrap(), b"\"sk\"");
    // Below the root, a link is still refused.
    symlink(tmp.path(), moved.join("memory")).unwrap();
    assert!(matches!(dir.real_dir("memory"), Err(Error::NotADirectory { .. })));
    // A link above the root is none of its business.
    let above = tmp.path().join("above");
    symlink(tmp.path().join("other-disk"), &above).unwrap();
    assert!(Dir::new(above.join("home"), &HOME).real_dir("").is_ok());
}

#[test]
fn create_dir_makes_a_private_directory_0700_and_tightens_an_existing_one() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("home");
    let dir = Dir::new(&root, &HOME);
    assert_eq!(dir.create_dir("settings").unwrap(), root.join("settings"));
    assert_eq!((mode(&root), mode(&root.join("settings"))), (0o700, 0o700));
    fs::create_dir(root.join("oauth")).unwrap();
    fs::set_permissions(root.join("oauth"), fs::Permissions::from_mode(0o755)).unwrap();
    let _ = dir.create_dir(root.join("oauth")).unwrap();
    assert_eq!(mode(&root.join("oauth")), 0o700, "group and other permissions taken away");
    // An absolute path elsewhere is no directory of this one.
    assert!(matches!(dir.create_dir(tmp.path().join("elsewhere")), Err(Error::Undeclared { .. })));
    assert!(!tmp.path().join("elsewhere").exists());
}

#[test]
fn write_options_and_documents_take_the_entrys_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("home");
    let dir = Dir::new(&root, &HOME);
    let _ = dir.create_dir("settings").unwrap();
    let path = dir.path("settings/llm.json");
    fs::write(&path, b"{}").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let _ = dir
        .document::<serde_json::Value>("settings/llm.json")
        .write(&serde_json::json!({"model": "o3"}))
        .unwrap();
    assert_eq!(mode(&path), 0o600, "a private file is written 0600 whatever its old mode");
    let value: serde_json::Value = dir.document("settings/llm.json").read().unwrap().unwrap();
    assert_eq!(value["model"], "o3");
    assert_eq!(dir.write_options(&path), dir.write_options("settings/llm.json"));
    assert_ne!(dir.write_options("memory/a.md"), dir.write_options("settings/llm.json"));
}

#[test]
fn journal_options_carry_the_layouts_exclusions_and_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = Dir::new(tmp.path().join("home"), &HOME);
    let options = dir.journal_options();
    assert!(!options.exclusions.allows("auth.json"), "a secret is never committed");
    assert!(!options.exclusions.allows("oauth/google.json"));
    assert!(options.exclusions.allows("memory/a.md"), "declared and tracked");
    assert!(!options.exclusions.allows("notes.txt"), "undeclared: denied by default");
    assert_eq!(options.durability, dir.durability());
    assert_eq!(options.exclusions.gitignore_block(), HOME.journal_exclusions().gitignore_block());
}

#[test]
fn refusal_names_the_home_directory_and_foreign_content() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(Dir::new("/", &HOME).refusal(false).is_some_and(|why| why.contains("home")));
    let project = tmp.path().join("project");
    fs::create_dir_all(project.join("src")).unwrap();
    fs::write(project.join(".npmrc"), "token").unwrap();
    let dir = Dir::new(&project, &HOME);
    assert_eq!(dir.refusal(false), None);
    let why = dir.refusal(true).expect("a directory of something else");
    assert!(why.contains(".npmrc") && why.contains("src"), "{why}");
    // New, or already one of its own: fine.
    assert_eq!(Dir::new(tmp.path().join("new"), &HOME).refusal(true), None);
    fs::create_dir(project.join("memory")).unwrap();
    assert_eq!(dir.refusal(true), None);
}
