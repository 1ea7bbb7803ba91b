"""What one job asks of a Ray node, and how many jobs a node can hold: pure arithmetic, no Ray.

A job asks for ``[job] threads`` CPUs and ``[job] memory_mb`` of Ray's ``memory`` resource; each
node's sandbox actor holds ``[cluster] sandbox_memory_mb`` of it for the warm template. Ray places
a job only where both fit, so a node never runs more jobs than its limits allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.config import Settings

__all__ = ["JobRequest", "jobs_per_node"]

_MB = 1 << 20


@dataclass(frozen=True)
class JobRequest:
    """The Ray resources of one job, and of each node's sandbox actor."""

    cpus: int
    memory_bytes: int
    """0 when ``[job] memory_mb`` is 0 (no limit): the job asks Ray for no memory."""
    actor_memory_bytes: int

    @classmethod
    def of(cls, settings: Settings) -> JobRequest:
        """From ``[job]`` and ``[cluster]``; ``[job] threads`` must be > 0 (checked at start-up)."""
        return cls(
            cpus=settings.job.threads,
            memory_bytes=settings.job.memory_mb * _MB,
            actor_memory_bytes=settings.cluster.sandbox_memory_mb * _MB,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"cpus": self.cpus, "memoryMb": self.memory_bytes // _MB, "sandboxMemoryMb": self.actor_memory_bytes // _MB}


def jobs_per_node(resources: dict[str, float], request: JobRequest) -> int:
    """Jobs a node with ``resources`` (Ray's totals: ``CPU``, ``memory`` in bytes) can run at once
    beside its sandbox actor; 0 when not even one fits."""
    cpus = float(resources.get("CPU", 0))
    by_cpu = int(cpus // request.cpus) if request.cpus > 0 else 0
    if request.memory_bytes <= 0:
        return by_cpu if float(resources.get("memory", 0)) >= request.actor_memory_bytes else 0
    memory = float(resources.get("memory", 0)) - request.actor_memory_bytes
    by_memory = int(memory // request.memory_bytes) if memory > 0 else 0
    return max(0, min(by_cpu, by_memory))
