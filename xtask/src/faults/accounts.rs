//! `cargo xtask accounts [--full]`: the omicos account protocol as a model test.
//!
//! The protocol's invariants (`dotdir::omicos::Workspace`), which must hold across any sequence
//! of login, switch, logout and rotate, with a crash or an I/O error at any step of one of them
//! and *any* next actor:
//!
//! 1. each account keeps one `workspace_id` for life (a rotation gives its owner a new one);
//! 2. no two accounts share one;
//! 3. no acknowledged credential is lost: an account that logged in can be switched back to,
//!    with its own token;
//! 4. the next operation completes or rolls back the interrupted one: afterwards every account
//!    logs in to a stable id, and a reader sees the owner's id.
//!
//! The start: u1 logged in (id A), then u2 (id B). For each interrupted operation (login of a
//! new account u3, login of the returning u1, a switch back to u1, logout, rotate), a child runs
//! it with the fault shim failing its k-th call — for every k, killed just before the call
//! (SIGKILL) and with EIO. Each resulting directory is copied once per next actor (the same call
//! again, login of u1, u2 or u3, switch to u1 or u2, logout, rotate, a reader), the actor runs
//! in this process without faults, and the invariants are checked.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::{Context, Result, bail};
use dotdir::omicos::{self, CloudLogin, Workspace, WorkspaceId};

use crate::harness::{
    child::{Outcome, Run, arm, spawn},
    ops::Op,
    preload::fault_shim,
    scratch::tmpfs,
};

const ACCOUNTS: [&str; 3] = ["u1", "u2", "u3"];
/// The interrupted run's "errno" that kills the child instead (see `shim.c`).
const KILL: i32 = -9;

fn login_of(user: &str) -> CloudLogin {
    CloudLogin::new("https://auth.example", user, None, &format!("tok-{user}"))
}

fn workspace(d: &Path) -> Workspace {
    Workspace::at(
        omicos::GlobalHome::at(d.join("home")),
        d.join("ws/.omicos"),
        omicos::Flavor::Serve,
    )
}

/// The interrupted operations, run in a child (`xtask faults-child <name> <dir>`).
pub(crate) const INTERRUPTED: &[Op] = &[
    Op { name: "account-login-new", prepare, run: |d| run_actor(d, Actor::Login("u3"), true) },
    Op { name: "account-login-back", prepare, run: |d| run_actor(d, Actor::Login("u1"), true) },
    Op { name: "account-switch-back", prepare, run: |d| run_actor(d, Actor::Switch("u1"), true) },
    Op { name: "account-logout", prepare, run: |d| run_actor(d, Actor::Logout, true) },
    Op { name: "account-rotate", prepare, run: |d| run_actor(d, Actor::Rotate, true) },
];

