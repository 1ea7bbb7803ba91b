"""What :meth:`Sandbox.run` returns: an :class:`Outcome` with its :class:`Usage`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Outcome", "Usage"]


@dataclass(frozen=True)
class Usage:
    """Resources one job used, success or failure."""

    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_memory_mb: float = 0.0
    """Peak memory of the job tree the limit is measured on (USS beyond the template)."""
    max_rss_mb: float = 0.0
    """The job child's peak resident size as the kernel reports it (shared pages included)."""
    exit_code: int | None = None
    signal: str | None = None
    limit_hit: str | None = None
    """The limits.toml key of the limit that stopped the job, if one did."""
    processes_killed: int = 0
    """Processes of the job (grandchildren, orphans) killed during cleanup."""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("wall_seconds", "cpu_seconds", "peak_memory_mb", "max_rss_mb"):
            out[key] = round(out[key], 3)
        return out


@dataclass(frozen=True)
class Outcome:
    """The result of one job: its value, or a failure with a stable code."""

    ok: bool
    job_id: str
    value: Any = None
    code: str | None = None
    message: str = ""
    usage: Usage = field(default_factory=Usage)
    log_tail: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    pids: tuple[int, ...] = ()
    """Pids of the job's runner and child, for callers that verify cleanup."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "jobId": self.job_id,
            "code": self.code,
            "message": self.message,
            "usage": self.usage.to_dict(),
            "logTail": self.log_tail,
            "details": self.details,
            "pids": list(self.pids),
            "value": self.value,
        }
