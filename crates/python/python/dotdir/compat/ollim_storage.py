"""A drop-in for ollim-bot's ``storage.py``: same functions, same signatures, same bytes on disk.

An app switches with one import line::

    from dotdir.compat import ollim_storage as storage   # was: from ollim_bot import storage

The file formats are the reference's, byte for byte: the front matter of ``write_md`` (kebab-case
keys, defaults omitted, strings in double quotes *without escaping*, as the reference writes
them), ``json.dumps`` lines for JSONL, 0600 for files written by ``atomic_write``. What changes
is how the bytes reach the disk and git:

- ``atomic_write`` is dotdir's durable atomic replace (fsync of the file and the directory; the
  temporary file never leaks), 0600 from the first byte;
- ``append_jsonl`` is one locked ``write(2)`` per record (appenders in threads and processes
  never interleave), synced before it returns; ``remove_jsonl`` rewrites under the same lock, so
  no concurrent append is lost;
- ``git_commit`` / ``git_rm_commit`` commit in-process (libgit2) instead of two ``git``
  subprocesses, with ollim-bot's allow-list: a secret (``state/token.json``, …) or an undeclared
  path is never committed. As in the reference, a failed commit never raises: it is logged;
- ``read_jsonl`` skips a torn or corrupt line (logging it) instead of raising, so a crash
  mid-append no longer breaks every later read; ``read_md_dir`` also skips unreadable entries
  (a directory named ``x.md``) instead of aborting; ``write_md`` treats a corrupt file at a
  candidate name as taken instead of failing; ``remove_md`` reads files in sorted order, skips
  corrupt ones and removes every file with the id.

Beside the reference's files, dotdir keeps its lock sidecars (``<log>.lock``).
``parse_md`` and ``read_md_dir`` read YAML with PyYAML (``yaml.safe_load``), as the reference
does, so values parse exactly as they did.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import MISSING, asdict, fields
from pathlib import Path
from typing import Any, Dict, List, Optional, Type, TypeVar, Union

from .. import Error as _DotdirError
from .. import FileLock as _FileLock
from .. import _native

__all__ = [
    "atomic_write",
    "git_commit",
    "git_rm_commit",
    "parse_md",
    "read_md_dir",
    "write_md",
    "remove_md",
    "read_jsonl",
    "append_jsonl",
    "remove_jsonl",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
_PathArg = Union[str, "os.PathLike[str]"]

#: The mode of every file ``atomic_write`` produces (the reference's ``mkstemp`` gives 0600).
ATOMIC_MODE = 0o600


def _yaml() -> Any:
    import yaml  # the reference's parser; imported when front matter is first read

    return yaml


# ---- writes ---------------------------------------------------------------------------------


def atomic_write(path: _PathArg, data: bytes) -> None:
    """Replaces ``path`` with ``data``: durable, atomic, mode 0600, parents created."""
    _native.atomic_write(os.fspath(path), bytes(data), mode=ATOMIC_MODE)


# ---- git ------------------------------------------------------------------------------------


def _find_repo(filepath: Path) -> Optional[Path]:
    for parent in filepath.parents:
        if (parent / ".git").is_dir():
            return parent
    return None


def git_commit(filepath: _PathArg, message: str) -> None:
    """Commits the current state of ``filepath`` (and only it) in the repository above it.

    Nothing happens without a repository. A path ollim-bot's layout does not track (a secret,
    state, an undeclared file) is refused, and like every other failure it is logged, never
    raised.
    """
    filepath = Path(filepath)
    repo = _find_repo(filepath)
    if repo is None:
        return
    rel = filepath.relative_to(repo)
    try:
        _native.journal_commit(str(repo), str(rel), message)
    except _DotdirError as error:
        log.warning("git commit of %s failed: %s", rel, error)


def git_rm_commit(filepath: _PathArg, message: str) -> None:
    """Commits the deletion of ``filepath`` (already unlinked by the caller)."""
    git_commit(filepath, message)


# ---- markdown with YAML front matter --------------------------------------------------------


def _slugify(text: str, max_len: int = 50) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(slug) > max_len:
        slug = slug[:max_len].rstrip("-")
    return slug


def _serialize_md(item: Any) -> str:
    data = asdict(item)
    message = data.pop("message")
    defaults: Dict[str, Any] = {}
    for f in fields(item):
        if f.name == "message":
            continue
        if f.default is not MISSING:
            defaults[f.name] = f.default
        elif f.default_factory is not MISSING:
            defaults[f.name] = f.default_factory()
    lines: List[str] = []
    for key, value in data.items():
        if key in defaults and value == defaults[key]:
            continue
        yaml_key = key.replace("_", "-")
        if isinstance(value, str):
            lines.append(f'{yaml_key}: "{value}"')
        elif isinstance(value, bool):
            lines.append(f"{yaml_key}: {'true' if value else 'false'}")
        elif isinstance(value, list):
            lines.append(f"{yaml_key}:")
            for entry in value:
                if isinstance(entry, str):
                    lines.append(f'  - "{entry}"')
                else:
                    lines.append(f"  - {entry}")
        else:
            lines.append(f"{yaml_key}: {value}")
    return "---\n" + "\n".join(lines) + "\n---\n" + message + "\n"


def parse_md(text: str, cls: Type[T]) -> T:
    """Parses a markdown file with YAML front matter into ``cls`` (a dataclass with a
    ``message`` field), exactly as the reference does."""
    yaml = _yaml()
    parts = text.split("---", 2)
    if len(parts) < 3:
        raise ValueError("Missing YAML frontmatter delimiters")
    body = parts[2].strip()
    data = yaml.safe_load(parts[1])
    if not isinstance(data, dict):
        raise ValueError("YAML frontmatter is not a mapping")
    field_map = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    filtered: Dict[str, Any] = {}
    for raw_key, value in data.items():
        key = raw_key.replace("-", "_")
        if key not in field_map:
            continue
        if value is not None and field_map[key].type in ("str", "str | None"):
            value = str(value)
        filtered[key] = value
    filtered["message"] = body
    return cls(**filtered)


def read_md_dir(dir_path: _PathArg, cls: Type[T]) -> List[T]:
    """Every ``*.md`` of ``dir_path`` parsed into ``cls``, in sorted order; corrupt and
    unreadable files are skipped with a warning."""
    yaml = _yaml()
    dir_path = Path(dir_path)
    if not dir_path.is_dir():
        return []
    items: List[T] = []
    for f in sorted(dir_path.glob("*.md")):
        try:
            items.append(parse_md(f.read_text(), cls))
        except (ValueError, yaml.YAMLError, TypeError, KeyError, OSError):
            log.warning("Skipping corrupt file: %s", f)
    return items


def _front_matter_id(path: Path) -> Any:
    """The front matter of ``path`` as the reference reads it (``None`` without front
    matter); raises on YAML errors."""
    parts = path.read_text().split("---", 2)
    if len(parts) < 3:
        return None
    return _yaml().safe_load(parts[1])


def write_md(dir_path: _PathArg, item: Any, commit_msg: str) -> None:
    """Writes ``item`` to ``<slug>.md`` (``<slug>-2.md``, … when another id holds the name; the
    file with the same id is overwritten) and commits it."""
    yaml = _yaml()
    dir_path = Path(dir_path)
    dir_path.mkdir(parents=True, exist_ok=True)
    slug = _slugify(item.message)
    target = dir_path / f"{slug}.md"
    counter = 2
    while target.exists():
        try:
            existing = _front_matter_id(target)
        except (ValueError, yaml.YAMLError, OSError):
            existing = None  # a corrupt file holds the name: take the next one
        if isinstance(existing, dict) and str(existing.get("id")) == str(item.id):
            break
        target = dir_path / f"{slug}-{counter}.md"
        counter += 1
    atomic_write(target, _serialize_md(item).encode())
    git_commit(target, commit_msg)


def remove_md(dir_path: _PathArg, item_id: str, commit_msg: str) -> bool:
    """Removes every ``*.md`` whose front-matter ``id`` is ``item_id`` and commits; returns
    whether one existed."""
    yaml = _yaml()
    dir_path = Path(dir_path)
    if not dir_path.is_dir():
        return False
    removed = False
    for f in sorted(dir_path.glob("*.md")):
        try:
            data = _front_matter_id(f)
        except (ValueError, yaml.YAMLError, OSError):
            continue
        if isinstance(data, dict) and str(data.get("id")) == item_id:
            _native.remove(str(f))
            git_rm_commit(f, commit_msg)
            removed = True
    return removed


# ---- JSON Lines -----------------------------------------------------------------------------

_logs: Dict[str, Any] = {}


def _log(path: Path) -> Any:
    key = os.fspath(path)
    found = _logs.get(key)
    if found is None:
        found = _native.Log(key, durable=True, format="python")
        _logs[key] = found
    return found


def _records(path: Path, cls: Type[T]) -> List[T]:
    scan = _log(path)._read()
    records, problems, _ = scan
    for problem in problems:
        log.warning("Skipping corrupt line of %s: %s", path, problem[4])
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    items: List[T] = []
    for record in records:
        if not isinstance(record, dict):
            continue
        try:
            items.append(cls(**{k: v for k, v in record.items() if k in names}))
        except TypeError as error:
            log.warning("Skipping invalid record of %s: %s", path, error)
    return items


def read_jsonl(path: _PathArg, cls: Type[T]) -> List[T]:
    """The records of a JSONL file as ``cls`` instances (unknown keys dropped); ``[]`` when the
    file is missing. Torn and corrupt lines are skipped with a warning."""
    path = Path(path)
    if not path.exists():
        return []
    return _records(path, cls)


def append_jsonl(path: _PathArg, item: Any, msg: str) -> None:
    """Appends ``json.dumps(asdict(item))`` as one line (one locked, synced ``write(2)``) and
    commits the file."""
    path = Path(path)
    _log(path).append(asdict(item))
    git_commit(path, msg)


def remove_jsonl(path: _PathArg, item_id: str, cls: Type[T], msg: str) -> bool:
    """Drops every record whose ``id`` is ``item_id``, rewriting the file (under the lock that
    appends take) as the reference does; returns whether one was removed."""
    path = Path(path)
    with _FileLock(os.fspath(path)):
        items = read_jsonl(path, cls)
        kept = [i for i in items if getattr(i, "id", None) != item_id]
        if len(kept) == len(items):
            return False
        atomic_write(path, "".join(json.dumps(asdict(i)) + "\n" for i in kept).encode())
    git_commit(path, msg)
    return True
