//! The omicos global home (`~/.omicos`) and workspace (`<workspace>/.omicos`) layouts: where
//! every file is, who may read it, how it is written, and what is backed up.
//!
//! # Main types
//! - [`HOME_LAYOUT`] (`omicos-home`) and [`WORKSPACE_LAYOUT`] (`omicos-workspace`): the declared
//!   entries, from which `dotdir check`, `inspect`, `backup` and the `.gitignore` are derived.
//!   The workspace layout also declares the cli data directory `cli/` entry for entry.
//! - [`GlobalHome`]: the global home, its credential files (`0600` in a `0700` directory) and the
//!   usage fallback.
//! - [`Workspace`]: one data directory, serve's or cli's ([`Flavor`]): [`Workspace::workspace_id`],
//!   [`Workspace::login`] / [`Workspace::switch_account`] / [`Workspace::logout`],
//!   [`Workspace::credentials`], the daemon lock [`Workspace::acquire_serve_lock`] and
//!   [`Workspace::running_daemon`], conversations ([`Workspace::create_conversation`],
//!   [`Workspace::append_history`], the index and the sync marks), trajectories
//!   ([`Workspace::new_turn`], [`Workspace::pending_trajectories`],
//!   [`Workspace::advance_trajectory_sync`]), usage, tool outputs and the restart log.
//! - [`Error`]: every variant names the path and what failed.
//!
//! The module only assembles: writes go through `dotdir-atomic-store` (typed documents, the
//! cross-process `update`), appends through `dotdir-jsonl-log`, and the daemon lock is
//! `dotdir-pidlock`.
//!
//! # Example
//! ```
//! # fn main() -> Result<(), dotdir::omicos::Error> {
//! # let tmp = tempfile::tempdir().unwrap();
//! use dotdir::omicos::{CloudLogin, GlobalHome, Flavor, Owner, Workspace, WorkspaceOptions};
//! use serde_json::json;
//!
//! // The environment is passed in: OMICOS_LOCAL_HOME, HOME, the working directory.
//! let home = GlobalHome::resolve(None, Some(tmp.path().as_os_str()), tmp.path())?;
//! let cwd = tmp.path().join("project");
//! let ws = Workspace::resolve(home, &WorkspaceOptions::new(Flavor::Serve, &cwd));
//! assert_eq!(ws.data_dir(), cwd.join(".omicos"));
//!
//! let id = ws.workspace_id()?; // created once, 32 lowercase hex digits
//! assert_eq!(ws.process_id()?, format!("local-{id}"));
//! let daemon = ws.acquire_serve_lock("omicos", 8765)?; // serve.pid = "<pid>\n8765\n"
//!
//! ws.login(&CloudLogin::new("https://auth.omicos.cn", "3f0c-user", None, "t0ken"))?;
//! ws.create_conversation("conv-1", "first analysis")?;
//! ws.append_history("conv-1", &json!({"role": "user", "content": "hello"}))?;
//! let turn = ws.new_turn()?; // trajectories/3f0c-user/turn_<hex>.jsonl
//! turn.append(&json!({"type": "tool_call", "name": "python"}))?;
//!
//! let owner = Owner::Account("3f0c-user".into());
//! let pending = ws.pending_trajectories("device-1", &owner)?;
//! let uploaded_to = pending[0].scan.next_offset;
//! ws.advance_trajectory_sync("device-1", turn.relative(), uploaded_to)?;
//! assert!(ws.pending_trajectories("device-1", &owner)?.is_empty());
//! drop(daemon); // removes serve.pid
//! # Ok(()) }
//! ```
//!
//! # Where the seed is silent: the choices made
//! - **Locations.** The home is `OMICOS_LOCAL_HOME` when set and not empty, else
//!   `$HOME/.omicos`. The data directory is, first match wins: `--data-dir` (the directory
//!   itself, for serve and cli alike), `$OMICOS_WORKSPACE_ROOT/.omicos` (`.omicos/cli` for cli),
//!   `<cwd>/.omicos` (`.omicos/cli`). Empty variables count as unset; relative paths are taken
//!   relative to the working directory. Isolation of serve and cli holds for the defaults; two
//!   programs given the same `--data-dir` share it.
//! - **Directory modes.** The home and the data directories hold credentials at their top
//!   level, so they are created `0700`, and an existing one loses its group and other bits.
//! - **`workspace_id`** is written as the 32 digits without a newline (one trailing newline is
//!   accepted on read). It is created under the cross-process lock of `workspace_id`, so racing
//!   processes agree; content that is not 32 lowercase hex digits is [`Error::BadWorkspaceId`]
//!   and is never replaced (repair is a person's decision: the id is the cloud identity).
//! - **Who owns the id.** `account.json` gains a `user_id` field naming the account that owns the
//!   current `workspace_id`; it is kept on logout. A login by the same account keeps the id; a
//!   first login on a workspace nobody owns adopts its id; a login by another account keeps
//!   `workspace_id` as `workspace_id.<old>.bak` and `cloud_login.json` as
//!   `cloud_login.json.<old>.bak`, then restores `workspace_id.<new>.bak` if the new account was
//!   here before, else creates a new id. `<user>` is the owner id (a UUID), checked as a path
//!   component. Backups are never overwritten: a second, different backup of the same account
//!   becomes `….<unix_ms>.bak`. The switch never leaves the workspace without either file:
//!   the backups are create-only copies (`write_new`) made first, the new files then replace
//!   the old ones atomically, `account.json` naming the new owner is the switch's commit
//!   point, and the backups now in use are removed last. An id that equals another account's
//!   backup is that account's, never adopted: so a switch stopped at any step (an I/O error,
//!   a crash) is completed exactly by calling it again. Everything runs under the
//!   `workspace_id` lock. A fresh login supersedes and removes a stale
//!   `cloud_login.json.<new>.bak` of the same account (an old token is not kept around).
//! - **Credentials.** The workspace-local `cloud_login.json` wins. The global one is the fallback
//!   only while the workspace has no `account.json` (a workspace that never logged in itself);
//!   once it has, deleting the local file logs the workspace out, as the seed says, instead of
//!   silently falling back to another login. A fallback login counts as the id's owner.
//! - **Secrets** beyond the seed's list: `account.json` (it holds a token) and
//!   `settings/llm-config.json` (custom providers may carry API keys) are `0600` and never backed
//!   up. Temporary files of interrupted writes may hold a secret's bytes: never backed up.
//!   `Debug` of [`CloudLogin`] and [`Account`] never prints a token.
//! - **Shapes** (tolerant: unknown fields are kept, missing ones default). `conversations.json` is
//!   `{"conversations": {"<id>": {title, created_at, last_active, owner_id?}}}`; `meta.json` is the
//!   same summary plus `session_id`; `conversation_sync.state.json` is keyed by cloud process id
//!   (`local-<workspace_id>`), then conversation id → `{uploaded_through, updated_at}`, so each
//!   account's marks survive a switch; `trajectories/.sync_state.json` is
//!   `{"<device_id>": {"<owner>/turn_<hex>.jsonl": <byte offset>}}`; `sidecar-restart.log` is
//!   plain text to `check` (the seed gives no format; dotdir's writer appends `{ts, message}`
//!   lines); times are RFC 3339 UTC with milliseconds. Marks and offsets only
//!   move forward.
//! - **Account isolation.** Turns go to `trajectories/<owner_id>/` (`anonymous/` before login;
//!   the owner id `anonymous` is refused), an upload lists one owner's directory only, and
//!   conversation summaries carry the creating account so
//!   [`Workspace::conversations_visible_to`] lists an account's own and pre-login ones only.
//! - **Symbolic links.** The data directory, the home and every directory of their layouts
//!   must be real directories: a symbolic link there is refused ([`Error::NotADirectory`])
//!   before anything is written under it. What is above them (the workspace) may be a link.
//! - **Names** that become path components (conversation, owner, device, session, tool-call,
//!   agent, skill ids, OAuth providers) are 1–128 bytes of `[A-Za-z0-9._@+-]`, not starting with
//!   a dot ([`validate_name`]).
//!
//! # Limitations
//! - The file schemas are inferred (the omicos source is not public); fields this module does not
//!   know are preserved, but a real omicos may write shapes it does not read.
//! - Since omicos 0.3.5 conversations may live under the global home; this module follows the
//!   seed's per-workspace `conversations/`.
//! - The locks are advisory: an omicos process that takes none can still race a create or a
//!   switch. Hard links must be supported by the filesystem holding the data directory.
//! - A crash (or an I/O error) between a conversation's directory and its index entry leaves
//!   a directory the index does not list; [`Workspace::conversation_index_drift`] reports it,
//!   and creating the id again completes it. A crash in the middle of an account switch
//!   leaves every file under a name that a repeated switch completes; none is lost.
//! - Unix only; Linux is the tested platform.

mod account;
mod conversations;
mod error;
mod home;
mod id;
mod layouts;
mod logs;
mod names;
mod workspace;

/// omicos in every form it is launched: the `omicos` binary (and `omicos-core`, the Rust
/// server's own name), or its npm package run by node.
pub const LAUNCHED_AS: dotdir_pidlock::Program =
    dotdir_pidlock::Program::named("omicos").aliases(&["omicos-core"]).modules(&["omicos"]);

pub use self::{
    account::{Account, CredentialSource, Credentials, Owner, Realigned, validate_owner_id},
    conversations::{
        Conversation, ConversationIndex, ConversationMeta, ConversationSummary,
        ConversationSyncState, SyncMark,
    },
    error::{Error, Result},
    home::{CloudLogin, CloudUser, GlobalHome},
    id::WorkspaceId,
    layouts::{HOME_LAYOUT, WORKSPACE_LAYOUT},
    logs::{PendingUpload, SPOOL_THRESHOLD_BYTES, TrajectorySyncState, TurnLog},
    names::validate_name,
    workspace::{Daemon, DataDirSource, Flavor, Workspace, WorkspaceOptions},
};
