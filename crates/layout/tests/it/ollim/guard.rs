//! The `state/` guard agrees with the kernel: a property test over generated paths (`..`,
//! symlinks into and out of `state/`, `./state`, absolute paths) against `open(O_PATH)` +
//! `/proc/self/fd` (where the kernel really lands) and `openat2(RESOLVE_BENEATH)`.

use std::{
    fs,
    os::{fd::AsRawFd, unix::fs::symlink},
    path::{Path, PathBuf},
};

use dotdir::ollim::{Landing, StateGuard, blocked_message};
use proptest::prelude::*;
use rustix::{
    fs::{Mode, OFlags, ResolveFlags},
    io::Errno,
};

/// A sandbox: `<tmp>/data` (the data directory) with `state/`, links in every direction, and a
/// sibling `<tmp>/outside`.
struct Sandbox {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    guard: StateGuard,
}

fn sandbox() -> Sandbox {
    let tmp = tempfile::tempdir().unwrap();
    let base = fs::canonicalize(tmp.path()).unwrap();
    let root = base.join("data");
    fs::create_dir_all(root.join("state/sub")).unwrap();
    fs::create_dir_all(root.join("sub")).unwrap();
    fs::create_dir_all(base.join("outside")).unwrap();
    fs::write(root.join("state/x.json"), "{}").unwrap();
    fs::write(root.join("sub/in.txt"), "in").unwrap();
    symlink("state", root.join("link_in")).unwrap();
    symlink(root.join("state"), root.join("link_abs_in")).unwrap();
    symlink("..", root.join("sub/link_up")).unwrap();
    symlink("../outside", root.join("link_out")).unwrap();
    symlink("../sub", root.join("state/link_back")).unwrap();
    symlink("../state/x.json", root.join("sub/file_in")).unwrap();
    symlink("loop", root.join("loop")).unwrap();
    let guard = StateGuard::new(&root).unwrap();
    Sandbox { _tmp: tmp, root, guard }
}

/// Where the kernel lands for a write to `path`: the object itself when it exists, else the
/// parent directory plus the new name. `None` when the kernel would refuse the write outright
/// (a missing or non-directory parent): no verdict to compare.
fn kernel_location(sb: &Sandbox, path: &Path) -> Option<Landing> {
    let full = if path.is_absolute() { path.to_path_buf() } else { sb.root.join(path) };
    let landed = match rustix::fs::open(&full, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap(),
        Err(Errno::LOOP) => return Some(Landing::Unresolvable),
        Err(Errno::NOENT) => {
            let name = full.file_name()?;
            if name == ".." || name == "." {
                return None;
            }
            let parent = full.parent()?;
            let fd = rustix::fs::open(
                parent,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok()?;
            fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap().join(name)
        }
        Err(_) => return None,
    };
    let state = sb.root.join("state");
    Some(if landed.starts_with(&state) {
        Landing::State
    } else if landed.starts_with(&sb.root) {
        Landing::Data
    } else {
        Landing::Outside
    })
}

const PARTS: &[&str] = &[
    "state",
    "sub",
    "..",
    ".",
    "link_in",
    "link_abs_in",
    "link_up",
    "link_out",
    "link_back",
    "file_in",
    "x.json",
    "new.json",
    "in.txt",
    "loop",
    "outside",
];

fn path_strategy() -> impl Strategy<Value = (u8, Vec<&'static str>)> {
    (0u8..3, prop::collection::vec(prop::sample::select(PARTS), 1..7))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 768, ..ProptestConfig::default() })]

    #[test]
    fn guard_agrees_with_the_kernel((prefix, parts) in path_strategy()) {
        let sb = sandbox_cached();
        let rel = parts.join("/");
        let path = match prefix {
            0 => PathBuf::from(&rel),
            1 => PathBuf::from(format!("./{rel}")),
            _ => sb.root.join(&rel),
        };
        let Some(expected) = kernel_location(sb, &path) else { return Ok(()) };
        prop_assert_eq!(sb.guard.locate(&path), expected, "path {}", path.display());
        prop_assert_eq!(sb.guard.is_protected(&path), matches!(expected, Landing::State | Landing::Unresolvable));
        // openat2(RESOLVE_BENEATH) from the data directory succeeds only for paths that never
        // leave it: the guard must then not say "outside".
        if !path.is_absolute() {
            let dir = rustix::fs::open(&sb.root, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).unwrap();
            if rustix::fs::openat2(&dir, &path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty(), ResolveFlags::BENEATH).is_ok() {
                prop_assert_ne!(sb.guard.locate(&path), Landing::Outside);
            }
        }
    }
}

/// One sandbox for all cases of the property (building one per case would dominate the run).
fn sandbox_cached() -> &'static Sandbox {
    static SANDBOX: std::sync::OnceLock<Sandbox> = std::sync::OnceLock::new();
    SANDBOX.get_or_init(sandbox)
}

