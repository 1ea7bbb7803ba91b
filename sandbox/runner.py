"""The runner: one per job, forked by the template ahead of its job; waits, reaps, reports.

    template ──fork──▶ runner R ──fork──▶ job child C (see child.py; waits for its spec)
                          │  job socket ─▶ its RunnerSpec, then the JobSpec's bytes: forwarded unchanged to C
                          │  reads C's result pipe (frames) and log pipe (keeps the tail)
                          │  wait4(C) → exit status, signal, rusage; as a subreaper it adopts and
                          │  kills every orphan of the job, then reaps them
                          └─ job socket ──▶ parent: "started", events, "exit" (+ the result frame)

The parent never waits on these processes itself (they are not its children): everything it
learns about the job's end comes through the runner's "exit" frame (an :class:`ExitReport`).
"""

from __future__ import annotations

import os
import resource
import selectors
import signal
import socket
import time
import traceback
from typing import Any, NoReturn

import orjson
import psutil

from .child import await_spec
from .linux import PR_SET_CHILD_SUBREAPER, PR_SET_PDEATHSIG, prctl
from .protocol import (
    KIND_JSON,
    KIND_RESULT,
    RESULT_STATUS_CHARS,
    ExitReport,
    FrameReader,
    FrameTooLarge,
    RunnerSpec,
    write_frame,
    write_json,
)

__all__ = ["run_spare"]

_POLL_SECONDS = 0.02
_REAP_SECONDS = 2.0


def run_spare(ctl_fd: int) -> NoReturn:
    """Body of a pre-forked spare runner. Never returns.

    The spare forks its job child at once (the child waits for its spec on a pipe), then waits
    for the template to hand it a job socket, so a request pays for no fork; the template was
    warmed up once, so the child starts warm and does no readiness work of its own. The job's
    spec comes on that socket from the parent, after the runner's own; the spare passes the
    job's bytes on to its child unchanged, without decoding them.
    """
    code = 0
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the template's reaping handler would steal our wait4
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # while idle, die with the template
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    try:
        res_r, res_w = os.pipe()
        log_r, log_w = os.pipe()
        go_r, go_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            for fd in (res_r, log_r, go_w, ctl_fd):
                os.close(fd)
            await_spec(go_r, res_w, log_w)  # never returns
        for fd in (res_w, log_w, go_r):
            os.close(fd)
        ctl = socket.socket(fileno=ctl_fd)
        data, fds, _, _ = socket.recv_fds(ctl, 16, 1)
        specs = _read_specs(fds[0]) if data and fds else None
        if specs is None:  # the spare was discarded, or the parent went away
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        else:
            prctl(PR_SET_PDEATHSIG, 0)  # a running job outlives a template restart
            runner_spec, job_spec = specs
            write_frame(go_w, KIND_JSON, job_spec)
            os.close(go_w)
            _Runner(runner_spec, fds[0]).run(pid, res_r, log_r)
    except BaseException:  # the runner must always exit, never fall back into the template loop
        traceback.print_exc()
        code = 70
    os._exit(code)


def _read_specs(job_fd: int) -> tuple[RunnerSpec, bytes] | None:
    """The two frames the parent wrote on the job socket before handing it over: the runner's
    spec, decoded, and the job's, as bytes. None at EOF."""
    reader = FrameReader()
    bodies: list[bytes] = []
    while len(bodies) < 2:
        chunk = os.read(job_fd, 1 << 16)
        if not chunk:
            return None
        reader.feed(chunk)
        bodies += [body for _, body in reader.frames()]
    return RunnerSpec.from_message(orjson.loads(bodies[0])), bodies[1]


