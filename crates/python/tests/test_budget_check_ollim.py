"""`dotdir.PingBucket`, `dotdir.check`, `dotdir.ollim.DataDir`."""

from __future__ import annotations

import json
import os
import re

import pytest

import dotdir
import dotdir.ollim
from conftest import copy_tree, git


def test_ping_bucket_spends_and_reports_as_the_reference(tmp_path):
    bucket = dotdir.PingBucket(tmp_path / "state" / "ping_budget.json", timezone="UTC")
    assert bucket.status() == "budget: 5/5"
    assert [bucket.try_use() for _ in range(6)] == [True] * 5 + [False]
    assert re.fullmatch(r"budget: 0/5 \(next refill in (89|90) min\)", bucket.status())
    bucket.record_critical()
    assert "critical bypasses: 1" in bucket.full_status()
    data = json.loads((tmp_path / "state" / "ping_budget.json").read_text())
    assert list(data) == [
        "capacity", "available", "refill_rate_minutes", "last_refill", "critical_used",
        "critical_reset_date", "daily_used", "daily_used_reset",
    ]
    assert data["daily_used"] == 5 and bucket.state()["capacity"] == 5
    with pytest.raises(dotdir.InvalidValue):
        bucket.set_capacity(0)
    with pytest.raises(dotdir.InvalidValue):
        dotdir.PingBucket(tmp_path / "x.json", timezone="Mars/Olympus_Mons")
    (tmp_path / "state" / "ping_budget.json").write_text("{torn")
    with pytest.raises(dotdir.CorruptDocument):
        bucket.try_use()
    assert bucket.reset()["available"] == 5.0


def test_check_detects_the_layout_reports_and_fixes(fixtures, tmp_path):
    root = copy_tree(fixtures / "typical", tmp_path / ".ollim-bot")
    found = dotdir.check(root)
    assert found.layout == "ollim-bot" == dotdir.detect(root)
    assert all(isinstance(p, dotdir.Problem) for p in found)
    token = root / "state" / "token.json"
    token.write_text("{}")
    os.chmod(token, 0o644)
    (root / "state" / "inquiries.json").write_text("{torn")
    problems = dotdir.check(root, layout="ollim-bot")
    kinds = {(p.kind, p.path): p for p in problems}
    assert any(p.severity == "error" and p.path == "state/token.json" for p in problems), problems
    corrupt = [p for p in problems if p.path == "state/inquiries.json"]
    assert corrupt and corrupt[0].severity == "error" and corrupt[0].kind, kinds
    after = dotdir.check(root, fix=True, assume_stopped=True)
    assert not any(p.path == "state/token.json" and p.severity == "error" for p in after), after
    assert os.stat(token).st_mode & 0o777 == 0o600
    with pytest.raises(dotdir.NotADataDirectory):
        dotdir.check(tmp_path / "missing")
    with pytest.raises(ValueError):
        dotdir.check(root, layout="nope")
    assert "ollim-bot" in dotdir.layouts()


def test_data_dir_operations(tmp_path):
    root = tmp_path / ".ollim-bot"
    dd = dotdir.ollim.DataDir(root, timezone="UTC")
    with dd.lock_instance() as lock:
        assert lock.held and dd.running_instance() == os.getpid()
        with pytest.raises(dotdir.AlreadyRunning):
            dd.pid_lock().acquire()
    dd.save_session_id("sess-1")
    dd.save_session_id("sess-2")
    assert dd.session_id() == "sess-2"
    dd.log_session_event("bg_fork", "fork-1", "sess-2")
    history = dd.session_history()
    assert [e["event"] for e in history] == ["created", "compacted", "bg_fork"]
    assert dd.session_start_time() is not None
    with pytest.raises(ValueError):
        dd.log_session_event("exploded", "x")

    path = dd.save_routine({"message": "Morning check-in", "cron": "30 8 * * *", "description": 'Say "hi"'})
    routines = dd.routines()
    assert len(routines) == 1 and routines[0]["description"] == 'Say "hi"'
    assert os.path.basename(path) == "morning-check-in.md"
    assert dd.remove_routine(routines[0]["id"]) and dd.routines() == []
    reminder = {"id": "deadbeef", "message": "take a break", "run_at": "2026-02-24T14:00:00-08:00", "max_chain": 2}
    dd.save_reminder(reminder)
    follow = dd.fire_reminder("deadbeef", "2026-02-24T15:00:00-08:00")
    assert follow["chain_depth"] == 1 and [r["id"] for r in dd.reminders()] == [follow["id"]]

    assert dd.set_config("model_main", "Opus")["model_main"] == "opus"
    with pytest.raises(dotdir.InvalidValue):
        dd.set_config("model_main", "gpt")
    assert dd.config()["model_main"] == "opus"
    key = dd.register_inquiry("Focus?")
    assert dd.peek_inquiry(key) == "Focus?" and dd.pop_inquiry(key) == "Focus?"
    assert dd.pop_inquiry(key) is None
    dd.append_update("one")
    assert [u["message"] for u in dd.pop_updates()] == ["one"]
    dd.record_fork_messages([42], "fork-1", "sess-2")
    assert dd.lookup_fork(42) == ("fork-1", False)
    assert dd.ping_budget().try_use()
    assert dd.read_secret("token.json") is None
    dd.write_secret("token.json", b"{}")
    assert dd.read_secret("token.json") == b"{}"

    log = git(root, "log", "--format=%s")
    assert "session created: sess-1" in log and "add reminder deadbeef" in log
    assert "state/token.json" not in git(root, "log", "--all", "--name-only", "--format=")
    assert dd.pending_commits() == []
    assert dd.commit_all_changed("sync") is False
    assert not [p for p in dd.check() if p.severity == "error"]
