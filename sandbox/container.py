"""What the container really gives us: CPUs and memory from cgroups and Space variables."""

from __future__ import annotations

import math
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["ContainerInfo", "cpu_count", "detect", "parse_memory"]

_CGROUP_ROOT = Path("/sys/fs/cgroup")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_memory(text: str) -> int | None:
    """``"15Gi"``, ``"2G"``, ``"512M"``, ``"1048576"`` → bytes; None when unparseable."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgtKMGT]?)(i?[bB]?)\s*", text or "")
    if not match:
        return None
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _own_cgroup_v2() -> Path | None:
    """The cgroup v2 directory of this process, when the unified hierarchy is mounted."""
    text = _read(Path("/proc/self/cgroup")) or ""
    for line in text.splitlines():
        if line.startswith("0::"):
            rel = line[3:].lstrip("/")
            for root in (_CGROUP_ROOT, _CGROUP_ROOT / "unified"):
                candidate = root / rel
                if (root / "cgroup.controllers").exists() and candidate.is_dir():
                    return candidate
    return None


@dataclass(frozen=True)
class ContainerInfo:
    """Limits the container imposes on this process tree (None = none found)."""

    cpu_quota: float | None
    """CPUs allowed by cgroup ``cpu.max`` / ``cpu.cfs_quota_us``."""
    cpu_affinity: int
    cpu_cores_env: float | None
    """The Space's ``CPU_CORES`` variable."""
    memory_limit_mb: float | None
    """cgroup ``memory.max`` / ``memory.limit_in_bytes``."""
    memory_env_mb: float | None
    """The Space's ``MEMORY`` variable."""
    cgroup_v2_dir: str | None
    cgroup_v2_memory_writable: bool
    """A child cgroup with the memory controller can be created under ours."""

    def cpus(self) -> int:
        """CPUs we may really use: the smallest of quota, affinity and CPU_CORES."""
        values = [float(self.cpu_affinity)]
        values += [v for v in (self.cpu_quota, self.cpu_cores_env) if v]
        return max(1, math.floor(min(values)))

    def memory_mb(self) -> float | None:
        values = [v for v in (self.memory_limit_mb, self.memory_env_mb) if v]
        return min(values) if values else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cpus": self.cpus(), "effective_memory_mb": self.memory_mb()}


def _cpu_quota() -> float | None:
    cg = _own_cgroup_v2()
    text = _read(cg / "cpu.max") if cg else None
    if text:
        quota, _, period = text.partition(" ")
        if quota != "max" and period:
            return int(quota) / int(period)
        return None
    quota_text = _read(_CGROUP_ROOT / "cpu" / "cpu.cfs_quota_us")
    period_text = _read(_CGROUP_ROOT / "cpu" / "cpu.cfs_period_us")
    if quota_text and period_text and int(quota_text) > 0:
        return int(quota_text) / int(period_text)
    return None


def _memory_limit_mb() -> float | None:
    cg = _own_cgroup_v2()
    text = _read(cg / "memory.max") if cg else None
    if text is None:
        text = _read(_CGROUP_ROOT / "memory" / "memory.limit_in_bytes")
    if not text or text == "max":
        return None
    value = int(text)
    return None if value >= 1 << 60 else value / (1 << 20)


def _cgroup_memory_writable(cg: Path | None) -> bool:
    if cg is None:
        return False
    controllers = (_read(cg / "cgroup.subtree_control") or "").split()
    return "memory" in controllers and os.access(cg, os.W_OK)


def detect() -> ContainerInfo:
    """Read the container's limits (cheap; safe to call at start-up and for /health)."""
    cores_env = os.environ.get("CPU_CORES")
    memory_env = parse_memory(os.environ.get("MEMORY", ""))
    cg = _own_cgroup_v2()
    try:
        cores = float(cores_env) if cores_env else None
    except ValueError:
        cores = None
    return ContainerInfo(
        cpu_quota=_cpu_quota(),
        cpu_affinity=len(os.sched_getaffinity(0)),
        cpu_cores_env=cores,
        memory_limit_mb=_memory_limit_mb(),
        memory_env_mb=memory_env / (1 << 20) if memory_env else None,
        cgroup_v2_dir=str(cg) if cg else None,
        cgroup_v2_memory_writable=_cgroup_memory_writable(cg),
    )


def cpu_count() -> int:
    """CPUs this container may use (never ``os.cpu_count()`` alone)."""
    return detect().cpus()
