"""The typed ollim-bot data directory (``~/.ollim-bot``), as the Rust facade
``dotdir::ollim::DataDir`` gives it.

Wrapped operations (every other one stays Rust-only for now):

- sessions: ``session_id``, ``save_session_id`` (logs ``created``/``compacted``),
  ``delete_session_id``, ``set_swap_in_progress``, ``log_session_event``, ``session_history``,
  ``session_start_time``;
- specs: ``routines``, ``save_routine``, ``remove_routine``, ``reminders``, ``save_reminder``,
  ``remove_reminder``, ``fire_reminder``, ``webhooks`` (specs are dicts of the reference's
  field names);
- state: ``config``, ``set_config``, ``ping_budget`` (a :class:`dotdir.PingBucket`),
  ``register_inquiry``/``peek_inquiry``/``pop_inquiry``, ``append_update``/``peek_updates``/
  ``pop_updates``/``clear_updates``, ``record_fork_messages``/``lookup_fork_session``,
  ``write_secret``/``read_secret``;
- process: ``pid_lock`` (a :class:`dotdir.PidLock` on ``state/bot.pid``), ``lock_instance``,
  ``running_instance``;
- git: ``commit_all_changed``, ``pending_commits``, ``auto_commit``;
- ``check(fix=False)``.

Not wrapped: skills, downloads, reflections, the profile (``IDENTITY.md``), the SDK layout,
the state write guard, the journal's history queries.
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional

from . import CheckResult, LogProblem, PidLock, Records, _check_result, _native

__all__ = ["DataDir", "ForkLookup", "Specs", "LAYOUT", "PROGRAM", "MAX_PENDING_UPDATES"]

LAYOUT = "ollim-bot"
PROGRAM: str = _native.OLLIM["PROGRAM"]
MAX_PENDING_UPDATES: int = _native.OLLIM["MAX_PENDING_UPDATES"]


class ForkLookup(NamedTuple):
    """Which fork a message belongs to (the reference's ``ForkLookup``)."""

    session_id: Optional[str]
    expired: bool


class Specs(list):  # type: ignore[type-arg]
    """The specs of a directory (dicts, in file-name order), with the files that were skipped
    (``problems``: one message each)."""

    problems: List[str]

    def __init__(self, specs: Any, problems: Any) -> None:
        super().__init__(specs)
        self.problems = list(problems)

    def get(self, id: str) -> Optional[Dict[str, Any]]:
        """The spec with this id, or ``None``."""
        return next((s for s in self if s.get("id") == id), None)


class DataDir(_native.DataDir):
    """One ollim-bot data directory: ``DataDir(path, *, git=True, durable=True, timezone=None)``.

    Opening creates the directory and ``state/`` (0700) and, with ``git``, the repository in
    exactly this directory with the layout's ``.gitignore``. Each write is durable, each state
    file is read-modify-written under its cross-process lock, and each tracked change is
    committed with the reference's message.
    """

    def session_history(self) -> Records:
        """Every session event (dicts), with ``problems`` for torn or corrupt lines."""
        events, problems = self._session_history()
        return Records(events, (LogProblem(*p) for p in problems))

    def routines(self) -> Specs:
        """Every routine (corrupt files are reported in ``problems``, never fatal)."""
        return Specs(*self._routines())

    def reminders(self) -> Specs:
        """Every reminder."""
        return Specs(*self._reminders())

    def webhooks(self) -> Specs:
        """Every webhook spec."""
        return Specs(*self._webhooks())

    def lookup_fork(self, message_id: int) -> ForkLookup:
        """Which fork a Discord message belongs to."""
        return ForkLookup(*self.lookup_fork_session(message_id))

    def lock_instance(self, timeout: Optional[float] = None) -> PidLock:
        """Takes the single-instance lock (``state/bot.pid``) and returns it (held): release
        it with ``release()`` or use it in a ``with`` block. Raises
        :class:`dotdir.AlreadyRunning` naming the running bot's pid."""
        lock: PidLock = self.pid_lock()
        lock.acquire(timeout)
        return lock

    def check(self, fix: bool = False) -> CheckResult:
        """:func:`dotdir.check` of this directory with the ollim-bot layout."""
        return _check_result(self._check(fix))
