"""The guard layers in force, each reported active or not with the reason (a start-up self-check)."""

from __future__ import annotations

import os
from typing import Any

from . import confine
from .container import ContainerInfo
from .plan import LimitPlan

__all__ = ["guard_layers"]

_FIXED = {
    "setsid_process_group": "each job child leads its own session; stops signal the whole group",
    "subreaper_cleanup": "the job's runner adopts orphans and kills every leftover process",
    "env_allowlist": "jobs see only allow-listed variables (no tokens or secrets)",
    "no_privileges": "jobs drop every capability and set no_new_privs; the parent is non-dumpable, so a job "
    "cannot read its /proc/<pid>/environ or memory",
    "private_tmpdir": "cwd, TMPDIR and HOME are a per-job directory removed afterwards",
    "rlimit_core": "no core files",
}
"""Layers that are always on, whatever the limits."""

_ORDER = (
    "setsid_process_group", "subreaper_cleanup", "env_allowlist", "no_privileges", "private_tmpdir",
    "rlimit_data", "rlimit_as", "rlimit_cpu", "rlimit_fsize", "rlimit_nproc", "rlimit_core",
    "watchdog_memory", "watchdog_tasks", "wall_clock", "cgroup_memory", "thread_caps", "result_cap",
    *confine.LAYERS,
)
"""The order the layers act in (and are reported in)."""


def guard_layers(plan: LimitPlan, container: ContainerInfo, *, threads: int) -> list[dict[str, Any]]:
    """One entry per enforcement layer, in the order they act; the limit-driven ones as the plan says."""
    layers = {name: (True, text) for name, text in _FIXED.items()}
    layers.update(plan.enforcement(root=os.geteuid() == 0))
    if not container.cgroup_v2_memory_writable:
        layers["cgroup_memory"] = (
            False, "inactive: no writable cgroup v2 with the memory controller (normal in Docker / on a Space)"
        )
    layers.update(confine.status(plan.guards))
    layers["thread_caps"] = (True, f"BLAS/OpenMP/XGBoost/joblib capped at {threads} thread(s)")
    return [{"name": name, "active": layers[name][0], "detail": layers[name][1]} for name in _ORDER]
