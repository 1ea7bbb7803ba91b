"""The one place a job's limits become numbers and sentences: :class:`LimitPlan`.

    JobLimits + GuardLimits + the caller's budget ──▶ LimitPlan
        child      rlimits(...)                      RLIMIT_DATA/AS/CPU/FSIZE/NPROC/CORE → setrlimit
        runner     log_tail_bytes, max_result_bytes  what it keeps of the log, the result it accepts
        watchdog   budget_seconds, needs_exact(), tasks_stop(), memory_stop(), timeout_stop()
        status()   calibrated(...)                   the rlimit ceilings of a template of that size
        layers()   enforcement(...)                  active or not, and the text, of each limit layer
        outcome    limit_detail(code)                the limit a failure names (→ errorDetails.limit)

Nothing else reads ``memory_mb`` and its siblings to compute with them, so a ceiling, a threshold
and the sentence that reports it cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import LIMIT_OF_CODE, ErrorCode, Verdict
from .limits import GuardLimits, JobLimits

__all__ = ["CALLER_BUDGET", "EXACT_ABOVE", "LIMIT_UNITS", "LimitDetail", "LimitPlan"]

_MB = 1 << 20

EXACT_ABOVE = 0.75
"""Share of ``memory_mb`` above which the watchdog's bound on a tree's private memory is checked
exactly (USS) at every poll instead of every ``uss_interval_ms``."""

CALLER_BUDGET = "request_deadline_seconds (remaining)"
"""The name a timeout gives the caller's budget (``Sandbox.run(wall_clock_seconds=...)``, the
request deadline's remainder) when that budget, not the job's own limit, was the tighter."""

LIMIT_UNITS = {
    "wall_clock_seconds": "s",
    "cpu_seconds": "s",
    "memory_mb": "MB",
    "max_file_size_mb": "MB",
    "max_result_mb": "MB",
}
"""The unit of each ``[job]`` limit a failure can name (``max_processes`` counts tasks: no unit)."""


@dataclass(frozen=True)
class LimitDetail:
    """The limit a failed job hit: its name, value and unit."""

    name: str
    """The ``[job]`` key, or :data:`CALLER_BUDGET` when the caller's budget was the tighter."""
    value: Any
    unit: str | None
    caller_budget: bool = False
    """True when the caller's budget (the request deadline), not the job limit, stopped the job."""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "unit": self.unit}

    @classmethod
    def of(cls, code: ErrorCode | str | None, job: JobLimits, requested_seconds: float | None = None) -> LimitDetail | None:
        """The limit behind ``code`` (None for codes that are not a limit)."""
        try:
            name = LIMIT_OF_CODE.get(ErrorCode(code)) if code else None
        except ValueError:  # not a sandbox code (an outcome built by hand)
            name = None
        if name is None:
            return None
        value = getattr(job, name)
        if name == "wall_clock_seconds" and requested_seconds is not None and (not value or requested_seconds < value):
            return cls(CALLER_BUDGET, round(requested_seconds, 3), LIMIT_UNITS[name], caller_budget=True)
        return cls(name, value, LIMIT_UNITS.get(name))


