"""The two processes forked per job: the runner (waits, reaps, reports) and the job child.

    template ──fork──▶ runner R ──fork──▶ job child C (setsid, rlimits, clean env, runs the target)
                          │  reads C's result pipe (frames) and log pipe (keeps the tail)
                          │  wait4(C) → exit status, signal, rusage; as a subreaper it adopts and
                          │  kills every orphan of the job, then reaps them
                          └─ job socket ──▶ parent: "started", events, "exit" (+ the result frame)

The parent never waits on these processes itself (they are not its children): everything it
learns about the job's end comes through the runner's "exit" frame.
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import importlib
import os
import resource
import selectors
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import orjson
import psutil

from .context import JobContext
from .errors import ErrorCode, limit_error
from .limits import GuardLimits, JobLimits
from .protocol import KIND_JSON, KIND_RESULT, FrameReader, FrameTooLarge, dumps, write_frame, write_json
from .rlimits import apply_rlimits, compute_rlimits, count_user_tasks, lift_data_limit, read_proc_status
from .waiting import wait_readable

__all__ = ["run_spare", "scan_thread_pools"]

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_SET_NAME = 15
_PR_CAPBSET_DROP = 24
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_NO_NEW_PRIVS = 38
_CAP_LAST = 63
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_POLL_SECONDS = 0.02
_REAP_SECONDS = 2.0
_TRACEBACK_CHARS = 4000
_THREAD_STACK = 8 << 20
"""Default pthread stack reservation, counted by RLIMIT_DATA."""
_libc = ctypes.CDLL(None, use_errno=True)


def prctl(option: int, value: int) -> bool:
    """Call prctl(2); False when the kernel refuses."""
    return _libc.prctl(option, value, 0, 0, 0) == 0


def job_process_name(job_id: str) -> str:
    """The process name (comm, at most 15 bytes) every process of a job carries."""
    return f"sbx-{job_id}"[:15]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_privileges() -> bool:
    """Drop every capability (bounding set included) and forbid regaining any (no_new_privs).

    Without CAP_SYS_PTRACE / CAP_DAC_* a job cannot read another process's ``/proc/<pid>/environ``
    or memory when that process is non-dumpable (the parent makes itself so), even as root.
    Returns True when the capability sets are empty afterwards.
    """
    for cap in range(_CAP_LAST + 1):
        _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the kernel's last cap: fine
    prctl(_PR_SET_NO_NEW_PRIVS, 1)
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    return _libc.capset(ctypes.byref(header), ctypes.byref(data)) == 0


def make_non_dumpable() -> bool:
    """Mark this process non-dumpable: same-user processes without CAP_SYS_PTRACE (every job)
    can no longer read its ``/proc/<pid>/environ`` or memory, nor attach a debugger to it."""
    return prctl(_PR_SET_DUMPABLE, 0)


# --------------------------------------------------------------------------- runner (R)


def run_spare(ctl_fd: int, warmup: str = "") -> None:
    """Body of a pre-forked spare runner. Never returns.

    The spare forks its job child at once (the child runs the caller's ``warmup`` target, if any,
    then waits for its spec on a pipe), then waits for the template to hand it a job, so a request
    pays for neither fork nor the first-call costs the warm-up took on. The warm-up gets a temp
    dir of its own, which the spare removes once the child is gone, however it ended.
    """
    code = 0
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the template's reaping handler would steal our wait4
    prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # while idle, die with the template
    prctl(_PR_SET_CHILD_SUBREAPER, 1)
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)  # the child inherits it until its warm-up handles it
    warm_dir = tempfile.mkdtemp(prefix="warmup-") if warmup else ""  # under the sandbox's own root
    try:
        res_r, res_w = os.pipe()
        log_r, log_w = os.pipe()
        go_r, go_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            for fd in (res_r, log_r, go_w, ctl_fd):
                os.close(fd)
            _warm_up(warmup, go_r, warm_dir)
            _await_spec(go_r, res_w, log_w)  # never returns
        for fd in (res_w, log_w, go_r):
            os.close(fd)
        ctl = socket.socket(fileno=ctl_fd)
        data, fds, _, _ = socket.recv_fds(ctl, 1 << 16, 1)
        if not data or not fds:  # the spare was discarded
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        else:
            prctl(_PR_SET_PDEATHSIG, 0)  # a running job outlives a template restart
            spec = orjson.loads(data)
            write_frame(go_w, KIND_JSON, data)
            if warmup:  # after the spec: a child that has not started its warm-up yet sees the spec instead
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, _WARMUP_STOP)  # a warm-up still running gives way to the job at once
            os.close(go_w)
            _Runner(spec, fds[0]).run(pid, res_r, log_r)
    except BaseException:  # the runner must always exit, never fall back into the template loop
        traceback.print_exc()
        code = 70
    if warm_dir:
        shutil.rmtree(warm_dir, ignore_errors=True)
    os._exit(code)


_WARMUP_STOP = signal.SIGUSR1
"""Sent by the runner to its job child when the job arrives: a warm-up still running stops."""
_warming = False


class _WarmUpStopped(BaseException):
    """Raised inside the warm-up when its job has arrived."""


def _stop_warm_up(signum: int, frame: Any) -> None:
    global _warming
    if _warming:  # only once, and never outside the warm-up (the signal may be handled late)
        _warming = False
        raise _WarmUpStopped


def _warm_up(target: str, go_r: int, tmpdir: str) -> None:
    """Job child, before its job: run the caller's ``module:function`` warm-up (no arguments).

    It runs while the child is idle, so the job's own first calls are warm; when the job arrives
    first, the runner's signal stops it at once (it unwinds like a KeyboardInterrupt, so its
    ``finally`` and ``with`` blocks run), and the job never waits for it. It is the caller's code,
    never the job's; whatever it does or raises is silenced, and the job child is used as usual
    afterwards. Its CPU time is not charged to the job (see ``_enter_child``). Its temporary
    files go to ``tmpdir`` (``tempfile.gettempdir()`` while it runs), which the runner removes.
    """
    global _warming
    if not target:
        return
    import warnings

    saved = os.dup(1), os.dup(2)
    saved_filters = list(warnings.filters)  # a stop inside catch_warnings.__exit__ would leave them changed
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        tempfile.tempdir = tmpdir
        module_name, _, func_name = target.partition(":")
        _warming = True  # before the check: a stop signal from here on interrupts the warm-up
        signal.signal(_WARMUP_STOP, _stop_warm_up)
        if wait_readable([go_r], 0):
            return  # the job came first (the runner signals only after sending it)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            getattr(importlib.import_module(module_name), func_name)()
    except BaseException:  # noqa: S110 - a failed or stopped warm-up only means a colder job
        pass
    finally:
        _warming = False
        tempfile.tempdir = None
        warnings.filters[:] = saved_filters
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def _await_spec(go_r: int, res_w: int, log_w: int) -> None:
    """Job child, before its job: block until the runner sends the spec, then run it."""
    reader = FrameReader()
    while True:
        chunk = os.read(go_r, 1 << 16)
        if not chunk:
            os._exit(0)  # the spare was discarded
        reader.feed(chunk)
        for _, body in reader.frames():
            os.close(go_r)
            _run_child(orjson.loads(body), res_w, log_w)  # never returns


class _Runner:
    def __init__(self, spec: dict[str, Any], job_fd: int) -> None:
        self.spec = spec
        self.job_fd = job_fd
        self.tail = bytearray()
        self.tail_limit = int(spec["log_tail_bytes"])
        self.reader = FrameReader(max_body=int(spec["max_result_bytes"]))
        self.result: bytes | None = None
        self.child_error: dict[str, Any] | None = None
        self.result_too_large: dict[str, int] | None = None
        self.invalid_frames: str | None = None
        self.data_at_start: int | None = None
        self.data_peak = 0
        self.cpu_before_job = 0.0
        """CPU seconds the child spent warming up before its job (its "baseline" frame)."""

    def run(self, pid: int, res_r: int, log_r: int) -> None:
        started = time.monotonic()
        write_json(self.job_fd, {"type": "started", "pid": pid, "runner_pid": os.getpid()})
        status, rusage, parent_gone = self._supervise(pid, res_r, log_r)
        wall = time.monotonic() - started
        self._drain(res_r, log_r)
        killed = _kill_descendants()
        if parent_gone:
            return
        exit_code = os.waitstatus_to_exitcode(status)
        report = {
            "type": "exit",
            "exit_code": exit_code if exit_code >= 0 else None,
            "signal": -exit_code if exit_code < 0 else None,
            "cpu_seconds": max(0.0, rusage.ru_utime + rusage.ru_stime - self.cpu_before_job),
            "max_rss_kb": rusage.ru_maxrss,
            "wall_seconds": wall,
            "child_error": self.child_error,
            "has_result": self.result is not None,
            "result_too_large": self.result_too_large,
            "invalid_frames": self.invalid_frames,
            "processes_killed": killed,
            "data_growth_mb": (self.data_peak - (self.data_at_start or self.data_peak)) / (1 << 20),
            "log_tail": bytes(self.tail).decode("utf-8", "replace"),
        }
        write_json(self.job_fd, report)
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
            self.result_too_large = {"size": exc.size, "limit": exc.limit}
            return False
        return True

    def _on_frame(self, kind: bytes, body: bytes) -> None:
        if kind == KIND_RESULT:
            self.result = body
            return
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError:
            self.invalid_frames = "an unreadable control frame"
            return
        kind_name = message.get("type") if isinstance(message, dict) else None
        if kind_name == "event":
            write_json(self.job_fd, message)
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


def _kill_descendants() -> int:
    """SIGKILL every descendant (orphans are ours as subreaper) and reap them; return how many."""
    killed: set[int] = set()
    deadline = time.monotonic() + _REAP_SECONDS
    try:  # as subreaper, no child of ours means no descendant left at all
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return 0
    while True:
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


# --------------------------------------------------------------------------- job child (C)


def _run_child(spec: dict[str, Any], res_w: int, log_w: int) -> None:
    """Body of the job child. Never returns."""
    try:
        ctx, payload = _enter_child(spec, res_w, log_w)
    except BaseException as exc:  # limits could not be applied: never run the job unguarded
        _send_error(res_w, ErrorCode.INTERNAL_ERROR, f"the job could not be isolated: {exc!r}", exc)
        os._exit(1)
    try:
        module_name, _, func_name = spec["target"].partition(":")
        func = getattr(importlib.import_module(module_name), func_name)
        value = func(payload, ctx)
    except SystemExit as exc:
        _exit_child(exc.code if isinstance(exc.code, int) else 1)
    except BaseException as exc:
        code, message = _classify_exception(exc, spec)
        _send_error(res_w, code, message, exc)
        _exit_child(1)
    try:
        lift_data_limit()  # see compute_rlimits: orjson's worst-case reservation
        body = dumps(value)
    except (TypeError, orjson.JSONEncodeError) as exc:
        _send_error(res_w, ErrorCode.INVALID_RESULT, f"the job's result cannot be serialised: {exc}", exc)
        _exit_child(1)
    try:
        write_frame(res_w, KIND_RESULT, body)
    except OSError as exc:
        print(f"sandbox: the result channel is closed ({exc}); no result sent", file=sys.stderr)
        _exit_child(3)
    _exit_child(0)


def _enter_child(spec: dict[str, Any], res_w: int, log_w: int) -> tuple[JobContext, Any]:
    warm = resource.getrusage(resource.RUSAGE_SELF)
    warm_cpu = warm.ru_utime + warm.ru_stime  # spent by the warm-up, before the job: not the job's
    write_json(res_w, {"type": "baseline", "cpu_seconds": warm_cpu})
    os.setsid()
    # The job marker: forked descendants inherit this process name, exec'd ones the environment.
    _libc.prctl(_PR_SET_NAME, ctypes.c_char_p(job_process_name(spec["job_id"]).encode()), 0, 0, 0)
    prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log_w, 1)
    os.dup2(log_w, 2)
    os.close(null)
    os.close(log_w)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(_WARMUP_STOP, signal.SIG_IGN)  # the warm-up's stop signal may come after the spec
    faulthandler.enable(file=sys.stderr, all_threads=True)  # a crash leaves its Python stack in logTail
    tmpdir = Path(spec["tmpdir"])
    os.chdir(tmpdir)
    os.environ.clear()
    os.environ.update(spec["env"])
    tempfile.tempdir = str(tmpdir)
    if spec.get("cgroup_procs"):
        Path(spec["cgroup_procs"]).write_text("0")
    job = JobLimits(**spec["job"])
    guards = GuardLimits(**spec["guards"])
    uid = os.getuid()
    apply_rlimits(
        compute_rlimits(
            job, guards, status=read_proc_status(), uid=uid, user_tasks=count_user_tasks(uid) if uid else 0,
            cpu_spent=warm_cpu,
        )
    )
    threads = int(spec["threads"])
    _cap_thread_pools(threads)
    if not drop_privileges():
        raise OSError(ctypes.get_errno(), "capset failed: the job would keep its capabilities")
    payload = orjson.loads((tmpdir / spec["payload_file"]).read_bytes())
    ctx = JobContext(
        job_id=spec["job_id"],
        threads=threads,
        tmpdir=tmpdir,
        fault_injection=bool(spec["fault_injection"]),
        deadline=time.monotonic() + spec["wall_seconds"] if spec.get("wall_seconds") else None,
        in_sandbox=True,
        _emitter=lambda event: _emit(res_w, event),
    )
    ctx.result_fd = res_w  # type: ignore[attr-defined]  # for the close_result_channel fault
    return ctx, payload


def _emit(fd: int, event: dict[str, Any]) -> None:
    """Events are best effort: a closed channel must not fail the job (its result send will)."""
    try:
        write_json(fd, {"type": "event", "event": event})
    except OSError:
        pass


_controller: Any = None
"""threadpoolctl's view of the loaded BLAS/OpenMP libraries, scanned once in the template."""
_thread_limiter: Any = None


