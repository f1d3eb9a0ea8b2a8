"""Looking at processes through Linux ``/proc``."""

from __future__ import annotations

from pathlib import Path


def children(pid: int) -> list[int]:
    """The pids of a process's children."""
    tasks = Path(f"/proc/{pid}/task")
    return [int(c) for t in tasks.iterdir() for c in (t / "children").read_text().split()]


def alive(pid: int) -> bool:
    """Whether a process runs; one that exited but is not reaped yet (a zombie) does not."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")
