"""Where jobs run: this machine's sandbox (``[cluster] engine = "local"``) or a Ray cluster's.

    Worker ── runner.run(target, payload, wall_clock_seconds=, on_event=, cancel=, job_id=,
    │                    files=, connect_ports=, write_paths=) ──► sandbox.Outcome
    ├── "local": sandbox.Sandbox, built by NodeSetup (node.py): this process's warm template
    └── "ray":   RayCluster (ray_engine.py) ── run_job task, placed by Ray by the job's CPUs and
                 memory ──► that node's NodeSandbox actor (ray_actor.py) ── its Sandbox, built by
                 the same NodeSetup

Nothing here imports ray: ``ray_engine`` does, and only the Ray engine imports it (a missing ray
package is a ClusterStartError naming requirements-ray.txt).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from typing import Any, Protocol

from sandbox import Outcome
from service.cluster.capacity import JobRequest, jobs_per_node
from service.cluster.errors import ClusterStartError, classify
from service.cluster.node import NodeSetup, job_guards

__all__ = ["ClusterStartError", "JobRequest", "JobRunner", "NodeSetup", "classify", "job_guards", "jobs_per_node"]


class JobRunner(Protocol):
    """What the Worker needs of whatever runs its jobs (a Sandbox, a RayCluster)."""

    def run(
        self,
        target: str,
        payload: Any,
        *,
        wall_clock_seconds: float | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        cancel: threading.Event | None = None,
        job_id: str | None = None,
        connect_ports: Sequence[int] | None = None,
        write_paths: Sequence[str] = (),
        files: Mapping[str, str | PathLike[str]] | None = None,
    ) -> Outcome: ...

    def status(self) -> dict[str, Any]: ...

    def close(self) -> None: ...
