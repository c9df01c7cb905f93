//! The public write operations the fault injection and the symlink planting drive: how to prepare
//! the old version of a directory (in the parent, never injected) and how to run the operation
//! (in a child, armed just before the call under test).

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use dotdir::{
    atomic_store::{self, Batch, Document, JsonStyle, WriteOptions},
    frontmatter::SpecDir,
    git_journal::{Journal, JournalOptions},
    jsonl_log::{Durability, LineStyle, Log, LogOptions},
    ollim::{self, DataDir},
    omicos,
    pidlock::{PidLock, RecordFormat},
    ping_bucket::{FakeClock, PingBudget},
};
use serde_json::{Value, json};

use super::child::arm;

/// One write operation.
pub(crate) struct Op {
    /// Its name on the command line and in reports.
    pub(crate) name: &'static str,
    /// Creates the old version in a fresh directory (parent process, no injection).
    pub(crate) prepare: fn(&Path) -> Result<()>,
    /// Opens what the operation needs, calls [`arm`], then runs the operation once.
    pub(crate) run: fn(&Path) -> Result<()>,
}

const fn op(
    name: &'static str,
    prepare: fn(&Path) -> Result<()>,
    run: fn(&Path) -> Result<()>,
) -> Op {
    Op { name, prepare, run }
}

