"""Thin wrappers over the Linux calls the sandbox's processes share: prctl, capabilities, /proc.

No policy lives here; each function does one system call, or one small group of them, and says
when it failed. (The job child's rlimits are set in :mod:`sandbox.child`, from the LimitPlan.)
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass

__all__ = [
    "PR_SET_CHILD_SUBREAPER",
    "PR_SET_PDEATHSIG",
    "ProcStatus",
    "count_user_tasks",
    "drop_privileges",
    "job_process_name",
    "last_errno",
    "make_non_dumpable",
    "prctl",
    "read_proc_status",
    "set_process_name",
]

PR_SET_PDEATHSIG = 1
"""prctl option: the signal this process gets when its parent dies."""
PR_SET_CHILD_SUBREAPER = 36
"""prctl option: orphans of this process's descendants are re-parented to it."""
_PR_SET_DUMPABLE = 4
_PR_SET_NAME = 15
_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_CAP_LAST = 63
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_libc = ctypes.CDLL(None, use_errno=True)


# -- prctl and capabilities ---------------------------------------------------------------------


def prctl(option: int, value: int) -> bool:
    """Call prctl(2); False when the kernel refuses."""
    return _libc.prctl(option, value, 0, 0, 0) == 0


def job_process_name(job_id: str) -> str:
    """The process name (comm, at most 15 bytes) every process of a job carries."""
    return f"sbx-{job_id}"[:15]


def set_process_name(name: str) -> bool:
    """Set this process's name (comm); forked descendants inherit it."""
    return _libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()), 0, 0, 0) == 0


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


def last_errno() -> int:
    """errno of the last failed libc call made through this module."""
    return ctypes.get_errno()


# -- /proc --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcStatus:
    """The few ``/proc/<pid>/status`` fields the limits are calibrated on (bytes)."""

    vm_size: int
    vm_data: int
    vm_rss: int
    threads: int


def read_proc_status(pid: int | str = "self") -> ProcStatus:
    fields: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmSize", "VmData", "VmRSS"):
                fields[key] = int(value.split()[0]) * 1024
            elif key == "Threads":
                fields[key] = int(value)
    return ProcStatus(fields.get("VmSize", 0), fields.get("VmData", 0), fields.get("VmRSS", 0), fields.get("Threads", 1))


def count_user_tasks(uid: int) -> int:
    """Tasks (processes and threads) the kernel counts against ``uid`` for RLIMIT_NPROC."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            total += len(os.listdir(f"/proc/{entry.name}/task"))
        except OSError:
            continue
    return total
