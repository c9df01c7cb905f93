//! The spec files of the reference (§5): routines, reminders (with chains), webhooks and
//! skills, typed on `dotdir-frontmatter`'s `SpecDir`/`SkillDir`, with the exact field sets,
//! field order and defaults, and the reference's commit messages.

use std::path::Path;

use dotdir_frontmatter::{DirOptions, SkillDir, Spec, SpecDir};
use serde::{Deserialize, Serialize};

use crate::ollim::{Error, Result};

fn yes() -> bool {
    true
}

fn on_ping() -> String {
    "on_ping".to_owned()
}

/// A new id: 8 lowercase hex digits (the reference's `uuid4().hex[:8]`).
pub(crate) fn new_id() -> String {
    format!("{:08x}", fastrand::u32(..))
}

/// A recurring routine (`routines/<slug>.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Routine {
    /// 8 hex digits; authoritative (the file name is cosmetic).
    pub id: String,
    /// The prompt (the markdown body).
    #[serde(default)]
    pub message: String,
    /// Five cron fields.
    pub cron: String,
    /// Run as a background fork.
    #[serde(default)]
    pub background: bool,
    /// `opus`, `sonnet`, `haiku`, or the default.
    #[serde(default)]
    pub model: Option<String>,
    /// Extended thinking.
    #[serde(default = "yes")]
    pub thinking: bool,
    /// Run without the main session's context.
    #[serde(default)]
    pub isolated: bool,
    /// Free text for people.
    #[serde(default)]
    pub description: String,
    /// `always`, `on_ping`, `freely` or `blocked`.
    #[serde(default = "on_ping")]
    pub update_main_session: String,
    /// May ping the user.
    #[serde(default = "yes")]
    pub allow_ping: bool,
    /// Extra tools for a background run.
    #[serde(default)]
    pub allowed_tools: Option<Vec<String>>,
    /// Skill directory names.
    #[serde(default)]
    pub skills: Option<Vec<String>>,
    /// Write a reflection after a background run (newer upstream).
    #[serde(default = "yes")]
    pub reflect: bool,
}

impl Default for Routine {
    fn default() -> Self {
        Self {
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
            reflect: true,
        }
    }
}

impl Spec for Routine {
    fn id(&self) -> &str {
        &self.id
    }
}

impl Routine {
    /// A routine with a new id and the defaults.
    pub fn new(cron: &str, message: &str) -> Self {
        Self { id: new_id(), cron: cron.to_owned(), message: message.to_owned(), ..Self::default() }
    }
}

/// A one-shot (or chained) reminder (`reminders/<slug>.md`), removed after it fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reminder {
    /// 8 hex digits.
    pub id: String,
    /// The prompt.
    #[serde(default)]
    pub message: String,
    /// ISO datetime with an offset.
    pub run_at: String,
    /// Run as a background fork.
    #[serde(default)]
    pub background: bool,
    /// Position in its chain (0 for the first).
    #[serde(default)]
    pub chain_depth: u32,
    /// How many follow-ups the chain may have; 0 is a plain one-shot.
    #[serde(default)]
    pub max_chain: u32,
    /// The id of the chain's first reminder.
    #[serde(default)]
    pub chain_parent: Option<String>,
    /// Model override.
    #[serde(default)]
    pub model: Option<String>,
    /// Extended thinking.
    #[serde(default = "yes")]
    pub thinking: bool,
    /// Run without the main session's context.
    #[serde(default)]
    pub isolated: bool,
    /// Free text for people.
    #[serde(default)]
    pub description: String,
    /// `always`, `on_ping`, `freely` or `blocked`.
    #[serde(default = "on_ping")]
    pub update_main_session: String,
    /// May ping the user.
    #[serde(default = "yes")]
    pub allow_ping: bool,
    /// Extra tools for a background run.
    #[serde(default)]
    pub allowed_tools: Option<Vec<String>>,
    /// Skill directory names.
    #[serde(default)]
    pub skills: Option<Vec<String>>,
    /// Write a reflection after a background run (newer upstream).
    #[serde(default = "yes")]
    pub reflect: bool,
}

impl Default for Reminder {
    fn default() -> Self {
        Self {
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
            reflect: true,
        }
    }
}

impl Spec for Reminder {
    fn id(&self) -> &str {
        &self.id
    }
}

impl Reminder {
    /// A reminder with a new id due at `run_at`. With `max_chain > 0` it starts a chain whose
    /// parent is itself (the reference's `Reminder.new`).
    pub fn new(run_at: &str, message: &str, max_chain: u32) -> Self {
        let id = new_id();
        let chain_parent = (max_chain > 0).then(|| id.clone());
        Self {
            id,
            message: message.to_owned(),
            run_at: run_at.to_owned(),
            max_chain,
            chain_parent,
            ..Self::default()
        }
    }