def scan_thread_pools() -> None:
    """In the template, after preloading: find the thread-pool libraries once (a ~15 ms scan)."""
    global _controller
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return
    _controller = ThreadpoolController()


def _cap_thread_pools(threads: int) -> None:
    """Cap BLAS/OpenMP pools already loaded by the template (env vars cover later loads)."""
    global _thread_limiter
    if _controller is None:
        scan_thread_pools()
    if _controller is not None:
        _thread_limiter = _controller.limit(limits=threads)


def _classify_exception(exc: BaseException, spec: dict[str, Any]) -> tuple[ErrorCode, str]:
    """Map an exception raised by the target to a code; limits show up as exceptions too."""
    job = spec["job"]
    hit = limit_error(exc)
    if hit is None:
        return ErrorCode.EXECUTION_ERROR, f"{type(exc).__name__}: {exc}"
    kind, item = hit
    if kind == "memory":
        return ErrorCode.MEMORY_EXCEEDED, (
            f"the job ran out of memory: an allocation failed at its limit of {job['memory_mb']} MB "
            f"({type(item).__name__})"
        )
    if kind == "file_size":
        assert isinstance(item, OSError)
        return ErrorCode.FILE_SIZE_EXCEEDED, (
            f"the job wrote a file over its limit of {job['max_file_size_mb']} MB ({item.strerror})"
        )
    return _process_or_memory(job, item)


