//! A workspace data directory: where it is, its `workspace_id`, the account it belongs to and
//! the switch between accounts, the credentials lookup and the daemon lock.

use std::{
    ffi::OsStr,
    path::{Path, PathBuf},
};

use dotdir_atomic_store::{Document, Durability};
use dotdir_pidlock::{Holder, PidGuard, PidLock, RecordFormat};
use serde_json::{Map, Value};

use super::account::{Account, validate_owner_or_anonymous};
use super::{
    Error, Result,
    home::{CloudLogin, GlobalHome},
};

/// Which omicos program owns a data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Flavor {
    /// `omicos serve`, the daemon: `<workspace>/.omicos`.
    Serve,
    /// `omicos cli`: `<workspace>/.omicos/cli`, isolated from serve.
    Cli,
}

impl Flavor {
    /// The default data directory relative to the workspace root.
    pub fn default_data_dir(self) -> &'static str {
        match self {
            Flavor::Serve => ".omicos",
            Flavor::Cli => ".omicos/cli",
        }
    }
}

/// Where the data directory came from (see [`Workspace::resolve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataDirSource {
    /// `--data-dir`.
    Flag,
    /// `$OMICOS_WORKSPACE_ROOT` joined with the flavor's default.
    WorkspaceRootEnv,
    /// The working directory joined with the flavor's default.
    WorkingDirectory,
}

/// The inputs of [`Workspace::resolve`]: the flag, the environment value and the working
/// directory are parameters, so nothing here reads the real environment.
#[derive(Debug, Clone, Copy)]
pub struct WorkspaceOptions<'a> {
    /// serve or cli.
    pub flavor: Flavor,
    /// The `--data-dir` flag, if given.
    pub data_dir: Option<&'a Path>,
    /// The value of `OMICOS_WORKSPACE_ROOT`, if set.
    pub workspace_root: Option<&'a OsStr>,
    /// The working directory (the workspace when nothing else says otherwise).
    pub cwd: &'a Path,
}

impl<'a> WorkspaceOptions<'a> {
    /// Options for `flavor` started in `cwd`, with no flag and no environment override.
    pub fn new(flavor: Flavor, cwd: &'a Path) -> Self {
        Self { flavor, data_dir: None, workspace_root: None, cwd }
    }
}

/// The running daemon of a workspace, as a client finds it through `serve.pid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Daemon {
    /// Its pid.
    pub pid: u32,
    /// The port it reported; `None` while it has not published one.
    pub port: Option<u16>,
}

/// One workspace data directory (serve's `<workspace>/.omicos` or cli's `<workspace>/.omicos/cli`)
/// together with the global home it falls back to.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub(super) home: GlobalHome,
    pub(super) workspace_root: PathBuf,
    pub(super) data_dir: PathBuf,
    pub(super) flavor: Flavor,
    pub(super) source: DataDirSource,
    /// The layout's directory, `.omicos` (the cli data directory is its `cli/`): paths, modes
    /// and symbolic-link checks.
    pub(super) dir: dotdir_engine::Dir,
}

impl Workspace {
    /// The data directory `data_dir` of `flavor`, whose workspace root is its parent (serve) or
    /// grandparent (cli). Touches nothing on disk.
    pub fn at(home: GlobalHome, data_dir: impl Into<PathBuf>, flavor: Flavor) -> Self {
        let data_dir = data_dir.into();
        let levels = if flavor == Flavor::Cli { 2 } else { 1 };
        let workspace_root =
            data_dir.ancestors().nth(levels).map_or_else(|| data_dir.clone(), Path::to_owned);
        let dir = layout_dir(&home, &data_dir, flavor, &super::WORKSPACE_LAYOUT);
        Self { home, workspace_root, data_dir, flavor, source: DataDirSource::Flag, dir }
    }

