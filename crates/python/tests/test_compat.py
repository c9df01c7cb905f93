"""`dotdir.compat.ollim_storage` against a faithful rendering of the reference's `storage.py`:
same results, same bytes and modes on disk, same commits, on the files real ollim-bot wrote."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest
import yaml

import reference_storage as ref
from conftest import copy_tree, git, git_init, tree_bytes
from ollim_types import Item, Reminder, Routine, SessionEvent
from ollim_webhook import WebhookSpec

from dotdir.compat import ollim_storage as ours

SPEC_DIRS = [
    ("typical/routines", Routine),
    ("typical/reminders", Reminder),
    ("typical/webhooks", WebhookSpec),
    ("hazards/routines", Routine),
]


def outcome(call):
    """The value of `call()`, or the type of the exception it raised."""
    try:
        return ("ok", call())
    except Exception as error:  # noqa: BLE001 - comparing the reference's failures
        return ("raised", type(error))


@pytest.fixture
def two(tmp_path):
    """Two data directories with a git repository each: one for the reference, one for us."""
    a, b = tmp_path / "ref" / ".ollim-bot", tmp_path / "ours" / ".ollim-bot"
    for root in (a, b):
        git_init(root)
    return a, b


def commits(repo: Path) -> list:
    """The history as (subject, files of the commit) pairs, oldest first."""
    out = []
    for line in git(repo, "log", "--reverse", "--format=%H %s").splitlines():
        sha, subject = line.split(" ", 1)
        files = git(repo, "show", "--name-status", "--format=", sha).split()
        out.append((subject, files))
    return out


def committed(repo: Path) -> dict:
    return {p: git(repo, "show", f"HEAD:{p}") for p in git(repo, "ls-files").split()}


def test_atomic_write_same_bytes_and_mode(tmp_path):
    old = os.umask(0o022)
    try:
        for module, root in ((ref, tmp_path / "ref"), (ours, tmp_path / "ours")):
            module.atomic_write(root / "state" / "fork_messages.json", b'[{"message_id": 1}]')
            target = root / "state" / "config.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"{}")
            os.chmod(target, 0o644)
            module.atomic_write(target, json.dumps({"model_main": "opus"}).encode())
    finally:
        os.umask(old)
    assert tree_bytes(tmp_path / "ref") == tree_bytes(tmp_path / "ours")
    assert tree_bytes(tmp_path / "ours")["state/config.json"][1] == 0o600


@pytest.mark.parametrize("rel,cls", SPEC_DIRS)
def test_parse_md_and_read_md_dir_match_on_fixtures(fixtures, rel, cls):
    directory = fixtures / rel
    for path in sorted(directory.glob("*.md")):
        text = path.read_text()
        assert outcome(lambda: ours.parse_md(text, cls)) == outcome(
            lambda: ref.parse_md(text, cls)
        ), path
    assert ours.read_md_dir(directory, cls) == ref.read_md_dir(directory, cls)
    assert ours.read_md_dir(directory / "missing", cls) == []


def test_parse_md_keeps_the_references_quirks():
    text = '---\nid: 12345678\ncron: "0 9 * * *"\nallow-ping: no\n---\n  body  \n'
    routine = ours.parse_md(text, Routine)
    assert routine == ref.parse_md(text, Routine)
    assert routine.id == 12345678 and routine.allow_ping is False and routine.message == "body"
    hook = ours.parse_md('---\nid: 12345678\nfields: {}\n---\nx', WebhookSpec)
    assert hook.id == "12345678"
    with pytest.raises(ValueError, match="Missing YAML frontmatter delimiters"):
        ours.parse_md("no front matter", Routine)


@pytest.mark.parametrize("rel,cls", [("typical/routines", Routine), ("typical/reminders", Reminder)])
def test_write_md_and_remove_md_same_bytes_and_commits(fixtures, two, rel, cls):
    items = ref.read_md_dir(fixtures / rel, cls)
    assert items, "the fixtures hold specs"
    kind = rel.split("/")[1]
    a, b = two
    for module, root in ((ref, a), (ours, b)):
        for item in items:
            module.write_md(root / kind, item, f"add {kind} {item.id}")
        module.write_md(root / kind, items[0], f"add {kind} {items[0].id}")  # same id: in place
        assert module.remove_md(root / kind, items[-1].id, f"remove {kind} {items[-1].id}")
        assert not module.remove_md(root / kind, "nope", "x")
    assert tree_bytes(a) == tree_bytes(b)
    assert commits(a) == commits(b)
    assert committed(a) == committed(b)
    # What both write back is what real ollim-bot wrote.
    written = {p.read_bytes() for p in (b / kind).glob("*.md")}
    assert len(written) == len(items) - 1
    assert written <= {p.read_bytes() for p in (fixtures / rel).glob("*.md")}


def test_write_md_collisions_and_unescaped_quotes(two):
    a, b = two
    specs = [
        Routine("b1", "Dup!", "0 9 * * *"),
        Routine("b2", "Dup!", "0 10 * * *"),
        Routine("b3", "Dup!", "0 11 * * *"),
        Routine("b3", "Dup!", "0 12 * * *", allowed_tools=["Bash(x *)", "WebFetch"], skills=[]),
        Routine("q", 'Say "hi"', "0 9 * * *", description='Say "hi"'),
        Routine("c", "Café ☕ time", "*/5 * * * *", model="", thinking=False),
        Routine("d", "☕☕", "0 9 * * *"),
    ]
    for module, root in ((ref, a), (ours, b)):
        (root / "routines").mkdir()
        (root / "routines" / "plain.md").write_text("no front matter\n")
        for spec in specs:
            module.write_md(root / "routines", spec, f"add routine {spec.id}")
        module.write_md(root / "routines", Routine("p", "plain", "0 9 * * *"), "add routine p")
    assert tree_bytes(a) == tree_bytes(b)
    assert sorted(tree_bytes(b)) == [
        "routines/.md", "routines/caf-time.md", "routines/dup-2.md", "routines/dup-3.md",
        "routines/dup.md", "routines/plain-2.md", "routines/plain.md", "routines/say-hi.md",
    ]
    assert commits(a) == commits(b)


def test_write_md_goes_on_past_a_corrupt_file_where_the_reference_raises(two):
    a, b = two
    quoted = Routine("q", "Same", "0 9 * * *", description='Say "hi"')
    other = Routine("r", "Same", "0 10 * * *")
    for module, root in ((ref, a), (ours, b)):
        module.write_md(root / "routines", quoted, "add routine q")
    with pytest.raises(yaml.YAMLError):
        ref.write_md(a / "routines", other, "add routine r")
    ours.write_md(b / "routines", other, "add routine r")
    assert sorted(p.name for p in (b / "routines").iterdir()) == ["same-2.md", "same.md"]


def test_jsonl_functions_same_bytes(fixtures, two):
    a, b = two
    events = ref.read_jsonl(fixtures / "typical/state/session_history.jsonl", SessionEvent)
    assert len(events) >= 3
    for module, root in ((ref, a), (ours, b)):
        log = root / "state" / "session_history.jsonl"
        for event in events:
            module.append_jsonl(log, event, f"session {event.event}: {event.session_id[:8]}")
        items = root / "state" / "items.jsonl"
        for record in (Item("a", 1), Item("b"), Item("a", 2), Item("c", 3)):
            module.append_jsonl(items, record, "item")
        with items.open("a") as f:
            f.write('{"id": "d", "unknown": true}\n')
        assert module.remove_jsonl(items, "a", Item, "remove a")
        assert not module.remove_jsonl(items, "zzz", Item, "remove zzz")
    assert tree_bytes(a) == tree_bytes(b)
    assert (b / "state/session_history.jsonl").read_bytes() == (
        fixtures / "typical/state/session_history.jsonl"
    ).read_bytes()
    assert (b / "state/items.jsonl").read_text().splitlines()[-1] == '{"id": "d", "v": 0}'
    # The history is committed on every event, as the reference does; items.jsonl is not a
    # file of ollim-bot's layout: the reference commits it, the allow-list refuses it.
    ours_subjects = [s for s, _ in commits(b)]
    ref_subjects = [s for s, _ in commits(a)]
    assert ours_subjects == [s for s in ref_subjects if s.startswith("session ")]
    assert ours.read_jsonl(b / "state/items.jsonl", Item) == ref.read_jsonl(a / "state/items.jsonl", Item)
    assert ours.read_jsonl(b / "missing.jsonl", Item) == []


def test_read_jsonl_survives_the_torn_line_the_reference_raises_on(fixtures):
    path = fixtures / "hazards/state/session_history.jsonl"
    with pytest.raises(json.JSONDecodeError):
        ref.read_jsonl(path, SessionEvent)
    intact = [json.loads(line) for line in path.read_text().splitlines()[:3] if line.strip()]
    names = {"session_id", "event", "timestamp", "parent_session_id"}
    expected = [SessionEvent(**{k: v for k, v in d.items() if k in names}) for d in intact]
    assert ours.read_jsonl(path, SessionEvent) == expected


def test_git_commit_refuses_secrets_silently_and_commits_declared_files(two):
    a, b = two
    for module, root in ((ref, a), (ours, b)):
        module.atomic_write(root / "state" / "token.json", b'{"refresh": "s3cr3t"}')
        module.git_commit(root / "state" / "token.json", "oops")
        module.atomic_write(root / "routines" / "x.md", b"---\nid: \"x\"\n---\nx\n")
        module.git_commit(root / "routines" / "x.md", "add routine x")
        (root / "routines" / "x.md").unlink()
        module.git_rm_commit(root / "routines" / "x.md", "remove routine x")
    assert tree_bytes(a) == tree_bytes(b)
    assert "state/token.json" in git(a, "log", "--name-only", "--format=")  # the reference leaks it
    assert "state/token.json" not in git(b, "log", "--all", "--name-only", "--format=")
    assert [s for s, _ in commits(b)] == ["add routine x", "remove routine x"]
    # No repository: nothing happens, as in the reference.
    outside = b.parent / "plain"
    ours.atomic_write(outside / "routines" / "y.md", b"y")
    ours.git_commit(outside / "routines" / "y.md", "y")
    assert not (outside / ".git").exists()


def test_an_app_switches_with_one_import_line():
    names = [
        "atomic_write", "git_commit", "git_rm_commit", "parse_md", "read_md_dir", "write_md",
        "remove_md", "read_jsonl", "append_jsonl", "remove_jsonl",
    ]
    import inspect

    for name in names:
        assert list(inspect.signature(getattr(ours, name)).parameters) == list(
            inspect.signature(getattr(ref, name)).parameters
        ), name
