//! `DataDir`'s specs operations (the types are in `ollim::specs`).

use crate::ollim::{DataDir, Result};
use dotdir_frontmatter::{Listing, SkillDir, SpecDir};
use std::path::{Path, PathBuf};

use crate::ollim::specs::{Reminder, Routine, Skill, Webhook};

impl DataDir {
    /// `routines/` (parsed listings are cached: polling an unchanged directory reads no file).
    pub fn routines(&self) -> &SpecDir<Routine> {
        &self.specs.routines
    }

    /// `reminders/`.
    pub fn reminders(&self) -> &SpecDir<Reminder> {
        &self.specs.reminders
    }

    /// `webhooks/`.
    pub fn webhooks(&self) -> &SpecDir<Webhook> {
        &self.specs.webhooks
    }

    /// `skills/`, to read. A write through it is not committed: save with
    /// [`DataDir::save_skill`].
    pub fn skills(&self) -> &SkillDir<Skill> {
        &self.specs.skills
    }

    /// Writes `skills/<name>/SKILL.md` and commits: `add skill {name}`. Returns its path.
    pub fn save_skill(&self, skill: &Skill) -> Result<PathBuf> {
        let skills = &self.specs.skills;
        let _ = self.dir.real_dir(skills.path())?;
        let saved = skills.write(skill)?;
        let message = format!("add skill {}", dotdir_frontmatter::Spec::id(skill));
        self.commit_saved(&saved.path, &saved.removed, &message)?;
        Ok(saved.path)
    }

    /// Every routine, with the files that were skipped (corrupt ones are reported, never fatal).
    pub fn list_routines(&self) -> Result<std::sync::Arc<Listing<Routine>>> {
        Ok(self.specs.routines.list()?)
    }

    /// Every reminder.
    pub fn list_reminders(&self) -> Result<std::sync::Arc<Listing<Reminder>>> {
        Ok(self.specs.reminders.list()?)
    }

    /// Saves a routine and commits it: `add routine {id}`. A changed message renames the file
    /// (one file per id; the old name's deletion is in the same commit).
    pub fn save_routine(&self, routine: &Routine) -> Result<PathBuf> {
        let routines = &self.specs.routines;
        let _ = self.dir.real_dir(routines.path())?;
        let message = format!("add routine {}", routine.id);
        // A save repeated after a failure writes and commits everything again.
        let saved = routines.write(routine)?;
        self.commit_saved(&saved.path, &saved.removed, &message)?;
        Ok(saved.path)
    }

    /// Removes a routine (every file with its id) and commits: `remove routine {id}`. Returns
    /// whether one existed.
    pub fn remove_routine(&self, id: &str) -> Result<bool> {
        let routines = &self.specs.routines;
        let _ = self.dir.real_dir(routines.path())?;
        let message = format!("remove routine {id}");
        let removed = self.change(
            &[routines.path().to_owned()],
            &message,
            || routines.remove(id),
            || !matches!(routines.get(id), Ok(Some(_))),
        )?;
        self.commit_removed(&removed, &message)?;
        Ok(!removed.is_empty())
    }

    /// Saves a reminder and commits it: `add reminder {id}`.
    pub fn save_reminder(&self, reminder: &Reminder) -> Result<PathBuf> {
        let reminders = &self.specs.reminders;
        let _ = self.dir.real_dir(reminders.path())?;
        let message = format!("add reminder {}", reminder.id);
        // A save repeated after a failure writes and commits everything again.
        let saved = reminders.write(reminder)?;
        self.commit_saved(&saved.path, &saved.removed, &message)?;
        Ok(saved.path)
    }

    /// Removes a reminder (after it fired, or cancelled) and commits: `remove reminder {id}`.
    pub fn remove_reminder(&self, id: &str) -> Result<bool> {
        let reminders = &self.specs.reminders;
        let _ = self.dir.real_dir(reminders.path())?;
        let message = format!("remove reminder {id}");
        let removed = self.change(
            &[reminders.path().to_owned()],
            &message,
            || reminders.remove(id),
            || !matches!(reminders.get(id), Ok(Some(_))),
        )?;
        self.commit_removed(&removed, &message)?;
        Ok(!removed.is_empty())
    }

    /// Fires a reminder: when `next_run_at` is given and the chain allows, saves its follow-up
    /// ([`Reminder::follow_up`]) first, then removes the fired reminder, and commits both in one
    /// commit: `remove reminder {id}, add reminder {new id}` (just `remove reminder {id}`
    /// without a follow-up). Returns the follow-up.
    ///
    /// The follow-up is on disk before the fired reminder goes, so a failure (or a crash) in
    /// between never ends the chain: it leaves both, and the fired reminder may fire again.
    /// Firing it again is safe: the follow-up's id is derived from the fired one's, so the
    /// same follow-up is rewritten, never a second one added. A reminder that is already gone
    /// fires nothing (`Ok(None)`).
    pub fn fire_reminder(&self, id: &str, next_run_at: Option<&str>) -> Result<Option<Reminder>> {
        let current = self.specs.reminders.get(id)?.map(|entry| entry.spec.clone());
        let follow_up = match (&current, next_run_at) {
            (Some(reminder), Some(run_at)) if reminder.chain_depth < reminder.max_chain => {
                Some(reminder.follow_up(run_at)?)
            }
            _ => None,
        };
        let message = match &follow_up {
            Some(next) => format!("remove reminder {id}, add reminder {}", next.id),
            None => format!("remove reminder {id}"),
        };
        let reminders = &self.specs.reminders;
        let _ = self.dir.real_dir(reminders.path())?;
        // A failure that left the fired reminder in place is finished by firing it again (the
        // same follow-up, one commit); one after its removal took effect leaves a pending commit.
        let paths = self.change(
            &[reminders.path().to_owned()],
            &message,
            || {
                let mut paths = Vec::new();
                if let Some(next) = &follow_up {
                    let saved = reminders.write(next)?;
                    paths.push(saved.path);
                    paths.extend(saved.removed);
                }
                paths.extend(reminders.remove(id)?);
                Ok::<_, dotdir_frontmatter::Error>(paths)
            },
            || !matches!(reminders.get(id), Ok(Some(_))),
        )?;
        // With nothing changed (the reminder was gone), this makes the pending commits only.
        self.commit_paths(&paths, &message)?;
        Ok(follow_up)
    }

    fn commit_saved(&self, path: &Path, removed: &[PathBuf], message: &str) -> Result<()> {
        let mut paths = vec![path.to_path_buf()];
        paths.extend(removed.iter().cloned());
        self.commit_paths(&paths, message)
    }

    /// Commits a removal; with nothing removed (a retry after the file was removed but its
    /// commit failed), makes the pending commits instead.
    fn commit_removed(&self, removed: &[PathBuf], message: &str) -> Result<()> {
        self.commit_paths(removed, message)
    }
}
