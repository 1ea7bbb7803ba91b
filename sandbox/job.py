"""The parent's side of one job: hand it to the template, watch it, gather what it left, answer.

    Job.run ── RunnerSpec + JobSpec bytes on the job socket ──▶ template.submit(socket) ──▶ spare runner ──▶ job child
       ▲                                                                        │
       └──── started / events / exit report + result ◀──────────────────────────┘
    meanwhile, every watchdog_interval_ms (the LimitPlan's thresholds): cancel, wall clock, tree
    tasks (cheap sample), tree memory (RSS bound; USS when it matters, see Job._sample)
    then the answer waits for the runner's exit (its pidfd), so no process of the job is left,
    and the record becomes an Outcome (verdict.py: measure, judge, describe)
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson

from .cgroup import JobCgroup
from .errors import ErrorCode, TemplateError, Verdict
from .outcome import Outcome
from .protocol import KIND_JSON, KIND_RESULT, ExitReport, FrameReader, RunnerSpec, write_frame, write_json
from .spec import JobSpec
from .template import Template
from .verdict import JobRecord, failure, outcome_of
from .waiting import wait_readable
from .watchdog import TreeSample, kill_job_processes, sample_tree, signal_tree

__all__ = ["Job"]

log = logging.getLogger("sandbox")

_RUNNER_REPORT_SECONDS = 5.0
"""How long the runner may take to report after its child was killed (it reaps within 2 s)."""


class Job:
    """Supervises one job from submission to its outcome. Touches nothing of its Sandbox."""

    def __init__(
        self,
        *,
        spec: JobSpec,
        template: Template,
        cgroup_parent: str | None,
        started: float,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        """``cgroup_parent``: a writable cgroup v2 dir to make the job's cgroup in, or None."""
        self.spec = spec
        self.plan = spec.plan
        self.template = template
        self.cgroup_parent = cgroup_parent
        self.started = started
        self.on_event = on_event
        self.cancel = cancel
        budget = self.plan.budget_seconds
        self.deadline = started + budget if budget is not None else None
        self.reader = FrameReader()
        self.runner_pid: int | None = None
        self.child_pid: int | None = None
        self.runner_fd: int | None = None
        """A pidfd of the runner: readable once it has exited (the template reaps it)."""
        self.report: ExitReport | None = None
        self.result: bytes | None = None
        self.stop: Verdict | None = None
        self.stop_at = 0.0
        self.killed = False
        self.peak_uss = 0
        self.peak_tasks = 0
        self.last_exact: tuple[float, int, int] | None = None
        """(time, USS, RSS) of the last exact memory sample."""

    def run(self) -> Outcome:
        spec, cgroup = self.spec, None
        if self.cgroup_parent and self.plan.memory_bytes:
            try:
                cgroup = JobCgroup(self.cgroup_parent, spec.job_id, self.plan.memory_bytes)
                spec = spec.model_copy(update={"cgroup_procs": cgroup.procs_file})
            except OSError as exc:
                log.warning("cgroup layer unavailable for job %s: %s", spec.job_id, exc)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        cgroup_oom = False
        try:
            try:
                # Read by the runner that gets `theirs`; the job's spec is encoded here, once.
                write_json(ours.fileno(), RunnerSpec(self.plan.log_tail_bytes, self.plan.max_result_bytes).to_message())
                write_frame(ours.fileno(), KIND_JSON, spec.encode())
                self.template.submit(theirs)
            except TemplateError as exc:
                return failure(spec.job_id, ErrorCode.INTERNAL_ERROR, str(exc), started=self.started, plan=None)
            finally:
                theirs.close()
            self._supervise(ours)
        finally:
            ours.close()
            if self.runner_fd is not None:
                os.close(self.runner_fd)
            if self.report is None or self.report.processes_killed:
                # the runner died, or the job left processes behind (a fork bomb can outlast the
                # runner's reaping on a busy machine): sweep by the job marker before answering
                kill_job_processes(spec.job_id)
            if cgroup is not None:
                cgroup_oom = cgroup.oom_killed() > 0
                cgroup.close()
        return outcome_of(self._record(cgroup_oom), self.plan)

    def _record(self, cgroup_oom: bool) -> JobRecord:
        return JobRecord(
            job_id=self.spec.job_id,
            report=self.report,
            result=self.result,
            stop=self.stop,
            peak_uss_bytes=self.peak_uss,
            template_rss_bytes=int(self.template.info.get("status", {}).get("vm_rss", 0)),
            cgroup_oom=cgroup_oom,
            pids=tuple(p for p in (self.runner_pid, self.child_pid) if p),
            wall_seconds=time.monotonic() - self.started,
        )

    # -- the loop -----------------------------------------------------------------------------

    def _supervise(self, sock: socket.socket) -> None:
        plan = self.plan
        start_deadline = self.started + plan.guards.template_start_seconds
        while True:
            ready = wait_readable([sock], plan.poll_seconds)
            if ready:
                data = sock.recv(1 << 20)
                if not data:  # the runner is gone, or going
                    self._await_runner_gone(time.monotonic() + _RUNNER_REPORT_SECONDS)
                    return
                self.reader.feed(data)
                for kind, body in self.reader.frames():
                    self._on_frame(kind, body)
                if self.report is not None and (self.result is not None or not self.report.has_result):
                    self._await_runner_exit(sock)
                    return
            now = time.monotonic()
            if self.runner_pid is None:
                if now > start_deadline:
                    self._stop(Verdict(ErrorCode.INTERNAL_ERROR, "the job did not start in time"), now)
                    return
                continue
            if self.stop is None:
                self._check(now)
            elif not self.killed and now - self.stop_at >= plan.kill_grace_seconds:
                signal_tree(self.runner_pid, self.child_pid, signal.SIGKILL)
                self.killed = True
            elif now - self.stop_at > plan.kill_grace_seconds + _RUNNER_REPORT_SECONDS:
                log.error("runner of job %s did not report after the kill", self.spec.job_id)
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
            self.report = ExitReport.from_message(message)

    # -- the watchdog -------------------------------------------------------------------------

    def _check(self, now: float) -> None:
        if self.cancel is not None and self.cancel.is_set():
            self._stop(Verdict(ErrorCode.CANCELLED, "the request was cancelled and its job stopped"), now)
            return
        if self.deadline is not None and now >= self.deadline:
            self._stop(self.plan.timeout_stop(), now)
            return
        assert self.runner_pid is not None
        cheap = sample_tree(self.runner_pid, exact=False)
        self.peak_tasks = max(self.peak_tasks, cheap.tasks)
        # Judged before any exact memory read: a fork bomb's copies make that read slow (and
        # their summed RSS would call for it at every poll), while the bomb goes on forking.
        stop = self.plan.tasks_stop(cheap.tasks)
        if stop is None:
            sample = self._sample(now, cheap)
            stop = self.plan.memory_stop(sample.uss_bytes) if sample.exact else None
        if stop is not None:
            self._stop(stop, now, hard=True)

    def _sample(self, now: float, cheap: TreeSample) -> TreeSample:
        """The tree's memory: the cheap RSS bound each poll, the exact USS when it matters.

        Exact when the limit cannot be ruled out (the last exact USS plus the RSS grown since is
        past the plan's threshold; RSS is an upper bound of USS), and at least every
        ``uss_interval_ms`` for the peak the usage reports. RLIMIT_DATA stops a fast allocator in
        between, at the same budget.
        """
        assert self.runner_pid is not None
        last = self.last_exact
        due = last is None or now - last[0] >= self.plan.uss_interval_seconds
        if not due:
            assert last is not None
            due = self.plan.needs_exact(min(cheap.rss_bytes, last[1] + max(0, cheap.rss_bytes - last[2])))
        if not due:
            return cheap
        sample = sample_tree(self.runner_pid, exact=True)
        self.last_exact = (now, sample.uss_bytes, sample.rss_bytes)
        self.peak_uss = max(self.peak_uss, sample.uss_bytes)
        return sample

    def _stop(self, verdict: Verdict, now: float, *, hard: bool = False) -> None:
        self.stop, self.stop_at = verdict, now
        if self.runner_pid is None:
            return
        grace = self.plan.kill_grace_seconds
        sig = signal.SIGKILL if hard or grace == 0 else signal.SIGTERM
        signal_tree(self.runner_pid, self.child_pid, sig)
        self.killed = sig == signal.SIGKILL
