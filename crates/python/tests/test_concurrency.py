"""Many processes at once: nothing lost, nothing interleaved; a killed lock holder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import dotdir

WORKERS = Path(__file__).with_name("workers.py")


def run_all(args_list):
    """Starts one worker per argument list, releases them together, waits for all."""
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKERS), *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for args in args_list
    ]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        proc.stdin.close()
        assert proc.wait(timeout=300) == 0


def test_8_processes_x_100_updates_lose_nothing(tmp_path):
    path = tmp_path / "state" / "counter.json"
    run_all([("update", path, 100)] * 8)
    assert dotdir.Document(path).read() == 800
    assert path.read_bytes() == b"800"


def test_8_processes_x_200_appends_are_intact_and_in_order(tmp_path):
    path = tmp_path / "state" / "events.jsonl"
    run_all([("append", path, worker, 200) for worker in range(8)])
    records = dotdir.Log(path).read()
    assert records.problems == []
    assert len(records) == 1600
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 1601
    assert [json.loads(line) for line in lines[:-1]] == list(records)
    for worker in range(8):
        seqs = [r["seq"] for r in records if r["worker"] == worker]
        assert seqs == list(range(200)), f"worker {worker} out of order or lost records"


def test_pid_lock_is_taken_over_after_its_holder_is_sigkilled(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, str(WORKERS), "hold", str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert (tmp_path / "bot.pid").read_text() == str(holder.pid)
        with pytest.raises(dotdir.AlreadyRunning) as raised:
            with dotdir.PidLock(tmp_path):
                pass
        assert raised.value.pid == holder.pid
        assert str(holder.pid) in str(raised.value)
        assert raised.value.path == str(tmp_path / "bot.pid")
        assert dotdir.PidLock(tmp_path).holder() == holder.pid
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    with dotdir.PidLock(tmp_path) as lock:
        assert lock.held
        assert (tmp_path / "bot.pid").read_text() == str(os.getpid())
    assert not (tmp_path / "bot.pid").exists()