def _process_or_memory(job: dict[str, Any], exc: BaseException) -> tuple[ErrorCode, str]:
    """A thread or process could not start: at the task limit, or because its stack did not fit."""
    import resource

    try:
        me = psutil.Process()
        tasks = me.num_threads() + sum(c.num_threads() for c in me.children(recursive=True))
    except psutil.Error:
        tasks = 0
    if job["max_processes"] and tasks >= job["max_processes"]:
        return ErrorCode.PROCESS_LIMIT_EXCEEDED, (
            f"the job reached {tasks} processes and threads, at its limit of {job['max_processes']}: {exc}"
        )
    soft, _ = resource.getrlimit(resource.RLIMIT_DATA)
    if soft != resource.RLIM_INFINITY and read_proc_status().vm_data + _THREAD_STACK >= soft:
        return ErrorCode.MEMORY_EXCEEDED, (
            f"the job ran out of memory (limit {job['memory_mb']} MB): a new thread's stack did not fit: {exc}"
        )
    return ErrorCode.PROCESS_LIMIT_EXCEEDED, (
        f"the job could not create another process or thread (limit {job['max_processes']} tasks): {exc}"
    )


def _send_error(fd: int, code: ErrorCode, message: str, exc: BaseException) -> None:
    tb = "".join(traceback.format_exception(exc))[-_TRACEBACK_CHARS:]
    try:
        write_json(
            fd,
            {"type": "error", "code": code.value, "message": message, "exc_type": type(exc).__name__, "traceback": tb},
        )
    except OSError:
        print(f"sandbox: cannot report the error ({code.value}): {message}", file=sys.stderr)


def _exit_child(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)
