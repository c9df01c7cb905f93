"""dotdir: the on-disk data layer of local agent applications, from Python.

Every write is atomic and durable (temporary file, fsync, rename, fsync of the directory),
read-modify-writes are serialised across processes, logs survive torn appends, a secret is 0600
from its first byte and never reaches git. The work is done by the Rust crates of dotdir; every
call that touches the disk releases the GIL.

- :class:`Document` — a JSON document; ``update(fn)`` is a cross-process read-modify-write.
- :class:`Log` — an append-only JSON Lines log; reads report torn and corrupt lines.
- :class:`PidLock` — the single-instance lock, as a context manager.
- :class:`Journal` — in-process git commits with an exclusion list and allow-list.
- :class:`PingBucket` — ollim-bot's refill-on-read ping budget.
- :func:`check` — the problems of a data directory (and the safe repairs).
- :mod:`dotdir.ollim` — the typed ollim-bot data directory.
- :mod:`dotdir.compat.ollim_storage` — a drop-in for ollim-bot's ``storage.py``.
"""

from __future__ import annotations

from typing import Any, Iterable, List, NamedTuple, Optional, Union
import os

from . import _errors, _native
from ._errors import (
    AlreadyRunning,
    CorruptDocument,
    EncodeError,
    Error,
    GitFailure,
    InvalidPath,
    InvalidValue,
    IoFailure,
    Locked,
    NotADataDirectory,
    NotAFile,
    OffsetPastEnd,
    SecretRefused,
    TooLarge,
    Undeclared,
)

__version__: str = _native.__version__

__all__ = [
    "Document",
    "Log",
    "Records",
    "LogProblem",
    "Repair",
    "PidLock",
    "Journal",
    "PingBucket",
    "Problem",
    "check",
    "detect",
    "layouts",
    "FileLock",
    "atomic_write",
    "remove",
    "CheckResult",
    *_errors.__all__,
]

PathLike = Union[str, "os.PathLike[str]"]

Document = _native.Document
PidLock = _native.PidLock
Journal = _native.Journal
PingBucket = _native.PingBucket
FileLock = _native.FileLock
atomic_write = _native.atomic_write
remove = _native.remove
layouts = _native.layouts
detect = _native.detect


class LogProblem(NamedTuple):
    """A line a log reader skipped: ``kind`` is ``"torn_tail"`` (an unterminated last line, a
    record in progress or torn by a crash), ``"malformed"``, ``"mismatch"``, ``"checksum"`` or
    ``"oversized"``; ``line`` is 1-based (``None`` for :meth:`Log.tail`)."""

    kind: str
    line: Optional[int]
    offset: int
    length: int
    message: str


class Records(list):  # type: ignore[type-arg]
    """The records of a read, in file order (a ``list``), with the lines that were skipped
    (``problems``) and the offset to resume from (``next_offset``)."""

    problems: List[LogProblem]
    next_offset: int

    def __init__(
        self, records: Iterable[Any] = (), problems: Iterable[LogProblem] = (), next_offset: int = 0
    ) -> None:
        super().__init__(records)
        self.problems = list(problems)
        self.next_offset = next_offset

    @property
    def torn_tail(self) -> Optional[LogProblem]:
        """The unterminated last line, if any."""
        return next((p for p in self.problems if p.kind == "torn_tail"), None)


def _records(scan: Any) -> Records:
    records, problems, next_offset = scan
    return Records(records, (LogProblem(*p) for p in problems), next_offset)


class Repair(NamedTuple):
    """What :meth:`Log.repair` did: records kept, lines moved to ``<log>.corrupt``, and whether
    the log was rewritten."""

    kept: int
    quarantined: List[LogProblem]
    rewritten: bool


class Log(_native.Log):
    """An append-only JSON Lines log at ``path``.

    ``append(record)`` writes one complete line in one ``write(2)`` under the log's
    cross-process lock (appenders in threads and processes never interleave), synced before it
    returns unless ``durable=False``. ``format="python"`` (the default) writes each line as
    ``json.dumps(record) + "\\n"``; ``"compact"`` and ``"checksummed"`` are the other formats.
    Readers take no lock and never fail on a torn or corrupt line: they report it.
    """

    def read(self) -> Records:
        """Every record, with ``problems`` for the lines skipped."""
        return _records(self._read())

    def read_from(self, offset: int) -> Records:
        """The records appended after ``offset`` (a previous read's ``next_offset``)."""
        return _records(self._read_from(offset))

    def tail(self, n: int) -> Records:
        """The last ``n`` records, read backwards from the end (constant time in the log's size)."""
        return _records(self._tail(n))

    def repair(self) -> Repair:
        """Moves torn and corrupt lines to ``<log>.corrupt``, under the append lock."""
        kept, quarantined, rewritten = self._repair()
        return Repair(kept, [LogProblem(*p) for p in quarantined], rewritten)

    def __iter__(self) -> Any:
        return iter(self.read())

    def __repr__(self) -> str:
        return f"Log({str(self.path)!r})"


class Problem(NamedTuple):
    """A problem :func:`check` found: ``kind`` (``corrupt-json``, ``secret-mode``, …),
    ``severity`` (``error``, ``warning``, ``notice``), ``path`` (relative to the directory),
    ``message``, ``line`` (for content problems), ``fixable`` (``check(fix=True)`` repairs it)
    and ``advice``."""

    kind: str
    severity: str
    path: str
    message: str
    line: Optional[int]
    fixable: bool
    advice: str


class CheckResult(list):  # type: ignore[type-arg]
    """The problems of :func:`check` (a ``list`` of :class:`Problem`), with the ``layout`` used."""

    layout: str

    def __init__(self, layout: str, problems: Iterable[Problem]) -> None:
        super().__init__(problems)
        self.layout = layout

    @property
    def errors(self) -> List[Problem]:
        """The problems of severity ``error``."""
        return [p for p in self if p.severity == "error"]


def _check_result(result: Any) -> CheckResult:
    layout, problems = result
    return CheckResult(layout, (Problem(*p) for p in problems))


def check(
    dir: PathLike,
    layout: Optional[str] = None,
    fix: bool = False,
    *,
    assume_stopped: bool = False,
) -> CheckResult:
    """The problems of the data directory ``dir``.

    ``layout`` is a built-in layout's name (``"ollim-bot"``, ``"omicos-home"``,
    ``"omicos-workspace"``: :func:`layouts`) or ``None`` to recognise it from what the
    directory holds (:func:`detect`). With ``fix=True`` the repairs that lose nothing run first
    (never against a running app unless ``assume_stopped``), and the problems left are returned.
    """
    return _check_result(_native.check(os.fspath(dir), layout, fix, assume_stopped))
