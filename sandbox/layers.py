"""The guard layers in force, each reported active or not with the reason (a start-up self-check)."""

from __future__ import annotations

import os
from typing import Any

from .container import ContainerInfo
from .limits import GuardLimits, JobLimits

__all__ = ["guard_layers"]


def _layer(name: str, active: bool, detail: str) -> dict[str, Any]:
    return {"name": name, "active": active, "detail": detail}


def guard_layers(job: JobLimits, guards: GuardLimits, container: ContainerInfo, *, threads: int) -> list[dict[str, Any]]:
    """One entry per enforcement layer, in the order they act."""
    root = os.geteuid() == 0
    mem = job.memory_mb
    return [
        _layer("setsid_process_group", True, "each job child leads its own session; stops signal the whole group"),
        _layer("subreaper_cleanup", True, "the job's runner adopts orphans and kills every leftover process"),
        _layer("env_allowlist", True, "jobs see only allow-listed variables (no tokens or secrets)"),
        _layer(
            "no_privileges",
            True,
            "jobs drop every capability and set no_new_privs; the parent is non-dumpable, so a job "
            "cannot read its /proc/<pid>/environ or memory",
        ),
        _layer("private_tmpdir", True, "cwd, TMPDIR and HOME are a per-job directory removed afterwards"),
        _layer(
            "rlimit_data",
            bool(mem),
            f"heap/mmap of each process capped at its size at fork + {mem} MB" if mem else "off: memory_mb = 0",
        ),
        _layer(
            "rlimit_as",
            bool(mem and guards.address_space_headroom_mb),
            f"address space capped at template VmSize + {mem} + {guards.address_space_headroom_mb} MB"
            if mem and guards.address_space_headroom_mb
            else "off: memory_mb or address_space_headroom_mb = 0",
        ),
        _layer(
            "rlimit_cpu",
            bool(job.cpu_seconds),
            f"SIGXCPU at {job.cpu_seconds} s, SIGKILL {guards.cpu_hard_grace_seconds} s later"
            if job.cpu_seconds
            else "off: cpu_seconds = 0",
        ),
        _layer(
            "rlimit_fsize",
            bool(job.max_file_size_mb),
            f"files capped at {job.max_file_size_mb} MB" if job.max_file_size_mb else "off: max_file_size_mb = 0",
        ),
        _layer(
            "rlimit_nproc",
            bool(job.max_processes) and not root,
            "inactive: running as root, and the kernel does not apply RLIMIT_NPROC to root (the watchdog's task count still applies)"
            if root
            else (f"this uid's tasks + {job.max_processes}" if job.max_processes else "off: max_processes = 0"),
        ),
        _layer("rlimit_core", True, "no core files"),
        _layer(
            "watchdog_memory",
            bool(mem),
            f"tree RSS bound polled every {guards.watchdog_interval_ms} ms, USS every {guards.uss_interval_ms} ms"
            f" (every poll near the limit), killed past {mem} MB" if mem else "off: memory_mb = 0",
        ),
        _layer(
            "watchdog_tasks",
            bool(job.max_processes),
            f"tree tasks polled every {guards.watchdog_interval_ms} ms, killed past {job.max_processes}"
            if job.max_processes
            else "off: max_processes = 0",
        ),
        _layer(
            "wall_clock",
            True,
            f"parent stops the job at {job.wall_clock_seconds:g} s or the request deadline (SIGTERM, "
            f"{guards.kill_grace_seconds:g} s grace, SIGKILL)"
            if job.wall_clock_seconds
            else "job limit off; the request deadline still applies",
        ),
        _layer(
            "cgroup_memory",
            container.cgroup_v2_memory_writable and bool(mem),
            "per-job cgroup v2 memory.max"
            if container.cgroup_v2_memory_writable
            else "inactive: no writable cgroup v2 with the memory controller (normal in Docker / on a Space)",
        ),
        _layer("thread_caps", True, f"BLAS/OpenMP/XGBoost/joblib capped at {threads} thread(s)"),
        _layer(
            "result_cap",
            bool(job.max_result_mb),
            f"results capped at {job.max_result_mb} MB" if job.max_result_mb else "off: max_result_mb = 0",
        ),
    ]
