"""Fault injection: ways a job can misbehave on purpose, to prove the guards answer each one.

Enabled only with ``[testing] fault_injection = true``. Each kind takes the parameters named in
:data:`FAULT_PARAMS`; :func:`run_fault` runs one inside a job (as a workflow ``fault`` node or as
the target ``sandbox.faults:target``). Faults that would harm the calling process refuse to run
outside a sandbox child.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from typing import Any

from .context import JobContext
from .errors import ProcessLimitExceeded

__all__ = ["FAULT_PARAMS", "FaultError", "run_fault", "target", "validate_fault"]

_MB = 1 << 20
_CHUNK_MB = 8
_BOMB_CAP = 100_000
"""Upper bound on processes/threads a bomb tries to start, so it ends even with no guard at all."""

FAULT_PARAMS: dict[str, dict[str, type]] = {
    "sleep": {"seconds": float},
    "busy_loop": {"seconds": float},
    "ignore_sigterm": {"seconds": float},
    "allocate": {"mb": float},
    "segfault": {},
    "abort": {},
    "exit": {"code": int},
    "raise": {"message": str},
    "fork_bomb": {"count": int, "seconds": float},
    "thread_bomb": {"count": int, "seconds": float},
    "orphan": {"seconds": float},
    "write_file": {"mb": float},
    "huge_result": {"mb": float},
    "stdout_flood": {"mb": float},
    "close_result_channel": {},
    "report_env": {},
    "probe_read": {"path": str},
    "probe_list": {"path": str},
    "probe_write": {"path": str},
    "probe_connect": {"port": int},
    "probe_bind": {},
    "probe_signal": {"pid": int},
    "probe_ptrace": {"pid": int},
    "probe_netlink": {},
    "probe_escapes": {"port": int},
}
"""Every fault kind and its parameters (all optional, with defaults in :func:`run_fault`)."""

_NEEDS_SANDBOX = {"segfault", "abort", "exit", "fork_bomb", "thread_bomb", "orphan", "close_result_channel",
                  "ignore_sigterm", "allocate", "busy_loop", "stdout_flood", "huge_result", "write_file",
                 "probe_read", "probe_list", "probe_write", "probe_connect", "probe_bind", "probe_signal",
                 "probe_ptrace", "probe_netlink", "probe_escapes"}


class FaultError(ValueError):
    """A fault node names an unknown kind or a parameter of the wrong type."""


def validate_fault(config: dict[str, Any]) -> list[str]:
    """Problems with a fault's config (empty when it can run)."""
    kind = config.get("kind")
    if kind not in FAULT_PARAMS:
        return [f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_PARAMS)}"]
    problems = []
    for name, kind_type in FAULT_PARAMS[kind].items():
        value = config.get(name)
        if value is None:
            continue
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) if kind_type in (int, float) else isinstance(value, kind_type)
        if kind_type is int and isinstance(value, float) and not value.is_integer():
            ok = False
        if not ok:
            problems.append(f"fault {kind!r}: {name} must be a {kind_type.__name__}, got {value!r}")
        elif kind_type in (int, float) and value < 0:
            problems.append(f"fault {kind!r}: {name} must be >= 0, got {value!r}")
    return problems


def target(payload: dict[str, Any], ctx: JobContext) -> Any:
    """Sandbox target: ``{"kind": K, **params}``; returns what the fault returns, or a marker."""
    result = run_fault(str(payload.get("kind")), payload, ctx)
    return {"fault": payload.get("kind"), "survived": True} if result is None else result


def run_fault(kind: str, params: dict[str, Any], ctx: JobContext) -> Any:
    """Misbehave as ``kind`` says. Returns None, or a value for faults that produce one."""
    problems = validate_fault({**params, "kind": kind})
    if problems:
        raise FaultError("; ".join(problems))
    if kind in _NEEDS_SANDBOX and not ctx.in_sandbox:
        raise FaultError(f"fault {kind!r} only runs inside a sandbox child")
    seconds = float(params.get("seconds", 1.0))
    mb = float(params.get("mb", 1.0))
    result = _FAULTS[kind](ctx, seconds=seconds, mb=mb, params=params)
    # The sentinel: proof that the fault ran to its end (a killed job never sends it).
    (ctx.tmpdir / f"fault-{kind}.done").write_text("reached the end")
    ctx.emit({"type": "sentinel", "fault": kind})
    return result


def _sleep(ctx: JobContext, *, seconds: float, **_: Any) -> None:
    time.sleep(seconds)


