//! The profile files (`IDENTITY.md` bootstrapped once, `USER.md` optional) and the `.claude/`
//! Agent SDK layout (bundled agents with `{USER_NAME}`/`{BOT_NAME}` expanded, never
//! overwritten; the relative `.claude/skills -> ../skills` symlink).

use std::path::PathBuf;

use crate::ollim::{Error, Result};

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

/// What [`DataDir::ensure_sdk_layout`](crate::ollim::DataDir::ensure_sdk_layout) did.
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
