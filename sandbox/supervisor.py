"""The parent side: :class:`Sandbox` runs one target per fresh child and always returns an Outcome.

    Sandbox.run ── temp dir + payload file + JobSpec ──▶ Job.run (job.py) ──▶ template ──▶ runner ──▶ job child
         ▲                                                    │ watchdog, wall clock, cancel
         └──────────────────── Outcome ◀──────────────────────┘ (verdict.py: measure, judge, describe)

The caller's ``files`` are copied into the temp dir beside the payload (files.py).
The Sandbox owns the lifecycle (the warm template, the temp root) and what every job shares (the
environment policy, the default limits); each run gets its own JobSpec and Job.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import confine as confine_mod
from . import container as container_mod
from .errors import ErrorCode
from .files import FilesRefused, check_files, copy_files
from .job import Job
from .layers import guard_layers
from .limits import GuardLimits, JobLimits
from .linux import make_non_dumpable
from .outcome import Outcome
from .plan import LimitPlan
from .protocol import dumps
from .spec import JobSpec
from .stale import make_owned_dir, sweep_stale
from .template import Template
from .verdict import failure
from .watchdog import JOB_MARKER

__all__ = ["DEFAULT_ENV_ALLOW", "ROOT_PREFIX", "Sandbox", "THREAD_ENV_VARS"]

log = logging.getLogger("sandbox")

_MB = 1 << 20

ROOT_PREFIX = "sandbox-jobs-"
"""Name prefix of a sandbox's root dir in the temp dir (one per started Sandbox)."""

DEFAULT_ENV_ALLOW = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONHASHSEED", "SYSTEMROOT")
"""Parent variables a job may see. Everything else (HF_TOKEN, API keys...) stays in the parent."""

THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

_TEMPLATE_ENV = {
    # The template must stay single-threaded: BLAS pools start at import unless capped to 1 (the
    # job child raises them to `threads` with threadpoolctl), and pyarrow's jemalloc starts a
    # background thread unless told not to.
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "BLIS_NUM_THREADS": "1",
    "JE_ARROW_MALLOC_CONF": "background_thread:false",
    "MALLOC_ARENA_MAX": "2",
    "PYTHONDONTWRITEBYTECODE": "1",
}