/// Every operation, crates first, then the facade.
pub(crate) const OPS: &[Op] = &[
    op("atomic-write", prep_doc, |d| {
        arm();
        let _ = atomic_store::write(&d.join("doc.json"), b"{\"v\": 2}", &WriteOptions::new())?;
        Ok(())
    }),
    op(
        "atomic-write-new-dirs",
        |_| Ok(()),
        |d| {
            arm();
            let _ = atomic_store::write(&d.join("a/b/doc.json"), b"new", &WriteOptions::new())?;
            Ok(())
        },
    ),
    op("atomic-write-secret", prep_doc, |d| {
        arm();
        let _ = atomic_store::write(&d.join("doc.json"), b"s3cr3t", &WriteOptions::secret())?;
        Ok(())
    }),
    op("batch-commit", prep_batch, |d| {
        let mut batch = Batch::new();
        arm();
        for name in ["one.txt", "two.txt", "sub/three.txt"] {
            let _ = batch.write(
                &d.join(name),
                format!("new {name}").as_bytes(),
                &WriteOptions::new(),
            )?;
        }
        let _ = batch.commit()?;
        Ok(())
    }),
    op("document-update", prep_doc, |d| {
        let doc: Document<Value> = Document::new(d.join("doc.json")).style(JsonStyle::Python);
        arm();
        doc.update(|v| v["v"] = json!(2))?;
        Ok(())
    }),
    op("jsonl-append", prep_log, |d| {
        let log = log(d);
        arm();
        let _ = log.append(&json!({"n": 3}))?;
        Ok(())
    }),
    op("jsonl-append-batch", prep_log, |d| {
        let log = log(d);
        arm();
        let _ = log.append_batch(&[json!({"n": 3}), json!({"n": 4})])?;
        Ok(())
    }),
    op("jsonl-retain", prep_log, |d| {
        let log = log(d);
        arm();
        let _ = log.retain(|v| v["n"] != json!(1))?;
        Ok(())
    }),
    op("jsonl-repair", prep_torn_log, |d| {
        let log = log(d);
        arm();
        let _ = log.repair()?;
        Ok(())
    }),
    op(
        "spec-write-new",
        |_| Ok(()),
        |d| {
            let specs = SpecDir::<ollim::Routine>::new(d.join("routines"));
            arm();
            let _ = specs.write(&routine("Morning check-in"))?;
            Ok(())
        },
    ),
    op("spec-write-rename", prep_spec, |d| {
        let specs = SpecDir::<ollim::Routine>::new(d.join("routines"));
        arm();
        let _ = specs.write(&routine("Evening check-in"))?;
        Ok(())
    }),
    op("spec-remove", prep_spec, |d| {
        let specs = SpecDir::<ollim::Routine>::new(d.join("routines"));
        arm();
        let _ = specs.remove("a1b2c3d4")?;
        Ok(())
    }),
    op("ping-bucket-try-use", prep_budget, |d| {
        let budget = budget(d);
        arm();
        let _ = budget.try_use()?;
        Ok(())
    }),
    op("pidlock-acquire", prep_stale_pid, |d| {
        let lock = pid_lock(d);
        arm();
        let guard = lock.acquire()?;
        // Keep the record as a running holder would (exit runs no destructor).
        std::mem::forget(guard);
        Ok(())
    }),
    op("pidlock-set-payload", prep_stale_pid, |d| {
        let mut guard = pid_lock(d).acquire()?;
        arm();
        let result = guard.set_payload(&["8765"]);
        // A failed set_payload keeps the guard (and its record), as a running holder would.
        std::mem::forget(guard);
        Ok(result?)
    }),
    op("pidlock-release", prep_stale_pid, |d| {
        let guard = pid_lock(d).acquire()?;
        arm();
        guard.release()?;
        Ok(())
    }),
    op("git-journal-write", prep_journal, |d| {
        let journal = journal(d)?;
        arm();
        let _ = journal.write("notes/a.md", b"new\n", &WriteOptions::new(), "update a")?;
        Ok(())
    }),
    op("git-journal-commit-path", prep_journal_changed, |d| {
        let journal = journal(d)?;
        arm();
        let _ = journal.commit_path("notes/a.md", "update a")?;
        Ok(())
    }),
    op("git-journal-remove", prep_journal, |d| {
        let journal = journal(d)?;
        arm();
        let _ = journal.remove("notes/a.md", "remove a")?;
        Ok(())
    }),
    // ---- ollim facade (git on, fake clock) -----------------------------------------------
    op("ollim-save-session-id", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        arm();
        data.save_session_id("session-2")?;
        Ok(())
    }),
    op("ollim-log-session-event", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        arm();
        let _ = data.log_session_event(ollim::SessionEventKind::Cleared, "session-1", None)?;
        Ok(())
    }),
    op("ollim-record-fork-messages", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        arm();
        data.record_fork_messages(&[42], "fork-1", Some("session-1"))?;
        Ok(())
    }),
    op("ollim-register-inquiry", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        arm();
        let _ = data.register_inquiry("Pick one")?;
        Ok(())
    }),
    op("ollim-append-update", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        arm();
        data.append_update("fork finished")?;
        Ok(())
    }),
    op("ollim-pop-updates", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        arm();
        let _ = data.pop_updates()?;
        Ok(())
    }),
    op("ollim-set-config", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        arm();
        let _ = data.set_config("model_main", "opus")?;
        Ok(())
    }),
    op("ollim-ping-budget-try-use", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        let budget = data.ping_budget();
        arm();
        let _ = budget.try_use()?;
        Ok(())
    }),
    op("ollim-save-routine", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        arm();
        let _ = data.save_routine(&routine("Evening check-in"))?;
        Ok(())
    }),
    op("ollim-remove-routine", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        arm();
        let _ = data.remove_routine("a1b2c3d4")?;
        Ok(())
    }),
    op("ollim-save-download", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        arm();
        let _ = data.save_download("../report.pdf", b"%PDF-1.7")?;
        Ok(())
    }),
    op("ollim-write-secret", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        arm();
        data.write_secret(ollim::files::TOKEN, b"{\"token\": \"new\"}")?;
        Ok(())
    }),
    op("ollim-write-profile", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        arm();
        data.write_profile(ollim::USER_FILE, "# User\nLikes tea.\n")?;
        Ok(())
    }),
    op("ollim-write-reflection", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        arm();
        let _ = data.write_reflection("item-1", "Went well.")?;
        Ok(())
    }),
    op("ollim-lock-instance", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        arm();
        let guard = data.lock_instance()?;
        std::mem::forget(guard);
        Ok(())
    }),
    op("ollim-save-reminder", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        arm();
        let _ = data.save_reminder(&reminder())?;
        Ok(())
    }),
    op("ollim-fire-reminder", prep_ollim_reminder, |d| {
        let data = ollim_dir(d)?;
        arm();
        let _ = data.fire_reminder("b1c2d3e4", Some("2026-05-13T09:00:00+00:00"))?;
        Ok(())
    }),
    op("ollim-bootstrap-identity", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        arm();
        let _ = data.bootstrap_identity(&ollim::Names::new("Ada", "Ollim"))?;
        Ok(())
    }),
    op("ollim-ensure-sdk-layout", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        arm();
        let _ = data.ensure_sdk_layout(&ollim::Names::new("Ada", "Ollim"))?;
        Ok(())
    }),
    op("ollim-pop-inquiry", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        // After a failed pop whose change was already renamed into place (an error syncing the
        // directory), the inquiry is gone: the retry then pops a key that is not there.
        let key =
            data.inquiries()?.0.first().map_or_else(|| "00000000".to_owned(), |(k, _)| k.clone());
        arm();
        let _ = data.pop_inquiry(&key)?;
        Ok(())
    }),
    op("ollim-delete-session-id", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        arm();
        data.delete_session_id()?;
        Ok(())
    }),
    op("ollim-clear-updates", prep_ollim, |d| {
        let data = ollim_dir(d)?;
        arm();
        data.clear_updates()?;
        Ok(())
    }),
    // ---- omicos facade ---------------------------------------------------------------------
    op(
        "omicos-workspace-id",
        |_| Ok(()),
        |d| {
            let ws = workspace(d);
            arm();
            let _ = ws.workspace_id()?;
            Ok(())
        },
    ),
    op("omicos-create-conversation", prep_omicos, |d| {
        let ws = workspace(d);
        arm();
        let _ = ws.create_conversation("c2", "Second")?;
        Ok(())
    }),
    op("omicos-append-history", prep_omicos, |d| {
        let ws = workspace(d);
        arm();
        let _ = ws.append_history("c1", &json!({"role": "user", "text": "hi"}))?;
        Ok(())
    }),
    op("omicos-advance-conversation-sync", prep_omicos, |d| {
        let ws = workspace(d);
        arm();
        let _ = ws.advance_conversation_sync("c1", 1)?;
        Ok(())
    }),
    op(
        "omicos-write-cloud-login",
        |_| Ok(()),
        |d| {
            let home = omicos::GlobalHome::at(d.join("home"));
            arm();
            home.write_cloud_login(&omicos::CloudLogin::new(
                "https://auth.example",
                "u1",
                None,
                "tok",
            ))?;
            Ok(())
        },
    ),
    op("omicos-login", prep_omicos, |d| {
        let ws = workspace(d);
        arm();
        let _ = ws.login(&omicos::CloudLogin::new("https://auth.example", "u2", None, "tok2"))?;
        Ok(())
    }),
    op("omicos-serve-lock", prep_omicos, |d| {
        let ws = workspace(d);
        arm();
        let guard = ws.acquire_serve_lock("xtask", 8765)?;
        std::mem::forget(guard);
        Ok(())
    }),
    op("omicos-rotate-workspace-id", prep_omicos, |d| {
        let ws = workspace(d);
        arm();
        let _ = ws.rotate_workspace_id()?;
        Ok(())
    }),
    op("omicos-logout", prep_omicos, |d| {
        let ws = workspace(d);
        arm();
        let _ = ws.logout()?;
        Ok(())
    }),
    op("omicos-touch-conversation", prep_omicos, |d| {
        let ws = workspace(d);
        arm();
        ws.touch_conversation("c1", Some("Renamed"))?;
        Ok(())
    }),
    op("omicos-spool-tool-output", prep_omicos, |d| {
        let ws = workspace(d);
        arm();
        let _ = ws.spool_tool_output("call-1", b"big output")?;
        Ok(())
    }),
    op(
        "omicos-write-auth",
        |_| Ok(()),
        |d| {
            let home = omicos::GlobalHome::at(d.join("home"));
            let mut keys = serde_json::Map::new();
            keys.insert("OPENAI_API_KEY".to_owned(), json!("sk-test"));
            arm();
            home.write_auth(&keys)?;
            Ok(())
        },
    ),
    op(
        "omicos-write-oauth",
        |_| Ok(()),
        |d| {
            let home = omicos::GlobalHome::at(d.join("home"));
            arm();
            home.write_oauth("github", &json!({"access_token": "t"}))?;
            Ok(())
        },
    ),
];

