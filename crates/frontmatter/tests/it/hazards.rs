//! `hazards/routines/`: the corrupt files are reported with their reasons, the rest is listed,
//! and odd entries (a hidden `.md`, `notes.txt`, a directory named `x.md`, a dangling symlink)
//! never abort the listing.

use dotdir_frontmatter::{Error, Reason, SpecDir, SpecProblem};

use crate::specs::{Routine, copy_dir, data};

#[test]
fn hazard_directory_lists_good_files_and_reports_the_corrupt_ones() {
    let dir = tempfile::tempdir().unwrap();
    let routines = dir.path().join("routines");
    copy_dir(&data("hazards/routines"), &routines);
    std::fs::create_dir(routines.join("x.md")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/target", routines.join("dangling.md")).unwrap();

    let specs = SpecDir::<Routine>::new(&routines);
    let listing = specs.list().unwrap();

    let names: Vec<_> =
        listing.entries.iter().map(|e| e.path.file_name().unwrap().to_owned()).collect();
    assert_eq!(names, [".md", "empty-tools.md", "hand-written.md", "paths.md"]);
    let ids: Vec<_> = listing.entries.iter().map(|e| e.spec.id.as_str()).collect();
    assert_eq!(ids, ["22222222", "44444444", "12345678", "33333333"]);

    let hand = listing.get("12345678").unwrap();
    assert_eq!(hand.spec.id, "12345678");
    assert!(!hand.spec.allow_ping);
    assert_eq!(hand.spec.cron, "*/5 * * * *");

    // Problems in file-name order: dangling.md, no-frontmatter.md, say-hi-to-the-team.md, x.md.
    let described: Vec<String> = listing.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(listing.problems.len(), 4, "{described:#?}");
    match &listing.problems[0] {
        SpecProblem::Unreadable { path, error: Error::Store(_) | Error::Io { .. } } => {
            assert!(path.ends_with("dangling.md"));
        }
        other => panic!("{other:?}"),
    }
    match &listing.problems[1] {
        SpecProblem::Corrupt(e) => {
            assert!(e.path.ends_with("no-frontmatter.md"));
            assert_eq!((e.line, e.column), (1, 1));
            assert_eq!(e.reason, Reason::MissingFrontMatter);
        }
        other => panic!("{other:?}"),
    }
    match &listing.problems[2] {
        SpecProblem::Corrupt(e) => {
            assert!(e.path.ends_with("say-hi-to-the-team.md"));
            // `description: "Say "hi""` breaks on line 4 of the file, at the `h` after the
            // quoted `"Say "`.
            assert_eq!(e.line, 4, "{e}");
            assert_eq!(e.column, 20, "{e}");
            assert!(matches!(&e.reason, Reason::Yaml(m) if m.contains("expected")), "{e}");
        }
        other => panic!("{other:?}"),
    }
    match &listing.problems[3] {
        SpecProblem::Unreadable { path, .. } => assert!(path.ends_with("x.md")),
        other => panic!("{other:?}"),
    }
    let say_hi = listing.problems[2].to_string();
    assert!(say_hi.contains("say-hi-to-the-team.md:4:20: invalid YAML"), "{say_hi}");
}

#[test]
fn a_corrupt_file_at_a_candidate_name_is_skipped_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("say-hi.md"),
        "---\nid: \"x\"\ndescription: \"a\"b\"\n---\nSay hi\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("say-hi-2.md"), "plain text, no front matter\n").unwrap();
    let specs = SpecDir::<Routine>::new(dir.path());
    let routine = Routine {
        id: "aaaaaaaa".into(),
        message: "Say hi".into(),
        cron: "0 9 * * *".into(),
        ..Routine::default()
    };
    let saved = specs.write(&routine).unwrap();
    assert!(saved.path.ends_with("say-hi-3.md"));
    // Removing by id leaves the corrupt files alone.
    assert_eq!(specs.remove("aaaaaaaa").unwrap(), vec![saved.path]);
    assert!(dir.path().join("say-hi.md").exists());
    assert!(dir.path().join("say-hi-2.md").exists());
}
