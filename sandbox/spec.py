"""What a job child is told: :class:`JobSpec`, built by the parent, encoded once, decoded once.

    Sandbox.run ──JobSpec──▶ Job (encode: the one serialisation)
                               │ the bytes travel on the job's own socket (the template never sees them)
                               ▼
                             runner ──the same bytes, unread──▶ job child: JobSpec.decode (the one decode,
                                                                validated) → spec.plan → rlimits, messages
"""

from __future__ import annotations

from functools import cached_property

from pydantic import BaseModel, Field

from .limits import FROZEN, GuardLimits, JobLimits
from .plan import LimitPlan

__all__ = ["JobSpec"]


class JobSpec(BaseModel):
    """Everything one job needs to know about itself, its limits included."""

    model_config = FROZEN

    job_id: str
    target: str
    """``module:function`` the child calls as ``function(payload, ctx)``."""
    tmpdir: str
    """The job's private dir, absolute and resolved: its cwd, ``TMPDIR`` and ``HOME``; holds the payload file."""
    payload_file: str = "payload.json"
    """The payload's file name in ``tmpdir`` (JSON)."""
    env: dict[str, str]
    """The job's whole environment."""
    threads: int = Field(ge=1)
    """Threads the job's pools are capped at."""
    job: JobLimits
    guards: GuardLimits
    requested_seconds: float | None = None
    """The caller's wall-clock budget for this run (see :attr:`LimitPlan.requested_seconds`)."""
    fault_injection: bool = False
    connect_ports: list[int] | None = None
    """TCP ports this job may connect to under ``[guards] landlock_net`` (None = ``connect_ports``)."""
    write_paths: list[str] = []
    """Paths this job may also write under ``[guards] landlock_fs``, beside its own dir and
    ``confine_write_paths`` (e.g. the dataset cache, for a job that fetches a sample)."""
    cgroup_procs: str | None = None
    """The ``cgroup.procs`` file the child moves itself into, when the cgroup layer is on."""

    @cached_property
    def plan(self) -> LimitPlan:
        """How this job's limits are enforced and reported."""
        return LimitPlan(self.job, self.guards, self.requested_seconds)

    def encode(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def decode(cls, data: bytes) -> JobSpec:
        """Parse and validate; raises pydantic's ValidationError on anything but a JobSpec."""
        return cls.model_validate_json(data)