    /// Resolves the data directory, first match wins:
    ///
    /// 1. `--data-dir` ([`WorkspaceOptions::data_dir`]) is the data directory itself, for serve
    ///    and cli alike (relative to `cwd`);
    /// 2. `OMICOS_WORKSPACE_ROOT` (when set and not empty) is the workspace root; the data
    ///    directory is `<root>/.omicos` for serve and `<root>/.omicos/cli` for cli;
    /// 3. otherwise the working directory is the workspace root.
    ///
    /// The workspace root (where the agent's files live) is `OMICOS_WORKSPACE_ROOT` when set,
    /// else `cwd`, whatever `--data-dir` says.
    pub fn resolve(home: GlobalHome, options: &WorkspaceOptions<'_>) -> Self {
        let root_env = options.workspace_root.filter(|v| !v.is_empty()).map(Path::new);
        let workspace_root =
            root_env.map_or_else(|| options.cwd.to_owned(), |r| options.cwd.join(r));
        let (data_dir, source) = match (options.data_dir, root_env) {
            (Some(flag), _) => (options.cwd.join(flag), DataDirSource::Flag),
            (None, Some(_)) => (
                workspace_root.join(options.flavor.default_data_dir()),
                DataDirSource::WorkspaceRootEnv,
            ),
            (None, None) => (
                workspace_root.join(options.flavor.default_data_dir()),
                DataDirSource::WorkingDirectory,
            ),
        };
        let dir = layout_dir(&home, &data_dir, options.flavor, &super::WORKSPACE_LAYOUT);
        Self { home, workspace_root, data_dir, flavor: options.flavor, source, dir }
    }

    /// Follows `layout`, [`super::WORKSPACE_LAYOUT`] extended by a downstream crate
    /// ([`crate::Layout::extend`]): the files it adds get their declared modes.
    #[must_use]
    pub fn with_layout(mut self, layout: &'static crate::Layout) -> Self {
        self.dir = self.dir.with_layout(layout);
        self
    }

