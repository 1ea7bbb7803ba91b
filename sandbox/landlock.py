"""Landlock (unprivileged filesystem, network and scope rules) over its three system calls, with ctypes.

Only what the job child needs: the ABI version, a ruleset of path-beneath and TCP-port rules, and
restrict_self. Rights a kernel's ABI does not know are dropped (best effort, per right), so the
same ruleset code runs from ABI 1 (5.13) to ABI 7; :func:`abi` is 0 where Landlock is unavailable.
Landlock restricts the calling thread and what it starts afterwards: call it from the thread that
runs the job, before the job starts threads of its own.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import stat
import struct
from collections.abc import Iterable

__all__ = ["FS_READ", "FS_WRITE", "Handle", "LandlockError", "Ruleset", "abi"]

_NR = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}.get(platform.machine())
_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long

_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_RULE_NET_PORT = 2

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX, SCOPE_SIGNAL = 1, 2

FS_READ = EXECUTE | READ_FILE | READ_DIR
"""Read (and execute) a tree."""
FS_WRITE = FS_READ | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | MAKE_SOCK | MAKE_FIFO \
    | MAKE_SYM | REFER | TRUNCATE
"""Everything in a tree but device nodes."""
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
"""The only rights a rule on a file (not a directory) may carry."""


_ALL = (1 << 64) - 1


class LandlockError(OSError):
    pass


class Handle:
    """An ``O_PATH`` descriptor of a path a rule names: opened once (the template keeps the static
    ones, so a job child adds their rules without a path lookup) and whether it is a directory."""

    __slots__ = ("fd", "is_dir", "path")

    def __init__(self, path: str, fd: int, is_dir: bool) -> None:
        self.path, self.fd, self.is_dir = path, fd, is_dir

    @classmethod
    def open(cls, path: str) -> Handle | None:
        """The handle, or None where the path does not exist or cannot be opened."""
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return None
        return cls(path, fd, stat.S_ISDIR(os.fstat(fd).st_mode))

    def close(self) -> None:
        os.close(self.fd)


def _call(nr: int, *args: object) -> int:
    ret = _syscall(ctypes.c_long(nr), *args)
    if ret < 0:
        err = ctypes.get_errno()
        raise LandlockError(err, os.strerror(err))
    return int(ret)


def abi() -> int:
    """The kernel's Landlock ABI version; 0 when it is unavailable (old kernel, disabled, no arch)."""
    if _NR is None:
        return 0
    try:
        return _call(_NR[0], None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    except LandlockError as exc:
        if exc.errno in (errno.ENOSYS, errno.EOPNOTSUPP):
            return 0
        raise


class Ruleset:
    """One ruleset: handled rights (everything the ABI knows, unless told otherwise), then rules."""

    def __init__(self, version: int, *, fs: bool = True, net: bool = False, scopes: bool = False) -> None:
        if version < 1 or _NR is None:
            raise LandlockError(errno.EOPNOTSUPP, "Landlock is not available")
        self.version = version
        self.fs_rights = _FS_BY_ABI[min(version, 5)] if fs else 0
        self.net_rights = (NET_BIND_TCP | NET_CONNECT_TCP) if net and version >= 4 else 0
        self.scoped = (SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL) if scopes and version >= 6 else 0
        attr = struct.pack("=QQQ", self.fs_rights, self.net_rights, self.scoped)
        size = 24 if version >= 6 else 16 if version >= 4 else 8
        buf = ctypes.create_string_buffer(attr[:size], size)
        self.fd = _call(_NR[0], buf, ctypes.c_size_t(size), ctypes.c_uint32(0))

    def allow_paths(self, paths: Iterable[str], rights: int) -> list[str]:
        """Allow ``rights`` beneath each existing path (files get their file rights only); the added."""
        added = []
        for path in paths:
            handle = Handle.open(path)
            if handle is None:
                continue
            try:
                if self.allow(handle, rights):
                    added.append(path)
            finally:
                handle.close()
        return added

    def allow(self, handle: Handle, rights: int) -> bool:
        """Allow ``rights`` beneath an opened path (a file gets its file rights only)."""
        allowed = rights & self.fs_rights & (_ALL if handle.is_dir else _FILE_RIGHTS)
        if not allowed:
            return False
        rule = ctypes.create_string_buffer(struct.pack("=Qi", allowed, handle.fd), 12)
        _call(_NR[1], ctypes.c_int(self.fd), ctypes.c_int(_RULE_PATH_BENEATH), rule, ctypes.c_uint32(0))
        return True

    def allow_connect(self, ports: Iterable[int]) -> None:
        if not self.net_rights & NET_CONNECT_TCP:
            return
        for port in ports:
            rule = ctypes.create_string_buffer(struct.pack("=QQ", NET_CONNECT_TCP, port), 16)
            _call(_NR[1], ctypes.c_int(self.fd), ctypes.c_int(_RULE_NET_PORT), rule, ctypes.c_uint32(0))

    def restrict_self(self) -> None:
        """Enforce on this thread and everything it starts from now on (needs no_new_privs)."""
        try:
            _call(_NR[2], ctypes.c_int(self.fd), ctypes.c_uint32(0))
        finally:
            os.close(self.fd)
