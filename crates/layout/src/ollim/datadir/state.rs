//! The JSON and raw state files under `state/`: sessions, fork messages, inquiries, pending
//! updates and the runtime config, each read-modify-written under its cross-process lock.

use std::sync::atomic::Ordering;

use dotdir_atomic_store::{DEFAULT_MAX_DOCUMENT, Document, lock, read, remove, write};
use serde::de::DeserializeOwned;

use crate::ollim::{
    DataDir, Error, ForkLookup, ForkMessage, Inquiries, Inquiry, PendingUpdate, Result,
    RuntimeConfig, SessionEventKind, TTL, parse_session_id, push_capped, unix_seconds,
};

/// File names under `state/`.
pub mod files {
    /// The current session id.
    pub const SESSIONS: &str = "sessions.json";
    /// Session lifecycle events.
    pub const SESSION_HISTORY: &str = "session_history.jsonl";
    /// Discord message to fork session mapping.
    pub const FORK_MESSAGES: &str = "fork_messages.json";
    /// Button inquiries.
    pub const INQUIRIES: &str = "inquiries.json";
    /// Updates queued for the main session.
    pub const PENDING_UPDATES: &str = "pending_updates.json";
    /// Runtime configuration.
    pub const CONFIG: &str = "config.json";
    /// Ping budget.
    pub const PING_BUDGET: &str = "ping_budget.json";
    /// Single-instance pid record.
    pub const BOT_PID: &str = "bot.pid";
    /// Google OAuth client credentials (secret).
    pub const CREDENTIALS: &str = "credentials.json";
    /// Google OAuth token (secret).
    pub const TOKEN: &str = "token.json";
}

/// Moves an ephemeral state file that does not decode aside to `<name>.corrupt` (kept for a
/// person to look at, ignored by git), so the feature that owns it starts afresh instead of
/// failing forever (the reference raised on every call). Returns whether it did.
fn quarantine_if_corrupt<T: DeserializeOwned>(doc: &Document<T>) -> Result<bool> {
    let durability = doc.write_options().durability;
    if !matches!(doc.read(), Err(dotdir_atomic_store::Error::Decode { .. })) {
        return Ok(false);
    }
    let _guard = lock(doc.path())?;
    if !matches!(doc.read(), Err(dotdir_atomic_store::Error::Decode { .. })) {
        return Ok(false);
    }
    let _ = dotdir_atomic_store::set_aside(doc.path(), durability)?;
    Ok(true)
}

impl DataDir {
    fn ttl_cutoff(&self) -> f64 {
        unix_seconds(self.clock.now()) - TTL.as_secs_f64()
    }

    // ---- sessions.json -------------------------------------------------------------------

    /// The current session id: `None` when the file is missing, empty or in the legacy JSON
    /// form (ignored, as the reference does).
    pub fn session_id(&self) -> Result<Option<String>> {
        let path = self.state_dir().join(files::SESSIONS);
        Ok(read(&path, 64 * 1024)?.and_then(|bytes| parse_session_id(&bytes)))
    }

    /// Saves the session id (raw string, no newline) and logs the reference's lifecycle event:
    /// `created` when there was none, `compacted` (parent = the old id) when it changed, nothing
    /// while a swap is in progress. Detection and write happen under the file's cross-process
    /// lock, so two processes never both log `created`.
    pub fn save_session_id(&self, session_id: &str) -> Result<()> {
        self.check_state_dir()?;
        if session_id.trim().is_empty() || session_id.contains(['\n', '\r', '\0']) {
            return Err(Error::refused("session id", "must be a non-empty single line"));
        }
        let path = self.state_dir().join(files::SESSIONS);
        let _guard = lock(&path)?;
        let event = if self.swap_in_progress.load(Ordering::SeqCst) {
            None
        } else {
            match self.session_id()? {
                None => Some((SessionEventKind::Created, None)),
                Some(old) if old != session_id => Some((SessionEventKind::Compacted, Some(old))),
                Some(_) => None,
            }
        };
        if let Some((kind, parent)) = event
            && !self.transition_logged(kind, session_id, parent.as_deref())?
        {
            self.log_session_event(kind, session_id, parent.as_deref())?;
        }
        let _ = write(&path, session_id.as_bytes(), &self.dir.write_options(&path))?;
        Ok(())
    }

    /// Whether the last `created`/`compacted` event of the log's tail is this very transition:
    /// a call that logged it and then failed writing `sessions.json` is retried without logging
    /// it twice. (Only [`DataDir::save_session_id`] logs these two, under the same lock.)
    fn transition_logged(
        &self,
        kind: SessionEventKind,
        session_id: &str,
        parent: Option<&str>,
    ) -> Result<bool> {
        let tail = self.session_log().last(16)?;
        Ok(tail
            .records
            .iter()
            .rev()
            .map(|r| &r.value)
            .find(|e| matches!(e.event, SessionEventKind::Created | SessionEventKind::Compacted))
            .is_some_and(|e| {
                e.event == kind
                    && e.session_id == session_id
                    && e.parent_session_id.as_deref() == parent
            }))
    }

