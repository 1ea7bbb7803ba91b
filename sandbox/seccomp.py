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
)
"""System calls a job never needs; each answers EPERM."""

SOCKET_FAMILIES = (socket.AF_UNIX, socket.AF_INET, socket.AF_INET6)
"""The only families socket() and socketpair() accept; every other answers EPERM."""

_ACT_ALLOW = 0x7FFF0000
_ACT_ERRNO = 0x00050000
_CMP_EQ, _CMP_GT = 4, 6
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


def _build(ctx: int) -> None:
    deny = _ACT_ERRNO | errno.EPERM
    assert _lib is not None
    for name in DENIED_SYSCALLS:
        nr = _lib.seccomp_syscall_resolve_name(name.encode())
        if nr < 0:  # not on this architecture
            continue
        _check(_lib.seccomp_rule_add_array(ctx, deny, nr, 0, None), f"rule {name}")
    top = max(SOCKET_FAMILIES)
    for name in ("socket", "socketpair"):
        nr = _lib.seccomp_syscall_resolve_name(name.encode())
        for family in [f for f in range(top) if f not in SOCKET_FAMILIES]:
            cmp = _ArgCmp(0, _CMP_EQ, family, 0)
            _check(_lib.seccomp_rule_add_array(ctx, deny, nr, 1, ctypes.byref(cmp)), f"rule {name}({family})")
        cmp = _ArgCmp(0, _CMP_GT, top, 0)
        _check(_lib.seccomp_rule_add_array(ctx, deny, nr, 1, ctypes.byref(cmp)), f"rule {name}(>{top})")


@functools.cache
def program() -> bytes:
    """The filter compiled to classic BPF once (in the template); every job child loads these bytes."""
    if _lib is None:
        raise SeccompError(errno.ENOSYS, "libseccomp.so.2 is not available")
    ctx = _lib.seccomp_init(_ACT_ALLOW)
    if not ctx:
        raise SeccompError(errno.ENOMEM, "seccomp_init failed")
    try:
        _build(ctx)
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
def _prepared() -> tuple[int, ctypes.Array[ctypes.c_char], _SockFprog]:
    """The syscall number and the filter as the kernel takes it, built once (in the template)."""
    import platform

    code = program()
    nr = _NR_SECCOMP.get(platform.machine())
    if nr is None:
        raise SeccompError(errno.ENOSYS, "no seccomp syscall number for this architecture")
    buf = ctypes.create_string_buffer(code, len(code))
    return nr, buf, _SockFprog(len(code) // 8, ctypes.addressof(buf))


def prepare() -> None:
    """Compile the filter now (the template does, so no job child pays for it)."""
    _prepared()


def apply() -> None:
    """Load the filter on every thread of this process (TSYNC) and whatever it starts later.
    Needs no_new_privs (the job child has set it)."""
    nr, _buf, prog = _prepared()
    ret = _libc.syscall(ctypes.c_long(nr), ctypes.c_uint(_SECCOMP_SET_MODE_FILTER),
                        ctypes.c_uint(_SECCOMP_FILTER_FLAG_TSYNC), ctypes.byref(prog))
    if ret != 0:
        err = ctypes.get_errno()
        raise SeccompError(err, f"seccomp(SET_MODE_FILTER): {os.strerror(err)}")
