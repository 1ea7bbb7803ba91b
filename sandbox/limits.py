"""Validated limits of one sandboxed job (the ``[job]`` and ``[guards]`` tables of limits.toml)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FROZEN", "GuardLimits", "GuardMode", "JobLimits"]

GuardMode = Literal["auto", "require", "off"]
"""A confinement layer's switch: on where the kernel allows, refuse to run without it, or off."""

FROZEN = ConfigDict(extra="forbid", frozen=True, strict=True)
"""The model config of every limits table: unknown keys refused, values never coerced, never mutated."""


class JobLimits(BaseModel):
    """What one job may use. A value of 0 disables that limit (``threads``: 0 = CPU count)."""

    model_config = FROZEN

    wall_clock_seconds: float = Field(200, ge=0)
    """Seconds of wall-clock time before the parent stops the job."""
    cpu_seconds: int = Field(360, ge=0)
    """CPU seconds (soft RLIMIT_CPU) before SIGXCPU."""
    memory_mb: int = Field(640, ge=0)
    """MB of USS the job tree may use beyond what it shares with the template."""
    max_processes: int = Field(64, ge=0)
    """Tasks (processes + threads) in the job's tree."""
    max_file_size_mb: int = Field(64, ge=0)
    """Largest file the job may write (RLIMIT_FSIZE)."""
    max_result_mb: int = Field(48, ge=0)
    """Largest result the job may send back."""
    threads: int = Field(2, ge=0, le=256)
    """Threads for BLAS/OpenMP/XGBoost/joblib; 0 = the container's CPU count."""


class GuardLimits(BaseModel):
    """How the job limits are enforced."""

    model_config = FROZEN

    watchdog_interval_ms: int = Field(50, ge=10, le=100)
    """Milliseconds between two watchdog polls of the job tree."""
    uss_interval_ms: int = Field(1000, ge=10, le=5000)
    """Milliseconds between two exact (USS) memory samples of a job tree well under its limit."""
    kill_grace_seconds: float = Field(0.2, ge=0, le=10)
    """Seconds between SIGTERM and SIGKILL."""
    address_space_headroom_mb: int = Field(1024, ge=0)
    """MB added to template VmSize + memory_mb for RLIMIT_AS; 0 = no RLIMIT_AS."""
    cpu_hard_grace_seconds: int = Field(2, ge=1)
    """Seconds between soft and hard RLIMIT_CPU."""
    log_tail_kb: int = Field(8, ge=0, le=1024)
    """KB of stdout/stderr kept for ``logTail``."""
    template_start_seconds: float = Field(120, gt=0)
    """Seconds the template may take to start."""

    landlock_fs: GuardMode = "auto"
    """Landlock filesystem rules: a job writes only in its own dir and reads only what it needs."""
    landlock_net: GuardMode = "auto"
    """Landlock TCP rules (ABI >= 4): no bind, connect only to ``connect_ports`` (or a run's own ports)."""
    landlock_scopes: GuardMode = "auto"
    """Landlock scopes (ABI >= 6): signals and abstract unix sockets only within the job's domain."""
    seccomp: GuardMode = "auto"
    """seccomp filter (libseccomp): ptrace, mount, unshare, keyrings, bpf, odd socket families -> EPERM."""
    confine_read_paths: list[str] = []
    """Extra paths every job may read under landlock_fs."""
    confine_write_paths: list[str] = []
    """Extra paths jobs may write under landlock_fs."""
    connect_ports: list[int] = [80, 443]
    """TCP ports jobs may connect to under landlock_net, unless a run names its own."""