    /// Sets the durability of every write, removal and directory creation in the workspace
    /// and its home: [`Durability::Full`] by default.
    #[must_use]
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.home = self.home.with_durability(durability);
        self.dir = self.dir.with_durability(durability);
        self
    }

    /// The durability of the workspace's writes.
    pub fn durability(&self) -> Durability {
        self.home.durability()
    }

    /// The layout's directory (`.omicos`, whose `cli/` is the cli data directory): every
    /// path's write options and document come from it.
    pub(crate) fn dir(&self) -> &dotdir_engine::Dir {
        &self.dir
    }

    /// The global home this workspace falls back to.
    pub fn home(&self) -> &GlobalHome {
        &self.home
    }

    /// The workspace root (the directory omicos works in).
    pub fn workspace_root(&self) -> &Path {
        &self.workspace_root
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// serve or cli.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// Where [`Workspace::data_dir`] came from.
    pub fn source(&self) -> DataDirSource {
        self.source
    }

    /// Creates the data directory `0700` (it holds credentials), or takes group and other
    /// permissions away from an existing one.
    ///
    /// The user's home directory itself (or `/`) is refused ([`Error::NotADataDirectory`]).
    pub fn ensure(&self) -> Result<()> {
        if crate::inspect::is_home_or_root(&self.data_dir) {
            return Err(Error::NotADataDirectory { path: self.data_dir.clone() });
        }
        let _ = self.dir.create_dir(&self.data_dir)?;
        Ok(())
    }

    /// A path inside the data directory.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.data_dir.join(relative)
    }

    /// `workspace_id`.
    pub fn workspace_id_path(&self) -> PathBuf {
        self.path("workspace_id")
    }

    /// `workspace_id.<user>.bak`.
    pub fn workspace_id_backup_path(&self, user_id: &str) -> Result<PathBuf> {
        validate_owner_or_anonymous(user_id)?;
        Ok(self.path(&format!("workspace_id.{user_id}.bak")))
    }

    /// `cloud_login.json` (workspace-local).
    pub fn cloud_login_path(&self) -> PathBuf {
        self.path("cloud_login.json")
    }

    /// `cloud_login.json.<user>.bak`.
    pub fn cloud_login_backup_path(&self, user_id: &str) -> Result<PathBuf> {
        validate_owner_or_anonymous(user_id)?;
        Ok(self.path(&format!("cloud_login.json.{user_id}.bak")))
    }

    /// `serve.pid`.
    pub fn serve_pid_path(&self) -> PathBuf {
        self.path("serve.pid")
    }

    /// `account.json`.
    pub fn account_path(&self) -> PathBuf {
        self.path("account.json")
    }

    /// `settings/llm-config.json`.
    pub fn llm_config_path(&self) -> PathBuf {
        self.path("settings/llm-config.json")
    }

    /// `settings/llm-providers-state.json`.
    pub fn llm_providers_state_path(&self) -> PathBuf {
        self.path("settings/llm-providers-state.json")
    }

    /// `account.json` as a document (`0600`: it holds a token).
    pub fn account(&self) -> Document<Account> {
        self.dir.document(self.account_path())
    }

    /// `settings/llm-config.json` (`0600`: custom providers may carry API keys).
    pub fn llm_config(&self) -> Document<Map<String, Value>> {
        self.dir.document(self.llm_config_path())
    }

    /// `settings/llm-providers-state.json`.
    pub fn llm_providers_state(&self) -> Document<Map<String, Value>> {
        self.dir.document(self.llm_providers_state_path())
    }

    /// The workspace-local login document (`0600`).
    pub fn cloud_login(&self) -> Document<CloudLogin> {
        self.dir.document(self.cloud_login_path())
    }

    // ---- workspace_id ----------------------------------------------------------------------

    /// The daemon lock on `serve.pid` (`<pid>\n<port>\n`); `program` is the daemon's name, used
    /// to recognise a live holder that takes no OS lock.
    pub fn serve_lock(&self, program: &str) -> PidLock {
        PidLock::new(self.serve_pid_path()).format(RecordFormat::Lines).program(program)
    }

    /// Takes the one-daemon-per-workspace lock and publishes `<pid>\n<port>\n`. The guard
    /// removes the record when dropped; a record left by a SIGKILLed daemon is reclaimed. When
    /// a daemon runs, the error [`Error::is_held`] and [`Workspace::running_daemon`] says where.
    pub fn acquire_serve_lock(&self, program: &str, port: u16) -> Result<PidGuard> {
        self.ensure()?;
        Ok(self.serve_lock(program).payload([port.to_string()]).acquire()?)
    }

    /// The running daemon of this workspace and its port, as a client looks for it; `None` when
    /// no daemon runs (no record, or a stale one).
    pub fn running_daemon(&self) -> Result<Option<Daemon>> {
        let holder: Option<Holder> = dotdir_pidlock::probe(&self.serve_pid_path())?;
        Ok(holder
            .filter(|h| h.running)
            .and_then(|h| h.pid.map(|pid| Daemon { pid, port: h.port() })))
    }

    pub(crate) fn create_dir(&self, relative: &str) -> Result<PathBuf> {
        let _ = self.real_dir(relative)?;
        self.ensure()?;
        Ok(self.dir.create_dir(self.data_dir.join(relative))?)
    }

    /// `relative` in the data directory (`""`: the data directory), after checking that the
    /// data directory and every directory below it on the way is a real directory where it
    /// exists (what is above the data directory may be a symbolic link): a symbolic link is
    /// [`Error::NotADirectory`], so no write follows it out of the data directory.
    pub(crate) fn real_dir(&self, relative: &str) -> Result<PathBuf> {
        Ok(self.dir.real_dir(self.data_dir.join(relative))?)
    }
}

/// The layout's directory of `data_dir`: the data directory itself (serve), or its parent
/// `.omicos` (cli), with the home's durability.
fn layout_dir(
    home: &GlobalHome,
    data_dir: &Path,
    flavor: Flavor,
    layout: &'static crate::Layout,
) -> dotdir_engine::Dir {
    let root = match flavor {
        Flavor::Cli => data_dir.parent().unwrap_or(data_dir),
        Flavor::Serve => data_dir,
    };
    dotdir_engine::Dir::new(root, layout).with_durability(home.durability())
}
