"""Main loop of the warm template: import the preload list once, then fork one runner per job.

Started by :class:`sandbox.template.Template` as ``python -m sandbox._template_main FD PRELOAD [WARMUP]``.
It stays single-threaded: the only numeric code it runs is the warm-up, once, with every thread
pool capped at one thread (sandbox/warmup.py), so every fork starts warm and from a clean state.
It hands each job's socket to the spare runner it forked ahead; it never reads a job's spec, which
comes to the runner on that socket.
"""

from __future__ import annotations

import gc
import importlib
import os
import signal
import socket
import sys
import time
from typing import Any

import orjson

from .confine import prepare as prepare_confinement
from .linux import PR_SET_CHILD_SUBREAPER, prctl, read_proc_status
from .runner import run_spare
from .threadpools import scan_thread_pools
from .waiting import wait_readable
from .warmup import warm_template

_MAX_CONTROL = 1 << 16
_RUN = b"run"
"""What a spare gets with its job socket (the spec is on the socket)."""


def _reap() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] != 0:
            pass
    except ChildProcessError:
        pass


def _status() -> dict[str, Any]:
    st = read_proc_status()
    return {"vm_size": st.vm_size, "vm_data": st.vm_data, "vm_rss": st.vm_rss, "threads": st.threads}


def _parent_pidfd() -> int | None:
    """A pidfd of the parent (readable once it has exited), or None where the kernel has none."""
    try:
        return os.pidfd_open(os.getppid())
    except (OSError, AttributeError):
        return None


def main(fd: int, preload: list[str], warmup: str = "") -> None:
    # Die with the parent *process*: a pidfd, not PR_SET_PDEATHSIG, which fires when the parent's
    # creating *thread* ends (a worker started from a thread would lose its template at once).
    parent = _parent_pidfd()
    prctl(PR_SET_CHILD_SUBREAPER, 1)  # adopt strays of runners that died, so they are reaped
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, lambda *_: _reap())  # reap runners the moment they exit
    control = socket.socket(fileno=fd)
    started = time.monotonic()
    failed: dict[str, str] = {}
    for name in preload:
        try:
            importlib.import_module(name)
        except BaseException as exc:  # report every failure: a silent preload error costs every job
            failed[name] = f"{type(exc).__name__}: {exc}"
    warm: dict[str, Any] | None = None
    if warmup and not failed:
        warm = warm_template(warmup)  # once, here: every job child starts warm (see warmup.py)
        if warm["threads"] != 1:
            failed["warmup"] = (f"{warmup} left {warm['threads'] - 1} thread(s) running; a process that forks "
                                "must not (cap its thread pools, join its threads)")
    scan_thread_pools()  # after the warm-up: the libraries it loaded too
    prepare_confinement()  # kernel probe, Python trees, seccomp filter: once, not per job
    gc.collect()
    gc.freeze()  # keep imported objects out of the collector so forks share their pages
    ready = {
        "type": "ready",
        "pid": os.getpid(),
        "import_seconds": time.monotonic() - started,
        "preloaded": [m for m in preload if m in sys.modules],
        "failed": failed,
        "warmup": warm,
        "status": _status(),
    }
    sys.stdout.flush()
    sys.stderr.flush()
    control.send(orjson.dumps(ready))
    spare: tuple[int, socket.socket] | None = None
    while True:
        if spare is None:
            spare = _make_spare(control, parent)
        readable = wait_readable([control] if parent is None else [control, parent], 1.0)
        _reap()
        if parent is not None and parent in readable:
            return  # the parent process is gone
        if not readable:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(control, _MAX_CONTROL, 2)
        except OSError:
            return
        if not data:
            return  # the parent closed the control socket
        message = orjson.loads(data)
        if message.get("op") == "ping":
            control.send(orjson.dumps({"type": "pong", "status": _status()}))
            continue
        if message.get("op") != "run" or not fds:
            for extra in fds:
                os.close(extra)
            continue
        try:
            socket.send_fds(spare[1], [_RUN], [fds[0]])
        except OSError:  # the spare died: start a fresh one and hand it the job
            spare[1].close()
            spare = _make_spare(control, parent)
            socket.send_fds(spare[1], [_RUN], [fds[0]])
        spare[1].close()
        os.close(fds[0])
        spare = None


def _make_spare(control: socket.socket, parent: int | None) -> tuple[int, socket.socket]:
    """Fork the next runner ahead of its job (it forks its job child right away too, which then
    waits for its spec)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        control.close()
        ours.close()
        if parent is not None:
            os.close(parent)  # a job must hold no handle on the parent process
        run_spare(theirs.detach())  # never returns
    theirs.close()
    return pid, ours


if __name__ == "__main__":
    main(int(sys.argv[1]), [m for m in sys.argv[2].split(",") if m], sys.argv[3] if len(sys.argv) > 3 else "")
