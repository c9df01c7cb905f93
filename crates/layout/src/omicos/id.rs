//! The workspace id: `workspace_id` read, created once under the lock, rotated, and its
//! backups per account.

use std::{fmt, path::Path};

use dotdir_atomic_store::{self as store};

use super::account::{ANONYMOUS, copy_aside, validate_owner_id, validate_owner_or_anonymous};
use super::workspace::Workspace;
use super::{
    Error, Result,
    layouts::check_workspace_id,
    names::{now_ms, random_hex},
};

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

impl Workspace {
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
    pub(super) fn unfinished_switch(&self, id: &WorkspaceId) -> Result<Option<String>> {
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

    pub(super) fn workspace_id_locked(&self) -> Result<WorkspaceId> {
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
}

pub(super) fn read_id(path: &Path) -> Result<Option<WorkspaceId>> {
    let Some(bytes) = store::read(path, 4096)? else { return Ok(None) };
    WorkspaceId::parse(&bytes)
        .map(Some)
        .map_err(|reason| Error::BadWorkspaceId { path: path.to_owned(), reason })
}
