"""Temp dirs that name their owner, and the sweep that removes those a dead owner left behind.

A process killed with SIGKILL (or by the OOM killer) never runs its clean-up, so its temp dirs
(the sandbox's ``sandbox-jobs-*``, the UI's ``worker-ui-*``) would stay in the temp dir forever.
Each such dir is made by :func:`make_owned_dir`, which writes a marker naming the owner: its pid,
its start time (``/proc/<pid>/stat`` field 22, so a reused pid is told apart), the boot id, and its
pid namespace. At start-up the next owner calls :func:`sweep_stale`, which removes the sibling
dirs of the same prefix whose owner is provably gone, and nothing else:

* a dir whose marker is missing, unreadable or malformed is left alone (no guessing);
* a dir whose owner is alive (same pid, same start time, same boot, not a zombie) is left alone;
* a dir whose owner lived in another pid namespace is left alone (its pid means nothing here);
* symlinks are never followed or removed, nor dirs of another user.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

import orjson

__all__ = ["MARKER", "make_owned_dir", "owner_record", "sweep_stale"]

log = logging.getLogger("sandbox.stale")

MARKER = ".owner"
"""Name of the marker file inside an owned dir."""
_MARKER_MAX = 4096
_DEAD_STATES = {"Z", "X", "x"}
"""``/proc/<pid>/stat`` states of a process that has exited (zombie: not reaped yet)."""


def _read_text(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return fh.read(_MARKER_MAX).decode("ascii", "replace").strip()
    except OSError:
        return None


def _boot_id() -> str | None:
    return _read_text("/proc/sys/kernel/random/boot_id") or None


def _pid_ns() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) of ``pid``, or None when there is no such process."""
    text = _read_text(f"/proc/{pid}/stat")
    if not text or ")" not in text:
        return None
    fields = text.rsplit(")", 1)[1].split()  # the name (field 2) may hold spaces and parentheses
    try:
        return fields[0], int(fields[19])  # fields 3 (state) and 22 (starttime)
    except (IndexError, ValueError):
        return None


def owner_record(pid: int | None = None) -> dict[str, Any]:
    """What a marker holds for ``pid`` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    st = _proc_stat(pid)
    return {
        "pid": pid,
        "start_time": st[1] if st else None,
        "boot_id": _boot_id(),
        "pid_ns": _pid_ns(),
    }


def make_owned_dir(prefix: str, parent: str | os.PathLike[str] | None = None) -> Path:
    """``tempfile.mkdtemp(prefix=prefix, dir=parent)``, resolved (no symlink in it: job confinement
    compares paths as strings), holding a marker that names this process."""
    path = Path(os.path.realpath(tempfile.mkdtemp(prefix=prefix, dir=parent)))
    temp = path / f"{MARKER}.tmp"
    temp.write_bytes(orjson.dumps(owner_record()))
    os.replace(temp, path / MARKER)  # whole or absent: a sweep never reads half a marker
    return path


def _read_marker(path: Path) -> dict[str, Any] | None:
    try:
        fd = os.open(path / MARKER, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = os.read(fd, _MARKER_MAX)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        record = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    pid, start, boot = record.get("pid"), record.get("start_time"), record.get("boot_id")
    if not (isinstance(pid, int) and pid > 0 and isinstance(start, int) and isinstance(boot, str) and boot):
        return None
    return record


def _owner_gone(record: dict[str, Any], boot_id: str, pid_ns: str | None) -> str | None:
    """Why the marker's owner is provably gone, or None when it may be alive (or cannot be judged)."""
    if record["boot_id"] != boot_id:
        return "the machine has rebooted since (another boot id)"
    if record.get("pid_ns") != pid_ns:
        return None  # another pid namespace: its pid cannot be looked up from here
    st = _proc_stat(record["pid"])
    if st is None:
        return f"pid {record['pid']} is gone"
    state, start = st
    if start != record["start_time"]:
        return f"pid {record['pid']} is now another process"
    if state in _DEAD_STATES:
        return f"pid {record['pid']} has exited"
    return None


def sweep_stale(parent_dir: str | os.PathLike[str], prefix: str) -> list[Path]:
    """Remove the dirs ``parent_dir/prefix*`` whose marked owner is gone; returns those removed.

    Never raises: a dir that cannot be judged or removed is left and the sweep goes on.
    """
    boot_id = _boot_id()
    if boot_id is None:  # no /proc: nothing can be judged
        return []
    pid_ns = _pid_ns()
    uid = os.geteuid()
    removed: list[Path] = []
    try:
        entries = list(os.scandir(parent_dir))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        path = Path(entry.path)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid:  # a symlink is not a dir to lstat
            continue
        record = _read_marker(path)
        if record is None:
            continue
        why = _owner_gone(record, boot_id, pid_ns)
        if why is None:
            continue
        try:
            shutil.rmtree(path)  # refuses a symlink, and never follows one inside (fd-based)
        except OSError as exc:
            log.warning("could not remove stale dir %s (its owner: %s): %s", path, why, exc)
            continue
        log.info("removed stale dir %s left by a dead owner: %s", path, why)
        removed.append(path)
    return removed
