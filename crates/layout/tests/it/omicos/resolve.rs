//! Where the home and the data directories are: OMICOS_LOCAL_HOME, HOME, --data-dir,
//! OMICOS_WORKSPACE_ROOT and the working directory, in that documented order.

use std::{ffi::OsStr, path::Path};

use dotdir::omicos::{DataDirSource, Error, Flavor, GlobalHome, Workspace, WorkspaceOptions};

#[test]
fn home_order() {
    let cwd = Path::new("/work/cwd");
    let home = |local: Option<&str>, home: Option<&str>| {
        GlobalHome::resolve(local.map(OsStr::new), home.map(OsStr::new), cwd)
            .map(|h| h.root().to_owned())
    };
    assert_eq!(home(Some("/x/h"), Some("/u")).unwrap(), Path::new("/x/h"));
    assert_eq!(home(None, Some("/u")).unwrap(), Path::new("/u/.omicos"));
    assert_eq!(home(Some(""), Some("/u")).unwrap(), Path::new("/u/.omicos"), "empty is unset");
    assert_eq!(home(Some("rel"), None).unwrap(), Path::new("/work/cwd/rel"));
    assert!(matches!(home(None, None), Err(Error::NoHome)));
    assert!(matches!(home(Some(""), Some("")), Err(Error::NoHome)));
}

fn check(
    flavor: Flavor,
    flag: Option<&str>,
    root_env: Option<&str>,
    data_dir: &str,
    root: &str,
    source: DataDirSource,
) {
    let home = GlobalHome::at("/h");
    let cwd = Path::new("/work/cwd");
    let options = WorkspaceOptions {
        flavor,
        data_dir: flag.map(Path::new),
        workspace_root: root_env.map(OsStr::new),
        cwd,
    };
    let ws = Workspace::resolve(home, &options);
    assert_eq!(
        (ws.data_dir(), ws.workspace_root(), ws.source()),
        (Path::new(data_dir), Path::new(root), source),
        "{flavor:?} flag={flag:?} root={root_env:?}"
    );
}

#[test]
fn data_dir_order() {
    use DataDirSource::*;
    use Flavor::*;
    check(Serve, None, None, "/work/cwd/.omicos", "/work/cwd", WorkingDirectory);
    check(Cli, None, None, "/work/cwd/.omicos/cli", "/work/cwd", WorkingDirectory);
    check(Serve, None, Some("/ws"), "/ws/.omicos", "/ws", WorkspaceRootEnv);
    check(Cli, None, Some("/ws"), "/ws/.omicos/cli", "/ws", WorkspaceRootEnv);
    check(Serve, None, Some(""), "/work/cwd/.omicos", "/work/cwd", WorkingDirectory);
    check(Serve, Some("/d"), Some("/ws"), "/d", "/ws", Flag);
    check(Cli, Some("/d"), None, "/d", "/work/cwd", Flag);
    check(Serve, Some("rel/.omicos"), None, "/work/cwd/rel/.omicos", "/work/cwd", Flag);
}

#[test]
fn at_derives_the_workspace_root() {
    let serve = Workspace::at(GlobalHome::at("/h"), "/w/.omicos", Flavor::Serve);
    let cli = Workspace::at(GlobalHome::at("/h"), "/w/.omicos/cli", Flavor::Cli);
    assert_eq!(serve.workspace_root(), Path::new("/w"));
    assert_eq!(cli.workspace_root(), Path::new("/w"));
}
