"""Optional cgroup v2 layer: a per-job child cgroup with ``memory.max`` where one is writable."""

from __future__ import annotations

from pathlib import Path

__all__ = ["JobCgroup"]


class JobCgroup:
    """``<parent>/sandbox-job-<id>`` with memory.max and no swap; removed by :meth:`close`."""

    def __init__(self, parent: str, job_id: str, memory_bytes: int) -> None:
        self.path = Path(parent) / f"sandbox-job-{job_id}"
        self.path.mkdir()
        (self.path / "memory.max").write_text(str(memory_bytes))
        try:
            (self.path / "memory.swap.max").write_text("0")
        except OSError:
            pass  # no swap accounting on this kernel: memory.max alone still holds

    @property
    def procs_file(self) -> str:
        return str(self.path / "cgroup.procs")

    def oom_killed(self) -> int:
        """How many processes the kernel OOM-killed in this cgroup (``oom_kill``, not ``oom``)."""
        try:
            for line in (self.path / "memory.events").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except OSError:
            pass
        return 0

    def close(self) -> None:
        try:
            self.path.rmdir()
        except OSError:
            pass
