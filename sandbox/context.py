"""What a target sees of its sandbox: the :class:`JobContext` passed as its second argument."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["JobContext"]


@dataclass
class JobContext:
    """Facts and services of the running job.

    In the sandbox the job child builds it; in-process callers (CLI ``--in-process``, tests) use
    :meth:`local`.
    """

    job_id: str
    threads: int
    """Threads the job may use for BLAS/OpenMP/XGBoost/joblib (>= 1)."""
    tmpdir: Path
    """The job's private temp dir (also its cwd and ``$TMPDIR`` in the sandbox)."""
    fault_injection: bool = False
    """Whether ``fault`` nodes may run (``[testing] fault_injection``)."""
    deadline: float | None = None
    """``time.monotonic()`` value at which the parent stops the job; None = no wall-clock limit."""
    in_sandbox: bool = False
    """True inside a sandbox child; faults that kill the process refuse to run outside one."""
    _emitter: Callable[[dict[str, Any]], None] | None = field(default=None, repr=False)

    def remaining_seconds(self) -> float | None:
        """Seconds left before the wall-clock limit, or None when there is none."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())

    def emit(self, event: dict[str, Any]) -> None:
        """Send a small JSON-able event (e.g. progress) to the parent; dropped if nobody listens."""
        if self._emitter is not None:
            self._emitter(event)

    @classmethod
    def local(
        cls,
        *,
        threads: int = 1,
        tmpdir: Path | str | None = None,
        fault_injection: bool = False,
        wall_clock_seconds: float | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> JobContext:
        """A context for running a target in this process (no isolation, no limits enforced).

        Without ``tmpdir``, every local context of this process shares one temp dir, removed when
        the process exits.
        """
        path = Path(tmpdir) if tmpdir is not None else _local_tmpdir()
        deadline = time.monotonic() + wall_clock_seconds if wall_clock_seconds else None
        return cls(
            job_id=f"local-{os.getpid()}",
            threads=max(1, threads),
            tmpdir=path,
            fault_injection=fault_injection,
            deadline=deadline,
            _emitter=on_event,
        )


_local_dir: Path | None = None


def _local_tmpdir() -> Path:
    global _local_dir
    if _local_dir is None or not _local_dir.is_dir():
        _local_dir = Path(tempfile.mkdtemp(prefix="job-local-"))
        atexit.register(shutil.rmtree, _local_dir, True)
    return _local_dir
