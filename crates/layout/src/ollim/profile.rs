//! The profile files (`IDENTITY.md` bootstrapped once, `USER.md` optional) and the `.claude/`
//! Agent SDK layout (bundled agents with `{USER_NAME}`/`{BOT_NAME}` expanded, never
//! overwritten; the relative `.claude/skills -> ../skills` symlink).

use crate::IoError;
use dotdir_engine::Step;
use std::{
    fs,
    io::ErrorKind,
    os::unix::fs::symlink,
    path::{Path, PathBuf},
};

use dotdir_atomic_store::{DEFAULT_MAX_DOCUMENT, Document, JsonStyle, read, write, write_new};

use crate::ollim::{DataDir, Error, Result};

/// The persona file at the root.
pub const IDENTITY_FILE: &str = "IDENTITY.md";
/// The user's own context file at the root (never created by the code).
pub const USER_FILE: &str = "USER.md";

/// The template of a new `IDENTITY.md`; `{USER_NAME}` and `{BOT_NAME}` are expanded.
pub const IDENTITY_TEMPLATE: &str = "# Identity\n\nYou are {BOT_NAME}, {USER_NAME}'s personal \
assistant on Discord.\n\n- Be brief: lead with what matters, skip the preamble.\n- Be proactive \
but respect {USER_NAME}'s focus: ping only when it helps.\n- Say what you did and what you \
could not do.\n\nEdit this file to change how {BOT_NAME} talks and behaves.\n";

/// A subagent spec installed into `.claude/agents/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentTemplate {
    /// The file name (`gmail-reader.md`).
    pub file_name: &'static str,
    /// The text, with `{USER_NAME}` and `{BOT_NAME}` placeholders.
    pub template: &'static str,
}

/// The five bundled subagents of the seed's tree.
pub const BUNDLED_AGENTS: [AgentTemplate; 5] = [
    AgentTemplate {
        file_name: "gmail-reader.md",
        template: include_str!("agents/gmail-reader.md"),
    },
    AgentTemplate {
        file_name: "history-reviewer.md",
        template: include_str!("agents/history-reviewer.md"),
    },
    AgentTemplate {
        file_name: "ollim-bot-guide.md",
        template: include_str!("agents/ollim-bot-guide.md"),
    },
    AgentTemplate {
        file_name: "responsiveness-reviewer.md",
        template: include_str!("agents/responsiveness-reviewer.md"),
    },
    AgentTemplate { file_name: "user-proxy.md", template: include_str!("agents/user-proxy.md") },
];

/// The names the templates are expanded with (`OLLIM_USER_NAME`, `OLLIM_BOT_NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// `{USER_NAME}`.
    pub user_name: String,
    /// `{BOT_NAME}`.
    pub bot_name: String,
}

impl Names {
    /// The two names.
    pub fn new(user_name: impl Into<String>, bot_name: impl Into<String>) -> Self {
        Self { user_name: user_name.into(), bot_name: bot_name.into() }
    }

    /// The names from `OLLIM_USER_NAME` and `OLLIM_BOT_NAME` (the reference requires both);
    /// a missing one is an error naming the variable.
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| Error::refused(name, "must be set to a non-empty name"))
        };
        Ok(Self::new(var("OLLIM_USER_NAME")?, var("OLLIM_BOT_NAME")?))
    }

    /// The reference's literal replacement of `{USER_NAME}` and `{BOT_NAME}`; other `{X}`
    /// placeholders are left as they are.
    pub fn expand(&self, template: &str) -> String {
        template.replace("{USER_NAME}", &self.user_name).replace("{BOT_NAME}", &self.bot_name)
    }
}

/// What [`DataDir::ensure_sdk_layout`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SdkLayoutReport {
    /// Agent files written (they did not exist).
    pub installed: Vec<PathBuf>,
    /// Agent files left alone (they exist: the user's edits persist).
    pub kept: Vec<PathBuf>,
    /// Whether the `.claude/skills` symlink was created.
    pub linked_skills: bool,
    /// Problems that did not stop the rest (a `.claude/skills` that is not our symlink).
    pub problems: Vec<String>,
}

/// The target of the `.claude/skills` symlink: relative, so the directory can move.
pub const SKILLS_LINK_TARGET: &str = "../skills";

impl DataDir {
    /// Creates `IDENTITY.md` from [`IDENTITY_TEMPLATE`] if it does not exist, and commits it;
    /// an existing file (even empty) is never touched. Returns whether it was created.
    pub fn bootstrap_identity(&self, names: &Names) -> Result<bool> {
        let path = self.dir.root().join(IDENTITY_FILE);
        let message = "bootstrap IDENTITY.md";
        let created = self.change(
            std::slice::from_ref(&path),
            message,
            || self.create_once(&path, &names.expand(IDENTITY_TEMPLATE)),
            || fs::symlink_metadata(&path).is_ok(),
        )?;
        if created {
            self.commit(IDENTITY_FILE, message)?;
        } else {
            // A call whose commit failed created the file: its commit is pending.
            self.settle_commits()?;
        }
        Ok(created)
    }

