//! The omicos half of `cargo xtask torture`: a child switches a workspace between four accounts
//! at random (login, switch back, logout, rotate, read) and reports each call after it returns;
//! the parent SIGKILLs it at random moments. The next child's first call is whatever the dice
//! say — the same account, another account, a logout, a rotation, a reader — so every kill is
//! followed by a random next actor. No recovery runs in between: the next actor is the recovery.
//!
//! From the acknowledgements alone the parent checks the account protocol's invariants (see
//! `dotdir::omicos::Workspace`):
//!
//! - each account keeps one `workspace_id` for life (a rotation gives its owner a new one; after
//!   a rotation killed mid-way, the owner's next observed id is its id from then on);
//! - no two accounts share an id, and an id rotated away is never handed to anyone again;
//! - no acknowledged credential is lost: switching back to an account whose login was
//!   acknowledged (and that was not logged out since) succeeds, with its own token;
//! - after each kill `workspace_id`, `account.json` and `cloud_login.json` parse, and at the end
//!   `dotdir check` finds no error in the workspace.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use anyhow::{Context, Result};
use dotdir::{
    check,
    omicos::{self, CloudLogin, Workspace},
};

const ACCOUNTS: [&str; 4] = ["u1", "u2", "u3", "u4"];

fn workspace(root: &Path) -> Workspace {
    Workspace::at(
        omicos::GlobalHome::at(root.join("home")),
        root.join("ws/.omicos"),
        omicos::Flavor::Serve,
    )
}

fn login_of(user: &str) -> CloudLogin {
    CloudLogin::new("https://auth.example", user, None, &format!("tok-{user}"))
}

/// What the parent knows from the acknowledgements.
#[derive(Debug, Default, Clone)]
pub(super) struct Model {
    /// Each account's id, as last observed.
    ids: BTreeMap<String, String>,
    /// Accounts whose id may have changed unobserved (a rotation killed mid-way).
    uncertain: BTreeSet<String>,
    /// Ids rotated away, and whose they were.
    retired: BTreeMap<String, String>,
    /// Accounts whose credentials are acknowledged to be here.
    credentials: BTreeSet<String>,
    /// Acknowledged operations.
    pub(super) ops: u64,
}

impl Model {
    /// Applies one round's lines; returns the violations they show.
    pub(super) fn apply(&mut self, lines: &[String]) -> Vec<String> {
        let mut violations = Vec::new();
        for line in lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["BAD", ..] => violations.push(line.clone()),
                ["ACK", kind, rest @ ..] => {
                    self.ops += 1;
                    self.acknowledged(kind, rest, &mut violations);
                }
                _ => {}
            }
        }
        // The call the kill interrupted may or may not have happened.
        if let Some(last) = lines.last() {
            let words: Vec<&str> = last.split_whitespace().collect();
            match words.as_slice() {
                ["TRY", "rotate", owners @ ..] => {
                    self.uncertain.extend(owners.iter().map(|o| (*o).to_owned()));
                }
                ["TRY", "logout", user] => drop(self.credentials.remove(*user)),
                _ => {}
            }
        }
        violations
    }

    fn acknowledged(&mut self, kind: &str, rest: &[&str], violations: &mut Vec<String>) {
        match (kind, rest) {
            ("login", [user, id]) => {
                self.credentials.insert((*user).to_owned());
                self.observe(user, id, violations);
            }
            ("switch" | "read", [user, id]) => self.observe(user, id, violations),
            ("noswitch", [user, ..]) if self.credentials.contains(*user) => {
                violations
                    .push(format!("switching back to {user} failed: its credentials are lost"));
            }
            ("logout", [user]) => drop(self.credentials.remove(*user)),
            ("rotate", [owner, id]) => {
                if let Some(old) = self.ids.insert((*owner).to_owned(), (*id).to_owned()) {
                    self.retired.insert(old, (*owner).to_owned());
                }
                self.uncertain.remove(*owner);
                self.not_shared(owner, id, violations);
            }
            _ => {}
        }
    }

    /// `user`'s id is `id` now.
    fn observe(&mut self, user: &str, id: &str, violations: &mut Vec<String>) {
        match self.ids.get(user) {
            Some(known) if known != id => {
                if self.uncertain.remove(user) {
                    let old = self.ids.insert(user.to_owned(), id.to_owned());
                    self.retired.extend(old.map(|old| (old, user.to_owned())));
                } else {
                    violations
                        .push(format!("{user} had {known}, then {id}: an account changed id"));
                    return;
                }
            }
            Some(_) => drop(self.uncertain.remove(user)),
            None => drop(self.ids.insert(user.to_owned(), id.to_owned())),
        }
        self.not_shared(user, id, violations);
    }

    fn not_shared(&self, user: &str, id: &str, violations: &mut Vec<String>) {
        for (other, other_id) in &self.ids {
            if other != user && other_id == id {
                violations.push(format!("{user} and {other} share {id}"));
            }
        }
        if let Some(was) = self.retired.get(id) {
            violations.push(format!("{user} got {id}, which {was} rotated away"));
        }
    }

    /// The end: every account with acknowledged credentials switches back to its own id and
    /// token, and the workspace checks without an error.
    pub(super) fn verify_end(&self, root: &Path, violations: &mut Vec<String>) -> Result<()> {
        let ws = workspace(root);
        let mut lines = Vec::new();
        for user in &self.credentials {
            lines.push(switch(&ws, user)?);
        }
        let mut model = self.clone();
        violations.extend(model.apply(&lines));
        let report = check::check(
            ws.data_dir(),
            &omicos::WORKSPACE_LAYOUT,
            &check::Options::default().program("xtask").report_unknown(false),
        )?;
        for problem in report.problems.iter().filter(|p| p.severity == check::Severity::Error) {
            violations.push(format!("check: {} {}", problem.kind.as_str(), problem.path));
        }
        Ok(())
    }
}

