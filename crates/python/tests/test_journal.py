"""`dotdir.Journal`: in-process commits, exclusions and the allow-list."""

from __future__ import annotations

import pytest

import dotdir
from conftest import git


def test_commit_allowed_refuse_excluded_and_undeclared(tmp_path):
    root = tmp_path / "data"
    journal = dotdir.Journal(
        root,
        exclusions=["state/token.json"],
        allow=["routines/*.md", "state/session_history.jsonl", "state/token.json"],
    )
    (root / "routines").mkdir()
    (root / "state").mkdir()
    (root / "routines" / "a.md").write_text("a")
    (root / "state" / "token.json").write_text("s3cr3t")
    (root / ".env").write_text("KEY=1")

    first = journal.commit(["routines/a.md"], "add routine a")
    assert first is not None and len(first) == 40
    assert journal.commit("routines/a.md", "again") is None  # nothing changed: no commit

    with pytest.raises(dotdir.SecretRefused) as raised:
        journal.commit(["state/token.json"], "oops")
    assert "state/token.json" in str(raised.value) and "s3cr3t" not in str(raised.value)
    with pytest.raises(dotdir.Undeclared):
        journal.commit([root / ".env"], "oops")
    assert not journal.allows(".env") and journal.allows("routines/b.md")

    (root / "routines" / "a.md").unlink()
    assert journal.commit(root / "routines" / "a.md", "remove routine a")
    journal.write("routines/b.md", b"b", "add routine b")
    tracked = git(root, "ls-files").split()
    assert "routines/b.md" in tracked
    assert "state/token.json" not in tracked and ".env" not in tracked
    assert git(root, "log", "--format=%s").splitlines()[:3] == [
        "add routine b", "remove routine a", "add routine a",
    ]
    assert journal.log("routines/a.md") == ["remove routine a", "add routine a"]
    assert journal.uncommitted() == []
    assert journal.head() is not None


def test_a_layout_journal_uses_the_layouts_allow_list(tmp_path):
    root = tmp_path / ".ollim-bot"
    journal = dotdir.Journal(root, layout="ollim-bot", gitignore=False)
    (root / "state").mkdir(parents=True)
    (root / "state" / "token.json").write_text("{}")
    with pytest.raises(dotdir.SecretRefused):
        journal.commit("state/token.json", "oops")
    assert not (root / ".gitignore").exists()
    with pytest.raises(ValueError):
        dotdir.Journal(root, layout="nope")