/// Negative controls: writes done the naive way, which the checks must catch (proof that the
/// harness can fail). Run after the real operations; never part of the counts.
pub(crate) const CONTROLS: &[Op] = &[op("control-plain-fs-write", prep_doc, |d| {
    arm();
    // Truncates in place and follows symlinks: torn on a failed write, escapes through a link.
    fs::write(d.join("doc.json"), b"{\"v\": 2}")?;
    Ok(())
})];

/// Prepares the old version of `op` in `<scratch>/<name>`; returns the directory.
pub(crate) fn prepare(op: &Op, scratch: &Path, name: &str) -> Result<PathBuf> {
    let dir = scratch.join(name);
    fs::create_dir_all(&dir)?;
    (op.prepare)(&dir).with_context(|| format!("preparing {}", op.name))?;
    Ok(dir)
}

// ---- helpers -------------------------------------------------------------------------------

/// The next actor after an injected run, in the parent (no fault): an ollim directory with a
/// deferred commit is opened, which makes the commit — a commit that fails after its change is
/// on disk is deferred to the next open, and the call returns `Ok`.
pub(crate) fn settle(d: &Path) -> Result<()> {
    if d.join(".git").join("dotdir-pending-commits.json").exists() {
        let _ = ollim_dir(d)?;
    }
    Ok(())
}

fn prep_doc(d: &Path) -> Result<()> {
    fs::write(d.join("doc.json"), "{\"v\": 1}")?;
    Ok(())
}

fn prep_batch(d: &Path) -> Result<()> {
    fs::write(d.join("one.txt"), "old one.txt")?;
    fs::write(d.join("two.txt"), "old two.txt")?;
    Ok(())
}

