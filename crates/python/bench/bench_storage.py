"""The Python row of ``cargo xtask bench``: one session event appended and committed, the
reference's way (``storage.append_jsonl``: text append, then ``git add`` + ``git commit``
subprocesses) against ``dotdir.compat.ollim_storage.append_jsonl`` (one locked, fsynced
``write(2)``, then an in-process commit with libgit2's fsync), both called from Python.

Prints ours, the reference, and ours/reference as the ratio of the medians with its spread
(ours' first quartile over the reference's third, to ours' third over the reference's first),
as the rest of the bench table does. ``--quick``: fewer samples.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import reference_storage as ref  # noqa: E402
from ollim_types import SessionEvent  # noqa: E402

from dotdir.compat import ollim_storage as ours  # noqa: E402


def git_init(root: Path) -> None:
    root.mkdir(parents=True)
    for args in (["init", "-q"], ["config", "user.name", "bench"], ["config", "user.email", "b@localhost"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def quartiles(samples: list) -> tuple:
    q = statistics.quantiles(samples, n=4, method="inclusive")
    return q[0], statistics.median(samples), q[2]


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} µs"


def main() -> None:
    samples = 15 if "--quick" in sys.argv else 60
    with tempfile.TemporaryDirectory(dir=HERE.parents[2] / "target" if (HERE.parents[2] / "target").is_dir() else None) as tmp:
        roots = {"ref": Path(tmp) / "ref" / ".ollim-bot", "ours": Path(tmp) / "ours" / ".ollim-bot"}
        for root in roots.values():
            git_init(root)
        times: dict = {"ref": [], "ours": []}
        modules = {"ref": ref, "ours": ours}
        for i in range(samples + 3):
            # Interleaved, so that drift of the machine hits both sides alike.
            for side in ("ref", "ours") if i % 2 == 0 else ("ours", "ref"):
                event = SessionEvent(f"sess-{i:04d}", "created", "2026-11-21T14:02:00.779085-08:00")
                path = roots[side] / "state" / "session_history.jsonl"
                start = time.perf_counter()
                modules[side].append_jsonl(path, event, f"session created: {event.session_id[:8]}")
                elapsed = time.perf_counter() - start
                if i >= 3:  # warm-up: the first commits create the objects directory
                    times[side].append(elapsed)
        same = (roots["ref"] / "state/session_history.jsonl").read_bytes() == (
            roots["ours"] / "state/session_history.jsonl"
        ).read_bytes()
    o1, om, o3 = quartiles(times["ours"])
    r1, rm, r3 = quartiles(times["ref"])
    ratio, low, high = om / rm, o1 / r3, o3 / r1
    print(
        "| operation                        |       ours | peer                         |"
        "      ours/peer (spread) |"
    )
    print(
        f"| {'python_append_jsonl_git_commit':<32} | {fmt(om):>10} | "
        f"{'storage.py ' + fmt(rm):<28} | {f'{ratio:.2f}× ({low:.2f}–{high:.2f})':>23} |"
    )
    print(
        f"({samples} samples each; ours is durable — fsync of the log and of git's objects — "
        f"the reference syncs nothing; same bytes on disk: {'yes' if same else 'NO'})"
    )
    if not same:
        raise SystemExit("the two logs differ")


if __name__ == "__main__":
    main()
