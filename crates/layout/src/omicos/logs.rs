//! The append-only files of a workspace: conversation `history.jsonl`, the per-account
//! trajectories with their per-device upload offsets, `usage/<session>.jsonl`, the spooled tool
//! outputs, `sidecar-restart.log`, and the local agent and skill overrides.

use crate::IoError;
use dotdir_engine::Step;
use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use dotdir_atomic_store::{self as store, Document};
use dotdir_jsonl_log::{Log, Scan};
use serde_json::Value;

use super::{
    Error, Owner, Result, Workspace,
    account::{ANONYMOUS, validate_owner_id},
    home::GlobalHome,
    names::{now_ms, now_rfc3339, random_hex, validate_name},
};

/// Tool results of at least this many bytes are spooled to `tool_outputs/`.
pub const SPOOL_THRESHOLD_BYTES: usize = 16_384;

/// `trajectories/.sync_state.json`: by `device_id`, the byte offset up to which each trajectory
/// file (`<owner_id>/turn_<hex>.jsonl`, relative to `trajectories/`) has been uploaded.
pub type TrajectorySyncState = BTreeMap<String, BTreeMap<String, u64>>;

/// One turn's trajectory log, `trajectories/<owner>/turn_<hex>.jsonl`.
#[derive(Debug)]
pub struct TurnLog {
    relative: String,
    log: Log<Value>,
}

impl TurnLog {
    /// The file, relative to `trajectories/` (`<owner>/turn_<hex>.jsonl`): the key of the
    /// upload state.
    pub fn relative(&self) -> &str {
        &self.relative
    }

    /// The file.
    pub fn path(&self) -> &Path {
        self.log.path()
    }

    /// Appends one record; returns the offset just past it.
    pub fn append(&self, record: &Value) -> Result<u64> {
        Ok(self.log.append(record)?.end)
    }

    /// The underlying log (reads, repair).
    pub fn log(&self) -> &Log<Value> {
        &self.log
    }
}

/// Records of one trajectory file not yet uploaded from a device.
#[derive(Debug)]
pub struct PendingUpload {
    /// The file, relative to `trajectories/`.
    pub relative: String,
    /// The offset the upload resumes from.
    pub from: u64,
    /// The records after `from`, and the offset to record once they are acknowledged.
    pub scan: Scan<Value>,
}

impl Workspace {
    /// `trajectories/`.
    pub fn trajectories_dir(&self) -> PathBuf {
        self.path("trajectories")
    }

    /// `trajectories/.sync_state.json`.
    pub fn trajectory_sync(&self) -> Document<TrajectorySyncState> {
        self.dir().document(self.trajectories_dir().join(".sync_state.json"))
    }

    /// The history log of conversation `id` (which must exist).
    pub fn history(&self, id: &str) -> Result<Log<Value>> {
        Ok(log_at(self.existing_conversation(id)?.history_path(), self.durability()))
    }

    /// Appends one record to conversation `id`'s `history.jsonl`; returns the offset past it.
    pub fn append_history(&self, id: &str, record: &Value) -> Result<u64> {
        Ok(self.history(id)?.append(record)?.end)
    }

    /// A new turn log for whoever is logged in now ([`Workspace::owner`]): `anonymous/` before
    /// login, the account's own directory after. The turn id is 16 random bytes in hex.
    pub fn new_turn(&self) -> Result<TurnLog> {
        let owner = self.owner()?;
        self.turn(&owner, &random_hex(16)?)
    }

