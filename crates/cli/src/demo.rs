//! `dotdir demo`: builds a populated ollim-bot data directory and an omicos home and workspace
//! in a temporary folder, entirely through the library, then inspects and checks them.
//!
//! Every crate is exercised: the pid locks (dotdir-pidlock) are held while the directories are
//! inspected, the session history and the omicos logs are JSON Lines (dotdir-jsonl-log), specs
//! are committed by the git journal (dotdir-git-journal), the ping budget is spent
//! (dotdir-ping-bucket), secrets are written `0600` (dotdir-atomic-store). Each secret carries
//! the canary text [`CANARY`], so a reader can prove a backup never holds one.

use std::{io::Write, path::Path, time::Instant};

use anyhow::{Context, Result};
use dotdir::{
    atomic_store::{self as store, WriteOptions},
    ollim::{self, DataDir, SessionEventKind},
    omicos::{CloudLogin, Flavor, GlobalHome, Workspace},
};
use serde_json::{Map, Value, json};

use crate::{Outcome, layouts::Target, style::Style};

/// The text planted in every secret the demo writes.
pub(crate) const CANARY: &str = "dotdir-demo-secret-canary";

/// What one step built, and with which crate.
struct Step {
    krate: &'static str,
    did: String,
}

pub(crate) fn run(dir: Option<&Path>, json: bool, style: &Style) -> Result<Outcome> {
    let started = Instant::now();
    let (temp, root) = match dir {
        Some(dir) => {
            dotdir::atomic_store::create_dirs(dir, 0o777, dotdir::atomic_store::Durability::Full)
                .with_context(|| format!("cannot create {}: choose another --dir", dir.display()))?;
            (None, std::path::absolute(dir)?)
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("dotdir-demo.")
                .tempdir()
                .context("cannot create a temporary folder: set TMPDIR to a writable directory")?;
            let root = temp.path().to_path_buf();
            (Some(temp), root)
        }
    };
    let ollim_dir = root.join("ollim-bot");
    let home_dir = root.join("omicos-home");
    let workspace_dir = root.join("workspace/.omicos");
    let mut steps = Vec::new();

    let bot = build_ollim(&ollim_dir, &mut steps)?;
    let serve = build_omicos(&home_dir, &workspace_dir, &mut steps)?;
    let built = started.elapsed();

    // Inspect and check while the instance locks are held: the pid records are live.
    let targets = [
        Target { dir: ollim_dir.clone(), layout: &dotdir::ollim::LAYOUT },
        Target { dir: home_dir.clone(), layout: &dotdir::omicos::HOME_LAYOUT },
        Target { dir: workspace_dir.clone(), layout: &dotdir::omicos::WORKSPACE_LAYOUT },
    ];
    let mut outcome = Outcome::Clean;
    let mut out = std::io::stdout().lock();
    let mut documents = Vec::new();
    // The story comes first; the trees it happened in, and how they were built, after it.
    let mut trees: Vec<u8> = Vec::new();
    if !json {
        writeln!(out, "{}", style.bold(&format!("dotdir demo in {}", root.display())))?;
        writeln!(
            out,
            "A bot's data directory after a crash: what `dotdir check` finds, what `--fix` repairs without losing anything, and a backup restored elsewhere.\n"
        )?;
    }
    for target in &targets {
        let tree = dotdir::inspect::inspect(&target.dir, target.layout)?;
        let report = dotdir::check::check_tree(&tree, &target.check_options()?);
        if !report.problems.is_empty() {
            outcome = Outcome::Problems;
        }
        if json {
            documents.push(json!({
                "inspect": crate::inspect::to_json(&tree),
                "check": crate::check::to_json(&report, None),
            }));
        } else {
            crate::inspect::render(&mut trees, target, &tree, false, style)?;
            crate::check::render(&mut trees, target, &report, None, style)?;
            writeln!(trees)?;
        }
    }
    drop(bot);
    drop(serve);
    let recovery = crash_and_recover(&root, &targets[0], json, &mut out, style)?;
    if !json {
        writeln!(
            out,
            "{}",
            style
                .bold("The three data directories the demo built (as they were before the crash):")
        )?;
        writeln!(out)?;
        out.write_all(&trees)?;
        writeln!(out, "{}", style.bold("How the demo built them, one dotdir crate at a time:"))?;
        for step in &steps {
            writeln!(out, "  {} {}", style.info(&format!("[{}]", step.krate)), step.did)?;
        }
        writeln!(out, "built in {} ms through the library\n", built.as_millis())?;
    }
    if json {
        let value = json!({
            "root": root.display().to_string(),
            "kept": temp.is_none(),
            "built_ms": built.as_millis() as u64,
            "steps": steps.iter().map(|s| json!({"crate": s.krate, "did": s.did})).collect::<Vec<_>>(),
            "directories": documents,
            "crash": recovery,
        });
        crate::print_json(&mut out, "demo", Some(&root), value)?;
    } else {
        match &temp {
            Some(_) => writeln!(
                out,
                "The demo folder is removed now. Keep one with `dotdir demo --dir PATH`, then try \
                 `dotdir check PATH/ollim-bot` and `dotdir backup PATH/ollim-bot --out backup.tar.gz`."
            )?,
            None => writeln!(
                out,
                "Kept in {}. Try `dotdir check {}` and `dotdir backup {} --out backup.tar.gz`.",
                root.display(),
                ollim_dir.display(),
                ollim_dir.display()
            )?,
        }
    }
    Ok(outcome)
}