    /// Suppresses the automatic `created`/`compacted` events of [`DataDir::save_session_id`]
    /// (the reference's `_swap_in_progress`); the swapper logs `swapped` itself.
    pub fn set_swap_in_progress(&self, swapping: bool) {
        self.swap_in_progress.store(swapping, Ordering::SeqCst);
    }

    /// Removes the session id (after `cleared`).
    pub fn delete_session_id(&self) -> Result<()> {
        self.check_state_dir()?;
        let path = self.state_dir().join(files::SESSIONS);
        let _guard = lock(&path)?;
        self.remove_state_file(&path)
    }

    // ---- fork_messages.json --------------------------------------------------------------

    /// The live fork records (records older than 7 days are pruned on read; the file itself is
    /// pruned on the next write).
    pub fn fork_messages(&self) -> Result<Vec<ForkMessage>> {
        let cutoff = self.ttl_cutoff();
        let all: Vec<ForkMessage> =
            self.state_document(files::FORK_MESSAGES).read()?.unwrap_or_default();
        Ok(all.into_iter().filter(|r| r.ts > cutoff).collect())
    }

    /// Records that `message_ids` belong to the fork `fork_session_id` (one record each, same
    /// `ts`), pruning expired records, under the file's cross-process lock. A file that does not
    /// decode is moved aside to `fork_messages.json.corrupt` first (the same holds for
    /// [`DataDir::register_inquiry`] and [`DataDir::append_update`]).
    pub fn record_fork_messages(
        &self,
        message_ids: &[u64],
        fork_session_id: &str,
        parent_session_id: Option<&str>,
    ) -> Result<()> {
        self.check_state_dir()?;
        if message_ids.is_empty() {
            return Ok(());
        }
        let now = unix_seconds(self.clock.now());
        let cutoff = self.ttl_cutoff();
        let doc = self.state_document::<Vec<ForkMessage>>(files::FORK_MESSAGES);
        quarantine_if_corrupt(&doc)?;
        doc.update(|records| {
            records.retain(|r| r.ts > cutoff);
            records.extend(message_ids.iter().map(|&message_id| ForkMessage {
                message_id,
                fork_session_id: fork_session_id.to_owned(),
                parent_session_id: parent_session_id.map(str::to_owned),
                ts: now,
            }));
        })?;
        Ok(())
    }

    /// Which fork a Discord message belongs to: the first live record wins; a message with only
    /// expired records is [`ForkLookup::Expired`].
    pub fn lookup_fork_session(&self, message_id: u64) -> Result<ForkLookup> {
        let cutoff = self.ttl_cutoff();
        let all: Vec<ForkMessage> =
            self.state_document(files::FORK_MESSAGES).read()?.unwrap_or_default();
        let mut expired = false;
        for record in all.iter().filter(|r| r.message_id == message_id) {
            if record.ts > cutoff {
                return Ok(ForkLookup::Found(record.fork_session_id.clone()));
            }
            expired = true;
        }
        Ok(if expired { ForkLookup::Expired } else { ForkLookup::Unknown })
    }

    /// Replaces every fork record (for repairs and migrations), under the lock.
    pub fn save_fork_messages(&self, records: &[ForkMessage]) -> Result<()> {
        self.check_state_dir()?;
        let doc = self.state_document::<Vec<ForkMessage>>(files::FORK_MESSAGES);
        doc.update(|all| *all = records.to_vec())?;
        Ok(())
    }

    // ---- inquiries.json ------------------------------------------------------------------

    /// The live inquiries, in file order (expired entries pruned on read).
    pub fn inquiries(&self) -> Result<Inquiries> {
        let mut all: Inquiries = self.state_document(files::INQUIRIES).read()?.unwrap_or_default();
        all.prune(self.ttl_cutoff());
        Ok(all)
    }

    /// Registers a button prompt and returns its new 8-hex key. Expired entries are pruned; a
    /// key collision picks another key (the reference silently overwrote).
    pub fn register_inquiry(&self, prompt: &str) -> Result<String> {
        self.check_state_dir()?;
        let now = unix_seconds(self.clock.now());
        let cutoff = self.ttl_cutoff();
        let doc = self.state_document::<Inquiries>(files::INQUIRIES);
        quarantine_if_corrupt(&doc)?;
        Ok(doc.update(|all| {
            all.prune(cutoff);
            let key = loop {
                let key = format!("{:08x}", fastrand::u32(..));
                if all.get(&key).is_none() {
                    break key;
                }
            };
            all.insert(key.clone(), Inquiry { prompt: prompt.to_owned(), ts: now });
            key
        })?)
    }

    /// Replaces every inquiry (for repairs and migrations), under the lock.
    pub fn save_inquiries(&self, inquiries: &Inquiries) -> Result<()> {
        self.check_state_dir()?;
        let doc = self.state_document::<Inquiries>(files::INQUIRIES);
        doc.update(|all| *all = inquiries.clone())?;
        Ok(())
    }

