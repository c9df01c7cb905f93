//! `DataDir`'s profile operations (the types are in `ollim::profile`).

use crate::IoError;
use crate::ollim::{DataDir, Error, Result};
use dotdir_atomic_store::{DEFAULT_MAX_DOCUMENT, Document, JsonStyle, read, write, write_new};
use dotdir_engine::Step;
use std::{fs, io::ErrorKind, os::unix::fs::symlink, path::Path};

use crate::ollim::profile::{
    AgentTemplate, BUNDLED_AGENTS, IDENTITY_FILE, IDENTITY_TEMPLATE, Names, SKILLS_LINK_TARGET,
    SdkLayoutReport, USER_FILE,
};

impl DataDir {
    /// Creates `IDENTITY.md` from [`IDENTITY_TEMPLATE`] if it does not exist, and commits it;
    /// an existing file (even empty) is never touched. Returns whether it was created.
    pub fn bootstrap_identity(&self, names: &Names) -> Result<bool> {
        let path = self.dir.root().join(IDENTITY_FILE);
        let message = "bootstrap IDENTITY.md";
        let created = self.change(
            std::slice::from_ref(&path),
            message,
            || self.create_once(&path, &names.expand(IDENTITY_TEMPLATE)),
            || fs::symlink_metadata(&path).is_ok(),
        )?;
        if created {
            self.commit(IDENTITY_FILE, message)?;
        } else {
            // A call whose commit failed created the file: its commit is pending.
            self.settle_commits()?;
        }
        Ok(created)
    }

    /// The profile prepended to the system prompt: `IDENTITY.md` and `USER.md`, each stripped,
    /// empty ones dropped, joined by a blank line (the reference's `load_profile`).
    pub fn load_profile(&self) -> Result<String> {
        let mut parts = Vec::new();
        for name in [IDENTITY_FILE, USER_FILE] {
            if let Some(bytes) = read(&self.dir.root().join(name), DEFAULT_MAX_DOCUMENT)? {
                let text = String::from_utf8_lossy(&bytes).trim().to_owned();
                if !text.is_empty() {
                    parts.push(text);
                }
            }
        }
        Ok(parts.join("\n\n"))
    }

    /// Writes a profile file (`IDENTITY.md` or `USER.md`) and commits it.
    pub fn write_profile(&self, name: &str, text: &str) -> Result<()> {
        if ![IDENTITY_FILE, USER_FILE].contains(&name) {
            return Err(Error::refused(
                format!("profile file {name}"),
                "not IDENTITY.md or USER.md",
            ));
        }
        let path = self.dir.root().join(name);
        let _ = write(&path, text.as_bytes(), &self.dir.write_options(&path))?;
        self.commit(name, &format!("update {name}"))
    }

    /// The Agent SDK layout: `.claude/agents/` with the [`BUNDLED_AGENTS`] expanded (written
    /// atomically, an existing file never overwritten), the `.claude/skills -> ../skills`
    /// relative symlink, and `.claude/settings.json` with `"autoMemoryEnabled": false` unless
    /// the key is set. None of it is committed (the seed's table).
    pub fn ensure_sdk_layout(&self, names: &Names) -> Result<SdkLayoutReport> {
        self.install_agents(&BUNDLED_AGENTS, names)
    }

    /// Like [`DataDir::ensure_sdk_layout`] with other agent templates.
    pub fn install_agents(
        &self,
        agents: &[AgentTemplate],
        names: &Names,
    ) -> Result<SdkLayoutReport> {
        let mut report = SdkLayoutReport::default();
        let agents_dir = self.dir.real_dir(".claude/agents")?;
        for agent in agents {
            if agent.file_name.contains('/') || agent.file_name.starts_with('.') {
                return Err(Error::refused(
                    format!("agent {}", agent.file_name),
                    "not a plain file name",
                ));
            }
            let path = agents_dir.join(agent.file_name);
            if self.create_once(&path, &names.expand(agent.template))? {
                report.installed.push(path);
            } else {
                report.kept.push(path);
            }
        }
        let link = self.dir.root().join(".claude/skills");
        match fs::symlink_metadata(&link) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&link).map_err(IoError::on(Step::ReadLink, &link))?;
                if target != Path::new(SKILLS_LINK_TARGET) {
                    report.problems.push(format!(
                        "{} points to {} instead of {SKILLS_LINK_TARGET}",
                        link.display(),
                        target.display()
                    ));
                }
            }
            Ok(_) => report.problems.push(format!(
                "{} exists and is not a symlink; SDK skill discovery may miss skills/",
                link.display()
            )),
            Err(e) if e.kind() == ErrorKind::NotFound => match symlink(SKILLS_LINK_TARGET, &link) {
                Ok(()) => report.linked_skills = true,
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(IoError::on(Step::CreateSymlink, &link)(e).into()),
            },
            Err(e) => return Err(IoError::on(Step::Inspect, &link)(e).into()),
        }
        let path = self.dir.root().join(".claude/settings.json");
        let options = self.dir.write_options(&path);
        let settings: Document<serde_json::Map<String, serde_json::Value>> =
            Document::new(path).style(JsonStyle::Pretty).options(options);
        settings.update(|map| {
            if !map.contains_key("autoMemoryEnabled") {
                let _ = map.insert("autoMemoryEnabled".to_owned(), serde_json::Value::Bool(false));
            }
        })?;
        Ok(report)
    }

    /// Writes `text` to `path` only if nothing (no file, no symlink) is there, atomically:
    /// `write_new` publishes with `link(2)`, so of two processes bootstrapping together exactly
    /// one creates it and the other's content never replaces it. Returns whether it was created.
    fn create_once(&self, path: &Path, text: &str) -> Result<bool> {
        Ok(write_new(path, text.as_bytes(), &self.dir.write_options(path))?.is_new())
    }
}
