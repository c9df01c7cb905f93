//! A workspace data directory: where it is, its `workspace_id`, the account it belongs to and
//! the switch between accounts, the credentials lookup and the daemon lock.

use crate::IoError;
use std::{
    ffi::OsStr,
    fmt, fs, io,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use dotdir_atomic_store::{self as store, Created, Document, Durability, WriteOptions};
use dotdir_pidlock::{Holder, PidGuard, PidLock, RecordFormat};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{
    Error, Result,
    home::{CloudLogin, GlobalHome},
    layouts::check_workspace_id,
    names::{now_ms, random_hex, validate_name},
};

/// Which omicos program owns a data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// `omicos serve`, the daemon: `<workspace>/.omicos`.
    Serve,
    /// `omicos cli`: `<workspace>/.omicos/cli`, isolated from serve.
    Cli,
}

impl Mode {
    /// The default data directory relative to the workspace root.
    pub fn default_data_dir(self) -> &'static str {
        match self {
            Mode::Serve => ".omicos",
            Mode::Cli => ".omicos/cli",
        }
    }
}

/// Where the data directory came from (see [`Workspace::resolve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataDirSource {
    /// `--data-dir`.
    Flag,
    /// `$OMICOS_WORKSPACE_ROOT` joined with the mode's default.
    WorkspaceRootEnv,
    /// The working directory joined with the mode's default.
    WorkingDirectory,
}

/// The inputs of [`Workspace::resolve`]: the flag, the environment value and the working
/// directory are parameters, so nothing here reads the real environment.
#[derive(Debug, Clone, Copy)]
pub struct WorkspaceOptions<'a> {
    /// serve or cli.
    pub mode: Mode,
    /// The `--data-dir` flag, if given.
    pub data_dir: Option<&'a Path>,
    /// The value of `OMICOS_WORKSPACE_ROOT`, if set.
    pub workspace_root: Option<&'a OsStr>,
    /// The working directory (the workspace when nothing else says otherwise).
    pub cwd: &'a Path,
}

impl<'a> WorkspaceOptions<'a> {
    /// Options for `mode` started in `cwd`, with no flag and no environment override.
    pub fn new(mode: Mode, cwd: &'a Path) -> Self {
        Self { mode, data_dir: None, workspace_root: None, cwd }
    }
}

/// A persistent 32-character lowercase hex workspace id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkspaceId(String);

impl WorkspaceId {
    /// Parses the content of a `workspace_id` file (one trailing newline is allowed).
    pub fn parse(content: &[u8]) -> Result<Self, String> {
        check_workspace_id(content)?;
        let id = content.strip_suffix(b"\n").unwrap_or(content);
        Ok(Self(String::from_utf8_lossy(id).into_owned()))
    }

    /// A new random id (16 bytes from the kernel).
    pub fn generate() -> Result<Self> {
        Ok(Self(random_hex(16)?))
    }

    /// The 32 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The cloud process id: `local-<workspace_id>`.
    pub fn process_id(&self) -> String {
        format!("local-{}", self.0)
    }
}

impl fmt::Display for WorkspaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who owns the records written now: the logged-in account, or nobody yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// A login account (its owner id, a validated path component).
    Account(String),
    /// Not logged in: records go to `anonymous/`.
    Anonymous,
}

impl Owner {
    /// The directory name under `trajectories/`.
    pub fn dir_name(&self) -> &str {
        match self {
            Owner::Account(id) => id,
            Owner::Anonymous => ANONYMOUS,
        }
    }
}

pub(crate) const ANONYMOUS: &str = "anonymous";

/// Checks an owner id: a path component, and not the reserved `anonymous`.
pub fn validate_owner_id(id: &str) -> Result<()> {
    validate_name("owner id", id)?;
    if id == ANONYMOUS {
        return Err(Error::InvalidName {
            what: "owner id",
            name: id.to_owned(),
            reason: "anonymous is reserved for records written before login",
        });
    }
    Ok(())
}

