"""The exceptions of dotdir: ``Error`` and one subclass per kind of Rust error.

Every exception keeps ``.path`` (the file or directory it is about, or ``None``) and ``.step``
(what was being done when a system call failed: ``"sync_dir"``, ``"rename"``, ``"lock"``, …, or
``None``). Messages carry the whole cause chain and never a secret's bytes.
"""

from __future__ import annotations

from typing import Optional

__all__ = [
    "Error",
    "IoFailure",
    "CorruptDocument",
    "EncodeError",
    "NotAFile",
    "TooLarge",
    "InvalidPath",
    "InvalidValue",
    "SecretRefused",
    "Undeclared",
    "AlreadyRunning",
    "Locked",
    "GitFailure",
    "OffsetPastEnd",
    "NotADataDirectory",
]


class Error(Exception):
    """Base class of every dotdir error."""

    path: Optional[str]
    step: Optional[str]

    def __init__(
        self,
        message: str,
        *,
        path: Optional[str] = None,
        step: Optional[str] = None,
        **extra: object,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.step = step
        for key, value in extra.items():
            setattr(self, key, value)

    def __str__(self) -> str:
        return self.message


class IoFailure(Error, OSError):
    """A system call failed (``.errno`` is the OS error number, ``.step`` what was done)."""

    def __init__(self, message: str, *, errno: Optional[int] = None, **kwargs: object) -> None:
        Error.__init__(self, message, **kwargs)  # type: ignore[arg-type]
        self.errno = errno  # type: ignore[misc]


class CorruptDocument(Error, ValueError):
    """A file does not parse, or does not have the expected shape. It is left as it is."""


class EncodeError(Error, TypeError):
    """A value cannot be written as JSON."""


class NotAFile(Error):
    """The path exists and is not a regular file."""


class TooLarge(Error):
    """A file or record is larger than its cap."""


class InvalidPath(Error, ValueError):
    """A path is not usable (no file name, outside the directory, through a symlink)."""


class InvalidValue(Error, ValueError):
    """A value given by the caller was refused (a config key, a capacity of 0, a pattern)."""


class SecretRefused(Error):
    """A secret would leak: a path the exclusion list forbids was asked to be committed, or a
    secret was to be written through a symbolic link. Nothing was done."""


class Undeclared(Error):
    """A path the allow-list does not declare was asked to be committed. Nothing was done."""


class AlreadyRunning(Error):
    """The single-instance lock is held; ``.pid`` is the holder's pid (``None`` if unknown)."""

    pid: Optional[int]

    def __init__(self, message: str, *, pid: Optional[int] = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.pid = pid


class Locked(Error):
    """A lock held by another process stayed held for the whole retry budget."""


class GitFailure(Error):
    """A git operation failed."""


class OffsetPastEnd(Error):
    """A log read started past the end: the log was rewritten. Start again from 0."""


class NotADataDirectory(Error):
    """The directory is not (and will not be made) a data directory of the layout."""
