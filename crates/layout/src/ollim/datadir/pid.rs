//! `state/bot.pid` on `dotdir-pidlock`: one bot per data directory.

use dotdir_pidlock::{Holder, PidGuard, PidLock, RecordFormat};

use crate::ollim::{DataDir, Result, files};

/// The program name a lock-less holder (the Python bot) must have in its command line.
pub const PROGRAM: &str = "ollim-bot";

/// The bot in every form it is launched: the `ollim-bot` console script, `python -m
/// ollim_bot.main`, `python …/ollim_bot/main.py` (what its `os.execv` restart runs after a `-m`
/// launch), `uv run ollim-bot`.
pub const LAUNCHED_AS: dotdir_pidlock::Program =
    dotdir_pidlock::Program::named(PROGRAM).modules(&["ollim_bot"]);

impl DataDir {
    /// The single-instance lock: the bare decimal pid (the reference's format), an OS lock held
    /// for the guard's life, and the `ollim-bot` command-line rule for a record written by the
    /// Python bot (which takes no OS lock).
    pub fn pid_lock(&self) -> PidLock {
        PidLock::new(self.state_dir().join(files::BOT_PID))
            .format(RecordFormat::BarePid)
            .program(PROGRAM)
            .launched_as(LAUNCHED_AS)
    }

    /// Takes the single-instance lock, or fails naming the running bot's pid
    /// (`Error::Pid`, see [`dotdir_pidlock::Error::holder_pid`]).
    pub fn lock_instance(&self) -> Result<PidGuard> {
        self.check_state_dir()?;
        Ok(self.pid_lock().acquire()?)
    }

    /// Who runs on this directory, if anyone.
    pub fn running_instance(&self) -> Result<Option<Holder>> {
        Ok(self.pid_lock().probe()?)
    }
}
