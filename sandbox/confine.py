"""Job confinement without privileges: Landlock (files, TCP, signals/abstract sockets) and seccomp.

    parent  status(guards)        which layer the kernel allows, for layers()/check/health/start-up
    child   apply(spec)           after no_new_privs, just before the target: the job's own dir is
                                  the only writable tree; the Python installation, the project's
                                  code, the configured read paths and the system paths libraries
                                  need are readable; nothing else (not other jobs' dirs, not /tmp,
                                  not Gradio's cache, not the parent's files)

Each layer has a ``[guards]`` mode: ``auto`` (on where the kernel allows), ``require`` (the sandbox
refuses to start, and a job refuses to run, without it), ``off``.
"""

from __future__ import annotations

import functools
import os
import site
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import landlock, seccomp
from .limits import GuardLimits

__all__ = ["LAYERS", "ConfineError", "apply", "require", "status"]

LAYERS = ("landlock_fs", "landlock_net", "landlock_scopes", "seccomp")

SYSTEM_READ = (
    "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt/conda",
    "/proc", "/sys/fs/cgroup", "/sys/devices/system/cpu", "/sys/devices/system/node",
    "/dev/urandom", "/dev/random", "/dev/zero",
)
"""System paths the libraries read (loader, certificates, timezones, locale, CPU and cgroup counts).
All of /proc is readable: Landlock's own ptrace rule keeps another domain's /proc/<pid>/fd, mem and
environ closed, and a magic link into another job's dir still meets the filesystem rules."""

SYSTEM_WRITE = ("/dev/null",)
"""Beyond the job's dir: the null device."""

SHM = "/dev/shm"
"""POSIX semaphores: Python's thread pools (multiprocessing.pool.ThreadPool, which joblib's threading
backend uses) make one here (sem_open, unlinked at once). A job may create, read, write and remove
files in it, but not list it, so it cannot find another job's; what it writes there is counted by
no limit of its own but RLIMIT_FSIZE per file (docs/security.md, known limits)."""
_SHM_RIGHTS = landlock.READ_FILE | landlock.WRITE_FILE | landlock.MAKE_REG | landlock.REMOVE_FILE | landlock.TRUNCATE


class ConfineError(OSError):
    pass


@functools.cache
def _kernel() -> dict[str, Any]:
    try:
        abi = landlock.abi()
    except OSError:
        abi = 0
    return {"abi": abi, "seccomp": seccomp.available()}


def _why_not(layer: str, kernel: dict[str, Any]) -> str | None:
    abi = kernel["abi"]
    if layer == "seccomp":
        return None if kernel["seccomp"] else "libseccomp.so.2 not found"
    need = {"landlock_fs": 1, "landlock_net": 4, "landlock_scopes": 6}[layer]
    if abi < need:
        return f"the kernel's Landlock ABI is {abi or 'unavailable'}, {need} is needed"
    return None


def _detail(layer: str, guards: GuardLimits) -> str:
    if layer == "landlock_fs":
        return "jobs write only in their own dir; read only Python, the project, system paths and " \
               f"{len(guards.confine_read_paths)} configured path(s): no other job's dir, /tmp or parent files"
    if layer == "landlock_net":
        return (f"no TCP bind; TCP connect only to the ports each run is given (default {sorted(guards.connect_ports)}; "
                "the worker gives none to a job that downloads nothing)")
    if layer == "landlock_scopes":
        return "jobs signal and reach abstract unix sockets only within their own domain"
    return ("ptrace, process_vm_*, mount, namespaces (unshare/setns/clone flags), keyrings, bpf, perf, "
            "personality, io_uring, listen, memfd, MPTCP, TCP Fast Open, unix socket() and non-inet sockets "
            "answer EPERM; no inet socket for a run given no port")


def status(guards: GuardLimits) -> dict[str, tuple[bool, str]]:
    """Per layer: active or not, and the detail or the reason (the kernel probed now)."""
    kernel = _kernel()
    out = {}
    for layer in LAYERS:
        mode = getattr(guards, layer)
        why = _why_not(layer, kernel)
        if mode == "off":
            out[layer] = (False, f"off: [guards] {layer} = \"off\"")
        elif why:
            out[layer] = (False, f"inactive: {why}")
        else:
            out[layer] = (True, _detail(layer, guards))
    return out