// Sandbox holds a TempDir and a StateGuard: both Send + Sync.
const _: fn() = || {
    fn assert_sync<T: Sync + Send>() {}
    assert_sync::<Sandbox>();
};

fn check(path: &str, expected: Landing) {
    let sb = sandbox_cached();
    let path = path.replace("<root>", sb.root.to_str().unwrap());
    assert_eq!(sb.guard.locate(Path::new(&path)), expected, "{path}");
}

#[test]
fn named_cases() {
    check("state/x.json", Landing::State);
    check("./state/new.json", Landing::State);
    check("state", Landing::State);
    check("sub/../state/x.json", Landing::State);
    check("link_in/x.json", Landing::State);
    check("link_abs_in/new.json", Landing::State);
    check("sub/file_in", Landing::State);
    check("sub/link_up/state/sub/new", Landing::State);
    check("state/link_back/in.txt", Landing::Data);
    check("state/../sub/in.txt", Landing::Data);
    check("routines/new.md", Landing::Data);
    check("../outside/x", Landing::Outside);
    check("link_out/x", Landing::Outside);
    check("/etc/passwd", Landing::Outside);
    check("<root>/state/token.json", Landing::State);
    check("<root>/../data/state/token.json", Landing::State);
    check("loop/x", Landing::Unresolvable);
    check("", Landing::Unresolvable);
    // Names a case-insensitive or HFS+-style file system would map to `state/`.
    check("STATE/x.json", Landing::State);
    check("St\u{200b}ate/x.json", Landing::State);
    check("statex/x.json", Landing::Data);
}

#[test]
fn hard_links_into_state_are_caught() {
    let sb = sandbox();
    fs::hard_link(sb.root.join("state/x.json"), sb.root.join("sub/alias.json")).unwrap();
    assert_eq!(sb.guard.locate(Path::new("sub/alias.json")), Landing::State);
    assert_eq!(sb.guard.locate(Path::new("sub/in.txt")), Landing::Data);
}

#[test]
fn tool_checks_use_the_reference_message() {
    let sb = sandbox_cached();
    assert_eq!(
        sb.guard.check_tool("Write", Some("state/config.json")),
        Err(blocked_message("Write"))
    );
    assert_eq!(
        blocked_message("Edit"),
        "Edit to state/ is blocked \u{2014} system files are write-protected"
    );
    assert!(sb.guard.check_tool("MultiEdit", Some("link_in/x.json")).is_err());
    assert!(sb.guard.check_tool("Write", None).is_err());
    assert_eq!(sb.guard.check_tool("Write", Some("routines/a.md")), Ok(()));
    assert_eq!(sb.guard.check_tool("Read", Some("state/token.json")), Ok(()));
}

/// Negative control: a guard that ignores symlinks (a purely lexical check) disagrees with the
/// kernel on the sandbox, so the property above can fail.
#[test]
fn a_lexical_guard_fails_the_oracle() {
    let sb = sandbox_cached();
    let lexical = |p: &str| p.split('/').next() == Some("state");
    let path = Path::new("link_in/x.json");
    assert_eq!(kernel_location(sb, path), Some(Landing::State));
    assert!(!lexical("link_in/x.json"));
    let path = Path::new("state/link_back/in.txt");
    assert_eq!(kernel_location(sb, path), Some(Landing::Data));
    assert!(lexical("state/link_back/in.txt"));
}

/// Every path of up to three parts, with each prefix: the guard and the kernel agree on all of
/// them, and every verdict occurs (so the comparison is not vacuous).
#[test]
fn exhaustive_short_paths_agree_with_the_kernel() {
    let sb = sandbox_cached();
    let one: Vec<String> = PARTS.iter().map(|p| (*p).to_owned()).collect();
    let extend = |shorter: &[String]| -> Vec<String> {
        shorter.iter().flat_map(|p| PARTS.iter().map(move |q| format!("{p}/{q}"))).collect()
    };
    let two = extend(&one);
    let three = extend(&two);
    let paths: Vec<String> = one.into_iter().chain(two).chain(three).collect();
    let (mut compared, mut seen) = (0, std::collections::BTreeSet::new());
    for rel in &paths {
        for path in [PathBuf::from(rel), PathBuf::from(format!("./{rel}")), sb.root.join(rel)] {
            let Some(expected) = kernel_location(sb, &path) else { continue };
            assert_eq!(sb.guard.locate(&path), expected, "{}", path.display());
            compared += 1;
            seen.insert(format!("{expected:?}"));
        }
    }
    assert!(compared > 2000, "only {compared} paths compared");
    assert_eq!(seen.len(), 4, "{seen:?}");
}
