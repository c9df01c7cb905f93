//! `SpecDir`: slug names and collisions, rename on a changed message, remove by id, unknown
//! keys kept, the listing cache, and writers in several processes.

use std::{
    path::Path,
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use dotdir_atomic_store::{Durability, Written};
use dotdir_frontmatter::{DirOptions, SpecDir, SpecProblem, file_stem, slugify};

use crate::specs::Routine;

fn routine(id: &str, message: &str) -> Routine {
    Routine {
        id: id.into(),
        message: message.into(),
        cron: "0 9 * * *".into(),
        ..Routine::default()
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".md"))
        .collect();
    names.sort();
    names
}

fn fast() -> DirOptions {
    DirOptions { durability: Durability::None, ..DirOptions::default() }
}

#[test]
fn slugs_match_the_reference_table() {
    let table = [
        ("Hello World", "hello-world"),
        ("Check email & summarize!", "check-email-summarize"),
        ("a---b   c", "a-b-c"),
        ("  --hello--  ", "hello"),
        ("UPPER_case 123", "upper-case-123"),
        ("Café ☕ time", "caf-time"),
        ("naïve résumé", "na-ve-r-sum"),
        ("\u{212A}elvin", "kelvin"),
        ("İstanbul", "i-stanbul"),
        ("☕☕", ""),
        ("", ""),
    ];
    for (input, slug) in table {
        assert_eq!(slugify(input), slug, "{input:?}");
    }
    let long = format!("{}-bccccc", "a".repeat(49));
    assert_eq!(slugify(&long), "a".repeat(49));
    assert_eq!(slugify(&"ab ".repeat(40)).len(), 50);
    assert_eq!(file_stem("☕☕"), "untitled");
}

#[test]
fn collisions_get_numbered_names_and_rewrites_keep_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let specs = SpecDir::<Routine>::with_options(dir.path(), fast());
    for id in ["b1", "b2", "b3"] {
        specs.write(&routine(id, "Dup!")).unwrap();
    }
    assert_eq!(names(dir.path()), ["dup-2.md", "dup-3.md", "dup.md"]);
    // Rewriting b3 overwrites dup-3.md, even after dup.md is gone.
    specs.remove("b1").unwrap();
    let mut b3 = routine("b3", "Dup!");
    b3.description = "changed".into();
    let saved = specs.write(&b3).unwrap();
    assert!(saved.path.ends_with("dup-3.md"));
    assert_eq!(saved.written, Written::Replaced);
    assert_eq!(names(dir.path()), ["dup-2.md", "dup-3.md"]);
    // An unchanged spec is not rewritten.
    assert_eq!(specs.write(&b3).unwrap().written, Written::Unchanged);
    // An empty slug gets a visible name.
    let saved = specs.write(&routine("c1", "☕☕")).unwrap();
    assert!(saved.path.ends_with("untitled.md"));
}

#[test]
fn a_changed_message_renames_instead_of_duplicating() {
    let dir = tempfile::tempdir().unwrap();
    let specs = SpecDir::<Routine>::with_options(dir.path(), fast());
    specs.write(&routine("a1", "Morning check-in")).unwrap();
    let saved = specs.write(&routine("a1", "Evening check-in")).unwrap();
    assert_eq!(saved.removed, vec![dir.path().join("morning-check-in.md")]);
    assert_eq!(names(dir.path()), ["evening-check-in.md"]);
    let listing = specs.list().unwrap();
    assert_eq!(listing.entries.len(), 1);
    assert_eq!(listing.entries[0].spec.message, "Evening check-in");
    assert!(listing.problems.is_empty());
}

