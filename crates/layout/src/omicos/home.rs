//! The global home `~/.omicos` (or `$OMICOS_LOCAL_HOME`) and the credential documents it shares
//! with the workspaces.

use crate::IoError;
use dotdir_engine::Step;
use std::{
    ffi::OsStr,
    fmt,
    path::{Path, PathBuf},
};

use dotdir_atomic_store::{self as store, Document};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Error, Result, names::validate_name};

/// The omicos global home: credentials, the shared kernel environment, long-term memory and the
/// cloud caches, shared by every workspace of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalHome {
    dir: dotdir_engine::Dir,
}

impl GlobalHome {
    /// The home at `root`. Touches nothing on disk.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { dir: dotdir_engine::Dir::new(root, &super::HOME_LAYOUT) }
    }

    /// Follows `layout`, [`super::HOME_LAYOUT`] extended by a downstream crate
    /// ([`crate::Layout::extend`]): the files it adds get their declared modes.
    #[must_use]
    pub fn with_layout(mut self, layout: &'static crate::Layout) -> Self {
        self.dir = self.dir.with_layout(layout);
        self
    }

    /// Sets the durability of every write, removal and directory creation in the home (and in
    /// the workspaces built on it): [`store::Durability::Full`] by default.
    #[must_use]
    pub fn with_durability(mut self, durability: store::Durability) -> Self {
        self.dir = self.dir.with_durability(durability);
        self
    }

    /// The durability of the home's writes.
    pub fn durability(&self) -> store::Durability {
        self.dir.durability()
    }

    /// The home under its layout: paths, modes and symbolic-link checks.
    pub(crate) fn dir(&self) -> &dotdir_engine::Dir {
        &self.dir
    }

    /// Resolves the home the way omicos does: `OMICOS_LOCAL_HOME` when set and not empty,
    /// otherwise `$HOME/.omicos`. Relative values are taken relative to `cwd`. The values are
    /// parameters so that callers (and tests) decide where they come from.
    pub fn resolve(
        omicos_local_home: Option<&OsStr>,
        home_dir: Option<&OsStr>,
        cwd: &Path,
    ) -> Result<Self> {
        fn non_empty(value: Option<&OsStr>) -> Option<&Path> {
            value.filter(|v| !v.is_empty()).map(Path::new)
        }
        let root = match (non_empty(omicos_local_home), non_empty(home_dir)) {
            (Some(local), _) => cwd.join(local),
            (None, Some(home)) => cwd.join(home).join(".omicos"),
            (None, None) => return Err(Error::NoHome),
        };
        Ok(Self::at(root))
    }

    /// [`GlobalHome::resolve`] with this process' `OMICOS_LOCAL_HOME`, `HOME` and working
    /// directory.
    pub fn from_env() -> Result<Self> {
        let cwd = std::env::current_dir().map_err(IoError::on(Step::Resolve, "."))?;
        Self::resolve(
            std::env::var_os("OMICOS_LOCAL_HOME").as_deref(),
            std::env::var_os("HOME").as_deref(),
            &cwd,
        )
    }

    /// The home directory.
    pub fn root(&self) -> &Path {
        self.dir.root()
    }

    /// Creates the home as a `0700` directory (it holds secrets at its top level), and takes
    /// group and other permissions away from an existing one.
    ///
    /// The user's home directory itself (or `/`) is refused ([`Error::NotADataDirectory`]):
    /// every write goes through here, so nothing is ever written there.
    pub fn ensure(&self) -> Result<()> {
        if self.dir.refusal(false).is_some() {
            return Err(Error::NotADataDirectory { path: self.root().to_path_buf() });
        }
        let _ = self.dir.create_dir("")?;
        Ok(())
    }

    /// `cloud_login.json`: the global copy/fallback of the login credentials (`0600`).
    pub fn cloud_login_path(&self) -> PathBuf {
        self.dir.path("cloud_login.json")
    }

    /// `auth.json`: the API key fallback storage (`0600`).
    pub fn auth_path(&self) -> PathBuf {
        self.dir.path("auth.json")
    }

    /// `plan_token.jwt`: the subscription-tier JWT (`0600`).
    pub fn plan_token_path(&self) -> PathBuf {
        self.dir.path("plan_token.jwt")
    }

    /// `oauth/`: third-party OAuth credentials (`0700`).
    pub fn oauth_dir(&self) -> PathBuf {
        self.dir.path("oauth")
    }

    /// `oauth/<provider>.json` (`codex`, `gemini_cli`, …); the provider is validated as a path
    /// component.
    pub fn oauth_path(&self, provider: &str) -> Result<PathBuf> {
        validate_name("oauth provider", provider)?;
        Ok(self.oauth_dir().join(format!("{provider}.json")))
    }

    /// `env/`: the shared Python kernel environment (re-creatable).
    pub fn env_dir(&self) -> PathBuf {
        self.dir.path("env")
    }

    /// `memory/`: long-term memory across conversations (backed up).
    pub fn memory_dir(&self) -> PathBuf {
        self.dir.path("memory")
    }

    /// `cloud-agents/`: the agent cache.
    pub fn cloud_agents_dir(&self) -> PathBuf {
        self.dir.path("cloud-agents")
    }

    /// `cloud-skills/`: the skill cache.
    pub fn cloud_skills_dir(&self) -> PathBuf {
        self.dir.path("cloud-skills")
    }

    /// `cloud-models/models.json`: the model catalog cache.
    pub fn cloud_models_path(&self) -> PathBuf {
        self.dir.path("cloud-models").join("models.json")
    }

    /// `cloud-memory/`: the memory sync cache.
    pub fn cloud_memory_dir(&self) -> PathBuf {
        self.dir.path("cloud-memory")
    }

    /// `usage/`: the usage-audit fallback when there is no workspace.
    pub fn usage_dir(&self) -> PathBuf {
        self.dir.path("usage")
    }

    /// The global login document (`0600` writes).
    pub fn cloud_login(&self) -> Document<CloudLogin> {
        self.dir.document(self.cloud_login_path())
    }

    /// Reads the global login; `None` when there is none.
    pub fn read_cloud_login(&self) -> Result<Option<CloudLogin>> {
        Ok(self.cloud_login().read()?)
    }

    /// Writes the global login (what `omicos login` does), `0600` in the `0700` home.
    pub fn write_cloud_login(&self, login: &CloudLogin) -> Result<()> {
        self.ensure()?;
        let _ = self.cloud_login().write(login)?;
        Ok(())
    }

    /// Writes `auth.json` (API keys by environment-variable name), `0600`.
    pub fn write_auth(&self, keys: &Map<String, Value>) -> Result<()> {
        self.ensure()?;
        let _ = self.dir.document::<Map<String, Value>>(self.auth_path()).write(keys)?;
        Ok(())
    }

    /// Writes `plan_token.jwt`, `0600`.
    pub fn write_plan_token(&self, jwt: &str) -> Result<()> {
        self.ensure()?;
        let path = self.plan_token_path();
        let _ = dotdir_atomic_store::write(&path, jwt.as_bytes(), &self.dir.write_options(&path))?;
        Ok(())
    }

    /// Writes `oauth/<provider>.json`, `0600` in the `0700` `oauth/`.
    pub fn write_oauth(&self, provider: &str, credentials: &Value) -> Result<()> {
        let path = self.oauth_path(provider)?;
        let _ = self.dir.real_dir("oauth")?;
        self.ensure()?;
        let _ = self.dir.create_dir("oauth")?;
        let _ = self.dir.document::<Value>(path).write(credentials)?;
        Ok(())
    }
}

