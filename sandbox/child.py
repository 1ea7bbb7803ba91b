"""The job child: waits for its spec, isolates itself, runs the target once, sends back one result.

    runner ──fork──▶ child ── await_spec(go pipe)   (forked from the warmed template: see warmup.py)
                       │ JobSpec.decode (the spec's only decode in this process)
                       │ enter: setsid, name, pdeathsig, stdio → log pipe, signals, cwd/env/TMPDIR,
                       │        cgroup, rlimits (spec.plan), thread caps, no privileges,
                       │        confinement (confine.py: Landlock, seccomp)
                       │ target(payload, ctx)
                       └─▶ result pipe: baseline, events, then a result (header + JSON) or an error

Every exit goes through ``os._exit``: the child never returns into the runner's or template's code.
"""

from __future__ import annotations

import faulthandler
import importlib
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, NoReturn

import orjson
import psutil

from . import confine
from .context import JobContext
from .errors import ErrorCode, limit_error
from .linux import (
    PR_SET_PDEATHSIG,
    count_user_tasks,
    drop_privileges,
    job_process_name,
    last_errno,
    prctl,
    read_proc_status,
    set_process_name,
)
from .plan import LimitPlan
from .protocol import FrameReader, dumps, result_status, write_json, write_result
from .spec import JobSpec
from .threadpools import cap_thread_pools

__all__ = ["await_spec"]

_TRACEBACK_CHARS = 4000
_THREAD_STACK = 8 << 20
"""Default pthread stack reservation, counted by RLIMIT_DATA."""


def await_spec(go_r: int, res_w: int, log_w: int) -> NoReturn:
    """Block until the runner sends the spec, then run the job; exits quietly if the spare is discarded."""
    reader = FrameReader()
    while True:
        chunk = os.read(go_r, 1 << 16)
        if not chunk:
            os._exit(0)  # the spare was discarded
        reader.feed(chunk)
        for _, body in reader.frames():
            os.close(go_r)
            _run(body, res_w, log_w)


class _PayloadTooLarge(Exception):
    """The payload could not be decoded within the job's memory limit (a limit, not an internal error)."""


def _decode_payload(path: Path, plan: LimitPlan) -> Any:
    """The payload, decoded under the job's limits. The parent wrote valid JSON, so a decode that
    fails here ran out of memory (orjson: "Not enough memory to allocate buffer for parsing")."""
    size = path.stat().st_size
    try:
        return orjson.loads(path.read_bytes())
    except (MemoryError, orjson.JSONDecodeError) as exc:
        raise _PayloadTooLarge(
            f"the job's payload ({size / (1 << 20):.1f} MB of JSON) does not fit in its memory limit of "
            f"{plan.job.memory_mb} MB once decoded ({type(exc).__name__}: {str(exc)[:120]})"
        ) from None


def _run(spec_bytes: bytes, res_w: int, log_w: int) -> NoReturn:
    try:
        spec = JobSpec.decode(spec_bytes)
        ctx, payload = _enter(spec, res_w, log_w)
    except _PayloadTooLarge as exc:
        _send_error(res_w, ErrorCode.MEMORY_EXCEEDED, str(exc), exc)
        os._exit(1)
    except BaseException as exc:  # limits could not be applied: never run the job unguarded
        _send_error(res_w, ErrorCode.INTERNAL_ERROR, f"the job could not be isolated: {exc!r}", exc)
        os._exit(1)
    try:
        module_name, _, func_name = spec.target.partition(":")
        func = getattr(importlib.import_module(module_name), func_name)
        value = func(payload, ctx)
    except SystemExit as exc:
        _exit(exc.code if isinstance(exc.code, int) else 1)
    except BaseException as exc:
        code, message = _classify_exception(exc, spec.plan)
        _send_error(res_w, code, message, exc)
        _exit(1)
    try:
        _lift_data_limit()  # see LimitPlan.rlimits: orjson's worst-case reservation
        body = dumps(value)
    except (TypeError, orjson.JSONEncodeError) as exc:
        _send_error(res_w, ErrorCode.INVALID_RESULT, f"the job's result cannot be serialised: {exc}", exc)
        _exit(1)
    try:
        write_result(res_w, body, result_status(value))
    except OSError as exc:
        print(f"sandbox: the result channel is closed ({exc}); no result sent", file=sys.stderr)
        _exit(3)
    _exit(0)