    /// The prompt of a live inquiry, without consuming it.
    pub fn peek_inquiry(&self, key: &str) -> Result<Option<String>> {
        Ok(self.inquiries()?.get(key).map(|i| i.prompt.clone()))
    }

    /// Consumes a live inquiry; `None` (and nothing written) when it is missing or expired.
    pub fn pop_inquiry(&self, key: &str) -> Result<Option<String>> {
        self.check_state_dir()?;
        let cutoff = self.ttl_cutoff();
        let doc = self.state_document::<Inquiries>(files::INQUIRIES);
        let outcome = doc.try_update(|all| {
            match all.get(key) {
                Some(inquiry) if inquiry.ts > cutoff => {}
                _ => return Err(()),
            }
            all.prune(cutoff);
            Ok(all.remove(key).map(|i| i.prompt))
        })?;
        Ok(outcome.ok().flatten())
    }

    // ---- pending_updates.json ------------------------------------------------------------

    /// Queues a background fork's update for the main session (cap 10 with the sentinel), under
    /// the file's cross-process lock — not the reference's in-process `asyncio.Lock`.
    pub fn append_update(&self, message: &str) -> Result<()> {
        self.check_state_dir()?;
        let update = PendingUpdate { ts: self.now_iso(), message: message.to_owned() };
        let doc = self.state_document::<Vec<PendingUpdate>>(files::PENDING_UPDATES);
        quarantine_if_corrupt(&doc)?;
        doc.update(|list| push_capped(list, update))?;
        Ok(())
    }

    /// The queued updates, without consuming them.
    pub fn peek_updates(&self) -> Result<Vec<PendingUpdate>> {
        Ok(self.state_document(files::PENDING_UPDATES).read()?.unwrap_or_default())
    }

    /// Replaces the queue (for repairs and migrations), under the lock.
    pub fn save_updates(&self, updates: &[PendingUpdate]) -> Result<()> {
        self.check_state_dir()?;
        let doc = self.state_document::<Vec<PendingUpdate>>(files::PENDING_UPDATES);
        doc.update(|list| *list = updates.to_vec())?;
        Ok(())
    }

    /// Takes every queued update and removes the file, under the lock.
    pub fn pop_updates(&self) -> Result<Vec<PendingUpdate>> {
        self.check_state_dir()?;
        let doc = self.state_document::<Vec<PendingUpdate>>(files::PENDING_UPDATES);
        let _guard = lock(doc.path())?;
        let list = doc.read()?.unwrap_or_default();
        self.remove_state_file(doc.path())?;
        Ok(list)
    }

    /// Drops every queued update.
    pub fn clear_updates(&self) -> Result<()> {
        self.check_state_dir()?;
        let path = self.state_dir().join(files::PENDING_UPDATES);
        let _guard = lock(&path)?;
        self.remove_state_file(&path)
    }

    // ---- config.json ---------------------------------------------------------------------

    /// The runtime config: the defaults when the file is missing (nothing is written), legacy
    /// boolean `thinking_*` values migrated, unknown keys ignored. A value of the wrong JSON type
    /// is an error naming the file (the reference built the object unchecked).
    pub fn config(&self) -> Result<RuntimeConfig> {
        Ok(self.state_document(files::CONFIG).read()?.unwrap_or_default())
    }

    /// Sets one key from a user's text with the reference's parsing rules and saves all ten
    /// keys, under the file's lock. Returns the new config.
    pub fn set_config(&self, key: &str, raw: &str) -> Result<RuntimeConfig> {
        self.check_state_dir()?;
        let doc = self.state_document::<RuntimeConfig>(files::CONFIG);
        doc.try_update(|config| {
            config.set_value(key, raw)?;
            Ok::<_, String>(config.clone())
        })?
        .map_err(|reason| Error::refused(format!("config key {key}"), reason))
    }

    /// Saves a whole config (all ten keys).
    pub fn save_config(&self, config: &RuntimeConfig) -> Result<()> {
        self.check_state_dir()?;
        let doc = self.state_document::<RuntimeConfig>(files::CONFIG);
        let _guard = lock(doc.path())?;
        let _ = doc.write(config)?;
        Ok(())
    }

    // ---- secrets -------------------------------------------------------------------------

    /// Writes `state/token.json` or `state/credentials.json` (`name`) as a `0o600` secret
    /// (never committed, never backed up; a symlink at the path is refused).
    pub fn write_secret(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let relative = format!("{}/{name}", crate::ollim::paths::STATE_DIR_NAME);
        Ok(self.dir.write_secret(&relative, bytes)?)
    }

    /// Reads a secret (`token.json` or `credentials.json`); `None` when missing.
    pub fn read_secret(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(read(&self.state_dir().join(name), DEFAULT_MAX_DOCUMENT)?)
    }
}

impl DataDir {
    /// Removes a state file if it is there (a symlink itself, never its target), as durably as
    /// the data directory's writes.
    fn remove_state_file(&self, path: &std::path::Path) -> Result<()> {
        let _ = remove(path, self.options.durability)?;
        Ok(())
    }
}
