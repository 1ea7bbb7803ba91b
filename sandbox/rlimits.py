"""Kernel resource limits for a job child: computed by a pure function, applied after setsid()."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass

from .limits import GuardLimits, JobLimits

__all__ = [
    "ProcStatus",
    "apply_rlimits",
    "compute_rlimits",
    "count_user_tasks",
    "lift_data_limit",
    "read_proc_status",
]

_MB = 1 << 20
_INF = resource.RLIM_INFINITY


@dataclass(frozen=True)
class ProcStatus:
    """The few ``/proc/<pid>/status`` fields the limits are calibrated on (bytes)."""

    vm_size: int
    vm_data: int
    vm_rss: int
    threads: int


def read_proc_status(pid: int | str = "self") -> ProcStatus:
    fields: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmSize", "VmData", "VmRSS"):
                fields[key] = int(value.split()[0]) * 1024
            elif key == "Threads":
                fields[key] = int(value)
    return ProcStatus(fields.get("VmSize", 0), fields.get("VmData", 0), fields.get("VmRSS", 0), fields.get("Threads", 1))


def count_user_tasks(uid: int) -> int:
    """Tasks (processes and threads) the kernel counts against ``uid`` for RLIMIT_NPROC."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            total += len(os.listdir(f"/proc/{entry.name}/task"))
        except OSError:
            continue
    return total


def compute_rlimits(
    job: JobLimits,
    guards: GuardLimits,
    *,
    status: ProcStatus,
    uid: int,
    user_tasks: int,
    cpu_spent: float = 0.0,
) -> dict[str, tuple[int, int]]:
    """The rlimits one job child gets, keyed by ``resource`` constant name.

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
    limits: dict[str, tuple[int, int]] = {"RLIMIT_CORE": (0, 0)}
    if job.memory_mb:
        data = status.vm_data + job.memory_mb * _MB
        limits["RLIMIT_DATA"] = (data, data + guards.address_space_headroom_mb * _MB)
        if guards.address_space_headroom_mb:
            size = status.vm_size + (job.memory_mb + guards.address_space_headroom_mb) * _MB
            limits["RLIMIT_AS"] = (size, size)
    if job.cpu_seconds:
        soft = job.cpu_seconds + round(cpu_spent)
        limits["RLIMIT_CPU"] = (soft, soft + guards.cpu_hard_grace_seconds)
    if job.max_file_size_mb:
        size = job.max_file_size_mb * _MB
        limits["RLIMIT_FSIZE"] = (size, size)
    if job.max_processes and uid != 0:
        nproc = user_tasks + job.max_processes
        limits["RLIMIT_NPROC"] = (nproc, nproc)
    return limits


def apply_rlimits(limits: dict[str, tuple[int, int]]) -> None:
    """setrlimit each entry; a hard limit is never raised above the current one."""
    for name, (soft, hard) in limits.items():
        which = getattr(resource, name)
        _, cur_hard = resource.getrlimit(which)
        if cur_hard != _INF:
            hard = min(hard, cur_hard)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))


def lift_data_limit() -> None:
    """Raise the soft RLIMIT_DATA to its hard limit (before serialising a result)."""
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    resource.setrlimit(resource.RLIMIT_DATA, (hard, hard))