#[test]
fn remove_takes_every_file_with_the_id_and_duplicates_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    // Two files with one id, as the reference leaves after a message change.
    let text = |m: &str| format!("---\nid: \"d1\"\ncron: \"0 9 * * *\"\n---\n{m}\n");
    std::fs::write(dir.path().join("old.md"), text("Old")).unwrap();
    std::fs::write(dir.path().join("new.md"), text("New")).unwrap();
    std::fs::write(dir.path().join("other.md"), "---\nid: 99\ncron: \"x\"\n---\nOther\n").unwrap();
    let specs = SpecDir::<Routine>::with_options(dir.path(), fast());
    let listing = specs.list().unwrap();
    assert_eq!(listing.entries.len(), 3);
    match &listing.problems[..] {
        [SpecProblem::DuplicateId { id, paths }] => {
            assert_eq!(id, "d1");
            assert_eq!(paths, &[dir.path().join("new.md"), dir.path().join("old.md")]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(specs.get("d1").unwrap().unwrap().spec.message, "New");
    let removed = specs.remove("d1").unwrap();
    assert_eq!(removed.len(), 2);
    assert_eq!(names(dir.path()), ["other.md"]);
    // An unquoted numeric id is found by its text.
    assert_eq!(specs.remove("99").unwrap(), vec![dir.path().join("other.md")]);
    assert!(specs.remove("99").unwrap().is_empty());
    // A missing directory lists empty and removes nothing.
    let missing = SpecDir::<Routine>::new(dir.path().join("nope"));
    assert!(missing.list().unwrap().entries.is_empty());
    assert!(missing.remove("x").unwrap().is_empty());
}

#[test]
fn a_symlinked_spec_is_reported_never_read_nor_followed() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("shared.md");
    std::fs::write(&target, "---\nid: \"s1\"\ncron: \"0 9 * * *\"\n---\nShared\n").unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("shared.md")).unwrap();
    let specs = SpecDir::<Routine>::new(dir.path());
    let listing = specs.list().unwrap();
    assert!(listing.entries.is_empty(), "a link was followed: {:?}", listing.entries);
    assert!(
        listing.problems.iter().any(|p| matches!(p,
            dotdir_frontmatter::SpecProblem::Unreadable { path, error }
                if path.ends_with("shared.md") && format!("{error:?}").contains("symbolic link"))),
        "{:?}",
        listing.problems
    );
    assert!(specs.get("s1").unwrap().is_none());
    assert!(specs.remove("s1").unwrap().is_empty());
    assert!(target.exists(), "the file it pointed to is not the directory's to touch");
    assert_eq!(std::fs::read_to_string(&target).unwrap().lines().last(), Some("Shared"));
}

#[test]
fn unknown_keys_survive_a_read_modify_write() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("x.md"),
        "---\nid: \"k1\"\ncron: \"0 9 * * *\"\nfuture-field: \"kept\"\nnested:\n  a: [1, 2]\n---\nX\n",
    )
    .unwrap();
    let specs = SpecDir::<Routine>::with_options(dir.path(), fast());
    let mut spec = specs.get("k1").unwrap().unwrap().spec.clone();
    spec.background = true;
    specs.write(&spec).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("x.md")).unwrap(),
        "---\nid: \"k1\"\ncron: \"0 9 * * *\"\nbackground: true\nfuture-field: \"kept\"\n\
         nested:\n  a:\n    - 1\n    - 2\n---\nX\n"
    );
}

