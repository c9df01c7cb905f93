"""A faithful pure-Python rendering of ollim-bot's ``storage.py`` (commit bb1fd5d), written from
the behaviour specified in ``ollim-bot.md`` section 1: the yardstick of
``dotdir.compat.ollim_storage``'s bytes on disk. Not the reference's code."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import tempfile
from dataclasses import MISSING, asdict, fields
from pathlib import Path

import yaml

log = logging.getLogger(__name__)


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _find_repo(filepath: Path):
    for parent in filepath.parents:
        if (parent / ".git").is_dir():
            return parent
    return None


def git_commit(filepath: Path, message: str) -> None:
    repo = _find_repo(filepath)
    if repo is None:
        return
    rel = filepath.relative_to(repo)
    subprocess.run(["git", "add", str(rel)], cwd=repo, capture_output=True)
    subprocess.run(["git", "commit", "-m", message, "--", str(rel)], cwd=repo, capture_output=True)


def git_rm_commit(filepath: Path, message: str) -> None:
    repo = _find_repo(filepath)
    if repo is None:
        return
    rel = filepath.relative_to(repo)
    subprocess.run(["git", "rm", "-f", str(rel)], cwd=repo, capture_output=True)
    subprocess.run(["git", "commit", "-m", message, "--", str(rel)], cwd=repo, capture_output=True)


def _slugify(text: str, max_len: int = 50) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(slug) > max_len:
        slug = slug[:max_len].rstrip("-")
    return slug


def _serialize_md(item) -> str:
    data = asdict(item)
    message = data.pop("message")
    defaults = {}
    for f in fields(item):
        if f.name == "message":
            continue
        if f.default is not MISSING:
            defaults[f.name] = f.default
        elif f.default_factory is not MISSING:
            defaults[f.name] = f.default_factory()
    lines = []
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


def parse_md(text: str, cls):
    parts = text.split("---", 2)
    if len(parts) < 3:
        raise ValueError("Missing YAML frontmatter delimiters")
    body = parts[2].strip()
    data = yaml.safe_load(parts[1])
    if not isinstance(data, dict):
        raise ValueError("YAML frontmatter is not a mapping")
    field_map = {f.name: f for f in fields(cls)}
    filtered = {}
    for raw_key, value in data.items():
        key = raw_key.replace("-", "_")
        if key not in field_map:
            continue
        if value is not None and field_map[key].type in ("str", "str | None"):
            value = str(value)
        filtered[key] = value
    filtered["message"] = body
    return cls(**filtered)


def read_md_dir(dir_path: Path, cls) -> list:
    if not dir_path.is_dir():
        return []
    items = []
    for f in sorted(dir_path.glob("*.md")):
        try:
            items.append(parse_md(f.read_text(), cls))
        except (ValueError, yaml.YAMLError, TypeError, KeyError):
            log.warning("Skipping corrupt file: %s", f)
    return items


def write_md(dir_path: Path, item, commit_msg: str) -> None:
    dir_path.mkdir(parents=True, exist_ok=True)
    slug = _slugify(item.message)
    target = dir_path / f"{slug}.md"
    counter = 2
    while target.exists():
        parts = target.read_text().split("---", 2)
        if len(parts) >= 3:
            existing = yaml.safe_load(parts[1])
            if isinstance(existing, dict) and str(existing["id"]) == str(item.id):
                break
        target = dir_path / f"{slug}-{counter}.md"
        counter += 1
    atomic_write(target, _serialize_md(item).encode())
    git_commit(target, commit_msg)


def remove_md(dir_path: Path, item_id: str, commit_msg: str) -> bool:
    if not dir_path.is_dir():
        return False
    for f in dir_path.glob("*.md"):
        parts = f.read_text().split("---", 2)
        if len(parts) < 3:
            continue
        data = yaml.safe_load(parts[1])
        if isinstance(data, dict) and str(data.get("id")) == item_id:
            f.unlink()
            git_rm_commit(f, commit_msg)
            return True
    return False


def read_jsonl(path: Path, cls) -> list:
    if not path.exists():
        return []
    names = {f.name for f in fields(cls)}
    items = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or not line.startswith("{"):
            continue
        data = json.loads(line)
        items.append(cls(**{k: v for k, v in data.items() if k in names}))
    return items


def append_jsonl(path: Path, item, msg: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(asdict(item)) + "\n")
    git_commit(path, msg)


def remove_jsonl(path: Path, item_id: str, cls, msg: str) -> bool:
    items = read_jsonl(path, cls)
    kept = [i for i in items if i.id != item_id]
    if len(kept) == len(items):
        return False
    atomic_write(path, "".join(json.dumps(asdict(i)) + "\n" for i in kept).encode())
    git_commit(path, msg)
    return True
