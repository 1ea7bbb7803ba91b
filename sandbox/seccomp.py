"""A small seccomp filter through libseccomp (ctypes over libseccomp.so.2): EPERM, never kill.

libseccomp picks the syscall numbers for the running architecture and compiles the BPF; a ctypes
binding over four of its functions avoids an extra package (pyseccomp is old, and the distro's
python3-seccomp is not in a venv). :func:`available` is False where the library is missing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os
import socket

__all__ = ["DENIED_SYSCALLS", "SOCKET_FAMILIES", "SeccompError", "apply", "available", "prepare", "program"]

DENIED_SYSCALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "unshare", "setns",
    "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "personality",
    "open_tree", "move_mount", "fsopen", "fsmount", "fspick", "mount_setattr", "pidfd_getfd",
    # io_uring runs socket/connect/open requests outside these filters (it made AF_NETLINK sockets)
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    # a listen() without bind() binds an ephemeral port, which Landlock's bind rule never sees
    "listen",
    # memory in a memfd is counted by no limit of the job's
    "memfd_create",
)
"""System calls a job never needs; each answers EPERM."""

SOCKET_FAMILIES = (socket.AF_UNIX, socket.AF_INET, socket.AF_INET6)
"""The only families socket() and socketpair() accept; every other answers EPERM. socket(AF_UNIX)
answers EPERM too (a connected pair from socketpair() is allowed): Landlock does not mediate a
connect to a pathname socket outside the job's dir."""

IPPROTO_MPTCP = 262
"""Multipath TCP: its connect and bind are not TCP's, so Landlock's TCP port rules never see them."""

MSG_FASTOPEN = 0x20000000
"""TCP Fast Open's sendto/sendmsg connects without connect(), past Landlock's connect rule."""

CLONE_NEW_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
"""CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET: clone() with any answers EPERM
(a user namespace gives a job every capability inside it); clone3() answers ENOSYS, so libc
falls back to clone() for threads and forks."""

_ACT_ALLOW = 0x7FFF0000
_ACT_ERRNO = 0x00050000
_CMP_EQ, _CMP_GT, _CMP_MASKED_EQ = 4, 6, 7
_FLTATR_CTL_TSYNC = 4


class SeccompError(OSError):
    pass


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


def _load() -> ctypes.CDLL | None:
    for name in ("libseccomp.so.2", ctypes.util.find_library("seccomp")):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name, use_errno=True)
        except OSError:
            continue
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                               ctypes.POINTER(_ArgCmp)]
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_load.argtypes = [ctypes.c_void_p]
        lib.seccomp_release.argtypes = [ctypes.c_void_p]
        lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
        lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
        return lib
    return None


_lib = _load()  # loaded once in the template: every job child inherits it


def available() -> bool:
    return _lib is not None


def _check(ret: int, what: str) -> None:
    if ret < 0:
        raise SeccompError(-ret, f"{what}: {errno.errorcode.get(-ret, -ret)}")


def _rule(ctx: int, action: int, name: str, *cmps: tuple[int, int, int, int]) -> None:
    """``action`` for syscall ``name`` when every (arg, op, a, b) comparison holds (skipped where
    the architecture has no such call)."""
    assert _lib is not None
    nr = _lib.seccomp_syscall_resolve_name(name.encode())
    if nr < 0:
        return
    array = (_ArgCmp * len(cmps))(*(_ArgCmp(*cmp) for cmp in cmps)) if cmps else None
    _check(_lib.seccomp_rule_add_array(ctx, action, nr, len(cmps), array), f"rule {name}{cmps or ''}")


def _build(ctx: int, network: bool) -> None:
    deny = _ACT_ERRNO | errno.EPERM
    for name in DENIED_SYSCALLS:
        _rule(ctx, deny, name)
    top = max(SOCKET_FAMILIES)
    for name in ("socket", "socketpair"):
        for family in [f for f in range(top) if f not in SOCKET_FAMILIES]:
            _rule(ctx, deny, name, (0, _CMP_EQ, family, 0))
        _rule(ctx, deny, name, (0, _CMP_GT, top, 0))
        _rule(ctx, deny, name, (2, _CMP_EQ, IPPROTO_MPTCP, 0))
    _rule(ctx, deny, "socket", (0, _CMP_EQ, socket.AF_UNIX, 0))
    if not network:  # a job that downloads nothing gets no inet socket at all: no TCP, no UDP
        for family in (socket.AF_INET, socket.AF_INET6):
            _rule(ctx, deny, "socket", (0, _CMP_EQ, family, 0))
    for name, flags_arg in (("sendto", 3), ("sendmsg", 2), ("sendmmsg", 3)):
        _rule(ctx, deny, name, (flags_arg, _CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN))
    for flag in CLONE_NEW_FLAGS:
        _rule(ctx, deny, "clone", (0, _CMP_MASKED_EQ, flag, flag))
    _rule(ctx, _ACT_ERRNO | errno.ENOSYS, "clone3")


@functools.cache
def program(network: bool = True) -> bytes:
    """The filter compiled to classic BPF once (in the template) for jobs with inet sockets
    (``network``) and once for jobs without; every job child loads one of these."""
    if _lib is None:
        raise SeccompError(errno.ENOSYS, "libseccomp.so.2 is not available")
    ctx = _lib.seccomp_init(_ACT_ALLOW)
    if not ctx:
        raise SeccompError(errno.ENOMEM, "seccomp_init failed")
    try:
        _build(ctx, network)
        r, w = os.pipe()
        try:
            _check(_lib.seccomp_export_bpf(ctx, w), "seccomp_export_bpf")
            os.close(w)
            w = -1
            chunks = []
            while chunk := os.read(r, 1 << 16):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(r)
            if w >= 0:
                os.close(w)
    finally:
        _lib.seccomp_release(ctx)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_TSYNC = 1
_NR_SECCOMP = {"x86_64": 317, "aarch64": 277}
_libc = ctypes.CDLL(None, use_errno=True)


@functools.cache
def _prepared(network: bool) -> tuple[int, ctypes.Array[ctypes.c_char], _SockFprog]:
    """The syscall number and the filter as the kernel takes it, built once (in the template)."""
    import platform

    code = program(network)
    nr = _NR_SECCOMP.get(platform.machine())
    if nr is None:
        raise SeccompError(errno.ENOSYS, "no seccomp syscall number for this architecture")
    buf = ctypes.create_string_buffer(code, len(code))
    return nr, buf, _SockFprog(len(code) // 8, ctypes.addressof(buf))


def prepare() -> None:
    """Compile both filters now (the template does, so no job child pays for it)."""
    _prepared(True)
    _prepared(False)


def apply(network: bool = True) -> None:
    """Load the filter on every thread of this process (TSYNC) and whatever it starts later; without
    ``network``, no inet socket can be made. Needs no_new_privs (the job child has set it)."""
    nr, _buf, prog = _prepared(network)
    ret = _libc.syscall(ctypes.c_long(nr), ctypes.c_uint(_SECCOMP_SET_MODE_FILTER),
                        ctypes.c_uint(_SECCOMP_FILTER_FLAG_TSYNC), ctypes.byref(prog))
    if ret != 0:
        err = ctypes.get_errno()
        raise SeccompError(err, f"seccomp(SET_MODE_FILTER): {os.strerror(err)}")