#[test]
fn repeated_listing_of_an_unchanged_directory_reads_no_file() {
    let dir = tempfile::tempdir().unwrap();
    // `DOTDIR_SCALE` specs (default 2,000).
    let count: usize =
        std::env::var("DOTDIR_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000);
    let writer = SpecDir::<Routine>::with_options(dir.path(), fast());
    for i in 0..count {
        writer.write(&routine(&format!("{i:08x}"), &format!("Routine number {i}"))).unwrap();
    }
    std::thread::sleep(Duration::from_millis(50)); // past the racy window of the last write

    let specs = SpecDir::<Routine>::with_options(dir.path(), fast());
    let start = Instant::now();
    let first = specs.list().unwrap();
    let cold = start.elapsed();
    assert_eq!(first.entries.len(), count);
    assert_eq!(specs.files_read(), count as u64);

    let start = Instant::now();
    let second = specs.list().unwrap();
    let warm = start.elapsed();
    assert_eq!(specs.files_read(), count as u64, "a repeated listing read files");
    assert!(Arc::ptr_eq(&first, &second));
    println!("listing {count} specs: cold {cold:?}, repeated {warm:?}");

    // An in-place edit (same inode) is seen; only that file is read again.
    let path = &first.entries[7].path;
    let text = std::fs::read_to_string(path).unwrap().replace("0 9 * * *", "0 8 * * *");
    std::fs::write(path, text).unwrap();
    let third = specs.list().unwrap();
    assert_eq!(specs.files_read(), count as u64 + 1);
    assert_eq!(third.entries[7].spec.cron, "0 8 * * *");
    assert!(Arc::ptr_eq(&first.entries[8], &third.entries[8]));
    // A removed file disappears, an added one appears.
    std::fs::remove_file(&first.entries[0].path).unwrap();
    writer.write(&routine("new", "Brand new")).unwrap();
    let fourth = specs.list().unwrap();
    assert_eq!(fourth.entries.len(), count);
    assert!(fourth.get("new").is_some());
    assert!(fourth.get(&first.entries[0].spec.id).is_none());
}

const CHILD: &str = "DOTDIR_FRONTMATTER_CHILD";
const PROCS: usize = 4;
/// Writes per process: `DOTDIR_SPEC_WRITES` (default 40; `cargo xtask coarse` runs 300 on ext2).
fn per_proc() -> usize {
    std::env::var("DOTDIR_SPEC_WRITES").ok().and_then(|v| v.parse().ok()).unwrap_or(40)
}

/// Child role (of the test below): write [`per_proc`] routines that all slug to `dup`, then rename
/// one id back and forth between two messages.
#[allow(clippy::print_stdout, clippy::unwrap_used, reason = "a test's child role")]
fn child_writer(spec: &str) {
    let (dir, index) = spec.split_once('|').unwrap();
    let specs = SpecDir::<Routine>::with_options(dir, fast());
    for i in 0..per_proc() {
        specs.write(&routine(&format!("p{index}-{i}"), "Dup!")).unwrap();
        let message = if i % 2 == 0 { "Shared one" } else { "Shared two" };
        specs.write(&routine("shared", &format!("{message} {index}"))).unwrap();
    }
}

#[test]
fn writers_in_several_processes_never_share_a_name_or_leave_duplicates() {
    if let Ok(spec) = std::env::var(CHILD) {
        return child_writer(&spec);
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..PROCS)
        .map(|index| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "dir::writers_in_several_processes_never_share_a_name_or_leave_duplicates",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD, format!("{}|{index}", dir.path().display()))
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let specs = SpecDir::<Routine>::new(dir.path());
    let listing = specs.list().unwrap();
    assert!(listing.problems.is_empty(), "{:?}", listing.problems);
    assert_eq!(listing.entries.len(), PROCS * per_proc() + 1);
    for index in 0..PROCS {
        for i in 0..per_proc() {
            assert!(listing.get(&format!("p{index}-{i}")).is_some());
        }
    }
    let shared: Vec<_> = listing.entries.iter().filter(|e| e.spec.id == "shared").collect();
    assert_eq!(shared.len(), 1);
    let dups = names(dir.path()).iter().filter(|n| n.starts_with("dup")).count();
    assert_eq!(dups, PROCS * per_proc());
    println!(
        "{PROCS} procs x {} colliding writes = {dups} files, 0 lost, 1 shared id file",
        per_proc()
    );
}

#[test]
fn a_hidden_md_from_the_reference_is_renamed_only_when_changed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(crate::specs::data("hazards/routines/.md"), dir.path().join(".md")).unwrap();
    let specs = SpecDir::<Routine>::with_options(dir.path(), fast());
    let mut spec = specs.get("22222222").unwrap().unwrap().spec.clone();
    // Unchanged: the file keeps its (hidden) name and bytes.
    assert_eq!(specs.write(&spec).unwrap().written, Written::Unchanged);
    assert_eq!(names(dir.path()), [".md"]);
    // Changed: written under a visible name, the hidden file removed.
    spec.cron = "0 11 * * *".into();
    let saved = specs.write(&spec).unwrap();
    assert!(saved.path.ends_with("untitled.md"));
    assert_eq!(saved.removed, vec![dir.path().join(".md")]);
    assert_eq!(names(dir.path()), ["untitled.md"]);
}

#[test]
fn edits_by_other_writers_are_seen_by_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let specs = SpecDir::<Routine>::with_options(dir.path(), fast());
    specs.write(&routine("e1", "Edited elsewhere")).unwrap();
    // Another process (the reference, an editor) renames the file behind our back.
    std::fs::rename(dir.path().join("edited-elsewhere.md"), dir.path().join("moved.md")).unwrap();
    let saved = specs.write(&routine("e1", "Edited again")).unwrap();
    assert_eq!(saved.removed, vec![dir.path().join("moved.md")]);
    assert_eq!(names(dir.path()), ["edited-again.md"]);
}