def _busy_loop(ctx: JobContext, *, seconds: float, **_: Any) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def _ignore_sigterm(ctx: JobContext, *, seconds: float, **_: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(seconds)


def _allocate(ctx: JobContext, *, mb: float, **_: Any) -> dict[str, Any]:
    held = []
    for _ in range(int(mb // _CHUNK_MB)):
        held.append(bytearray(b"\x01") * (_CHUNK_MB * _MB))  # touched pages, not lazy zeroes
    return {"allocated_mb": len(held) * _CHUNK_MB}


def _segfault(ctx: JobContext, **_: Any) -> None:
    ctypes.string_at(0)


def _abort(ctx: JobContext, **_: Any) -> None:
    os.abort()


def _exit(ctx: JobContext, *, params: dict[str, Any], **_: Any) -> None:
    sys.stdout.flush()
    os._exit(int(params.get("code", 3)))


def _raise(ctx: JobContext, *, params: dict[str, Any], **_: Any) -> None:
    raise RuntimeError(str(params.get("message", "injected fault")))


def _fork_bomb(ctx: JobContext, *, params: dict[str, Any], **_: Any) -> None:
    for _ in range(int(params.get("count", _BOMB_CAP))):
        try:
            pid = os.fork()
        except BlockingIOError as exc:
            raise ProcessLimitExceeded(f"fork failed: {exc}") from exc
        if pid == 0:
            time.sleep(60)
            os._exit(0)
    time.sleep(float(params.get("seconds", 0)))  # hold the processes so a poller sees them


def _thread_bomb(ctx: JobContext, *, params: dict[str, Any], **_: Any) -> None:
    stop = threading.Event()
    try:
        for _ in range(int(params.get("count", _BOMB_CAP))):
            threading.Thread(target=stop.wait, daemon=True).start()
    except RuntimeError as exc:
        raise ProcessLimitExceeded(f"thread creation failed: {exc}") from exc
    time.sleep(float(params.get("seconds", 0)))


def _orphan(ctx: JobContext, *, seconds: float, **_: Any) -> dict[str, Any]:
    """Double-fork a grandchild into its own session that outlives the child by ``seconds``."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        grandchild = os.fork()
        if grandchild == 0:
            time.sleep(seconds)
            os._exit(0)
        os.write(write_end, str(grandchild).encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    grandchild_pid = int(os.read(read_end, 32) or b"0")
    os.close(read_end)
    return {"orphan_pid": grandchild_pid}


def _write_file(ctx: JobContext, *, mb: float, **_: Any) -> dict[str, Any]:
    path = ctx.tmpdir / "fault-file.bin"
    block = b"\x00" * _MB
    with open(path, "wb") as fh:
        for _ in range(int(mb)):
            fh.write(block)
    return {"written_mb": int(mb)}


def _huge_result(ctx: JobContext, *, mb: float, **_: Any) -> str:
    return "x" * int(mb * _MB)


def _stdout_flood(ctx: JobContext, *, mb: float, **_: Any) -> dict[str, Any]:
    line = ("flood " * 16 + "\n").encode()
    total = int(mb * _MB)
    written = 0
    while written < total:
        written += os.write(1, line)
    os.write(1, b"end of flood\n")
    return {"flooded_mb": mb}


def _close_result_channel(ctx: JobContext, **_: Any) -> None:
    fd = getattr(ctx, "result_fd", None)
    if fd is not None:  # replace it with a read-only fd: writes fail, and the number is not reused
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, fd)
        os.close(null)


def _report_env(ctx: JobContext, **_: Any) -> dict[str, Any]:
    return {"env_keys": sorted(os.environ)}


# -- confinement probes: each tries one thing a confined job must not do, and reports whether it could


def _attempt(action: Any) -> dict[str, Any]:
    """``{"allowed": True, "got": ...}`` when ``action`` succeeded, else the error that refused it."""
    try:
        got = action()
    except OSError as exc:
        return {"allowed": False, "errno": exc.errno, "error": f"{type(exc).__name__}: {exc.strerror}"}
    return {"allowed": True, "got": got}


def _probe_read(ctx: JobContext, *, params: dict[str, Any], **_: Any) -> dict[str, Any]:
    def read() -> str:
        with open(str(params.get("path", "")), "rb") as fh:
            return fh.read(64).decode("utf-8", "replace")

    return _attempt(read)


def _probe_list(ctx: JobContext, *, params: dict[str, Any], **_: Any) -> dict[str, Any]:
    return _attempt(lambda: sorted(os.listdir(str(params.get("path", ""))))[:50])


def _probe_write(ctx: JobContext, *, params: dict[str, Any], **_: Any) -> dict[str, Any]:
    def write() -> int:
        with open(str(params.get("path", "")), "wb") as fh:
            return fh.write(b"written by a job")

    return _attempt(write)


def _probe_connect(ctx: JobContext, *, params: dict[str, Any], **_: Any) -> dict[str, Any]:
    import socket

    def connect() -> str:
        with socket.create_connection(("127.0.0.1", int(params.get("port", 0))), timeout=2):
            return "connected"

    return _attempt(connect)


def _probe_bind(ctx: JobContext, **_: Any) -> dict[str, Any]:
    import socket

    def bind() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    return _attempt(bind)


def _probe_signal(ctx: JobContext, *, params: dict[str, Any], **_: Any) -> dict[str, Any]:
    return _attempt(lambda: os.kill(int(params.get("pid", 0)), 0) or "signalled")  # signal 0: checks only


def _probe_ptrace(ctx: JobContext, *, params: dict[str, Any], **_: Any) -> dict[str, Any]:
    def attach() -> str:
        libc = ctypes.CDLL(None, use_errno=True)
        pid = int(params.get("pid", 0))
        if libc.ptrace(16, pid, None, None) != 0:  # PTRACE_ATTACH
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        libc.ptrace(17, pid, None, None)  # PTRACE_DETACH
        return "attached"

    return _attempt(attach)


def _probe_netlink(ctx: JobContext, **_: Any) -> dict[str, Any]:
    import socket

    def open_netlink() -> str:
        socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).close()
        return "opened"

    return _attempt(open_netlink)


def _probe_escapes(ctx: JobContext, *, params: dict[str, Any], **_: Any) -> dict[str, Any]:
    """The ways around Landlock's TCP rules and the socket/namespace filters that an outside test
    found, each tried once: ``{name: _attempt(...)}``. ``port``: a listening loopback TCP port."""
    import socket

    port = int(params.get("port", 0))
    libc = ctypes.CDLL(None, use_errno=True)

    def raw_syscall(nr: int, *args: int) -> int:
        ret = libc.syscall(ctypes.c_long(nr), *(ctypes.c_long(a) for a in args))
        if ret < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return int(ret)

    def mptcp() -> str:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262) as sock:
            sock.settimeout(2)
            sock.connect(("127.0.0.1", port))
            return "connected"

    def fast_open() -> str:
        with socket.socket() as sock:
            sock.settimeout(2)
            sock.sendto(b"GET / HTTP/1.0\r\n\r\n", 0x20000000, ("127.0.0.1", port))  # MSG_FASTOPEN
            return "sent"

    def listen_unbound() -> int:
        with socket.socket() as sock:
            sock.listen(1)
            return int(sock.getsockname()[1])

    def udp() -> str:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"x", ("127.0.0.1", port))
            return "sent"

    def unix_socket() -> str:
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()
        return "opened"

    def new_user_namespace() -> str:
        pid = raw_syscall(56, 0x10000000 | 17, 0, 0, 0, 0)  # clone(CLONE_NEWUSER | SIGCHLD), like fork
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        return "cloned"

    def io_uring() -> str:
        params_buf = ctypes.create_string_buffer(120)
        os.close(raw_syscall(425, 4, ctypes.addressof(params_buf)))  # io_uring_setup(4 entries)
        return "set up"

    def memfd() -> str:
        os.close(os.memfd_create("probe"))
        return "created"

    def dev_shm_list() -> list[str]:
        return sorted(os.listdir("/dev/shm"))[:20]  # another job's files there would be found this way

    attempts = {"mptcp_connect": mptcp, "tcp_fast_open": fast_open, "listen_without_bind": listen_unbound,
                "udp_send": udp, "unix_socket": unix_socket, "clone_new_user_namespace": new_user_namespace,
                "io_uring_setup": io_uring, "memfd_create": memfd, "dev_shm_list": dev_shm_list}
    out = {name: _attempt(action) for name, action in attempts.items()}
    out["socketpair"] = _attempt(lambda: [s.close() for s in socket.socketpair()] and "paired")  # still allowed
    return out


_FAULTS = {
    "sleep": _sleep,
    "busy_loop": _busy_loop,
    "ignore_sigterm": _ignore_sigterm,
    "allocate": _allocate,
    "segfault": _segfault,
    "abort": _abort,
    "exit": _exit,
    "raise": _raise,
    "fork_bomb": _fork_bomb,
    "thread_bomb": _thread_bomb,
    "orphan": _orphan,
    "write_file": _write_file,
    "huge_result": _huge_result,
    "stdout_flood": _stdout_flood,
    "close_result_channel": _close_result_channel,
    "report_env": _report_env,
    "probe_read": _probe_read,
    "probe_list": _probe_list,
    "probe_write": _probe_write,
    "probe_connect": _probe_connect,
    "probe_bind": _probe_bind,
    "probe_signal": _probe_signal,
    "probe_ptrace": _probe_ptrace,
    "probe_netlink": _probe_netlink,
    "probe_escapes": _probe_escapes,
}
