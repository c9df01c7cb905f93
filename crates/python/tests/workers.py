"""Child processes of the concurrency tests (run as ``python workers.py ROLE ARGS...``)."""

from __future__ import annotations

import sys

import dotdir


def update(path: str, count: int) -> None:
    doc = dotdir.Document(path)
    for _ in range(count):
        doc.update(lambda n: (n or 0) + 1)


def append(path: str, worker: int, count: int) -> None:
    log = dotdir.Log(path)
    for seq in range(count):
        log.append({"worker": worker, "seq": seq, "pad": "x" * (seq % 50)})


def hold(directory: str) -> None:
    lock = dotdir.PidLock(directory)
    lock.acquire()
    print("locked", flush=True)
    sys.stdin.read()  # until the parent closes stdin (or kills this process)


if __name__ == "__main__":
    role, *args = sys.argv[1:]
    # Wait for the parent's go (a line on stdin) so that every worker starts at once.
    if role != "hold":
        print("ready", flush=True)
        sys.stdin.readline()
    if role == "update":
        update(args[0], int(args[1]))
    elif role == "append":
        append(args[0], int(args[1]), int(args[2]))
    elif role == "hold":
        hold(args[0])
    else:
        raise SystemExit(f"unknown role {role}")
