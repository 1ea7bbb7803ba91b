"""The sandbox's failure taxonomy: stable codes, and the one place exit status becomes a code.

    ErrorCode                      what a failed job reports (stable strings, documented in README)
    ├── the job hit a limit        timeout, cpu_time_exceeded, memory_exceeded, file_size_exceeded,
    │                              process_limit_exceeded, result_too_large
    ├── the job died or misbehaved crashed (signal named), exited (exit code), invalid_result,
    │                              execution_error (the target raised), cancelled (caller asked)
    ├── the caller's run was refused invalid_request (a bad ``files`` entry: the job never started)
    └── the sandbox failed         internal_error

    SandboxError                   exceptions of the parent-side machinery (never reach callers
    └── TemplateError              of Sandbox.run, which turns them into ``internal_error``)

    ProcessLimitExceeded           raised inside a job when fork/thread creation hits a limit

    limit_error(exc)               the exception in ``exc``'s chain that means a limit was hit (a
                                   target that catches broadly re-raises those, so they get a code)
"""

from __future__ import annotations

import enum
import errno as _errno
import signal as _signal
from dataclasses import dataclass

__all__ = [
    "ErrorCode",
    "ProcessLimitExceeded",
    "SandboxError",
    "TemplateError",
    "Verdict",
    "classify",
    "limit_error",
    "signal_name",
]


class ErrorCode(enum.StrEnum):
    """Why a job did not produce a result. Values are part of the API: never rename one."""

    TIMEOUT = "timeout"
    CPU_TIME_EXCEEDED = "cpu_time_exceeded"
    MEMORY_EXCEEDED = "memory_exceeded"
    CRASHED = "crashed"
    EXITED = "exited"
    FILE_SIZE_EXCEEDED = "file_size_exceeded"
    PROCESS_LIMIT_EXCEEDED = "process_limit_exceeded"
    RESULT_TOO_LARGE = "result_too_large"
    INVALID_RESULT = "invalid_result"
    EXECUTION_ERROR = "execution_error"
    CANCELLED = "cancelled"
    INVALID_REQUEST = "invalid_request"
    """The run's own arguments were refused (a ``files`` name or source); no job was started."""
    INTERNAL_ERROR = "internal_error"


LIMIT_OF_CODE: dict[ErrorCode, str] = {
    ErrorCode.TIMEOUT: "wall_clock_seconds",
    ErrorCode.CPU_TIME_EXCEEDED: "cpu_seconds",
    ErrorCode.MEMORY_EXCEEDED: "memory_mb",
    ErrorCode.FILE_SIZE_EXCEEDED: "max_file_size_mb",
    ErrorCode.PROCESS_LIMIT_EXCEEDED: "max_processes",
    ErrorCode.RESULT_TOO_LARGE: "max_result_mb",
}
"""The limits.toml ``[job]`` key behind each limit code."""


class SandboxError(Exception):
    """The parent-side machinery failed (not the job)."""


class TemplateError(SandboxError):
    """The warm template could not be started or reached."""


class ProcessLimitExceeded(RuntimeError):
    """Raised inside a job when creating a process or thread fails at a limit."""


LimitKind = str
"""``"memory"``, ``"file_size"`` or ``"tasks"``."""


def limit_error(exc: BaseException) -> tuple[LimitKind, BaseException] | None:
    """The exception in ``exc``'s cause/context chain that a limit raised (the innermost), and which limit.

    A failed allocation (MemoryError, C++ ``bad_alloc``), a write past RLIMIT_FSIZE (EFBIG), and a
    process or thread that could not start (:class:`ProcessLimitExceeded`, Python's "can't start
    new thread"). Code that turns exceptions into its own errors re-raises these, so the sandbox
    reports them as the limit they are rather than as an ``execution_error``.
    """
    for item in reversed(_chain(exc)):  # the root cause first: wrappers repeat its message
        if isinstance(item, MemoryError) or "std::bad_alloc" in str(item):  # C++ what(), in library errors
            return "memory", item
        if isinstance(item, OSError) and item.errno == _errno.EFBIG:
            return "file_size", item
        if isinstance(item, ProcessLimitExceeded) or (
            type(item) is RuntimeError and "can't start new thread" in str(item)  # CPython's _thread
        ):
            return "tasks", item
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 20:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def signal_name(signum: int) -> str:
    """``11`` → ``"SIGSEGV"``; unknown numbers → ``"signal 77"``."""
    try:
        return _signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


_MEMORY_SIGNALS = {_signal.SIGSEGV, _signal.SIGABRT, _signal.SIGBUS, _signal.SIGKILL}
_MEMORY_HINTS = ("bad_alloc", "MemoryError", "Cannot allocate memory", "out of memory", "std::bad_alloc")


@dataclass(frozen=True)
class Verdict:
    """The classification of one finished job."""

    code: ErrorCode | None
    message: str

    @property
    def ok(self) -> bool:
        return self.code is None


def classify(
    *,
    stop_reason: ErrorCode | None,
    stop_message: str,
    exit_code: int | None,
    signum: int | None,
    child_error: dict[str, str] | None,
    has_result: bool,
    result_too_large: bool,
    cpu_seconds: float,
    cpu_limit: int,
    memory_fraction: float,
    log_tail: str,
) -> Verdict:
    """Turn everything known about a finished job into one verdict.

    Evidence is weighed in this order: a stop the parent decided (it knows why it killed), a
    result over the size cap, an error the child itself reported, the signal that killed it, and
    finally the exit code. Indirect evidence (a crash near the memory limit) is said to be indirect.
    """
    if stop_reason is not None:
        return Verdict(stop_reason, stop_message)
    if result_too_large:
        return Verdict(ErrorCode.RESULT_TOO_LARGE, stop_message)
    if child_error is not None:
        code = ErrorCode(child_error.get("code", ErrorCode.EXECUTION_ERROR.value))
        return Verdict(code, child_error.get("message", "the job failed"))
    if signum is not None:
        name = signal_name(signum)
        if signum == _signal.SIGXCPU or (signum == _signal.SIGKILL and cpu_limit and cpu_seconds >= cpu_limit):
            return Verdict(
                ErrorCode.CPU_TIME_EXCEEDED,
                f"the job used {cpu_seconds:.1f} s of CPU time, over its limit of {cpu_limit} s ({name})",
            )
        if signum == _signal.SIGXFSZ:
            return Verdict(ErrorCode.FILE_SIZE_EXCEEDED, f"the job wrote a file over its size limit ({name})")
        hinted = any(h in log_tail for h in _MEMORY_HINTS)
        if signum in _MEMORY_SIGNALS and (memory_fraction >= 0.9 or hinted):
            evidence = (
                f"at {memory_fraction:.0%} of its memory limit" if memory_fraction >= 0.9 else "after an allocation failure in its log"
            )
            return Verdict(
                ErrorCode.MEMORY_EXCEEDED,
                f"the job died of {name} {evidence}; presumed out of memory (indirect evidence)",
            )
        suffix = " after sending its result" if has_result else ""
        return Verdict(ErrorCode.CRASHED, f"the job was killed by {name}{suffix}")
    if has_result and exit_code == 0:
        return Verdict(None, "completed")
    if exit_code is None:
        return Verdict(ErrorCode.INTERNAL_ERROR, "the job's exit status is unknown")
    if has_result:
        return Verdict(ErrorCode.EXITED, f"the job sent a result but then exited with code {exit_code}")
    return Verdict(ErrorCode.EXITED, f"the job exited with code {exit_code} without sending a result")