/// The user of a login, as the cloud reports it.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CloudUser {
    /// The owner id (a UUID): keys `trajectories/<owner_id>/` and the `.bak` files.
    #[serde(default)]
    pub id: String,
    /// The e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Fields this version does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for CloudUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudUser")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("extra_fields", &self.extra.len())
            .finish_non_exhaustive()
    }
}

/// `cloud_login.json`: the login credentials. Unknown fields are kept; `Debug` never prints a
/// token.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CloudLogin {
    /// The auth server (`https://auth.omicos.cn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The user's token: a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_token: Option<String>,
    /// The cloud process credential: a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_token: Option<String>,
    /// Who logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<CloudUser>,
    /// Fields this version does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CloudLogin {
    /// A login of `user_id` with a token, as a device-code approval returns it.
    pub fn new(server: &str, user_id: &str, email: Option<&str>, user_token: &str) -> Self {
        Self {
            server: Some(server.to_owned()),
            user_token: Some(user_token.to_owned()),
            process_token: None,
            user: Some(CloudUser {
                id: user_id.to_owned(),
                email: email.map(str::to_owned),
                phone: None,
                extra: Map::new(),
            }),
            extra: Map::new(),
        }
    }

    /// The owner id, when the login names a user.
    pub fn user_id(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.id.as_str()).filter(|id| !id.is_empty())
    }
}

impl fmt::Debug for CloudLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |t: &Option<String>| t.as_ref().map(|_| "<redacted>");
        f.debug_struct("CloudLogin")
            .field("server", &self.server)
            .field("user_token", &redacted(&self.user_token))
            .field("process_token", &redacted(&self.process_token))
            .field("user", &self.user)
            .field("extra_fields", &self.extra.len())
            .finish()
    }
}
