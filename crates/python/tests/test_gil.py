"""The GIL is released during I/O: threads doing durable writes overlap."""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import dotdir

WRITES = 100
PAYLOAD = {"data": "x" * 256}
REPS = 7


def writes(directory: Path, count: int) -> None:
    doc = dotdir.Document(directory / "doc.json")  # durable: fsync of the file and directory
    for i in range(count):
        doc.write({**PAYLOAD, "i": i})


def timed(threads: int, root: Path) -> float:
    dirs = [root / f"t{i}" for i in range(threads)]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    workers = [threading.Thread(target=writes, args=(d, WRITES)) for d in dirs]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - start


def test_four_threads_of_durable_writes_overlap(tmp_path):
    timed(1, tmp_path / "warm")
    ones, fours = [], []
    for rep in range(REPS):
        ones.append(timed(1, tmp_path / f"one{rep}"))
        fours.append(timed(4, tmp_path / f"four{rep}"))
    one, four = statistics.median(ones), statistics.median(fours)
    ratio = four / one
    print(f"1 thread: {one * 1e3:.1f} ms, 4 threads: {four * 1e3:.1f} ms, ratio {ratio:.2f}")
    # Serialised by the GIL, 4 threads would take 4x one thread's time.
    assert ratio < 3.0, f"4 threads took {ratio:.2f}x one thread: the GIL is not released"


def test_a_thread_waiting_on_a_lock_lets_python_run(tmp_path):
    """A thread blocked half a second in a native lock wait does not hold the GIL: meanwhile
    this thread runs Python: over 100,000 loop steps (about 700,000 fit in half a second here;
    were the GIL held, none would run until the wait ended, only the few around it)."""
    holder = dotdir.PidLock(tmp_path)
    holder.acquire()
    outcome = []

    def wait():
        try:
            dotdir.PidLock(tmp_path).acquire(timeout=0.5)
            outcome.append("acquired")
        except dotdir.AlreadyRunning:
            outcome.append("waited")

    worker = threading.Thread(target=wait)
    steps = 0
    worker.start()
    while worker.is_alive():
        steps += 1
    holder.release()
    assert outcome == ["waited"], "the lock was held: the wait must run to its timeout"
    assert steps > 100_000, f"only {steps} Python steps ran while a thread waited in dotdir"
