//! The omicos global home (`~/.omicos`) and workspace (`<workspace>/.omicos`) layouts.
//!
//! **In progress** (issue #9).

mod conversations;
mod error;
mod home;
mod layouts;
mod logs;
mod names;
mod workspace;

pub use self::{
    conversations::{
        Conversation, ConversationIndex, ConversationMeta, ConversationSummary,
        ConversationSyncState, SyncMark,
    },
    error::{Error, Result},
    home::{CloudLogin, CloudUser, GlobalHome},
    layouts::{HOME_LAYOUT, WORKSPACE_LAYOUT},
    logs::{PendingUpload, SPOOL_THRESHOLD_BYTES, TrajectorySyncState, TurnLog},
    names::validate_name,
    workspace::{
        Account, CredentialSource, Credentials, Daemon, DataDirSource, Mode, Owner, Realigned,
        Workspace, WorkspaceId, WorkspaceOptions, validate_owner_id,
    },
};