/// Where the credentials in use come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialSource {
    /// The workspace-local `cloud_login.json` (preferred).
    Workspace,
    /// The global `~/.omicos/cloud_login.json` (the fallback of a workspace with no account yet).
    Global,
}

/// The credentials a workspace uses, and where they were found.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Workspace-local or global.
    pub source: CredentialSource,
    /// The file they were read from.
    pub path: PathBuf,
    /// The login.
    pub login: CloudLogin,
}

/// `account.json`: the local session record. Unknown fields are kept; `Debug` never prints the
/// token.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// Logged in.
    #[serde(default)]
    pub authenticated: bool,
    /// The session token: a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The plan code (`community`, `pro`, `lab`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// The account's e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The account that owns the current `workspace_id` (kept after logout, so that the next
    /// login by someone else rotates the id instead of adopting it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Fields this version does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("authenticated", &self.authenticated)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("plan", &self.plan)
            .field("email", &self.email)
            .field("user_id", &self.user_id)
            .field("extra_fields", &self.extra.len())
            .finish()
    }
}

/// What a login or an account switch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Realigned {
    /// The account that owned the workspace before (`None`: nobody, the id was adopted).
    pub previous_owner: Option<String>,
    /// The account that owns it now.
    pub owner: String,
    /// The workspace id now in use.
    pub workspace_id: WorkspaceId,
    /// The id was restored from `workspace_id.<owner>.bak` (the account was here before).
    pub restored_id: bool,
    /// The backups of the previous account's files (made by this call, or found identical).
    pub backups: Vec<PathBuf>,
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
    home: GlobalHome,
    workspace_root: PathBuf,
    data_dir: PathBuf,
    mode: Mode,
    source: DataDirSource,
    /// The layout's directory, `.omicos` (the cli data directory is its `cli/`): paths, modes
    /// and symbolic-link checks.
    dir: dotdir_engine::Dir,
}