def _enter(spec: JobSpec, res_w: int, log_w: int) -> tuple[JobContext, Any]:
    """Isolate this process as ``spec`` says (setsid first, then rlimits); the context and payload."""
    warm = resource.getrusage(resource.RUSAGE_SELF)
    warm_cpu = warm.ru_utime + warm.ru_stime  # spent before the job (fork, wait): not the job's
    write_json(res_w, {"type": "baseline", "cpu_seconds": warm_cpu})
    os.setsid()
    set_process_name(job_process_name(spec.job_id))  # forked descendants inherit it, exec'd ones the env
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log_w, 1)
    os.dup2(log_w, 2)
    os.close(null)
    os.close(log_w)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    faulthandler.enable(file=sys.stderr, all_threads=True)  # a crash leaves its Python stack in logTail
    tmpdir = Path(spec.tmpdir)
    os.chdir(tmpdir)
    os.environ.clear()
    os.environ.update(spec.env)
    tempfile.tempdir = str(tmpdir)
    if spec.cgroup_procs:
        Path(spec.cgroup_procs).write_text("0")
    uid = os.getuid()
    status = read_proc_status()
    _set_rlimits(
        spec.plan.rlimits(
            vm_size=status.vm_size, vm_data=status.vm_data, uid=uid,
            user_tasks=count_user_tasks(uid) if uid else 0, cpu_spent=warm_cpu,
        )
    )
    cap_thread_pools(spec.threads)
    if not drop_privileges():
        raise OSError(last_errno(), "capset failed: the job would keep its capabilities")
    payload = _decode_payload(tmpdir / spec.payload_file, spec.plan)
    confine.apply(spec.guards, tmpdir, spec.connect_ports, spec.write_paths)  # last: Landlock and seccomp need no_new_privs
    budget = spec.plan.budget_seconds
    ctx = JobContext(
        job_id=spec.job_id,
        threads=spec.threads,
        tmpdir=tmpdir,
        fault_injection=spec.fault_injection,
        deadline=time.monotonic() + budget if budget else None,
        in_sandbox=True,
        _emitter=lambda event: _emit(res_w, event),
    )
    ctx.result_fd = res_w  # type: ignore[attr-defined]  # for the close_result_channel fault
    return ctx, payload


def _set_rlimits(limits: dict[str, tuple[int, int]]) -> None:
    """setrlimit each entry (keyed by ``resource`` constant name); a hard limit is never raised
    above the current one."""
    for name, (soft, hard) in limits.items():
        which = getattr(resource, name)
        _, cur_hard = resource.getrlimit(which)
        if cur_hard != resource.RLIM_INFINITY:
            hard = min(hard, cur_hard)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))


def _lift_data_limit() -> None:
    """Raise the soft RLIMIT_DATA to its hard limit (before serialising a result)."""
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    resource.setrlimit(resource.RLIMIT_DATA, (hard, hard))


def _emit(fd: int, event: dict[str, Any]) -> None:
    """Events are best effort: a closed channel must not fail the job (its result send will)."""
    try:
        write_json(fd, {"type": "event", "event": event})
    except OSError:
        pass


def _classify_exception(exc: BaseException, plan: LimitPlan) -> tuple[ErrorCode, str]:
    """Map an exception raised by the target to a code; limits show up as exceptions too."""
    job = plan.job
    hit = limit_error(exc)
    if hit is None:
        return ErrorCode.EXECUTION_ERROR, f"{type(exc).__name__}: {exc}"
    kind, item = hit
    if kind == "memory":
        return ErrorCode.MEMORY_EXCEEDED, (
            f"the job ran out of memory: an allocation failed at its limit of {job.memory_mb} MB "
            f"({type(item).__name__})"
        )
    if kind == "file_size":
        assert isinstance(item, OSError)
        return ErrorCode.FILE_SIZE_EXCEEDED, (
            f"the job wrote a file over its limit of {job.max_file_size_mb} MB ({item.strerror})"
        )
    return _process_or_memory(plan, item)


def _process_or_memory(plan: LimitPlan, exc: BaseException) -> tuple[ErrorCode, str]:
    """A thread or process could not start: at the task limit, or because its stack did not fit."""
    job = plan.job
    try:
        me = psutil.Process()
        tasks = me.num_threads() + sum(c.num_threads() for c in me.children(recursive=True))
    except psutil.Error:
        tasks = 0
    if job.max_processes and tasks >= job.max_processes:
        return ErrorCode.PROCESS_LIMIT_EXCEEDED, (
            f"the job reached {tasks} processes and threads, at its limit of {job.max_processes}: {exc}"
        )
    soft, _ = resource.getrlimit(resource.RLIMIT_DATA)
    if soft != resource.RLIM_INFINITY and read_proc_status().vm_data + _THREAD_STACK >= soft:
        return ErrorCode.MEMORY_EXCEEDED, (
            f"the job ran out of memory (limit {job.memory_mb} MB): a new thread's stack did not fit: {exc}"
        )
    return ErrorCode.PROCESS_LIMIT_EXCEEDED, (
        f"the job could not create another process or thread (limit {job.max_processes} tasks): {exc}"
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


def _exit(code: int) -> NoReturn:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)