class _Runner:
    """Watches one job child to its end and reports it to the parent."""

    def __init__(self, spec: RunnerSpec, job_fd: int) -> None:
        self.job_fd = job_fd
        self.tail = bytearray()
        self.tail_limit = spec.log_tail_bytes
        self.reader = FrameReader(max_body=spec.max_result_bytes)
        self.result: bytes | None = None
        self.result_status: str | None = None
        self.header: str | None = None
        """The status of the last result header, waiting for its result frame."""
        self.child_error: dict[str, Any] | None = None
        self.result_too_large: int | None = None
        self.invalid_frames: str | None = None
        self.data_at_start: int | None = None
        self.data_peak = 0
        self.cpu_before_job = 0.0
        """CPU seconds the child spent before its job (its "baseline" frame: its fork and wait)."""

    def run(self, pid: int, res_r: int, log_r: int) -> None:
        started = time.monotonic()
        write_json(self.job_fd, {"type": "started", "pid": pid, "runner_pid": os.getpid()})
        status, rusage, parent_gone = self._supervise(pid, res_r, log_r)
        wall = time.monotonic() - started
        self._drain(res_r, log_r)
        killed = _kill_descendants(pid)
        if parent_gone:
            return
        exit_code = os.waitstatus_to_exitcode(status)
        report = ExitReport(
            exit_code=exit_code if exit_code >= 0 else None,
            signal=-exit_code if exit_code < 0 else None,
            cpu_seconds=max(0.0, rusage.ru_utime + rusage.ru_stime - self.cpu_before_job),
            max_rss_kb=rusage.ru_maxrss,
            wall_seconds=wall,
            child_error=self.child_error,
            has_result=self.result is not None,
            result_status=self.result_status if self.result is not None else None,
            result_too_large=self.result_too_large,
            invalid_frames=self.invalid_frames,
            processes_killed=killed,
            data_growth_mb=(self.data_peak - (self.data_at_start or self.data_peak)) / (1 << 20),
            log_tail=bytes(self.tail).decode("utf-8", "replace"),
        )
        write_json(self.job_fd, report.to_message())
        if self.result is not None:
            write_frame(self.job_fd, KIND_RESULT, self.result)
        os.close(self.job_fd)  # EOF for the parent, which then waits on our pidfd for the exit itself

    def _supervise(self, pid: int, res_r: int, log_r: int) -> tuple[int, Any, bool]:
        sel = selectors.DefaultSelector()
        sel.register(res_r, selectors.EVENT_READ, "result")
        sel.register(log_r, selectors.EVENT_READ, "log")
        sel.register(self.job_fd, selectors.EVENT_READ, "parent")
        try:  # a pidfd wakes us the moment the child exits, instead of at the next poll
            sel.register(os.pidfd_open(pid), selectors.EVENT_READ, "exit")
        except (AttributeError, OSError):
            pass
        status_path = f"/proc/{pid}/status"
        try:
            while True:
                self._sample_data(status_path)
                for key, _ in sel.select(_POLL_SECONDS):
                    if key.data == "exit":
                        sel.unregister(key.fd)
                        os.close(key.fd)
                    elif key.data == "parent":
                        if not os.read(self.job_fd, 4096):  # the parent went away: end the job
                            _kill_group(pid)
                            try:
                                _, status, rusage = os.wait4(pid, 0)
                            except ChildProcessError:  # already reaped: nobody is left to report to
                                status, rusage = 0, resource.getrusage(resource.RUSAGE_CHILDREN)
                            _kill_descendants()
                            return status, rusage, True
                    elif not self._read(key.fd, key.data):
                        sel.unregister(key.fd)
                        if key.data == "result" and self.result_too_large:
                            _kill_group(pid)
                waited, status, rusage = os.wait4(pid, os.WNOHANG)
                if waited == pid:
                    return status, rusage, False
        finally:
            sel.close()

    def _sample_data(self, status_path: str) -> None:
        """Track the child's data size (what RLIMIT_DATA counts): if it then dies of SIGSEGV/SIGABRT,
        a size near the limit is the evidence that an allocation failed inside a C library."""
        try:
            with open(status_path, "rb") as fh:
                for line in fh:
                    if line.startswith(b"VmData:"):
                        size = int(line.split()[1]) * 1024
                        if self.data_at_start is None:
                            self.data_at_start = size
                        self.data_peak = max(self.data_peak, size)
                        return
        except (OSError, ValueError):
            return

    def _read(self, fd: int, what: str) -> bool:
        """Read what is available; False at EOF or when the stream must no longer be read."""
        try:
            data = os.read(fd, 1 << 16)
        except OSError:
            return False
        if not data:
            return False
        if what == "log":
            self.tail += data
            if len(self.tail) > self.tail_limit:
                del self.tail[: len(self.tail) - self.tail_limit]
            return True
        return self._feed(data)

    def _feed(self, data: bytes) -> bool:
        if self.result_too_large:
            return False
        self.reader.feed(data)
        try:
            for kind, body in self.reader.frames():
                self._on_frame(kind, body)
        except FrameTooLarge as exc:
            self.result_too_large = exc.size
            return False
        return True

    def _on_frame(self, kind: bytes, body: bytes) -> None:
        if kind == KIND_RESULT:
            self.result, self.result_status, self.header = body, self.header, None
            return
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError:
            self.invalid_frames = "an unreadable control frame"
            return
        kind_name = message.get("type") if isinstance(message, dict) else None
        if kind_name == "event":
            write_json(self.job_fd, message)
        elif kind_name == "result":
            status = message.get("status")
            self.header = status if isinstance(status, str) and len(status) <= RESULT_STATUS_CHARS else None
        elif kind_name == "error":
            self.child_error = message
        elif kind_name == "baseline":
            self.cpu_before_job = float(message.get("cpu_seconds") or 0.0)
        else:
            self.invalid_frames = f"an unknown frame {kind_name!r}"

    def _drain(self, res_r: int, log_r: int) -> None:
        """Read what the child left in its pipes without waiting for grandchildren holding them."""
        for fd, what in ((res_r, "result"), (log_r, "log")):
            os.set_blocking(fd, False)
            try:
                while self._read(fd, what):
                    pass
            except BlockingIOError:
                pass
            os.close(fd)
        if self.reader.pending and self.result is None and not self.result_too_large:
            self.invalid_frames = f"a truncated frame ({self.reader.pending} bytes)"


def _kill_group(pid: int) -> None:
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass


def _kill_descendants(group: int | None = None) -> int:
    """SIGKILL every descendant (orphans are ours as subreaper) and reap them; return how many.

    ``group``: the job's process group (the child called setsid), killed whole first on every round,
    so a fork bomb cannot outrun a scan of /proc (a forking process with a pending SIGKILL fails to
    fork); the scan finds those that left the group."""
    killed: set[int] = set()
    deadline = time.monotonic() + _REAP_SECONDS
    try:  # as subreaper, no child of ours means no descendant left at all
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return 0
    while True:
        if group is not None:
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            children = psutil.Process().children(recursive=True)
        except psutil.Error:
            children = []
        for child in children:
            try:
                child.kill()
                killed.add(child.pid)
            except psutil.Error:
                pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0] != 0:
                pass
        except ChildProcessError:
            return len(killed)
        if time.monotonic() > deadline:
            return len(killed)
        time.sleep(0.005)