/// u1 logged in, then u2: u1's id and credentials are kept as its backups. Both ids are
/// recorded in `originals`, outside the data directory.
fn prepare(d: &Path) -> Result<()> {
    let ws = workspace(d);
    let a = ws.login(&login_of("u1"))?.workspace_id;
    let b = ws.login(&login_of("u2"))?.workspace_id;
    fs::write(d.join("originals"), format!("{a}\n{b}\n"))?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Actor {
    Login(&'static str),
    Switch(&'static str),
    Logout,
    Rotate,
    Reader,
}

impl Actor {
    fn of(op: &Op) -> Actor {
        match op.name {
            "account-login-new" => Actor::Login("u3"),
            "account-login-back" => Actor::Login("u1"),
            "account-switch-back" => Actor::Switch("u1"),
            "account-logout" => Actor::Logout,
            _ => Actor::Rotate,
        }
    }
}

fn run_actor(d: &Path, actor: Actor, armed: bool) -> Result<()> {
    let ws = workspace(d);
    if armed {
        arm();
    }
    match actor {
        Actor::Login(user) => drop(ws.login(&login_of(user))?),
        Actor::Switch(user) => drop(ws.switch_account(user)?),
        Actor::Logout => drop(ws.logout()?),
        Actor::Rotate => drop(ws.rotate_workspace_id()?),
        Actor::Reader => drop(ws.workspace_id()?),
    }
    Ok(())
}

/// The next actors tried after each interruption (besides the interrupted call itself).
const NEXT: [Actor; 7] = [
    Actor::Login("u1"),
    Actor::Login("u2"),
    Actor::Login("u3"),
    Actor::Switch("u2"),
    Actor::Logout,
    Actor::Rotate,
    Actor::Reader,
];

/// `cargo xtask accounts`.
pub(crate) fn run(full: bool) -> Result<()> {
    let shim = fault_shim()?;
    let started = Instant::now();
    let scratch = tmpfs()?;
    let report = scratch.path().join("report");
    let (mut sequences, mut interruptions) = (0usize, 0usize);
    let mut violations = Vec::new();
    for op in INTERRUPTED {
        // The number of injection points: a fault-free run.
        let reference = fresh(scratch.path(), op, "reference")?;
        let run = spawn(op, &reference, Some((&shim, 0, 0)), &report)?;
        if run.outcome != Outcome::Ok {
            bail!("{} fails without a fault: {:?}", op.name, run.output);
        }
        let calls = run.calls.context("the shim did not report (is LD_PRELOAD honoured?)")?;
        // CI: every point killed, every other point with EIO; --full: both everywhere.
        let mut op_sequences = 0;
        for k in 1..=calls {
            for errno in [KILL, 5] {
                if errno != KILL && !full && k % 2 == 0 {
                    continue;
                }
                let interrupted = fresh(scratch.path(), op, &format!("k{k}-{errno}"))?;
                let run = spawn(op, &interrupted, Some((&shim, k, errno)), &report)?;
                if run.hit.is_none() {
                    continue;
                }
                let how = if errno == KILL { "killed".to_owned() } else { "EIO".to_owned() };
                if !matches!(run.outcome, Outcome::Ok | Outcome::Err | Outcome::Crash)
                    || (errno != KILL && run.outcome == Outcome::Crash)
                {
                    violations.push(format!(
                        "{} k={k} {how}: the call neither returned nor was killed: {:?}",
                        op.name, run.output
                    ));
                    continue;
                }
                interruptions += 1;
                let actors = std::iter::once(Actor::of(op)).chain(NEXT);
                for (i, next) in actors.enumerate() {
                    let copy = scratch.path().join(format!("next-{i}"));
                    copy_dir(&interrupted, &copy)?;
                    let context = format!("{} k={k} {how} ({}), then {next:?}", op.name, hit(&run));
                    if let Err(e) = check_sequence(&copy, op, next) {
                        violations.push(format!("{context}: {e:#}"));
                    }
                    let _ = fs::remove_dir_all(&copy);
                    sequences += 1;
                    op_sequences += 1;
                }
                let _ = fs::remove_dir_all(&interrupted);
            }
        }
        println!("accounts {:<22} {calls:>3} calls  {op_sequences:>4} sequences", op.name);
    }
    println!(
        "accounts: {} interrupted operations, {interruptions} interruptions (kill or EIO) × {} \
         next actors = {sequences} sequences checked, {} violations, {:.0} s",
        INTERRUPTED.len(),
        NEXT.len() + 1,
        violations.len(),
        started.elapsed().as_secs_f64()
    );
    if !violations.is_empty() {
        for v in violations.iter().take(20) {
            eprintln!("  VIOLATION {v}");
        }
        bail!("the account protocol broke {} times", violations.len());
    }
    Ok(())
}

/// `<call> <file name>` of the shim's `hit <n> <call> <errno> <path>` line.
fn hit(run: &Run) -> String {
    let Some(line) = run.hit.as_deref() else { return String::new() };
    let mut words = line.split_whitespace().skip(2);
    let call = words.next().unwrap_or_default();
    let file = words.nth(1).and_then(|p| p.rsplit('/').next()).unwrap_or_default();
    format!("{call} {file}")
}

fn fresh(scratch: &Path, op: &Op, name: &str) -> Result<PathBuf> {
    let dir = scratch.join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)?;
    (op.prepare)(&dir)?;
    Ok(dir)
}

/// After the interruption: `next` runs (it may fail only where it must: a switch to an account
/// without credentials), then the invariants are checked.
fn check_sequence(d: &Path, interrupted: &Op, next: Actor) -> Result<()> {
    let ws = workspace(d);
    // A logout deletes the credentials of the account it logs out, on purpose: u2 for the
    // interrupted logout, the recorded owner for a logout as the next actor. A switch to an
    // account so logged out may fail (it has no credentials to switch to); nothing else may.
    let mut logged_out = Vec::new();
    if Actor::of(interrupted) == Actor::Logout {
        logged_out.push("u2".to_owned());
    }
    let acted = run_actor(d, next, false);
    match (acted, next) {
        (Ok(()), _) => {}
        (Err(_), Actor::Switch(user)) if logged_out.iter().any(|l| l == user) => {}
        (Err(e), _) => return Err(e.context(format!("the next actor {next:?} failed"))),
    }
    let rotated = Actor::of(interrupted) == Actor::Rotate || next == Actor::Rotate;
    if next == Actor::Logout {
        logged_out.extend(ws.account().read()?.and_then(|a| a.user_id));
    }

    // 3. No acknowledged credential is lost: u1 and u2 can be switched back to, each with its
    // own token (u3's login was never acknowledged unless it is the next actor).
    for user in ["u1", "u2"].into_iter().filter(|u| !logged_out.iter().any(|l| l == u)) {
        let realigned = ws
            .switch_account(user)
            .with_context(|| format!("switching back to {user}: its credentials are lost"))?;
        let token = ws.cloud_login().read()?.and_then(|l| l.user_token);
        if token.as_deref() != Some(&format!("tok-{user}")) {
            bail!("after switching back to {user}, the credentials are {token:?}");
        }
        if ws.workspace_id()? != realigned.workspace_id {
            bail!("a reader sees another id than {user}'s switch returned");
        }
    }
    // 1, 2, 4: two rounds of logins give every account the same id, and no two share one.
    let mut ids: BTreeMap<&str, WorkspaceId> = BTreeMap::new();
    for round in 0..2 {
        for user in ACCOUNTS {
            let id = ws.login(&login_of(user))?.workspace_id;
            if ws.workspace_id()? != id {
                bail!("round {round}: a reader does not see {user}'s id after its login");
            }
            match ids.get(user) {
                Some(first) if *first != id => {
                    bail!("{user} got {first} and then {id}: an account changed id")
                }
                _ => drop(ids.insert(user, id)),
            }
        }
    }
    let distinct: std::collections::BTreeSet<&WorkspaceId> = ids.values().collect();
    if distinct.len() != ids.len() {
        bail!("two accounts share an id: {ids:?}");
    }
    // 1. u1 and u2 keep the ids they had (unless a rotation gave its owner a new one).
    if !rotated {
        let (a, b) = original_ids(d)?;
        if ids["u1"] != a {
            bail!("u1 had {a}, now {}", ids["u1"]);
        }
        if ids["u2"] != b {
            bail!("u2 had {b}, now {}", ids["u2"]);
        }
    }
    Ok(())
}

/// u1's and u2's ids as [`prepare`] left them.
fn original_ids(d: &Path) -> Result<(WorkspaceId, WorkspaceId)> {
    let text = fs::read_to_string(d.join("originals"))?;
    let (a, b) = text.split_once('\n').context("originals")?;
    Ok((
        WorkspaceId::parse(a.as_bytes()).map_err(anyhow::Error::msg)?,
        WorkspaceId::parse(b.trim().as_bytes()).map_err(anyhow::Error::msg)?,
    ))
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    let _ = fs::remove_dir_all(to);
    let status = std::process::Command::new("cp").arg("-a").arg(from).arg(to).status()?;
    if !status.success() {
        bail!("cp -a {} {} failed", from.display(), to.display());
    }
    Ok(())
}