    /// The next reminder of this chain, due at `run_at`: same message and settings, depth + 1,
    /// same chain parent (the description is not carried, as in the reference). Refused past
    /// `max_chain`: `chain_depth (3) > max_chain (2)`.
    ///
    /// Its id is new to the chain but not random: it is derived from this reminder's id and
    /// the depth (8 hex digits, like a new id), so asking twice gives the same follow-up. A
    /// [`DataDir::fire_reminder`](crate::ollim::DataDir::fire_reminder) repeated after a failure therefore rewrites the follow-up it
    /// may already have saved instead of scheduling a second one.
    pub fn follow_up(&self, run_at: &str) -> Result<Self> {
        let depth = self.chain_depth + 1;
        if depth > self.max_chain {
            return Err(Error::refused(
                format!("follow-up of reminder {}", self.id),
                format!("chain_depth ({depth}) > max_chain ({})", self.max_chain),
            ));
        }
        Ok(Self {
            id: self.follow_up_id(depth),
            run_at: run_at.to_owned(),
            chain_depth: depth,
            chain_parent: Some(self.chain_parent.clone().unwrap_or_else(|| self.id.clone())),
            description: String::new(),
            ..self.clone()
        })
    }
}

impl Reminder {
    /// The id of the follow-up at `depth`: FNV-1a of this reminder's id and the depth, as 8
    /// lowercase hex digits, never this reminder's id or its chain parent's.
    fn follow_up_id(&self, depth: u32) -> String {
        let mut salt = 0u32;
        loop {
            let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
            let input = format!("dotdir follow-up\0{}\0{depth}\0{salt}", self.id);
            for byte in input.bytes() {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
            let id = format!("{:08x}", (hash ^ (hash >> 32)) as u32);
            if id != self.id && self.chain_parent.as_deref() != Some(id.as_str()) {
                return id;
            }
            salt += 1;
        }
    }
}

/// A webhook endpoint (`webhooks/*.md`): a JSON Schema for the payload and a prompt template
/// with `{field}` placeholders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    /// The endpoint slug (`/hook/<id>`).
    pub id: String,
    /// The prompt template (body).
    #[serde(default)]
    pub message: String,
    /// Run without the main session's context.
    #[serde(default)]
    pub isolated: bool,
    /// Model override.
    #[serde(default)]
    pub model: Option<String>,
    /// JSON Schema of the payload (required).
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// Extended thinking.
    #[serde(default = "yes")]
    pub thinking: bool,
    /// May ping the user.
    #[serde(default = "yes")]
    pub allow_ping: bool,
    /// `always`, `on_ping`, `freely` or `blocked`.
    #[serde(default = "on_ping")]
    pub update_main_session: String,
    /// Extra tools.
    #[serde(default)]
    pub allowed_tools: Option<Vec<String>>,
    /// Write a reflection after the run (newer upstream).
    #[serde(default = "yes")]
    pub reflect: bool,
}

impl Default for Webhook {
    fn default() -> Self {
        Self {
            id: String::new(),
            message: String::new(),
            isolated: false,
            model: None,
            fields: serde_json::Map::new(),
            thinking: true,
            allow_ping: true,
            update_main_session: on_ping(),
            allowed_tools: None,
            reflect: true,
        }
    }
}

impl Spec for Webhook {
    fn id(&self) -> &str {
        &self.id
    }
}

/// A skill (`skills/<name>/SKILL.md`); the name is its id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Skill {
    /// The directory name.
    pub name: String,
    /// One line for the model.
    pub description: String,
    /// The instructions (body).
    #[serde(default)]
    pub message: String,
    /// Tools the skill needs.
    #[serde(default)]
    pub allowed_tools: Option<Vec<String>>,
}

impl Spec for Skill {
    fn id(&self) -> &str {
        &self.name
    }
}

/// The spec directories of a data directory (each keeps its parsed listing between polls).
#[derive(Debug)]
pub(crate) struct SpecDirs {
    pub(crate) routines: SpecDir<Routine>,
    pub(crate) reminders: SpecDir<Reminder>,
    pub(crate) webhooks: SpecDir<Webhook>,
    pub(crate) skills: SkillDir<Skill>,
}

impl SpecDirs {
    pub(crate) fn new(root: &Path, durability: dotdir_atomic_store::Durability) -> Self {
        let options = DirOptions { durability, ..DirOptions::default() };
        Self {
            routines: SpecDir::with_options(root.join("routines"), options),
            reminders: SpecDir::with_options(root.join("reminders"), options),
            webhooks: SpecDir::with_options(root.join("webhooks"), options),
            skills: SkillDir::with_options(root.join("skills"), options),
        }
    }
}