def require(guards: GuardLimits) -> None:
    """Raise ConfineError when a layer set to ``require`` is not available (at start-up)."""
    kernel = _kernel()
    missing = [f"{layer} ({why})" for layer in LAYERS
               if getattr(guards, layer) == "require" and (why := _why_not(layer, kernel))]
    if missing:
        raise ConfineError(f"[guards] requires confinement the kernel cannot give: {', '.join(missing)}")


@functools.cache
def _python_tree() -> tuple[str, ...]:
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    try:
        paths.update(site.getsitepackages())
        paths.add(site.getusersitepackages())
    except AttributeError:
        pass
    paths.update(p for p in sys.path if p and os.path.isabs(p))
    return tuple(sorted({os.path.realpath(p) for p in paths}))


def _may_read_tree(real: str, job: str) -> bool:
    """Never a tree that holds the job dirs (/, /tmp): rules are beneath-rules, so that would open all jobs."""
    return not (real == "/" or job == real or job.startswith(real.rstrip("/") + "/"))


@functools.cache
def _static_handles() -> tuple[landlock.Handle, ...]:
    """``SYSTEM_READ`` and the Python trees, opened once: in the template, so every job child inherits
    the descriptors and adds their rules without a path lookup (``O_CLOEXEC``: no exec'd program
    keeps them; an ``O_PATH`` descriptor reads nothing, and a path under it still meets the rules)."""
    paths = dict.fromkeys([*SYSTEM_READ, *_python_tree()])
    return tuple(handle for path in paths if (handle := landlock.Handle.open(path)) is not None)


def prepare() -> None:
    """Do the costly parts once, in the template (every job child inherits them): probe the
    kernel, list the Python trees and open the static paths, compile the seccomp filter."""
    kernel = _kernel()
    _python_tree()
    if kernel["abi"] >= 1:
        _static_handles()
    if seccomp.available():
        seccomp.prepare()


def apply(guards: GuardLimits, tmpdir: Path, connect_ports: list[int] | None = None,
          write_paths: Sequence[str] = ()) -> list[str]:
    """Confine this process (the job child) as ``guards`` says; the layers applied. ``connect_ports``:
    this job's TCP ports under landlock_net (None = ``guards.connect_ports``); ``write_paths``: what
    this job may write beside its dir and ``guards.confine_write_paths``. ``tmpdir`` is absolute and
    resolved (no symlink in it)."""
    on = {layer: getattr(guards, layer) != "off" for layer in LAYERS}
    kernel = _kernel()
    for layer in LAYERS:
        why = _why_not(layer, kernel)
        if why and getattr(guards, layer) == "require":
            raise ConfineError(f"{layer} is required but {why}")
        if why:
            on[layer] = False
    applied = []
    if on["landlock_fs"] or on["landlock_net"] or on["landlock_scopes"]:
        rules = landlock.Ruleset(kernel["abi"], fs=on["landlock_fs"], net=on["landlock_net"],
                                 scopes=on["landlock_scopes"])
        if on["landlock_fs"]:
            job = str(tmpdir)  # resolved by the parent (sandbox.stale.make_owned_dir)
            for handle in _static_handles():
                if handle.path in SYSTEM_READ or _may_read_tree(handle.path, job):
                    rules.allow(handle, landlock.FS_READ)
            rules.allow_paths(guards.confine_read_paths, landlock.FS_READ)
            rules.allow_paths([str(tmpdir), *SYSTEM_WRITE, *guards.confine_write_paths, *write_paths],
                              landlock.FS_WRITE | landlock.IOCTL_DEV)
            rules.allow_paths([SHM], _SHM_RIGHTS)
        if on["landlock_net"]:
            rules.allow_connect(guards.connect_ports if connect_ports is None else connect_ports)
        rules.restrict_self()
        applied += [layer for layer in ("landlock_fs", "landlock_net", "landlock_scopes") if on[layer]]
    if on["seccomp"]:
        ports = guards.connect_ports if connect_ports is None else connect_ports
        # a run given no port gets no inet socket at all (no UDP either, which Landlock does not cover),
        # even where the kernel has no Landlock TCP rules; with landlock_net "off", nothing is cut
        seccomp.apply(network=bool(ports) or guards.landlock_net == "off")
        applied.append("seccomp")
    return applied
