//! Shared helpers: temp homes and workspaces, child processes, tree walks.

use std::{
    collections::BTreeMap,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, Stdio},
};

use dotdir::{
    Kind, Layout,
    omicos::{CloudLogin, Flavor, GlobalHome, Workspace, WorkspaceOptions},
};

pub(super) use dotdir_test_support::{child_role, env as child_arg, mode, wait_for};

/// Spawns this test binary to run `test` (full path) as `role`, with extra env vars.
pub(super) fn spawn_child(test: &str, role: &str, envs: &[(&str, String)]) -> Child {
    let mut command = dotdir_test_support::child(test, role);
    command.arg("-q").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit());
    for (k, v) in envs {
        command.env(k, v);
    }
    command.spawn().unwrap()
}

/// Waits for a child and asserts it succeeded; returns its stdout.
pub(super) fn wait_ok(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "child failed: {:?}", out.status);
    String::from_utf8(out.stdout).unwrap()
}

/// The value a child printed as `RESULT=<value>`.
pub(super) fn result_of(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT="))
        .unwrap_or_else(|| panic!("no RESULT in {stdout:?}"))
        .to_owned()
}

/// Test size knob: `DOTDIR_SCALE` (default 1).
pub(super) fn scale() -> usize {
    std::env::var("DOTDIR_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1).max(1)
}

/// The home and the serve workspace of a temp dir: `<tmp>/home/.omicos`, `<tmp>/ws/.omicos`.
pub(super) fn serve_workspace(tmp: &Path) -> Workspace {
    workspace(tmp, Flavor::Serve)
}

/// Like [`serve_workspace`] for either flavor.
pub(super) fn workspace(tmp: &Path, flavor: Flavor) -> Workspace {
    let home = GlobalHome::resolve(None, Some(tmp.join("home").as_os_str()), tmp).unwrap();
    let cwd = tmp.join("ws");
    Workspace::resolve(home, &WorkspaceOptions::new(flavor, &cwd))
}

/// A login of `user` whose token is `token-<user>`.
pub(super) fn login_of(user: &str) -> CloudLogin {
    CloudLogin::new(
        "https://auth.example",
        user,
        Some(&format!("{user}@example.com")),
        &format!("token-{user}"),
    )
}

/// Every path under `root` (relative, `/`-separated), with whether it is a directory.
pub(super) fn walk(root: &Path) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(root.join(&rel)).unwrap() {
            let entry = entry.unwrap();
            let child = rel.join(entry.file_name());
            let is_dir = entry.file_type().unwrap().is_dir();
            let _ = out.insert(child.to_string_lossy().into_owned(), is_dir);
            if is_dir {
                stack.push(child);
            }
        }
    }
    out
}

/// Path and bytes of every file under `root`.
pub(super) fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walk(root)
        .into_iter()
        .filter(|(_, dir)| !dir)
        .map(|(rel, _)| {
            let bytes = std::fs::read(root.join(&rel)).unwrap();
            (rel, bytes)
        })
        .collect()
}

/// Asserts every path under `root` is declared by `layout` with the right kind, every secret
/// is `0600` (directories `0700`), and every declared validator accepts the content.
pub(super) fn assert_conforms(layout: &Layout, root: &Path) -> usize {
    let tree = walk(root);
    for (rel, is_dir) in &tree {
        let entry = layout
            .entry_for(rel)
            .unwrap_or_else(|| panic!("{rel} is not declared by {}", layout.name));
        let path = root.join(rel);
        let kind = if *is_dir { Kind::Dir } else { Kind::File };
        assert_eq!(entry.kind, kind, "{rel} is a {kind:?}, declared {:?}", entry.kind);
        if let Some(mode) = entry.required_mode() {
            let actual = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(actual, mode, "{rel} has mode {actual:o}, a secret needs {mode:o}");
        }
        if let (Some(validator), false) = (entry.validator, *is_dir) {
            let bytes = std::fs::read(&path).unwrap();
            assert!((validator.check)(&bytes).is_ok(), "{rel} fails {}", validator.problem);
        }
    }
    tree.len()
}
