//! Test spec types mirroring ollim-bot's Routine, Reminder, WebhookSpec and Skill (reference §5),
//! and helpers shared by the test modules.

use std::path::{Path, PathBuf};

use dotdir_frontmatter::Spec;
use serde::{Deserialize, Serialize};

fn yes() -> bool {
    true
}

fn on_ping() -> String {
    "on_ping".to_owned()
}

/// `scheduling/routines.py` `Routine`, fields in dataclass order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Routine {
    pub(crate) id: String,
    pub(crate) message: String,
    pub(crate) cron: String,
    #[serde(default)]
    pub(crate) background: bool,
    #[serde(default)]
    pub(crate) model: Option<String>,
    #[serde(default = "yes")]
    pub(crate) thinking: bool,
    #[serde(default)]
    pub(crate) isolated: bool,
    #[serde(default)]
    pub(crate) description: String,
    #[serde(default = "on_ping")]
    pub(crate) update_main_session: String,
    #[serde(default = "yes")]
    pub(crate) allow_ping: bool,
    #[serde(default)]
    pub(crate) allowed_tools: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) skills: Option<Vec<String>>,
}

impl Default for Routine {
    fn default() -> Self {
        Routine {
            id: String::new(),
            message: String::new(),
            cron: String::new(),
            background: false,
            model: None,
            thinking: true,
            isolated: false,
            description: String::new(),
            update_main_session: on_ping(),
            allow_ping: true,
            allowed_tools: None,
            skills: None,
        }
    }
}

impl Spec for Routine {
    fn id(&self) -> &str {
        &self.id
    }
}

/// `scheduling/reminders.py` `Reminder`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Reminder {
    pub(crate) id: String,
    pub(crate) message: String,
    pub(crate) run_at: String,
    #[serde(default)]
    pub(crate) background: bool,
    #[serde(default)]
    pub(crate) chain_depth: u32,
    #[serde(default)]
    pub(crate) max_chain: u32,
    #[serde(default)]
    pub(crate) chain_parent: Option<String>,
    #[serde(default)]
    pub(crate) model: Option<String>,
    #[serde(default = "yes")]
    pub(crate) thinking: bool,
    #[serde(default)]
    pub(crate) isolated: bool,
    #[serde(default)]
    pub(crate) description: String,
    #[serde(default = "on_ping")]
    pub(crate) update_main_session: String,
    #[serde(default = "yes")]
    pub(crate) allow_ping: bool,
    #[serde(default)]
    pub(crate) allowed_tools: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) skills: Option<Vec<String>>,
}

impl Default for Reminder {
    fn default() -> Self {
        Reminder {
            id: String::new(),
            message: String::new(),
            run_at: String::new(),
            background: false,
            chain_depth: 0,
            max_chain: 0,
            chain_parent: None,
            model: None,
            thinking: true,
            isolated: false,
            description: String::new(),
            update_main_session: on_ping(),
            allow_ping: true,
            allowed_tools: None,
            skills: None,
        }
    }
}

impl Spec for Reminder {
    fn id(&self) -> &str {
        &self.id
    }
}

/// `webhook.py` `WebhookSpec`: `fields` is a JSON Schema, required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Webhook {
    pub(crate) id: String,
    pub(crate) message: String,
    pub(crate) fields: serde_json::Value,
    #[serde(default)]
    pub(crate) isolated: bool,
    #[serde(default)]
    pub(crate) model: Option<String>,
    #[serde(default = "yes")]
    pub(crate) thinking: bool,
    #[serde(default = "yes")]
    pub(crate) allow_ping: bool,
    #[serde(default = "on_ping")]
    pub(crate) update_main_session: String,
    #[serde(default)]
    pub(crate) allowed_tools: Option<Vec<String>>,
}

impl Default for Webhook {
    fn default() -> Self {
        Webhook {
            id: String::new(),
            message: String::new(),
            fields: serde_json::Value::Null,
            isolated: false,
            model: None,
            thinking: true,
            allow_ping: true,
            update_main_session: on_ping(),
            allowed_tools: None,
        }
    }
}

impl Spec for Webhook {
    fn id(&self) -> &str {
        &self.id
    }
}

/// `skills.py` `Skill`: the name is the id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Skill {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) message: String,
    #[serde(default)]
    pub(crate) allowed_tools: Option<Vec<String>>,
}

impl Spec for Skill {
    fn id(&self) -> &str {
        &self.name
    }
}

/// A file or directory of the ollim-bot fixtures.
pub(crate) fn data(relative: &str) -> PathBuf {
    dotdir_test_support::fixtures::ollim_bot_file(relative)
}

pub(crate) fn read(relative: &str) -> Vec<u8> {
    std::fs::read(data(relative)).unwrap()
}

/// Copies a fixture directory into a fresh temporary directory.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

pub(crate) fn strings(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| (*s).to_owned()).collect())
}
