//! The account a workspace belongs to: credentials lookup, login, logout and the switch
//! between accounts, with the backups each account keeps.

use crate::IoError;
use dotdir_engine::Step;
use std::{
    fmt, fs, io,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use dotdir_atomic_store::{self as store, Created, Durability, WriteOptions};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::id::{WorkspaceId, read_id};
use super::workspace::Workspace;
use super::{
    Error, Result,
    home::CloudLogin,
    names::{now_ms, validate_name},
};

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

impl Workspace {
    /// Completes an interrupted account switch (under the `workspace_id` lock), so that what
    /// follows works on a settled directory.
    pub(super) fn settle_unfinished_switch(&self) -> Result<()> {
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
                step: Step::Inspect,
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
    pub(super) fn recorded_owner(&self) -> Result<Option<String>> {
        if let Some(id) = self.account().read()?.and_then(|a| a.user_id) {
            return Ok(Some(id));
        }
        Ok(self.credentials()?.and_then(|c| c.login.user_id().map(str::to_owned)))
    }

    /// Whether `cloud_login.json` is a login of `user` (an unreadable one is not).
    pub(super) fn login_belongs_to(&self, user: &str) -> bool {
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
    pub(super) fn realign(&self, user: &str, login: Option<&CloudLogin>) -> Result<Realigned> {
        self.ensure()?;
        let _guard = store::lock(&self.workspace_id_path())?;
        self.realign_locked(user, login)
    }

    /// [`Workspace::realign`] under the `workspace_id` lock.
    pub(super) fn realign_locked(
        &self,
        user: &str,
        login: Option<&CloudLogin>,
    ) -> Result<Realigned> {
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
    pub(super) fn settle_id(&self, user: &str) -> Result<(WorkspaceId, bool)> {
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
                    .map_err(IoError::on(Step::Inspect, &path))?
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
    pub(super) fn kept_for_another_account(&self, id: &WorkspaceId, user: &str) -> Result<bool> {
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
    pub(super) fn kept_by(&self, id: &WorkspaceId, owner: &str) -> Result<bool> {
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
    pub(super) fn keep_id(&self, owner: &str, id: &WorkspaceId) -> Result<Option<PathBuf>> {
        let backup = self.workspace_id_backup_path(owner)?;
        match read_id(&backup) {
            Ok(Some(kept)) if kept == *id => return Ok(Some(backup)),
            Ok(None) => {}
            Ok(Some(_)) | Err(Error::BadWorkspaceId { .. }) => {
                let history = self.path(&format!("workspace_id.{owner}.{}.bak", now_ms()));
                fs::rename(&backup, &history).map_err(IoError::on(Step::Rename, &backup))?;
            }
            Err(error) => return Err(error),
        }
        copy_aside(&self.workspace_id_path(), &backup, self.durability())
    }

    /// Calls `each` with the middle part (`<owner>` or `<owner>.<ms>`) and the path of every
    /// `workspace_id.*.bak` of the data directory.
    pub(super) fn each_id_backup(
        &self,
        mut each: impl FnMut(&str, &Path) -> Result<()>,
    ) -> Result<()> {
        let dir = &self.data_dir;
        let entries = fs::read_dir(dir).map_err(IoError::on(Step::ListDir, dir))?;
        for entry in entries {
            let entry = entry.map_err(IoError::on(Step::ListDir, dir))?;
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
}

/// Whether `middle` of `workspace_id.<middle>.bak` is `<user>` or `<user>.<unix_ms>`: one of
/// the account's own backups.
pub(super) fn is_own_backup(middle: &str, user: &str) -> bool {
    middle == user
        || middle
            .strip_prefix(user)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|ms| !ms.is_empty() && ms.bytes().all(|b| b.is_ascii_digit()))
}

pub(super) fn validate_owner_or_anonymous(id: &str) -> Result<()> {
    if id == ANONYMOUS { Ok(()) } else { validate_owner_id(id) }
}

/// Copies `from` to the backup `to` without ever replacing a backup: nothing when `from` is
/// missing; when `to` exists with the same bytes, nothing (an earlier, interrupted call made
/// it); when it differs, the copy goes to `<to minus .bak>.<unix_ms>.bak`. The copy is a
/// create-only write (`write_new`) with `from`'s mode, durable; `from` stays.
pub(super) fn copy_aside(
    from: &Path,
    to: &Path,
    durability: Durability,
) -> Result<Option<PathBuf>> {
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
    let mode = fs::metadata(from).map_err(IoError::on(Step::Inspect, from))?.permissions().mode();
    let options =
        WriteOptions::new().mode(store::Mode::Exact(mode & 0o7777)).durability(durability);
    match store::write_new(&target, &content, &options)? {
        Created::New => Ok(Some(target)),
        Created::AlreadyExists => Err(Error::Io(IoError {
            step: Step::CreateNew,
            path: target,
            source: io::Error::from(io::ErrorKind::AlreadyExists),
        })),
    }
}

/// The largest file an account switch moves (ids and credentials are far smaller).
const MAX_MOVED: u64 = 1 << 20;