impl Workspace {
    /// The data directory `data_dir` of `mode`, whose workspace root is its parent (serve) or
    /// grandparent (cli). Touches nothing on disk.
    pub fn at(home: GlobalHome, data_dir: impl Into<PathBuf>, mode: Mode) -> Self {
        let data_dir = data_dir.into();
        let levels = if mode == Mode::Cli { 2 } else { 1 };
        let workspace_root =
            data_dir.ancestors().nth(levels).map_or_else(|| data_dir.clone(), Path::to_owned);
        let dir = layout_dir(&home, &data_dir, mode, &super::WORKSPACE_LAYOUT);
        Self { home, workspace_root, data_dir, mode, source: DataDirSource::Flag, dir }
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
                workspace_root.join(options.mode.default_data_dir()),
                DataDirSource::WorkspaceRootEnv,
            ),
            (None, None) => (
                workspace_root.join(options.mode.default_data_dir()),
                DataDirSource::WorkingDirectory,
            ),
        };
        let dir = layout_dir(&home, &data_dir, options.mode, &super::WORKSPACE_LAYOUT);
        Self { home, workspace_root, data_dir, mode: options.mode, source, dir }
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
    pub fn mode(&self) -> Mode {
        self.mode
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

    /// The workspace id, if the file exists. Invalid content is [`Error::BadWorkspaceId`].
    pub fn read_workspace_id(&self) -> Result<Option<WorkspaceId>> {
        read_id(&self.workspace_id_path())
    }

    /// The workspace id, created on first use. Creation happens under the cross-process lock
    /// of `workspace_id`, so processes racing to create it all return the one id the first of
    /// them wrote. Invalid content is an error and is never replaced.
    ///
    /// A reader never gets another account's id: when an account switch was interrupted (the
    /// credentials or `account.json` name an account the id does not belong to), the switch is
    /// completed first, under the same lock as [`Workspace::login`].
    pub fn workspace_id(&self) -> Result<WorkspaceId> {
        if let Some(id) = self.read_workspace_id()?
            && self.unfinished_switch(&id)?.is_none()
        {
            return Ok(id);
        }
        self.ensure()?;
        let _guard = store::lock(&self.workspace_id_path())?;
        if let Some(id) = self.read_workspace_id()?
            && let Some(user) = self.unfinished_switch(&id)?
        {
            return Ok(self.realign_locked(&user, None)?.workspace_id);
        }
        self.workspace_id_locked()
    }

    /// The account an interrupted switch was bringing in, when `id` (the current id) is not
    /// yet its: the credentials name another account than `account.json` (stopped before the
    /// commit point), or `account.json` names an account while `id` is kept as another
    /// account's backup (stopped before the id was settled).
    fn unfinished_switch(&self, id: &WorkspaceId) -> Result<Option<String>> {
        let Some(recorded) = self.account().read()?.and_then(|a| a.user_id) else {
            return Ok(None);
        };
        let login = self.cloud_login().read()?.and_then(|l| l.user_id().map(str::to_owned));
        if let Some(login) = login.filter(|l| *l != recorded && validate_owner_id(l).is_ok()) {
            return Ok(Some(login));
        }
        if validate_owner_id(&recorded).is_ok() && self.kept_for_another_account(id, &recorded)? {
            return Ok(Some(recorded));
        }
        Ok(None)
    }

    /// The cloud process id, `local-<workspace_id>` (creating the id on first use).
    pub fn process_id(&self) -> Result<String> {
        Ok(self.workspace_id()?.process_id())
    }

    fn workspace_id_locked(&self) -> Result<WorkspaceId> {
        if let Some(id) = self.read_workspace_id()? {
            return Ok(id);
        }
        let id = WorkspaceId::generate()?;
        let _ = store::write(
            &self.workspace_id_path(),
            id.as_str().as_bytes(),
            &self.dir.write_options(self.workspace_id_path()),
        )?;
        Ok(id)
    }

    /// Keeps the current id as `workspace_id.<owner>.<unix_ms>.bak` (the owner, or `anonymous`)
    /// and replaces it with a new one, which is the owner's id from now on. The kept id is
    /// history: a later switch back to the owner restores the new id, never this one.
    ///
    /// The backup is a create-only copy made first (none when one of the owner's backups
    /// already holds the id: an interrupted rotation), and the new id replaces the old one
    /// atomically, so at every point `workspace_id` holds a valid id. An `Err` means "not
    /// rotated": a failure after the replacement puts the old id back, so calling again
    /// rotates once.
    pub fn rotate_workspace_id(&self) -> Result<WorkspaceId> {
        self.ensure()?;
        let _guard = store::lock(&self.workspace_id_path())?;
        self.settle_unfinished_switch()?;
        let owner = self.recorded_owner()?.unwrap_or_else(|| ANONYMOUS.to_owned());
        validate_owner_or_anonymous(&owner)?;
        let old = self.read_workspace_id()?;
        let mut made = None;
        if let Some(old) = &old
            && !self.kept_by(old, &owner)?
        {
            let history = self.path(&format!("workspace_id.{owner}.{}.bak", now_ms()));
            made = copy_aside(&self.workspace_id_path(), &history, self.durability())?;
        }
        let id = WorkspaceId::generate()?;
        if let Err(error) = store::write(
            &self.workspace_id_path(),
            id.as_str().as_bytes(),
            &self.dir.write_options(self.workspace_id_path()),
        ) {
            // Undo what this call did (best effort, still under the lock).
            if let Some(old) = &old {
                let _ = store::write(
                    &self.workspace_id_path(),
                    old.as_str().as_bytes(),
                    &self.dir.write_options(self.workspace_id_path()),
                );
            }
            if let Some(made) = made {
                let _ = store::remove(&made, self.durability());
            }
            return Err(error.into());
        }
        Ok(id)
    }

    /// Completes an interrupted account switch (under the `workspace_id` lock), so that what
    /// follows works on a settled directory.
    fn settle_unfinished_switch(&self) -> Result<()> {
        if let Some(id) = self.read_workspace_id()?
            && let Some(user) = self.unfinished_switch(&id)?
        {
            let _ = self.realign_locked(&user, None)?;
        }
        Ok(())
    }

    // ---- credentials and accounts ----------------------------------------------------------

    /// The credentials in use: the workspace-local `cloud_login.json` when it exists; otherwise
    /// the global one, but only for a workspace that has no account record yet. Once the
    /// workspace has logged in (`account.json` exists), deleting the local file logs the
    /// workspace out: the global login is then not used in its place.
    pub fn credentials(&self) -> Result<Option<Credentials>> {
        if let Some(login) = self.cloud_login().read()? {
            return Ok(Some(Credentials {
                source: CredentialSource::Workspace,
                path: self.cloud_login_path(),
                login,
            }));
        }
        if self.account().read_bytes()?.is_some() {
            return Ok(None);
        }
        Ok(self.home.read_cloud_login()?.map(|login| Credentials {
            source: CredentialSource::Global,
            path: self.home.cloud_login_path(),
            login,
        }))
    }

    /// Who owns what is written now: the account of [`Workspace::credentials`], or
    /// [`Owner::Anonymous`]. A user id that is not a safe path component is an error.
    pub fn owner(&self) -> Result<Owner> {
        match self.credentials()?.as_ref().and_then(|c| c.login.user_id()) {
            Some(id) => {
                validate_owner_id(id)?;
                Ok(Owner::Account(id.to_owned()))
            }
            None => Ok(Owner::Anonymous),
        }
    }

    /// Logs the workspace in with `login` (0600, workspace-local). When the workspace belongs to
    /// another account, that account's `workspace_id` and `cloud_login.json` are kept as
    /// `workspace_id.<old>.bak` and `cloud_login.json.<old>.bak`, and the new account's id is
    /// restored from `workspace_id.<new>.bak` when it was here before (else a new id is
    /// created). A stale `cloud_login.json.<new>.bak` is superseded by `login` and removed.
    ///
    /// At no point is either file missing, and after an error (or a crash) the same call
    /// completes the switch exactly (the order of its steps is in the module documentation).
    pub fn login(&self, login: &CloudLogin) -> Result<Realigned> {
        let user =
            login.user_id().ok_or_else(|| Error::NoUserId { path: self.data_dir.clone() })?;
        validate_owner_id(user)?;
        self.realign(user, Some(login))
    }

    /// Switches back to an account that was here before, restoring both its `workspace_id` and
    /// its `cloud_login.json` from their `.bak` files (the current account's are moved aside).
    /// Without a credentials backup for `user_id` this is an error and nothing changes (unless
    /// `cloud_login.json` is already that account's: a switch interrupted after restoring it
    /// is completed).
    pub fn switch_account(&self, user_id: &str) -> Result<Realigned> {
        validate_owner_id(user_id)?;
        let backup = self.cloud_login_backup_path(user_id)?;
        if fs::symlink_metadata(&backup).is_err() && !self.login_belongs_to(user_id) {
            return Err(Error::Io(IoError {
                step: "find the credentials backup",
                path: backup,
                source: io::Error::from(io::ErrorKind::NotFound),
            }));
        }
        self.realign(user_id, None)
    }

    /// Logs the workspace out: deletes the workspace-local `cloud_login.json` and marks
    /// `account.json` unauthenticated (keeping which account owns the workspace id). Returns
    /// whether there was a login to delete.
    pub fn logout(&self) -> Result<bool> {
        let _ = self.real_dir("")?;
        let _guard = store::lock(&self.workspace_id_path())?;
        self.settle_unfinished_switch()?;
        let existed = store::remove(&self.cloud_login_path(), self.durability())?;
        self.account().update(|account| {
            account.authenticated = false;
            account.token = None;
        })?;
        Ok(existed)
    }

    /// The account that owns the current workspace id: the one `account.json` records, else the
    /// one the credentials name.
    fn recorded_owner(&self) -> Result<Option<String>> {
        if let Some(id) = self.account().read()?.and_then(|a| a.user_id) {
            return Ok(Some(id));
        }
        Ok(self.credentials()?.and_then(|c| c.login.user_id().map(str::to_owned)))
    }

    /// Whether `cloud_login.json` is a login of `user` (an unreadable one is not).
    fn login_belongs_to(&self, user: &str) -> bool {
        self.cloud_login().read().ok().flatten().is_some_and(|l| l.user_id() == Some(user))
    }

    /// The account switch, in an order where every file is valid at every point and a repeated
    /// call completes an interrupted one (see the module documentation):
    ///
    /// 1. create-only copies of the previous account's `workspace_id` and `cloud_login.json`
    ///    (`.<old>.bak`); the originals stay;
    /// 2. the new `cloud_login.json` replaces the old one atomically;
    /// 3. `account.json` names the new owner — the commit point of the switch;
    /// 4. `workspace_id` is settled: when it is absent, or is an id kept as another account's
    ///    backup (so it belongs to that account), the new account's backup or a new id
    ///    replaces it atomically; otherwise it is the new account's (adopted, or kept);
    /// 5. the new account's backups that are now in use are removed.
    fn realign(&self, user: &str, login: Option<&CloudLogin>) -> Result<Realigned> {
        self.ensure()?;
        let _guard = store::lock(&self.workspace_id_path())?;
        self.realign_locked(user, login)
    }

    /// [`Workspace::realign`] under the `workspace_id` lock.
    fn realign_locked(&self, user: &str, login: Option<&CloudLogin>) -> Result<Realigned> {
        let previous = self.recorded_owner()?;
        let mut backups = Vec::new();
        let login_is_users = self.login_belongs_to(user);
        if let Some(old) = previous.as_deref().filter(|old| *old != user) {
            validate_owner_or_anonymous(old)?;
            // The id is `old`'s only when no other account's backup holds it: a switch to
            // `old` that stopped before settling the id left the id of the account before.
            if let Some(current) = self.read_workspace_id()?
                && !self.kept_for_another_account(&current, old)?
            {
                backups.extend(self.keep_id(old, &current)?);
            }
            // The credentials are kept under the account they name (a login that stopped
            // before the commit point left the incoming account's), else under `old`.
            if !login_is_users {
                let named = self
                    .cloud_login()
                    .read()
                    .ok()
                    .flatten()
                    .and_then(|l| l.user_id().map(str::to_owned))
                    .filter(|id| validate_owner_id(id).is_ok());
                let owner = named.as_deref().unwrap_or(old);
                backups.extend(copy_aside(
                    &self.cloud_login_path(),
                    &self.cloud_login_backup_path(owner)?,
                    self.durability(),
                )?);
            }
        }
        let login_backup = self.cloud_login_backup_path(user)?;
        let restored_login = match login {
            Some(login) => {
                let _ = self.cloud_login().write(login)?;
                None
            }
            None => {
                let saved = store::read(&login_backup, MAX_MOVED)?;
                if let Some(bytes) = saved.as_deref().filter(|_| !login_is_users) {
                    let _ = store::write(
                        &self.cloud_login_path(),
                        bytes,
                        &self.dir.write_options(self.cloud_login_path()),
                    )?;
                }
                saved
            }
        };
        let email = match login {
            Some(login) => login.user.as_ref().and_then(|u| u.email.clone()),
            None => self.cloud_login().read()?.and_then(|l| l.user.and_then(|u| u.email)),
        };
        self.account().update(|account| {
            if account.user_id.as_deref() != Some(user) {
                account.plan = None;
                account.token = None;
            }
            account.authenticated = true;
            account.user_id = Some(user.to_owned());
            account.email = email;
        })?;
        let (workspace_id, restored_id) = self.settle_id(user)?;
        // The backups now in use (or superseded by a fresh login) go last.
        let id_backup = self.workspace_id_backup_path(user)?;
        if read_id(&id_backup)?.as_ref() == Some(&workspace_id) {
            let _ = store::remove(&id_backup, self.durability())?;
        }
        let login_now = store::read(&self.cloud_login_path(), MAX_MOVED)?;
        if login.is_some() || (restored_login.is_some() && restored_login == login_now) {
            let _ = store::remove(&login_backup, self.durability())?;
        }
        Ok(Realigned {
            previous_owner: previous,
            owner: user.to_owned(),
            workspace_id,
            restored_id,
            backups,
        })
    }

    /// Step 4 of [`Workspace::realign`]: the id of `user`, now the recorded owner. Returns it
    /// and whether it came from `workspace_id.<user>.bak`.
    fn settle_id(&self, user: &str) -> Result<(WorkspaceId, bool)> {
        let own_backup = read_id(&self.workspace_id_backup_path(user)?)?;
        if let Some(current) = self.read_workspace_id()?
            && !self.kept_for_another_account(&current, user)?
        {
            let restored = own_backup.as_ref() == Some(&current);
            return Ok((current, restored));
        }
        let (id, restored, options) = match own_backup {
            Some(id) => {
                let path = self.workspace_id_backup_path(user)?;
                let mode = fs::metadata(&path)
                    .map_err(IoError::on("inspect", &path))?
                    .permissions()
                    .mode();
                (
                    id,
                    true,
                    self.dir
                        .write_options(self.workspace_id_path())
                        .mode(store::Mode::Exact(mode & 0o7777)),
                )
            }
            None => {
                (WorkspaceId::generate()?, false, self.dir.write_options(self.workspace_id_path()))
            }
        };
        let _ = store::write(&self.workspace_id_path(), id.as_str().as_bytes(), &options)?;
        Ok((id, restored))
    }

    /// Whether `id` is kept in a `workspace_id.<owner>[.<ms>].bak` of an account other than
    /// `user`: then it is that account's id, set aside by a switch that did not finish.
    fn kept_for_another_account(&self, id: &WorkspaceId, user: &str) -> Result<bool> {
        let mut found = false;
        self.each_id_backup(|middle, path| {
            if found || is_own_backup(middle, user) {
                return Ok(());
            }
            // A backup that is not an id cannot be this id; one that cannot be read is an error
            // (guessing could hand one account's id to another).
            match read_id(path) {
                Ok(Some(kept)) if kept == *id => found = true,
                Ok(_) | Err(Error::BadWorkspaceId { .. }) => {}
                Err(error) => return Err(error),
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// Whether one of `owner`'s own backups (`workspace_id.<owner>[.<ms>].bak`) holds `id`.
    fn kept_by(&self, id: &WorkspaceId, owner: &str) -> Result<bool> {
        let mut found = false;
        self.each_id_backup(|middle, path| {
            if is_own_backup(middle, owner) && read_id(path).ok().flatten().as_ref() == Some(id) {
                found = true;
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// Keeps `id` as `workspace_id.<owner>.bak`, the id a switch back to `owner` restores: a
    /// create-only, durable write. A backup already there with the same id is kept (an
    /// interrupted call made it); one with another id (left by an older version) is renamed
    /// to `workspace_id.<owner>.<unix_ms>.bak` first, as history.
    fn keep_id(&self, owner: &str, id: &WorkspaceId) -> Result<Option<PathBuf>> {
        let backup = self.workspace_id_backup_path(owner)?;
        match read_id(&backup) {
            Ok(Some(kept)) if kept == *id => return Ok(Some(backup)),
            Ok(None) => {}
            Ok(Some(_)) | Err(Error::BadWorkspaceId { .. }) => {
                let history = self.path(&format!("workspace_id.{owner}.{}.bak", now_ms()));
                fs::rename(&backup, &history).map_err(IoError::on("rename", &backup))?;
            }
            Err(error) => return Err(error),
        }
        copy_aside(&self.workspace_id_path(), &backup, self.durability())
    }

    /// Calls `each` with the middle part (`<owner>` or `<owner>.<ms>`) and the path of every
    /// `workspace_id.*.bak` of the data directory.
    fn each_id_backup(&self, mut each: impl FnMut(&str, &Path) -> Result<()>) -> Result<()> {
        let dir = &self.data_dir;
        let entries = fs::read_dir(dir).map_err(IoError::on("list directory", dir))?;
        for entry in entries {
            let entry = entry.map_err(IoError::on("list directory", dir))?;
            let name = entry.file_name();
            if let Some(middle) = name
                .to_str()
                .and_then(|n| n.strip_prefix("workspace_id."))
                .and_then(|n| n.strip_suffix(".bak"))
            {
                each(middle, &entry.path())?;
            }
        }
        Ok(())
    }

    // ---- the daemon lock ------------------------------------------------------------------

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
    mode: Mode,
    layout: &'static crate::Layout,
) -> dotdir_engine::Dir {
    let root = match mode {
        Mode::Cli => data_dir.parent().unwrap_or(data_dir),
        Mode::Serve => data_dir,
    };
    dotdir_engine::Dir::new(root, layout).with_durability(home.durability())
}

/// Whether `middle` of `workspace_id.<middle>.bak` is `<user>` or `<user>.<unix_ms>`: one of
/// the account's own backups.
fn is_own_backup(middle: &str, user: &str) -> bool {
    middle == user
        || middle
            .strip_prefix(user)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|ms| !ms.is_empty() && ms.bytes().all(|b| b.is_ascii_digit()))
}

fn validate_owner_or_anonymous(id: &str) -> Result<()> {
    if id == ANONYMOUS { Ok(()) } else { validate_owner_id(id) }
}

fn read_id(path: &Path) -> Result<Option<WorkspaceId>> {
    let Some(bytes) = store::read(path, 4096)? else { return Ok(None) };
    WorkspaceId::parse(&bytes)
        .map(Some)
        .map_err(|reason| Error::BadWorkspaceId { path: path.to_owned(), reason })
}

/// Copies `from` to the backup `to` without ever replacing a backup: nothing when `from` is
/// missing; when `to` exists with the same bytes, nothing (an earlier, interrupted call made
/// it); when it differs, the copy goes to `<to minus .bak>.<unix_ms>.bak`. The copy is a
/// create-only write (`write_new`) with `from`'s mode, durable; `from` stays.
fn copy_aside(from: &Path, to: &Path, durability: Durability) -> Result<Option<PathBuf>> {
    let Some(content) = store::read(from, MAX_MOVED)? else { return Ok(None) };
    let target = match store::read(to, MAX_MOVED)? {
        None => to.to_owned(),
        Some(existing) if existing == content => return Ok(Some(to.to_owned())),
        Some(_) => {
            let name = to.to_string_lossy();
            let stem = name.strip_suffix(".bak").unwrap_or(&name);
            PathBuf::from(format!("{stem}.{}.bak", now_ms()))
        }
    };
    let mode = fs::metadata(from).map_err(IoError::on("inspect", from))?.permissions().mode();
    let options =
        WriteOptions::new().mode(store::Mode::Exact(mode & 0o7777)).durability(durability);
    match store::write_new(&target, &content, &options)? {
        Created::New => Ok(Some(target)),
        Created::AlreadyExists => Err(Error::Io(IoError {
            step: "create without replacing",
            path: target,
            source: io::Error::from(io::ErrorKind::AlreadyExists),
        })),
    }
}

/// The largest file an account switch moves (ids and credentials are far smaller).
const MAX_MOVED: u64 = 1 << 20;
