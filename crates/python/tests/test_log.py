"""`dotdir.Log`: bytes, torn tails, offsets, tail, repair."""

from __future__ import annotations

import json

import dotdir


def test_lines_are_json_dumps_and_reads_report_torn_lines(tmp_path):
    path = tmp_path / "state" / "session_history.jsonl"
    log = dotdir.Log(path)
    records = [{"session_id": f"s{i}", "event": "created", "ts": i / 3} for i in range(5)]
    offsets = [log.append(r) for r in records]
    assert path.read_bytes() == b"".join(json.dumps(r).encode() + b"\n" for r in records)
    assert offsets[0] == 0 and offsets == sorted(offsets)
    read = log.read()
    assert list(read) == records and read.problems == [] and read.torn_tail is None
    checkpoint = read.next_offset

    with path.open("ab") as f:
        f.write(b'{"session_id": "s5", "ev')
    read = log.read()
    assert list(read) == records
    assert [p.kind for p in read.problems] == ["torn_tail"]
    assert read.torn_tail.line == 6
    assert list(log.read_from(checkpoint)) == []
    assert list(log.tail(2)) == records[-2:]

    log.append({"session_id": "s6"})  # starts on a line of its own
    read = log.read()
    assert list(read)[-1] == {"session_id": "s6"}
    assert [p.kind for p in read.problems] == ["malformed"]
    repaired = log.repair()
    assert len(repaired.quarantined) == 1
    assert log.read().problems == []
    assert (tmp_path / "state" / "session_history.jsonl.corrupt").exists()


def test_append_many_and_iteration(tmp_path):
    log = dotdir.Log(tmp_path / "l.jsonl", durable=False)
    log.append_many([{"a": 1}, {"a": 2}])
    assert list(log) == [{"a": 1}, {"a": 2}]


def test_checksummed_format(tmp_path):
    log = dotdir.Log(tmp_path / "c.jsonl", format="checksummed")
    log.append({"a": 1})
    assert json.loads((tmp_path / "c.jsonl").read_text())["record"] == {"a": 1}
    assert list(log.read()) == [{"a": 1}]
