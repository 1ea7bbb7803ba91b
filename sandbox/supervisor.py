"""The parent side: :class:`Sandbox` runs one target per fresh child and always returns an Outcome.

    Sandbox.run ──▶ temp dir + payload file ──▶ template (fork) ──▶ runner ──▶ job child
         ▲                                                            │
         └──── started / events / exit report + result ◀──────────────┘
    meanwhile, every watchdog_interval_ms: cancel, wall clock, tree tasks, tree memory (RSS
    bound; USS when it matters, see _Job._sample)
    the answer waits for the runner's exit (its pidfd), so no process of the job is left
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from . import container as container_mod
from .cgroup import JobCgroup
from .errors import LIMIT_OF_CODE, ErrorCode, TemplateError, classify, signal_name
from .layers import guard_layers
from .limits import GuardLimits, JobLimits
from .outcome import Outcome, Usage
from .protocol import KIND_RESULT, FrameReader, dumps
from .runner import make_non_dumpable
from .stale import make_owned_dir, sweep_stale
from .template import Template
from .waiting import wait_readable
from .watchdog import JOB_MARKER, TreeSample, kill_job_processes, sample_tree, signal_tree

__all__ = ["DEFAULT_ENV_ALLOW", "ROOT_PREFIX", "Sandbox", "THREAD_ENV_VARS"]

log = logging.getLogger("sandbox")

_MB = 1 << 20
_RUNNER_REPORT_SECONDS = 5.0
"""How long the runner may take to report after its child was killed (it reaps within 2 s)."""
EXACT_ABOVE = 0.75
"""Share of ``memory_mb`` above which the watchdog's bound on a tree's private memory is checked
exactly (USS) at every poll instead of every ``uss_interval_ms``."""

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
    itself). ``warmup`` optionally names a ``module:function`` (no arguments) that each pre-forked
    job child runs while it waits for its job, so first-call costs (lazy imports, caches) are paid
    off the request path; it never runs in the template, so it may run numeric code. ``extra_env``
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
        self.threads = job.threads or self.container.cpus()
        base_env = {k: os.environ[k] for k in env_allow if k in os.environ}
        base_env.update({var: str(self.threads) for var in THREAD_ENV_VARS})
        base_env.update(extra_env or {})
        self._job_env = base_env
        self._extra_env_keys = set(extra_env or {})
        self._template = Template(
            preload=["threadpoolctl", "sandbox.faults", *preload], env={**base_env, **_TEMPLATE_ENV},
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
        return set(DEFAULT_ENV_ALLOW) | set(THREAD_ENV_VARS) | self._extra_env_keys | {
            "TMPDIR", "TMP", "TEMP", "HOME", JOB_MARKER}

    def layers(self) -> list[dict[str, Any]]:
        return guard_layers(self.job, self.guards, self.container, threads=self.threads)

    def status(self) -> dict[str, Any]:
        """Template state, guard layers, container limits and calibrated limits (for /health)."""
        info = self._template.info
        live = self._template.ping() if self._template.alive() else None
        st = live or info.get("status", {})
        vm_size, vm_data = st.get("vm_size", 0), st.get("vm_data", 0)
        calibrated: dict[str, Any] = {"threads": self.threads}
        if self.job.memory_mb:
            calibrated["rlimit_data_mb"] = round(vm_data / _MB + self.job.memory_mb)
            if self.guards.address_space_headroom_mb:
                calibrated["rlimit_as_mb"] = round(
                    vm_size / _MB + self.job.memory_mb + self.guards.address_space_headroom_mb
                )
        return {
            "template": {
                "alive": self._template.alive(),
                "pid": self._template.pid,
                "restarts": max(0, self._template.restarts),
                "import_seconds": round(info.get("import_seconds", 0.0), 3),
                "preloaded": info.get("preloaded", []),
                "warmup": self._template.warmup or None,
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
    ) -> Outcome:
        """Run ``target(payload, ctx)`` in a fresh child. Never raises; thread-safe.

        ``limits`` replaces the sandbox's job limits for this run only (the start-up self-check
        uses it to probe each guard cheaply); ``wall_clock_seconds`` can only shorten the limit.
        """
        job_id = job_id or uuid.uuid4().hex[:12]
        started = time.monotonic()
        tmpdir: Path | None = None
        job = limits or self.job
        try:
            budget = self._budget(job, wall_clock_seconds)
            if budget is not None and budget <= 0:
                return _failure(job_id, ErrorCode.TIMEOUT, "no wall-clock time was left for the job", started)
            tmpdir = Path(tempfile.mkdtemp(prefix=f"job-{job_id}-", dir=self._tmp_root))
            (tmpdir / "payload.json").write_bytes(dumps(payload))
            with self._lock:
                self.jobs_started += 1
            return _Job(self, job, job_id, target, tmpdir, budget, on_event, cancel, started).run()
        except Exception as exc:  # the contract: an Outcome, whatever happened
            log.exception("sandbox internal error in job %s", job_id)
            return _failure(job_id, ErrorCode.INTERNAL_ERROR, f"the sandbox failed: {exc!r}", started)
        finally:
            if tmpdir is not None:
                shutil.rmtree(tmpdir, ignore_errors=True)

    @staticmethod
    def _budget(job: JobLimits, requested: float | None) -> float | None:
        limit = job.wall_clock_seconds or None
        if requested is None:
            return limit
        return requested if limit is None else min(limit, requested)

    def _spec(self, job: JobLimits, job_id: str, target: str, tmpdir: Path, budget: float | None) -> dict[str, Any]:
        env = {
            **self._job_env,
            "TMPDIR": str(tmpdir),
            "TMP": str(tmpdir),
            "TEMP": str(tmpdir),
            "HOME": str(tmpdir),
            JOB_MARKER: job_id,
        }
        return {
            "job_id": job_id,
            "target": target,
            "tmpdir": str(tmpdir),
            "payload_file": "payload.json",
            "env": env,
            "threads": self.threads,
            "job": job.model_dump(),
            "guards": self.guards.model_dump(),
            "fault_injection": self.fault_injection,
            "wall_seconds": budget,
            "log_tail_bytes": self.guards.log_tail_kb * 1024,
            "max_result_bytes": job.max_result_mb * _MB,
        }


def _failure(job_id: str, code: ErrorCode, message: str, started: float) -> Outcome:
    usage = Usage(wall_seconds=time.monotonic() - started, limit_hit=LIMIT_OF_CODE.get(code))
    return Outcome(ok=False, job_id=job_id, code=code.value, message=message, usage=usage)


class _Job:
    """Supervises one job from submission to its outcome."""

    def __init__(
        self,
        sandbox: Sandbox,
        job: JobLimits,
        job_id: str,
        target: str,
        tmpdir: Path,
        budget: float | None,
        on_event: Callable[[dict[str, Any]], None] | None,
        cancel: threading.Event | None,
        started: float,
    ) -> None:
        self.sb = sandbox
        self.job = job
        self.job_id = job_id
        self.target = target
        self.tmpdir = tmpdir
        self.budget = budget
        self.on_event = on_event
        self.cancel = cancel
        self.started = started
        self.deadline = started + budget if budget is not None else None
        self.reader = FrameReader()
        self.runner_pid: int | None = None
        self.child_pid: int | None = None
        self.runner_fd: int | None = None
        """A pidfd of the runner: readable once it has exited (the template reaps it)."""
        self.report: dict[str, Any] | None = None
        self.result: bytes | None = None
        self.stop_reason: ErrorCode | None = None
        self.stop_message = ""
        self.stop_at = 0.0
        self.killed = False
        self.peak_uss = 0
        self.peak_tasks = 0
        self.cgroup: JobCgroup | None = None
        self.last_exact: tuple[float, int, int] | None = None
        """(time, USS, RSS) of the last exact memory sample."""

    def run(self) -> Outcome:
        spec = self.sb._spec(self.job, self.job_id, self.target, self.tmpdir, self.budget)
        if self.sb.container.cgroup_v2_memory_writable and self.job.memory_mb:
            try:
                assert self.sb.container.cgroup_v2_dir is not None
                self.cgroup = JobCgroup(self.sb.container.cgroup_v2_dir, self.job_id, self.job.memory_mb)
                spec["cgroup_procs"] = self.cgroup.procs_file
            except OSError as exc:
                log.warning("cgroup layer unavailable for job %s: %s", self.job_id, exc)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            try:
                self.sb._template.submit(spec, theirs)
            except TemplateError as exc:
                return _failure(self.job_id, ErrorCode.INTERNAL_ERROR, str(exc), self.started)
            finally:
                theirs.close()
            self._supervise(ours)
        finally:
            ours.close()
            if self.runner_fd is not None:
                os.close(self.runner_fd)
            if self.report is None:
                kill_job_processes(self.job_id)  # the runner died: sweep by the job marker
            if self.cgroup is not None:
                self.cgroup.close()
        return self._outcome()

    # -- the loop -----------------------------------------------------------------------------

    def _supervise(self, sock: socket.socket) -> None:
        interval = self.sb.guards.watchdog_interval_ms / 1000
        start_deadline = self.started + self.sb.guards.template_start_seconds
        while True:
            ready = wait_readable([sock], interval)
            if ready:
                data = sock.recv(1 << 20)
                if not data:  # the runner is gone, or going
                    self._await_runner_gone(time.monotonic() + _RUNNER_REPORT_SECONDS)
                    return
                self.reader.feed(data)
                for kind, body in self.reader.frames():
                    self._on_frame(kind, body)
                if self.report is not None and (self.result is not None or not self.report["has_result"]):
                    self._await_runner_exit(sock)
                    return
            now = time.monotonic()
            if self.runner_pid is None:
                if now > start_deadline:
                    self._stop(ErrorCode.INTERNAL_ERROR, "the job did not start in time", now)
                    return
                continue
            if self.stop_reason is None:
                self._check(now)
            elif not self.killed and now - self.stop_at >= self.sb.guards.kill_grace_seconds:
                signal_tree(self.runner_pid, self.child_pid, signal.SIGKILL)
                self.killed = True
            elif now - self.stop_at > self.sb.guards.kill_grace_seconds + _RUNNER_REPORT_SECONDS:
                log.error("runner of job %s did not report after the kill", self.job_id)
                return

    def _await_runner_exit(self, sock: socket.socket) -> None:
        """Wait until the runner has exited, so no process of the job is left when we answer.

        The runner closes its socket once it has reported, then exits; its pidfd turns readable
        when the exit is complete (closing the socket comes before the address space is torn down).
        """
        deadline = time.monotonic() + _RUNNER_REPORT_SECONDS
        while time.monotonic() < deadline:
            ready = wait_readable([sock], max(0.0, deadline - time.monotonic()))
            if ready and not sock.recv(1 << 16):
                break
        self._await_runner_gone(deadline)

    def _await_runner_gone(self, deadline: float) -> None:
        if self.runner_fd is not None:
            wait_readable([self.runner_fd], max(0.0, deadline - time.monotonic()))

    def _on_frame(self, kind: bytes, body: bytes) -> None:
        if kind == KIND_RESULT:
            self.result = body
            return
        message = orjson.loads(body)
        kind_name = message.get("type")
        if kind_name == "started":
            self.runner_pid, self.child_pid = message["runner_pid"], message["pid"]
            try:
                self.runner_fd = os.pidfd_open(self.runner_pid)
            except OSError:  # already gone, or no pidfd support: the socket's EOF is all we wait for
                self.runner_fd = None
        elif kind_name == "event" and self.on_event is not None:
            try:
                self.on_event(message.get("event", {}))
            except Exception:  # a broken listener must not break the job
                log.exception("on_event listener failed")
        elif kind_name == "exit":
            self.report = message

    def _check(self, now: float) -> None:
        job = self.job
        if self.cancel is not None and self.cancel.is_set():
            self._stop(ErrorCode.CANCELLED, "the request was cancelled and its job stopped", now)
            return
        if self.deadline is not None and now >= self.deadline:
            self._stop(
                ErrorCode.TIMEOUT, f"the job ran past its wall-clock limit of {self.budget:.1f} s and was stopped", now
            )
            return
        assert self.runner_pid is not None
        cheap = sample_tree(self.runner_pid, exact=False)
        self.peak_tasks = max(self.peak_tasks, cheap.tasks)
        if job.max_processes and cheap.tasks > job.max_processes:
            # Judged before any exact memory read: a fork bomb's copies make that read slow (and
            # their summed RSS would call for it at every poll), while the bomb goes on forking.
            self._stop(
                ErrorCode.PROCESS_LIMIT_EXCEEDED,
                f"the job ran {cheap.tasks} processes and threads, over its limit of {job.max_processes}, "
                "and was killed",
                now,
                hard=True,
            )
            return
        sample = self._sample(now, cheap)
        if job.memory_mb and sample.exact and sample.uss_bytes > job.memory_mb * _MB:
            self._stop(
                ErrorCode.MEMORY_EXCEEDED,
                f"the job's processes used {sample.uss_bytes / _MB:.0f} MB, over its memory limit of "
                f"{job.memory_mb} MB, and were killed",
                now,
                hard=True,
            )

    def _sample(self, now: float, cheap: TreeSample) -> TreeSample:
        """The tree's memory: the cheap RSS bound each poll, the exact USS when it matters.

        Exact when the limit cannot be ruled out (the last exact USS plus the RSS grown since
        is past ``EXACT_ABOVE`` of ``memory_mb``; RSS is an upper bound of USS), and at least every
        ``uss_interval_ms`` for the peak the usage reports. RLIMIT_DATA stops a fast allocator in
        between, at the same budget.
        """
        assert self.runner_pid is not None
        limit = self.job.memory_mb * _MB
        last = self.last_exact
        due = last is None or now - last[0] >= self.sb.guards.uss_interval_ms / 1000
        if limit and not due:
            assert last is not None
            bound = min(cheap.rss_bytes, last[1] + max(0, cheap.rss_bytes - last[2]))
            due = bound > EXACT_ABOVE * limit
        if not due:
            return cheap
        sample = sample_tree(self.runner_pid, exact=True)
        self.last_exact = (now, sample.uss_bytes, sample.rss_bytes)
        self.peak_uss = max(self.peak_uss, sample.uss_bytes)
        return sample

    def _stop(self, reason: ErrorCode, message: str, now: float, *, hard: bool = False) -> None:
        self.stop_reason, self.stop_message, self.stop_at = reason, message, now
        if self.runner_pid is None:
            return
        grace = self.sb.guards.kill_grace_seconds
        sig = signal.SIGKILL if hard or grace == 0 else signal.SIGTERM
        signal_tree(self.runner_pid, self.child_pid, sig)
        self.killed = sig == signal.SIGKILL

    # -- the verdict --------------------------------------------------------------------------

    def _outcome(self) -> Outcome:
        report = self.report or {}
        job = self.job
        # Jobs shorter than one watchdog poll have no USS sample: estimate their private memory
        # as peak RSS minus the template's RSS at fork (shared pages count in both).
        template_rss = self.sb._template.info.get("status", {}).get("vm_rss", 0) / _MB
        rss_growth = max(0.0, float(report.get("max_rss_kb", 0)) / 1024 - template_rss)
        peak_mb = max(self.peak_uss / _MB, rss_growth)
        signum = report.get("signal")
        log_tail = report.get("log_tail", "")
        too_large = report.get("result_too_large")
        stop_reason, stop_message = self.stop_reason, self.stop_message
        if self.report is None and stop_reason is None:
            stop_reason, stop_message = ErrorCode.INTERNAL_ERROR, "the job's runner died without reporting"
        if too_large:
            stop_message = (
                f"the job's result of {too_large['size'] / _MB:.1f} MB is over the limit of {job.max_result_mb} MB"
            )
        if self.cgroup is not None and self.cgroup.oom_killed() and stop_reason is None:
            stop_reason = ErrorCode.MEMORY_EXCEEDED
            stop_message = f"the kernel OOM-killed the job at its cgroup memory.max of {job.memory_mb} MB"
        verdict = classify(
            stop_reason=stop_reason,
            stop_message=stop_message,
            exit_code=report.get("exit_code"),
            signum=signum,
            child_error=report.get("child_error"),
            has_result=self.result is not None,
            result_too_large=bool(too_large),
            cpu_seconds=float(report.get("cpu_seconds", 0.0)),
            cpu_limit=job.cpu_seconds,
            memory_fraction=max(peak_mb, float(report.get("data_growth_mb", 0.0))) / job.memory_mb if job.memory_mb else 0.0,
            log_tail=log_tail,
        )
        value: Any = None
        code, message = verdict.code, verdict.message
        if code is None:
            try:
                value = orjson.loads(self.result or b"")
            except orjson.JSONDecodeError as exc:
                code, message = ErrorCode.INVALID_RESULT, f"the job's result is not readable JSON: {exc}"
        if code is None and report.get("invalid_frames"):
            code, message = ErrorCode.INVALID_RESULT, f"the job sent {report['invalid_frames']}"
        usage = Usage(
            wall_seconds=float(report.get("wall_seconds", time.monotonic() - self.started)),
            cpu_seconds=float(report.get("cpu_seconds", 0.0)),
            peak_memory_mb=peak_mb,
            max_rss_mb=float(report.get("max_rss_kb", 0)) / 1024,
            exit_code=report.get("exit_code"),
            signal=signal_name(signum) if signum else None,
            limit_hit=LIMIT_OF_CODE.get(code) if code else None,
            processes_killed=int(report.get("processes_killed", 0)),
        )
        details: dict[str, Any] = {}
        child_error = report.get("child_error") or {}
        if code == ErrorCode.EXECUTION_ERROR and child_error:
            details = {"exceptionType": child_error.get("exc_type"), "traceback": child_error.get("traceback")}
        if usage.limit_hit:
            details["limit"] = {"name": usage.limit_hit, "value": job.model_dump().get(usage.limit_hit)}
            if code == ErrorCode.TIMEOUT and self.budget is not None:
                details["limit"]["value"] = round(self.budget, 3)
        return Outcome(
            ok=code is None,
            job_id=self.job_id,
            value=value,
            code=code.value if code else None,
            message=message,
            usage=usage,
            log_tail="" if code is None else log_tail,
            details=details,
            pids=tuple(p for p in (self.runner_pid, self.child_pid) if p),
        )