class Sandbox:
    """Runs ``module:function`` targets in isolated, limited children forked from a warm template.

    ``preload`` names the modules the template imports once (the sandbox imports none of them
    itself). ``warmup`` optionally names a ``module:function`` (no arguments) the template runs once
    after its imports, single-threaded (sandbox/warmup.py), so every job child starts with its
    first-call costs (lazy imports, caches, fonts) paid and no job ever pays for readiness work; a
    warm-up that leaves a thread running stops the template from starting. ``extra_env``
    adds variables for the template and every job (e.g. ``MPLBACKEND``).
    """

    def __init__(
        self,
        job: JobLimits,
        guards: GuardLimits,
        *,
        preload: Sequence[str] = (),
        fault_injection: bool = False,
        extra_env: Mapping[str, str] | None = None,
        env_allow: Sequence[str] = DEFAULT_ENV_ALLOW,
        warmup: str = "",
    ) -> None:
        self.job = job
        self.guards = guards
        self.fault_injection = fault_injection
        self.container = container_mod.detect()
        self.threads = self._threads(job)
        """Threads of a job under the default limits (a run with its own ``limits`` may differ)."""
        self._allowed_env = {k: os.environ[k] for k in env_allow if k in os.environ}
        self._extra_env = dict(extra_env or {})
        self._template = Template(
            preload=["threadpoolctl", "sandbox.faults", *preload], env={**self._env(self.threads), **_TEMPLATE_ENV},
            start_seconds=guards.template_start_seconds,
            warmup=warmup,
        )
        self._tmp_root: Path | None = None
        self._lock = threading.Lock()
        self.jobs_started = 0

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Start the warm template; raises TemplateError when it cannot preload.

        Also makes this (the parent) process non-dumpable, so a job, which runs as the same user,
        cannot read the parent's environment (HF_TOKEN...) from ``/proc/<pid>/environ``.
        """
        confine_mod.require(self.guards)  # a layer set to "require" that the kernel cannot give
        make_non_dumpable()
        # A parent killed with SIGKILL (or by the OOM killer) could not remove its root: the dirs
        # of dead owners go now. Ours names us as its owner so the next start can tell.
        sweep_stale(tempfile.gettempdir(), ROOT_PREFIX)
        self._tmp_root = make_owned_dir(ROOT_PREFIX)
        # The template's temp dir is ours too: what its runners make there (the warm-ups' dirs)
        # is gone with close(), even if a runner was killed before it could clean up.
        self._template.env["TMPDIR"] = str(self._tmp_root)
        self._template.start()
        return self

    def close(self) -> None:
        self._template.close()
        if self._tmp_root is not None:
            shutil.rmtree(self._tmp_root, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- introspection ------------------------------------------------------------------------

    def allowed_env_keys(self) -> set[str]:
        """Every variable a job may see by policy: the default allow-list, the thread caps, the
        caller's ``extra_env`` and the per-job paths (not whatever ``env_allow`` was passed, so the
        self-check notices a widened allow-list)."""
        return set(DEFAULT_ENV_ALLOW) | set(THREAD_ENV_VARS) | set(self._extra_env) | {
            "TMPDIR", "TMP", "TEMP", "HOME", JOB_MARKER}

    def layers(self) -> list[dict[str, Any]]:
        return guard_layers(LimitPlan(self.job, self.guards), self.container, threads=self.threads)

    def status(self) -> dict[str, Any]:
        """Template state, guard layers, container limits and calibrated limits (for /health)."""
        info = self._template.info
        live = self._template.ping() if self._template.alive() else None
        st = live or info.get("status", {})
        vm_size, vm_data = st.get("vm_size", 0), st.get("vm_data", 0)
        calibrated: dict[str, Any] = {
            "threads": self.threads,
            **LimitPlan(self.job, self.guards).calibrated(vm_size=vm_size, vm_data=vm_data),
        }
        return {
            "template": {
                "alive": self._template.alive(),
                "pid": self._template.pid,
                "restarts": max(0, self._template.restarts),
                "import_seconds": round(info.get("import_seconds", 0.0), 3),
                "preloaded": info.get("preloaded", []),
                "warmup": self._template.warmup or None,
                "warmup_seconds": (self._template.info.get("warmup") or {}).get("seconds"),
                "warmup_error": (self._template.info.get("warmup") or {}).get("error"),
                "vm_size_mb": round(vm_size / _MB, 1),
                "rss_mb": round(st.get("vm_rss", 0) / _MB, 1),
                "threads": st.get("threads"),
            },
            "layers": self.layers(),
            "container": self.container.to_dict(),
            "limits": self.job.model_dump(),
            "calibrated": calibrated,
            "jobs_started": self.jobs_started,
        }

    # -- running ------------------------------------------------------------------------------

    def run(
        self,
        target: str,
        payload: Any,
        *,
        wall_clock_seconds: float | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        cancel: threading.Event | None = None,
        job_id: str | None = None,
        limits: JobLimits | None = None,
        connect_ports: Sequence[int] | None = None,
        write_paths: Sequence[str] = (),
        files: Mapping[str, str | os.PathLike[str]] | None = None,
    ) -> Outcome:
        """Run ``target(payload, ctx)`` in a fresh child. Never raises; thread-safe.

        ``limits`` replaces the sandbox's job limits for this run only, every one of them (the
        start-up self-check uses it to probe each guard cheaply); ``wall_clock_seconds`` is the
        caller's budget (the request deadline's remainder), which can only shorten the limit.
        ``connect_ports`` replaces ``[guards] connect_ports`` for this run (``[]``: no TCP connect at
        all), where the ``landlock_net`` layer is on: the caller knows whether the job downloads.
        ``write_paths`` are existing paths this run may write besides its own dir, where the
        ``landlock_fs`` layer is on (e.g. a shared download cache, for a job that fills it).
        ``files`` maps plain file names to source paths: each source is copied into the job's own
        dir (its cwd, the only dir it may read besides the system's under ``landlock_fs``) before
        the job starts, and removed with it. A name that is not plain (a slash, ``..``, a leading
        dot, the payload's name, past 64 characters) or a source that is not a readable regular
        file is refused with ``invalid_request`` and no job starts. The sandbox copies whatever the
        caller names: only a caller that has checked a path may pass it (sandbox/files.py).
        """
        job_id = job_id or uuid.uuid4().hex[:12]
        started = time.monotonic()
        tmpdir: Path | None = None
        plan: LimitPlan | None = None
        try:
            plan = LimitPlan(limits or self.job, self.guards, wall_clock_seconds)
            budget = plan.budget_seconds
            if budget is not None and budget <= 0:
                return failure(job_id, ErrorCode.TIMEOUT, "no wall-clock time was left for the job",
                               started=started, plan=plan)
            try:
                job_files = check_files(files, reserved=JobSpec.model_fields["payload_file"].default)
            except FilesRefused as exc:
                return failure(job_id, ErrorCode.INVALID_REQUEST, f"the run was refused: {exc}", started=started,
                               plan=None)
            tmpdir = Path(tempfile.mkdtemp(prefix=f"job-{job_id}-", dir=self._tmp_root))
            spec = self._spec(plan, job_id, target, tmpdir)
            if connect_ports is not None or write_paths:
                spec = spec.model_copy(update={
                    "connect_ports": None if connect_ports is None else [int(p) for p in connect_ports],
                    "write_paths": [str(p) for p in write_paths],
                })
            (tmpdir / spec.payload_file).write_bytes(dumps(payload))
            try:
                copy_files(job_files, tmpdir)
            except FilesRefused as exc:  # a source gone since it was checked
                return failure(job_id, ErrorCode.INVALID_REQUEST, f"the run was refused: {exc}", started=started,
                               plan=None)
            with self._lock:
                self.jobs_started += 1
            cgroup_parent = self.container.cgroup_v2_dir if self.container.cgroup_v2_memory_writable else None
            job = Job(spec=spec, template=self._template, cgroup_parent=cgroup_parent, started=started,
                      on_event=on_event, cancel=cancel)
            return job.run()
        except Exception as exc:  # the contract: an Outcome, whatever happened
            log.exception("sandbox internal error in job %s", job_id)
            return failure(job_id, ErrorCode.INTERNAL_ERROR, f"the sandbox failed: {exc!r}", started=started, plan=plan)
        finally:
            if tmpdir is not None:
                shutil.rmtree(tmpdir, ignore_errors=True)

    def _threads(self, job: JobLimits) -> int:
        return job.threads or self.container.cpus()

    def _env(self, threads: int) -> dict[str, str]:
        """A job's environment before its own paths: the allow-listed variables, the thread caps,
        the caller's ``extra_env``."""
        return {**self._allowed_env, **{var: str(threads) for var in THREAD_ENV_VARS}, **self._extra_env}

    def _spec(self, plan: LimitPlan, job_id: str, target: str, tmpdir: Path) -> JobSpec:
        threads = self._threads(plan.job)
        paths = {"TMPDIR": str(tmpdir), "TMP": str(tmpdir), "TEMP": str(tmpdir), "HOME": str(tmpdir)}
        return JobSpec(
            job_id=job_id,
            target=target,
            tmpdir=str(tmpdir),
            env={**self._env(threads), **paths, JOB_MARKER: job_id},
            threads=threads,
            job=plan.job,
            guards=plan.guards,
            requested_seconds=plan.requested_seconds,
            fault_injection=self.fault_injection,
        )
