//! Conversations: `conversations/<id>/{history.jsonl, meta.json, outputs/, uploads/}`, the
//! `conversations.json` index and the `conversation_sync.state.json` high-water marks.

use crate::IoError;
use dotdir_engine::Step;
use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use dotdir_atomic_store::Document;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{
    Error, Result, Workspace,
    names::{now_rfc3339, validate_name},
};

/// A summary of one conversation in the `conversations.json` index.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConversationSummary {
    /// The title.
    #[serde(default)]
    pub title: String,
    /// When it was created (RFC 3339, UTC).
    #[serde(default)]
    pub created_at: String,
    /// When it was last active (RFC 3339, UTC).
    #[serde(default)]
    pub last_active: String,
    /// The account that created it (`None`: before login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    /// Fields this version does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `conversations.json`: every conversation of the workspace by id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConversationIndex {
    /// Summaries by conversation id.
    #[serde(default)]
    pub conversations: BTreeMap<String, ConversationSummary>,
    /// Fields this version does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `conversations/<id>/meta.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConversationMeta {
    /// The conversation id (the directory name).
    #[serde(default)]
    pub session_id: String,
    /// The title, created-at, last-active and owner, as in the index.
    #[serde(flatten)]
    pub summary: ConversationSummary,
}

/// One high-water mark of `conversation_sync.state.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncMark {
    /// How many history records the cloud has acknowledged.
    #[serde(default)]
    pub uploaded_through: u64,
    /// When the mark last moved (RFC 3339, UTC).
    #[serde(default)]
    pub updated_at: String,
    /// Fields this version does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `conversation_sync.state.json`: high-water marks by cloud process id
/// (`local-<workspace_id>`), then by conversation id. Keying by process keeps each account's
/// marks apart across an account switch.
pub type ConversationSyncState = BTreeMap<String, BTreeMap<String, SyncMark>>;

/// The paths of one conversation (the id is a validated path component).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    id: String,
    dir: PathBuf,
    durability: dotdir_atomic_store::Durability,
}

impl Conversation {
    /// The conversation id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `conversations/<id>/`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `history.jsonl`.
    pub fn history_path(&self) -> PathBuf {
        self.dir.join("history.jsonl")
    }

    /// `meta.json`.
    pub fn meta_path(&self) -> PathBuf {
        self.dir.join("meta.json")
    }

    /// `outputs/`.
    pub fn outputs_dir(&self) -> PathBuf {
        self.dir.join("outputs")
    }

    /// `uploads/`.
    pub fn uploads_dir(&self) -> PathBuf {
        self.dir.join("uploads")
    }

    /// The `meta.json` document.
    pub fn meta(&self) -> Document<ConversationMeta> {
        Document::new(self.meta_path())
            .options(dotdir_atomic_store::WriteOptions::new().durability(self.durability))
    }
}

impl Workspace {
    /// `conversations/`.
    pub fn conversations_dir(&self) -> PathBuf {
        self.path("conversations")
    }

    /// `conversations.json`.
    pub fn conversation_index_path(&self) -> PathBuf {
        self.path("conversations.json")
    }

    /// `conversation_sync.state.json`.
    pub fn conversation_sync_path(&self) -> PathBuf {
        self.path("conversation_sync.state.json")
    }

    /// The index document; [`Document::update`] keeps it consistent across processes.
    pub fn conversation_index(&self) -> Document<ConversationIndex> {
        self.dir().document(self.conversation_index_path())
    }

    /// The sync-state document.
    pub fn conversation_sync(&self) -> Document<ConversationSyncState> {
        self.dir().document(self.conversation_sync_path())
    }

    /// The paths of conversation `id`, after checking that `id` is a safe path component. Does
    /// not check that the conversation exists.
    pub fn conversation(&self, id: &str) -> Result<Conversation> {
        validate_name("conversation id", id)?;
        Ok(Conversation {
            id: id.to_owned(),
            dir: self.conversations_dir().join(id),
            durability: self.durability(),
        })
    }