/// After each kill: the files the protocol writes parse (no next actor has run yet).
pub(super) fn verify_files(root: &Path, violations: &mut Vec<String>) {
    let ws = workspace(root);
    if let Err(e) = ws.read_workspace_id() {
        violations.push(format!("workspace_id: {e}"));
    }
    if let Err(e) = ws.account().read() {
        violations.push(format!("account.json: {e}"));
    }
    if let Err(e) = ws.cloud_login().read() {
        violations.push(format!("cloud_login.json: {e}"));
    }
}

/// `ACK switch <user> <id>`, `ACK noswitch <user>` or `BAD …` for a switch back to `user`.
fn switch(ws: &Workspace, user: &str) -> Result<String> {
    let Ok(realigned) = ws.switch_account(user) else {
        return Ok(format!("ACK noswitch {user}"));
    };
    let token = ws.cloud_login().read()?.and_then(|l| l.user_token);
    if token.as_deref() != Some(&format!("tok-{user}")) {
        return Ok(format!("BAD after switching to {user} the token is {token:?}"));
    }
    Ok(format!("ACK switch {user} {}", realigned.workspace_id))
}

/// The child: operate on the workspace until killed.
pub(super) fn child(root: &Path) -> Result<()> {
    let ws = workspace(root);
    loop {
        let user = ACCOUNTS[fastrand::usize(..ACCOUNTS.len())];
        let line = match fastrand::u8(..10) {
            0..=2 => {
                super::ack_line(&format!("TRY login {user}"));
                let id = ws.login(&login_of(user))?.workspace_id;
                format!("ACK login {user} {id}")
            }
            3..=5 => {
                super::ack_line(&format!("TRY switch {user}"));
                switch(&ws, user)?
            }
            6 => {
                let Some(user) = login_user(&ws)? else { continue };
                super::ack_line(&format!("TRY logout {user}"));
                let _ = ws.logout()?;
                format!("ACK logout {user}")
            }
            7 => {
                // A pending switch is completed first, so the owner is the recorded one or the
                // one the credentials name.
                let recorded = ws.account().read()?.and_then(|a| a.user_id).unwrap_or_default();
                let login = login_user(&ws)?.unwrap_or_default();
                super::ack_line(&format!("TRY rotate {recorded} {login}"));
                let id = ws.rotate_workspace_id()?;
                let owner = ws.account().read()?.and_then(|a| a.user_id);
                match owner {
                    Some(owner) => format!("ACK rotate {owner} {id}"),
                    None => "ACK rotate-anonymous".to_owned(),
                }
            }
            _ => {
                let id = ws.workspace_id()?;
                match ws.account().read()?.and_then(|a| a.user_id) {
                    Some(owner) => format!("ACK read {owner} {id}"),
                    None => "ACK read-anonymous".to_owned(),
                }
            }
        };
        super::ack_line(&line);
    }
}

fn login_user(ws: &Workspace) -> Result<Option<String>> {
    Ok(ws
        .cloud_login()
        .read()
        .context("cloud_login.json")?
        .and_then(|l| l.user_id().map(str::to_owned)))
}