    /// The turn log `turn_<hex>.jsonl` of `owner` (the turn id must be lowercase hex).
    pub fn turn(&self, owner: &Owner, turn_hex: &str) -> Result<TurnLog> {
        if turn_hex.is_empty()
            || turn_hex.len() > 64
            || !turn_hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(Error::InvalidName {
                what: "turn id",
                name: turn_hex.to_owned(),
                reason: "expected 1 to 64 lowercase hex digits",
            });
        }
        if let Owner::Account(id) = owner {
            validate_owner_id(id)?;
        }
        let dir = self.create_dir(&format!("trajectories/{}", owner.dir_name()))?;
        let name = format!("turn_{turn_hex}.jsonl");
        Ok(TurnLog {
            relative: format!("{}/{name}", owner.dir_name()),
            log: log_at(dir.join(name), self.durability()),
        })
    }

    /// The trajectory files of `owner`, relative to `trajectories/`, sorted.
    pub fn trajectory_files(&self, owner: &Owner) -> Result<Vec<String>> {
        let dir = self.trajectories_dir().join(owner.dir_name());
        let mut files = Vec::new();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
            Err(e) => {
                return Err(Error::Io(IoError { step: Step::ListDir, path: dir, source: e }));
            }
        };
        for entry in entries {
            let entry = entry.map_err(IoError::on(Step::ListDir, &dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("turn_") && name.ends_with(".jsonl") {
                files.push(format!("{}/{name}", owner.dir_name()));
            }
        }
        files.sort();
        Ok(files)
    }

    /// What device `device_id` has not uploaded yet of `owner`'s trajectories: for each file,
    /// the records after the recorded byte offset. Only `owner`'s own directory is read, so an
    /// upload for one account never carries another's turns.
    pub fn pending_trajectories(
        &self,
        device_id: &str,
        owner: &Owner,
    ) -> Result<Vec<PendingUpload>> {
        validate_name("device id", device_id)?;
        let state = self.trajectory_sync().read()?.unwrap_or_default();
        let offsets = state.get(device_id);
        let mut pending = Vec::new();
        for relative in self.trajectory_files(owner)? {
            let from = offsets.and_then(|o| o.get(&relative)).copied().unwrap_or(0);
            let log: Log<Value> =
                log_at(self.trajectories_dir().join(&relative), self.durability());
            let scan = log.read_from(from)?;
            if !scan.records.is_empty() {
                pending.push(PendingUpload { relative, from, scan });
            }
        }
        Ok(pending)
    }

    /// Records that device `device_id` uploaded `relative` up to byte `offset` (never moving
    /// back); returns the offset now stored.
    pub fn advance_trajectory_sync(
        &self,
        device_id: &str,
        relative: &str,
        offset: u64,
    ) -> Result<u64> {
        validate_name("device id", device_id)?;
        let mut parts = relative.splitn(2, '/');
        let (Some(owner), Some(file)) = (parts.next(), parts.next()) else {
            return Err(Error::InvalidName {
                what: "trajectory file",
                name: relative.to_owned(),
                reason: "expected <owner_id>/turn_<hex>.jsonl",
            });
        };
        if owner != ANONYMOUS {
            validate_owner_id(owner)?;
        }
        validate_name("trajectory file", file)?;
        let _ = self.real_dir("trajectories")?;
        Ok(self.trajectory_sync().update(|state| {
            let stored = state
                .entry(device_id.to_owned())
                .or_default()
                .entry(relative.to_owned())
                .or_insert(0);
            *stored = (*stored).max(offset);
            *stored
        })?)
    }

    /// `usage/<session>.jsonl`.
    pub fn usage_log(&self, session_id: &str) -> Result<Log<Value>> {
        validate_name("session id", session_id)?;
        let dir = self.create_dir("usage")?;
        Ok(log_at(dir.join(format!("{session_id}.jsonl")), self.durability()))
    }

    /// Spools a large tool result to `tool_outputs/<unix_ms>__<tool_call_id>.txt` and returns
    /// the path.
    pub fn spool_tool_output(&self, tool_call_id: &str, output: &[u8]) -> Result<PathBuf> {
        validate_name("tool call id", tool_call_id)?;
        let dir = self.create_dir("tool_outputs")?;
        let path = dir.join(format!("{}__{tool_call_id}.txt", now_ms()));
        let _ = store::write(&path, output, &self.dir().write_options(&path))?;
        Ok(path)
    }

    /// `timeline/`.
    pub fn timeline_dir(&self) -> PathBuf {
        self.path("timeline")
    }

    /// `sidecar-restart.log`.
    pub fn sidecar_restart_log_path(&self) -> PathBuf {
        self.path("sidecar-restart.log")
    }

    /// Appends `{"ts": <RFC 3339 time>, "message": …}` as one line to `sidecar-restart.log`.
    /// The seed does not give the format; one JSON object per line is what every other log of
    /// the workspace uses, and the append-only writer never tears or interleaves a line.
    pub fn log_sidecar_restart(&self, message: &str) -> Result<()> {
        self.ensure()?;
        let log: Log<Value> = log_at(self.sidecar_restart_log_path(), self.durability());
        let _ = log.append(&serde_json::json!({ "ts": now_rfc3339(), "message": message }))?;
        Ok(())
    }

    /// `agents/<id>.md`, a local agent override (lab+). The directory is created only when an
    /// override is written.
    pub fn agent_override_path(&self, agent_id: &str) -> Result<PathBuf> {
        validate_name("agent id", agent_id)?;
        Ok(self.path("agents").join(format!("{agent_id}.md")))
    }

    /// `skills/<id>/`, a local skill override (lab+), holding `SKILL.md`.
    pub fn skill_override_dir(&self, skill_id: &str) -> Result<PathBuf> {
        validate_name("skill id", skill_id)?;
        Ok(self.path("skills").join(skill_id))
    }
}

impl GlobalHome {
    /// `usage/<session>.jsonl` of the global home: the fallback when there is no workspace.
    pub fn usage_log(&self, session_id: &str) -> Result<Log<Value>> {
        validate_name("session id", session_id)?;
        self.ensure()?;
        let dir = self.dir().create_dir("usage")?;
        Ok(log_at(dir.join(format!("{session_id}.jsonl")), self.durability()))
    }
}

/// A log at `path` with the layout's durability (every other option the log's default).
fn log_at<T>(path: PathBuf, durability: store::Durability) -> Log<T> {
    Log::with_options(path, dotdir_jsonl_log::LogOptions::new().durability(durability))
}
