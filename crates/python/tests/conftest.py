"""Shared helpers of the pytest suite of the `dotdir` package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
# Files written by the real ollim-bot (the copy the Rust tests use).
FIXTURES = REPO / "crates" / "test-support" / "data" / "ollim-bot"

sys.path.insert(0, str(HERE))


@pytest.fixture
def fixtures() -> Path:
    assert FIXTURES.is_dir(), f"missing fixtures at {FIXTURES}"
    return FIXTURES


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def git_init(repo: Path) -> None:
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q")
    git(repo, "config", "user.name", "test")
    git(repo, "config", "user.email", "test@localhost")


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


def tree_bytes(root: Path) -> dict:
    """Every file under ``root`` (but ``.git`` and dotdir's ``.lock`` sidecars) with its bytes
    and mode."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if rel.endswith(".lock"):
                continue
            out[rel] = (path.read_bytes(), path.stat().st_mode & 0o777)
    return out