    /// The profile prepended to the system prompt: `IDENTITY.md` and `USER.md`, each stripped,
    /// empty ones dropped, joined by a blank line (the reference's `load_profile`).
    pub fn load_profile(&self) -> Result<String> {
        let mut parts = Vec::new();
        for name in [IDENTITY_FILE, USER_FILE] {
            if let Some(bytes) = read(&self.dir.root().join(name), DEFAULT_MAX_DOCUMENT)? {
                let text = String::from_utf8_lossy(&bytes).trim().to_owned();
                if !text.is_empty() {
                    parts.push(text);
                }
            }
        }
        Ok(parts.join("\n\n"))
    }

    /// Writes a profile file (`IDENTITY.md` or `USER.md`) and commits it.
    pub fn write_profile(&self, name: &str, text: &str) -> Result<()> {
        if ![IDENTITY_FILE, USER_FILE].contains(&name) {
            return Err(Error::refused(
                format!("profile file {name}"),
                "not IDENTITY.md or USER.md",
            ));
        }
        let path = self.dir.root().join(name);
        let _ = write(&path, text.as_bytes(), &self.dir.write_options(&path))?;
        self.commit(name, &format!("update {name}"))
    }

    /// The Agent SDK layout: `.claude/agents/` with the [`BUNDLED_AGENTS`] expanded (written
    /// atomically, an existing file never overwritten), the `.claude/skills -> ../skills`
    /// relative symlink, and `.claude/settings.json` with `"autoMemoryEnabled": false` unless
    /// the key is set. None of it is committed (the seed's table).
    pub fn ensure_sdk_layout(&self, names: &Names) -> Result<SdkLayoutReport> {
        self.install_agents(&BUNDLED_AGENTS, names)
    }

    /// Like [`DataDir::ensure_sdk_layout`] with other agent templates.
    pub fn install_agents(
        &self,
        agents: &[AgentTemplate],
        names: &Names,
    ) -> Result<SdkLayoutReport> {
        let mut report = SdkLayoutReport::default();
        let agents_dir = self.dir.real_dir(".claude/agents")?;
        for agent in agents {
            if agent.file_name.contains('/') || agent.file_name.starts_with('.') {
                return Err(Error::refused(
                    format!("agent {}", agent.file_name),
                    "not a plain file name",
                ));
            }
            let path = agents_dir.join(agent.file_name);
            if self.create_once(&path, &names.expand(agent.template))? {
                report.installed.push(path);
            } else {
                report.kept.push(path);
            }
        }
        let link = self.dir.root().join(".claude/skills");
        match fs::symlink_metadata(&link) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&link).map_err(IoError::on(Step::ReadLink, &link))?;
                if target != Path::new(SKILLS_LINK_TARGET) {
                    report.problems.push(format!(
                        "{} points to {} instead of {SKILLS_LINK_TARGET}",
                        link.display(),
                        target.display()
                    ));
                }
            }
            Ok(_) => report.problems.push(format!(
                "{} exists and is not a symlink; SDK skill discovery may miss skills/",
                link.display()
            )),
            Err(e) if e.kind() == ErrorKind::NotFound => match symlink(SKILLS_LINK_TARGET, &link) {
                Ok(()) => report.linked_skills = true,
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(IoError::on(Step::CreateSymlink, &link)(e).into()),
            },
            Err(e) => return Err(IoError::on(Step::Inspect, &link)(e).into()),
        }
        let path = self.dir.root().join(".claude/settings.json");
        let options = self.dir.write_options(&path);
        let settings: Document<serde_json::Map<String, serde_json::Value>> =
            Document::new(path).style(JsonStyle::Pretty).options(options);
        settings.update(|map| {
            if !map.contains_key("autoMemoryEnabled") {
                let _ = map.insert("autoMemoryEnabled".to_owned(), serde_json::Value::Bool(false));
            }
        })?;
        Ok(report)
    }

    /// Writes `text` to `path` only if nothing (no file, no symlink) is there, atomically:
    /// `write_new` publishes with `link(2)`, so of two processes bootstrapping together exactly
    /// one creates it and the other's content never replaces it. Returns whether it was created.
    fn create_once(&self, path: &Path, text: &str) -> Result<bool> {
        Ok(write_new(path, text.as_bytes(), &self.dir.write_options(path))?.is_new())
    }
}