@dataclass(frozen=True)
class LimitPlan:
    """How one job's limits are enforced and reported. Pure: no system calls."""

    job: JobLimits
    guards: GuardLimits
    requested_seconds: float | None = None
    """The caller's wall-clock budget for this run (it can only shorten the job limit)."""

    # -- wall clock ---------------------------------------------------------------------------

    @property
    def budget_seconds(self) -> float | None:
        """Seconds the job may run: the tighter of the job limit and the caller's budget."""
        limit = self.job.wall_clock_seconds or None
        if self.requested_seconds is None:
            return limit
        return self.requested_seconds if limit is None else min(limit, self.requested_seconds)

    def timeout_stop(self) -> Verdict:
        return Verdict(
            ErrorCode.TIMEOUT,
            f"the job ran past its wall-clock limit of {self.budget_seconds or 0:.1f} s and was stopped",
        )

    # -- what the runner keeps ----------------------------------------------------------------

    @property
    def log_tail_bytes(self) -> int:
        return self.guards.log_tail_kb * 1024

    @property
    def max_result_bytes(self) -> int:
        """Largest result frame the runner accepts; 0 = no cap."""
        return self.job.max_result_mb * _MB

    def result_too_large(self, size: int) -> str:
        return f"the job's result of {size / _MB:.1f} MB is over the limit of {self.job.max_result_mb} MB"

    # -- kernel limits (the child) ------------------------------------------------------------

    def data_ceiling(self, vm_data: int) -> int | None:
        """Soft RLIMIT_DATA of a process of data size ``vm_data``; None = no memory limit."""
        return vm_data + self.job.memory_mb * _MB if self.job.memory_mb else None

    def address_space_ceiling(self, vm_size: int) -> int | None:
        """RLIMIT_AS of a process of size ``vm_size``; None = none (memory_mb or headroom is 0)."""
        if not (self.job.memory_mb and self.guards.address_space_headroom_mb):
            return None
        return vm_size + (self.job.memory_mb + self.guards.address_space_headroom_mb) * _MB

    def rlimits(
        self, *, vm_size: int, vm_data: int, uid: int, user_tasks: int, cpu_spent: float = 0.0
    ) -> dict[str, tuple[int, int]]:
        """The rlimits of a job child of that size, keyed by ``resource`` constant name.

        - RLIMIT_DATA: soft at the child's own data size at fork + ``memory_mb``. It counts what a job
          allocates (heap, anonymous mmap, thread stacks) but not reserved-only address space, so it
          stops a fast allocator right at the budget, before the watchdog's next poll. The hard limit
          adds the address-space headroom: the child lifts its soft limit to it only to serialise its
          result, because orjson reserves a worst-case buffer (~16x a long string) and crashes when
          that reservation fails.
        - RLIMIT_AS: a generous ceiling: template VmSize + ``memory_mb`` + headroom, because libraries
          reserve address space they never touch.
        - RLIMIT_CPU: soft at ``cpu_seconds`` (SIGXCPU, which only means CPU time), hard a little later
          (SIGKILL) in case SIGXCPU is caught or ignored. RLIMIT_CPU counts the process's whole life,
          so ``cpu_spent`` (what the child used before its job, warming up) is added to both, rounded
          to the whole seconds the kernel counts in: the job gets ``cpu_seconds`` within ±0.5 s
          (exactly, for a child that did not warm up; rounding up would give it a whole extra second).
        - RLIMIT_NPROC: counts every task of the uid on the host, so it is this uid's current count plus
          ``max_processes``; the kernel ignores it for root, where the watchdog's count is the guard.
        - RLIMIT_FSIZE, and RLIMIT_CORE = 0 so crashes leave no core files.
        """
        job = self.job
        limits: dict[str, tuple[int, int]] = {"RLIMIT_CORE": (0, 0)}
        data = self.data_ceiling(vm_data)
        if data is not None:
            limits["RLIMIT_DATA"] = (data, data + self.guards.address_space_headroom_mb * _MB)
        size = self.address_space_ceiling(vm_size)
        if size is not None:
            limits["RLIMIT_AS"] = (size, size)
        if job.cpu_seconds:
            soft = job.cpu_seconds + round(cpu_spent)
            limits["RLIMIT_CPU"] = (soft, soft + self.guards.cpu_hard_grace_seconds)
        if job.max_file_size_mb:
            fsize = job.max_file_size_mb * _MB
            limits["RLIMIT_FSIZE"] = (fsize, fsize)
        if job.max_processes and uid != 0:
            nproc = user_tasks + job.max_processes
            limits["RLIMIT_NPROC"] = (nproc, nproc)
        return limits

    def calibrated(self, *, vm_size: int, vm_data: int) -> dict[str, int]:
        """The memory ceilings (MB) a job child forked from a template of that size gets."""
        out: dict[str, int] = {}
        data = self.data_ceiling(vm_data)
        if data is not None:
            out["rlimit_data_mb"] = round(data / _MB)
        size = self.address_space_ceiling(vm_size)
        if size is not None:
            out["rlimit_as_mb"] = round(size / _MB)
        return out

    # -- the watchdog (the parent) ------------------------------------------------------------

    @property
    def memory_bytes(self) -> int:
        """The tree's USS limit; 0 = none."""
        return self.job.memory_mb * _MB

    @property
    def poll_seconds(self) -> float:
        return self.guards.watchdog_interval_ms / 1000

    @property
    def uss_interval_seconds(self) -> float:
        return self.guards.uss_interval_ms / 1000

    @property
    def kill_grace_seconds(self) -> float:
        return self.guards.kill_grace_seconds

    def needs_exact(self, bound_bytes: float) -> bool:
        """Whether an upper bound of the tree's USS is too near the limit to rule it out."""
        return bool(self.memory_bytes) and bound_bytes > EXACT_ABOVE * self.memory_bytes

    def tasks_stop(self, tasks: int) -> Verdict | None:
        limit = self.job.max_processes
        if not limit or tasks <= limit:
            return None
        return Verdict(
            ErrorCode.PROCESS_LIMIT_EXCEEDED,
            f"the job ran {tasks} processes and threads, over its limit of {limit}, and was killed",
        )

    def memory_stop(self, uss_bytes: int) -> Verdict | None:
        if not self.memory_bytes or uss_bytes <= self.memory_bytes:
            return None
        return Verdict(
            ErrorCode.MEMORY_EXCEEDED,
            f"the job's processes used {uss_bytes / _MB:.0f} MB, over its memory limit of "
            f"{self.job.memory_mb} MB, and were killed",
        )

    def cgroup_oom_stop(self) -> Verdict:
        return Verdict(
            ErrorCode.MEMORY_EXCEEDED, f"the kernel OOM-killed the job at its cgroup memory.max of {self.job.memory_mb} MB"
        )

    def memory_fraction(self, used_mb: float) -> float:
        """``used_mb`` as a share of the memory limit (0 when there is none)."""
        return used_mb / self.job.memory_mb if self.job.memory_mb else 0.0

    # -- reporting ----------------------------------------------------------------------------

    def limit_detail(self, code: ErrorCode | str | None) -> LimitDetail | None:
        """The limit a failure with ``code`` names, the caller's budget if that was the tighter."""
        return LimitDetail.of(code, self.job, self.requested_seconds)

    def enforcement(self, *, root: bool) -> dict[str, tuple[bool, str]]:
        """Whether each limit-driven guard layer is active, and what it does, by layer name."""
        job, guards, mem = self.job, self.guards, self.job.memory_mb
        headroom = guards.address_space_headroom_mb
        nproc = (
            "inactive: running as root, and the kernel does not apply RLIMIT_NPROC to root (the watchdog's "
            "task count still applies)"
            if root
            else (f"this uid's tasks + {job.max_processes}" if job.max_processes else "off: max_processes = 0")
        )
        return {
            "rlimit_data": (
                bool(mem),
                f"heap/mmap of each process capped at its size at fork + {mem} MB" if mem else "off: memory_mb = 0",
            ),
            "rlimit_as": (
                bool(mem and headroom),
                f"address space capped at template VmSize + {mem} + {headroom} MB"
                if mem and headroom
                else "off: memory_mb or address_space_headroom_mb = 0",
            ),
            "rlimit_cpu": (
                bool(job.cpu_seconds),
                f"SIGXCPU at {job.cpu_seconds} s, SIGKILL {guards.cpu_hard_grace_seconds} s later"
                if job.cpu_seconds
                else "off: cpu_seconds = 0",
            ),
            "rlimit_fsize": (
                bool(job.max_file_size_mb),
                f"files capped at {job.max_file_size_mb} MB" if job.max_file_size_mb else "off: max_file_size_mb = 0",
            ),
            "rlimit_nproc": (bool(job.max_processes) and not root, nproc),
            "watchdog_memory": (
                bool(mem),
                f"tree RSS bound polled every {guards.watchdog_interval_ms} ms, USS every {guards.uss_interval_ms} ms"
                f" (every poll near the limit), killed past {mem} MB"
                if mem
                else "off: memory_mb = 0",
            ),
            "watchdog_tasks": (
                bool(job.max_processes),
                f"tree tasks polled every {guards.watchdog_interval_ms} ms, killed past {job.max_processes}"
                if job.max_processes
                else "off: max_processes = 0",
            ),
            "wall_clock": (
                True,
                f"parent stops the job at {job.wall_clock_seconds:g} s or the request deadline (SIGTERM, "
                f"{guards.kill_grace_seconds:g} s grace, SIGKILL)"
                if job.wall_clock_seconds
                else "job limit off; the request deadline still applies",
            ),
            "cgroup_memory": (bool(mem), "per-job cgroup v2 memory.max"),
            "result_cap": (
                bool(job.max_result_mb),
                f"results capped at {job.max_result_mb} MB" if job.max_result_mb else "off: max_result_mb = 0",
            ),
        }