    /// Creates conversation `id` — its directory with `outputs/` and `uploads/`, `meta.json`,
    /// and its entry in `conversations.json` — under the index's cross-process lock, so
    /// concurrent creators in any process all end up in the index. An id the index lists is
    /// [`Error::ConversationExists`] — unless it lists it with the same title and owner: then
    /// this is a repeated create (of one that reported an error after its index entry was
    /// written), and the conversation is returned, its directories completed.
    ///
    /// The index entry is the create's commit point, written last. A directory the index does
    /// not list is what a create that failed or was killed before that point left behind (no
    /// other creator can be half-way: they all hold the index lock): it is completed — its
    /// files are kept, `meta.json` is written anew, the id is listed — so a failed create can
    /// always be repeated.
    pub fn create_conversation(&self, id: &str, title: &str) -> Result<Conversation> {
        let conversation = self.conversation(id)?;
        let owner_id = match self.owner()? {
            super::Owner::Account(id) => Some(id),
            super::Owner::Anonymous => None,
        };
        self.create_dir("conversations")?;
        let _ = self.real_dir(&format!("conversations/{id}"))?;
        let created = self.conversation_index().try_update(|index| {
            if let Some(listed) = index.conversations.get(id) {
                let same = listed.title == title && listed.owner_id == owner_id;
                if !same || !conversation.meta_path().is_file() {
                    return Err(Error::ConversationExists {
                        id: id.to_owned(),
                        path: conversation.dir.clone(),
                    });
                }
                let _ = self.dir().create_dir(conversation.outputs_dir())?;
                let _ = self.dir().create_dir(conversation.uploads_dir())?;
                return Ok(());
            }
            let _ = self.dir().create_dir(conversation.outputs_dir())?;
            let _ = self.dir().create_dir(conversation.uploads_dir())?;
            let now = now_rfc3339();
            let summary = ConversationSummary {
                title: title.to_owned(),
                created_at: now.clone(),
                last_active: now,
                owner_id: owner_id.clone(),
                extra: Map::new(),
            };
            let meta = ConversationMeta { session_id: id.to_owned(), summary: summary.clone() };
            let _ = conversation.meta().write(&meta)?;
            let _ = index.conversations.insert(id.to_owned(), summary);
            Ok(())
        })?;
        created?;
        Ok(conversation)
    }

    /// Records activity on conversation `id`: `last_active` (and the title, when given) in its
    /// `meta.json` and in the index, under the index lock.
    pub fn touch_conversation(&self, id: &str, title: Option<&str>) -> Result<()> {
        let conversation = self.existing_conversation(id)?;
        self.conversation_index().try_update(|index| {
            let now = now_rfc3339();
            let mut meta = conversation.meta().read()?.unwrap_or_default();
            meta.session_id = id.to_owned();
            meta.summary.last_active.clone_from(&now);
            if let Some(title) = title {
                title.clone_into(&mut meta.summary.title);
            }
            let _ = conversation.meta().write(&meta)?;
            let _ = index.conversations.insert(id.to_owned(), meta.summary);
            Ok::<(), Error>(())
        })?
    }

    /// The conversations the index lists for `owner` (its own and those created before login),
    /// so one account never lists another's.
    pub fn conversations_visible_to(&self, owner: &super::Owner) -> Result<Vec<String>> {
        let index = self.conversation_index().read()?.unwrap_or_default();
        let mine = |s: &ConversationSummary| match (owner, &s.owner_id) {
            (_, None) => true,
            (super::Owner::Account(me), Some(theirs)) => me == theirs,
            (super::Owner::Anonymous, Some(_)) => false,
        };
        Ok(index.conversations.iter().filter(|(_, s)| mine(s)).map(|(id, _)| id.clone()).collect())
    }

    /// Conversation directories on disk that the index does not list, and index entries whose
    /// directory is missing: what a crash between the two writes of a create can leave.
    pub fn conversation_index_drift(&self) -> Result<(Vec<String>, Vec<String>)> {
        let index = self.conversation_index().read()?.unwrap_or_default();
        let dir = self.conversations_dir();
        let mut on_disk = Vec::new();
        match fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry.map_err(IoError::on(Step::ListDir, &dir))?;
                    if entry.file_type().map_err(IoError::on(Step::Inspect, entry.path()))?.is_dir()
                    {
                        on_disk.push(entry.file_name().to_string_lossy().into_owned());
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::Io(IoError { step: Step::ListDir, path: dir, source: e }));
            }
        }
        on_disk.sort();
        let unlisted =
            on_disk.iter().filter(|id| !index.conversations.contains_key(*id)).cloned().collect();
        let missing =
            index.conversations.keys().filter(|id| !on_disk.contains(id)).cloned().collect();
        Ok((unlisted, missing))
    }

    /// The high-water mark of conversation `id` for this workspace's cloud process.
    pub fn conversation_sync_mark(&self, id: &str) -> Result<u64> {
        validate_name("conversation id", id)?;
        let process = self.process_id()?;
        let state = self.conversation_sync().read()?.unwrap_or_default();
        Ok(state.get(&process).and_then(|m| m.get(id)).map_or(0, |m| m.uploaded_through))
    }

    /// Moves the high-water mark of conversation `id` forward to `uploaded_through` (never
    /// back), for this workspace's cloud process; returns the mark now stored.
    pub fn advance_conversation_sync(&self, id: &str, uploaded_through: u64) -> Result<u64> {
        validate_name("conversation id", id)?;
        let _ = self.real_dir("")?;
        let process = self.process_id()?;
        Ok(self.conversation_sync().update(|state| {
            let mark = state.entry(process).or_default().entry(id.to_owned()).or_default();
            if uploaded_through > mark.uploaded_through {
                mark.uploaded_through = uploaded_through;
                mark.updated_at = now_rfc3339();
            }
            mark.uploaded_through
        })?)
    }

    pub(crate) fn existing_conversation(&self, id: &str) -> Result<Conversation> {
        let conversation = self.conversation(id)?;
        let _ = self.real_dir(&format!("conversations/{id}"))?;
        if !conversation.dir.is_dir() {
            return Err(Error::NoSuchConversation { id: id.to_owned(), path: conversation.dir });
        }
        Ok(conversation)
    }
}