fn log(d: &Path) -> Log<Value> {
    Log::with_options(
        d.join("log.jsonl"),
        LogOptions::new().format(LineStyle::Python).durability(Durability::Full),
    )
}

fn prep_log(d: &Path) -> Result<()> {
    fs::write(d.join("log.jsonl"), "{\"n\": 1}\n{\"n\": 2}\n")?;
    Ok(())
}

fn prep_torn_log(d: &Path) -> Result<()> {
    fs::write(d.join("log.jsonl"), "{\"n\": 1}\n{\"n\": 2\n{\"n\": 3}\n{\"n\"")?;
    Ok(())
}

fn routine(message: &str) -> ollim::Routine {
    ollim::Routine {
        id: "a1b2c3d4".to_owned(),
        message: message.to_owned(),
        cron: "30 8 * * *".to_owned(),
        ..ollim::Routine::new("30 8 * * *", message)
    }
}

fn reminder() -> ollim::Reminder {
    ollim::Reminder {
        id: "b1c2d3e4".to_owned(),
        max_chain: 2,
        chain_parent: Some("b1c2d3e4".to_owned()),
        ..ollim::Reminder::new("2026-05-12T12:00:00+00:00", "Take a break", 2)
    }
}

fn prep_ollim_reminder(d: &Path) -> Result<()> {
    prep_ollim(d)?;
    let _ = ollim_dir(d)?.save_reminder(&reminder())?;
    Ok(())
}

fn prep_spec(d: &Path) -> Result<()> {
    let _ =
        SpecDir::<ollim::Routine>::new(d.join("routines")).write(&routine("Morning check-in"))?;
    Ok(())
}

fn clock() -> FakeClock {
    FakeClock::new("2026-05-12T10:00:00Z".parse().expect("a valid timestamp"))
}

fn budget(d: &Path) -> PingBudget {
    PingBudget::new(d.join("ping_budget.json"), jiff::tz::TimeZone::UTC).clock(clock())
}

fn prep_budget(d: &Path) -> Result<()> {
    let _ = budget(d).try_use()?;
    Ok(())
}

fn pid_lock(d: &Path) -> PidLock {
    PidLock::new(d.join("serve.pid")).format(RecordFormat::Lines).program("xtask")
}

fn prep_stale_pid(d: &Path) -> Result<()> {
    // Out of the pid range: stale.
    fs::write(d.join("serve.pid"), "4999999\n1\n")?;
    Ok(())
}

fn journal(d: &Path) -> Result<Journal> {
    Ok(Journal::open(d, JournalOptions::new().identity_from_git_config(false))?)
}

fn prep_journal(d: &Path) -> Result<()> {
    let journal = journal(d)?;
    let _ = journal.write("notes/a.md", b"old\n", &WriteOptions::new(), "add a")?;
    Ok(())
}

fn prep_journal_changed(d: &Path) -> Result<()> {
    prep_journal(d)?;
    fs::write(d.join("notes/a.md"), "new\n")?;
    Ok(())
}

fn ollim_dir(d: &Path) -> Result<DataDir> {
    DataDir::open(
        d,
        ollim::Options::new()
            .clock(clock())
            .time_zone(jiff::tz::TimeZone::UTC)
            .git_identity_from_config(false),
    )
    .context("opening the ollim data directory")
}

/// A data directory with one of everything the ollim operations change.
fn prep_ollim(d: &Path) -> Result<()> {
    let data = ollim_dir(d)?;
    data.save_session_id("session-1")?;
    data.record_fork_messages(&[41], "fork-0", None)?;
    let _ = data.register_inquiry("Old question")?;
    data.append_update("old update")?;
    let _ = data.set_config("model_main", "sonnet")?;
    let _ = data.ping_budget().try_use()?;
    let _ = data.save_routine(&routine("Morning check-in"))?;
    let _ = data.save_download("report.pdf", b"old")?;
    data.write_secret(ollim::files::TOKEN, b"{\"token\": \"old\"}")?;
    data.write_profile(ollim::USER_FILE, "# User\n")?;
    Ok(())
}

fn workspace(d: &Path) -> omicos::Workspace {
    omicos::Workspace::at(
        omicos::GlobalHome::at(d.join("home")),
        d.join("ws/.omicos"),
        omicos::Flavor::Serve,
    )
}

fn prep_omicos(d: &Path) -> Result<()> {
    let ws = workspace(d);
    let _ = ws.login(&omicos::CloudLogin::new("https://auth.example", "u1", None, "tok"))?;
    let _ = ws.workspace_id()?;
    let _ = ws.create_conversation("c1", "First")?;
    let _ = ws.append_history("c1", &json!({"role": "user", "text": "old"}))?;
    Ok(())
}