/// The main job: a simulated crash (a torn history line, the pid record of a dead bot, a token
/// left readable by others), `check` finding it, `check --fix` repairing it, and a backup
/// restored into a new directory that checks clean.
fn crash_and_recover(
    root: &Path,
    target: &Target,
    json: bool,
    out: &mut impl Write,
    style: &Style,
) -> Result<Value> {
    use std::os::unix::fs::PermissionsExt;
    let dir = &target.dir;
    let history = dir.join("state/session_history.jsonl");
    let mut file = std::fs::OpenOptions::new().append(true).open(&history)?;
    file.write_all(br#"{"session_id": "sess-cut-off", "event": "cre"#)?;
    drop(file);
    // A pid above the kernel's limit: no process can hold it.
    std::fs::write(dir.join("state/bot.pid"), "4999999")?;
    std::fs::set_permissions(dir.join("state/token.json"), std::fs::Permissions::from_mode(0o644))?;
    let options = target.check_options()?;
    let found = dotdir::check::check(dir, target.layout, &options)?;
    let fixed = dotdir::check::fix(dir, target.layout, &options)?;
    let after = dotdir::check::check(dir, target.layout, &options)?;
    let archive = root.join("ollim-bot-backup.tar.gz");
    let selection = dotdir::backup::select(dir, target.layout)?;
    let written = dotdir::archive::write(&selection, &archive, true, &mut |_| {})?;
    let restored_dir = root.join("ollim-bot-restored");
    let restored =
        dotdir::archive::restore(&archive, &restored_dir, target.layout, &options, true)?;
    let restored_check = dotdir::check::check(&restored_dir, target.layout, &options)?;
    if json {
        return Ok(json!({
            "found": crate::check::to_json(&found, None),
            "fixed": crate::check::to_json(&after, Some(&fixed)),
            "backup": {"archive": archive.display().to_string(), "files": written.files},
            "restored": {"dir": restored_dir.display().to_string(), "files": restored.files,
                         "recreate": restored.secrets, "check": crate::check::to_json(&restored_check, None)},
        }));
    }
    writeln!(
        out,
        "{}",
        style.bold(
            "1. The crash: a torn history line, the pid record of a dead bot, a token readable by others"
        )
    )?;
    writeln!(out, "$ dotdir check {}", dir.display())?;
    crate::check::render(out, target, &found, None, style)?;
    writeln!(out, "\n$ dotdir check --fix {}", dir.display())?;
    crate::check::render(out, target, &after, Some(&fixed), style)?;
    writeln!(out, "\n$ dotdir backup {} --out {}", dir.display(), archive.display())?;
    writeln!(
        out,
        "  {} {}, verified by their SHA-256",
        style.good("backed up"),
        crate::style::plural(written.files, "file", "files")
    )?;
    writeln!(out, "$ dotdir restore {} {}", archive.display(), restored_dir.display())?;
    writeln!(
        out,
        "  {} {}; to re-create: {}",
        style.good("restored"),
        crate::style::plural(restored.files, "file", "files"),
        restored.secrets.join(", ")
    )?;
    let target = Target { dir: restored_dir, layout: target.layout };
    crate::check::render(out, &target, &restored_check, None, style)?;
    writeln!(out)?;
    Ok(Value::Null)
}

fn step(steps: &mut Vec<Step>, krate: &'static str, did: impl Into<String>) {
    steps.push(Step { krate, did: did.into() });
}

/// Builds the ollim-bot directory; returns the instance lock, held until dropped.
fn build_ollim(dir: &Path, steps: &mut Vec<Step>) -> Result<impl Sized + use<>> {
    let zone = ollim::time_zone("UTC").or_else(|_| ollim::configured_time_zone())?;
    let options = ollim::Options::new().time_zone(zone).git_identity_from_config(false);
    let data = DataDir::open(dir, options).context("cannot create the ollim-bot data directory")?;
    step(
        steps,
        "git-journal",
        "ollim-bot: git repository and the .gitignore derived from the layout",
    );

    let guard = data.lock_instance().context("cannot take the ollim-bot instance lock")?;
    step(
        steps,
        "pidlock",
        format!("ollim-bot: state/bot.pid held by this process (pid {})", guard.pid()),
    );

    data.save_session_id("sess-demo-1")?;
    data.log_session_event(SessionEventKind::BgFork, "sess-fork-1", Some("sess-demo-1"))?;
    let events = data.session_history()?;
    step(
        steps,
        "jsonl-log",
        format!(
            "ollim-bot: state/session_history.jsonl, {} events (each committed)",
            events.events.len()
        ),
    );

    data.record_fork_messages(&[1_234_567_890_123_456_789], "sess-fork-1", Some("sess-demo-1"))?;
    let key = data.register_inquiry("Summarize my emails?")?;
    data.append_update("Checked your morning emails: 3 need replies, none urgent.")?;
    data.set_config("model_main", "opus")?;
    step(
        steps,
        "atomic-store",
        format!(
            "ollim-bot: fork messages, inquiry {key}, a pending update, config.json (Python-compatible JSON)"
        ),
    );

    let budget = data.ping_budget();
    let mut spent = 0;
    for _ in 0..2 {
        if budget.try_use()? {
            spent += 1;
        }
    }
    step(steps, "ping-bucket", format!("ollim-bot: spent {spent} pings: {}", budget.status()?));

    data.write_secret(
        "token.json",
        format!("{{\"token\": \"{CANARY}-google-token\"}}").as_bytes(),
    )?;
    data.write_secret(
        "credentials.json",
        format!("{{\"installed\": {{\"client_secret\": \"{CANARY}-client\"}}}}").as_bytes(),
    )?;
    step(steps, "atomic-store", "ollim-bot: state/token.json and state/credentials.json, 0600");

    let routine = ollim::Routine {
        id: "a1b2c3d4".to_owned(),
        message: "Morning check-in\n\nReview my tasks and calendar for today.".to_owned(),
        cron: "30 8 * * 1-5".to_owned(),
        description: r#"Morning briefing, "quoted" and C:\path safe"#.to_owned(),
        ..ollim::Routine::default()
    };
    data.save_routine(&routine)?;
    let reminder = ollim::Reminder {
        id: "deadbeef".to_owned(),
        message: "Take a break".to_owned(),
        run_at: "2026-02-24T14:00:00-08:00".to_owned(),
        max_chain: 3,
        ..ollim::Reminder::default()
    };
    data.save_reminder(&reminder)?;
    let skill = ollim::Skill {
        name: "email-triage".to_owned(),
        description: "Sort the inbox by urgency".to_owned(),
        message: "Read unread mail and sort it into urgent / later / ignore.".to_owned(),
        allowed_tools: Some(vec!["Bash(ollim-bot gmail *)".to_owned()]),
    };
    let _ = data.save_skill(&skill)?;
    let listed = data.list_routines()?.entries.len();
    step(
        steps,
        "frontmatter",
        format!(
            "ollim-bot: a routine (a description with quotes and a backslash), a reminder, a skill; {listed} routine listed back"
        ),
    );
    let names = ollim::Names::new("Ada", "Ollim");
    data.bootstrap_identity(&names)?;
    let sdk = data.ensure_sdk_layout(&names)?;
    data.save_download("report.txt", b"quarterly report\n")?;
    data.write_reflection("a1b2c3d4", "The morning check-in ran; nothing to report.\n")?;
    let journal = data.journal().context("the demo data directory has git tracking on")?;
    let commits = journal.log_path("routines", None)?.len()
        + journal.log_path("reminders", None)?.len()
        + journal.log_path("state/session_history.jsonl", None)?.len();
    step(
        steps,
        "git-journal",
        format!(
            "ollim-bot: {commits} commits for routines, reminders and session events; IDENTITY.md, {} SDK agents, a download, a reflection",
            sdk.installed.len()
        ),
    );
    Ok(guard)
}

/// Builds the omicos home and workspace; returns the daemon lock, held until dropped.
fn build_omicos(
    home_dir: &Path,
    workspace_dir: &Path,
    steps: &mut Vec<Step>,
) -> Result<impl Sized + use<>> {
    let home = GlobalHome::at(home_dir);
    home.ensure()?;
    let login = CloudLogin::new(
        "https://cloud.example",
        "2f7c0e1a-0000-4000-8000-00000000demo",
        Some("user@example.com"),
        &format!("{CANARY}-user-token"),
    );
    home.write_cloud_login(&login)?;
    let mut keys = Map::new();
    keys.insert("OPENAI_API_KEY".to_owned(), Value::String(format!("{CANARY}-api-key")));
    home.write_auth(&keys)?;
    home.write_plan_token(&format!("eyJhbGciOiJub25lIn0.eyJwbGFuIjoibGFiIn0.{}", CANARY))?;
    home.write_oauth("codex", &json!({"refresh_token": format!("{CANARY}-oauth")}))?;
    let plain = WriteOptions::new();
    let _ = store::write(
        &home.memory_dir().join("preferences.md"),
        b"Prefers short answers.\n",
        &plain,
    )?;
    let _ = store::write(&home.cloud_models_path(), br#"{"models": ["demo-model"]}"#, &plain)?;
    let _ = store::write(&home.env_dir().join("pyvenv.cfg"), b"home = /usr/bin\n", &plain)?;
    home.usage_log("sess-global")?.append(&json!({"model": "demo-model", "input_tokens": 12}))?;
    step(
        steps,
        "atomic-store",
        "omicos home: cloud_login.json, auth.json, plan_token.jwt, oauth/codex.json (0600), memory, caches",
    );

    let workspace = Workspace::at(home, workspace_dir, Flavor::Serve);
    workspace.ensure()?;
    let id = workspace.workspace_id()?;
    workspace.login(&login)?;
    workspace.account().update(|account| {
        account.token = Some(format!("{CANARY}-session-token"));
        account.plan = Some("lab".to_owned());
    })?;
    let guard = workspace.acquire_serve_lock("omicos", 8765)?;
    step(
        steps,
        "pidlock",
        format!(
            "omicos workspace: workspace_id {id}, serve.pid held on port 8765 by pid {}",
            guard.pid()
        ),
    );
    workspace.create_conversation("conv-demo-1", "RNA-seq quality check")?;
    workspace.append_history(
        "conv-demo-1",
        &json!({"role": "user", "content": "Check my FASTQ files"}),
    )?;
    workspace.append_history(
        "conv-demo-1",
        &json!({"role": "assistant", "content": "All 12 files pass."}),
    )?;
    let turn = workspace.new_turn()?;
    turn.append(&json!({"step": "plan", "tool": "fastqc"}))?;
    workspace
        .usage_log("sess-demo")?
        .append(&json!({"model": "demo-model", "input_tokens": 42}))?;
    workspace.spool_tool_output("call_1", &vec![b'x'; 20_000])?;
    step(
        steps,
        "jsonl-log",
        format!(
            "omicos workspace: a conversation, a trajectory ({}), usage, a spooled tool output",
            turn.relative()
        ),
    );
    Ok(guard)
}
