//! A spec file that cannot be read (`EACCES` here; `EIO` in `cargo xtask faults`) might hold any
//! id: a write or a removal by id refuses with [`Error::UnreadableEntry`] and changes nothing, a
//! get of an id no readable file holds says so too, while a listing reports the entry and goes
//! on. Entries that cannot hold a spec (gone,
//! dangling, not a file, over the size cap) do not block anything.
//!
//! The permission denial is real: the role runs in a process that may not read the file — this
//! test binary itself, or, when it runs as root (who reads everything), a child of it running
//! as `nobody`.

use std::{
    os::unix::{fs::MetadataExt, process::CommandExt},
    path::Path,
    process::Command,
};

use dotdir_frontmatter::{Error, SpecDir, SpecProblem};
use dotdir_test_support::set_mode;

use crate::specs::Routine;

const CHILD: &str = "DOTDIR_FRONTMATTER_UNREADABLE";
const NOBODY: u32 = 65534;

fn routine(message: &str) -> Routine {
    Routine {
        id: "a1b2c3d4".into(),
        message: message.into(),
        cron: "30 8 * * *".into(),
        ..Routine::default()
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// What a process that cannot read `morning-check-in.md` sees (the directory is `dir`).
fn refused_while_unreadable(dir: &Path) {
    let specs = SpecDir::<Routine>::new(dir);
    let file = dir.join("morning-check-in.md");
    assert!(std::fs::read(&file).is_err(), "the test needs a file this process cannot read");

    match specs.remove("a1b2c3d4") {
        Err(Error::UnreadableEntry { action: "remove", id, path, source }) => {
            assert_eq!((id.as_str(), path.as_path()), ("a1b2c3d4", file.as_path()));
            assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied);
        }
        other => panic!("remove: {other:?}"),
    }
    // A changed message would rename: writing around the unreadable file would leave two.
    match specs.write(&routine("Evening check-in")) {
        Err(Error::UnreadableEntry { action: "write", path, .. }) => assert_eq!(path, file),
        other => panic!("write: {other:?}"),
    }
    // Any id: the unreadable file might hold it.
    let other = Routine { id: "e5f6a7b8".into(), ..routine("Other") };
    assert!(matches!(specs.write(&other), Err(Error::UnreadableEntry { .. })));
    // The listing reports the entry and goes on.
    let listing = specs.list().unwrap();
    assert!(listing.entries.is_empty());
    match &listing.problems[..] {
        [SpecProblem::Unreadable { path, .. }] => assert_eq!(path, &file),
        other => panic!("problems: {other:?}"),
    }
    // Absent from the readable files is not absent: the unreadable one might hold it.
    match specs.get("a1b2c3d4") {
        Err(Error::UnreadableEntry { action: "get", path, .. }) => assert_eq!(path, file),
        other => panic!("get: {other:?}"),
    }
}

#[test]
fn an_unreadable_spec_file_blocks_writes_and_removals_by_id() {
    // Child role (when the test runs as root): the same checks as `nobody`.
    if let Ok(dir) = std::env::var(CHILD) {
        return refused_while_unreadable(Path::new(&dir));
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("routines");
    let specs = SpecDir::<Routine>::new(&dir);
    let saved = specs.write(&routine("Morning check-in")).unwrap();
    let before = std::fs::read(&saved.path).unwrap();
    // Writable by anyone (the child may run as another user), the spec file readable by nobody.
    set_mode(tmp.path(), 0o777);
    set_mode(&dir, 0o777);
    set_mode(&dir.join(".spec.lock"), 0o666);
    set_mode(&saved.path, 0o000);

    if std::fs::metadata(tmp.path()).unwrap().uid() == 0 {
        // A copy of this binary `nobody` can run wherever the build directory is (a 0700 home).
        let exe = tmp.path().join("it");
        std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
        set_mode(&exe, 0o755);
        let output = Command::new(&exe)
            .args([
                "--exact",
                "unreadable::an_unreadable_spec_file_blocks_writes_and_removals_by_id",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, &dir)
            .uid(NOBODY)
            .gid(NOBODY)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "child as nobody: {:?}\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    } else {
        refused_while_unreadable(&dir);
    }

    // Nothing changed: one file, the old version, no temporary file.
    let _ = std::fs::remove_file(tmp.path().join("it"));
    assert_eq!(names(&dir), [".spec.lock", "morning-check-in.md"]);
    set_mode(&saved.path, 0o644);
    assert_eq!(std::fs::read(&saved.path).unwrap(), before);
    // Readable again: the rename goes through and leaves one file for the id.
    let renamed = specs.write(&routine("Evening check-in")).unwrap();
    assert_eq!(renamed.removed, std::slice::from_ref(&saved.path));
    assert_eq!(names(&dir), [".spec.lock", "evening-check-in.md"]);
    assert_eq!(specs.remove("a1b2c3d4").unwrap(), [renamed.path]);
}

#[test]
fn entries_that_cannot_hold_a_spec_do_not_block() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::os::unix::fs::symlink(dir.join("missing"), dir.join("dangling.md")).unwrap();
    std::fs::create_dir(dir.join("folder.md")).unwrap();
    // Over the 4 MiB cap: read and refused, like a corrupt file.
    std::fs::write(dir.join("huge.md"), vec![b'x'; (4 << 20) + 1]).unwrap();
    let specs = SpecDir::<Routine>::new(dir);
    assert_eq!(specs.list().unwrap().problems.len(), 3);
    assert!(specs.get("a1b2c3d4").unwrap().is_none());
    let saved = specs.write(&routine("Morning check-in")).unwrap();
    let renamed = specs.write(&routine("Evening check-in")).unwrap();
    assert_eq!(renamed.removed, [saved.path]);
    assert_eq!(specs.remove("a1b2c3d4").unwrap(), [renamed.path]);
    assert_eq!(
        names(dir),
        [".spec.lock", "dangling.md", "folder.md", "huge.md"],
        "the entries that are not specs are left alone"
    );
}
