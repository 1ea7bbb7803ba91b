"""Waiting for readable sockets, pipes and pidfds, with no ceiling on fd numbers.

``select.select`` refuses fds numbered 1024 and above ("filedescriptor out of range in select()"),
which the parent reaches once about a thousand client connections are open. Every wait of the
sandbox on a job's socket, a pidfd or the template's control socket goes through
:func:`wait_readable`, built on ``poll(2)``.
"""

from __future__ import annotations

import errno
import os
import select
from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["wait_readable"]


class _HasFileno(Protocol):
    def fileno(self) -> int: ...


_READ = select.POLLIN | select.POLLPRI
_READABLE = _READ | select.POLLHUP | select.POLLERR
"""What ``select`` also reports as readable: EOF (hang-up) and a pending error wake the reader."""


def wait_readable(fds: Sequence[int | _HasFileno], timeout: float | None) -> list[Any]:
    """The items of ``fds`` (ints or objects with ``fileno()``) readable within ``timeout`` seconds.

    Same contract as ``select.select(fds, [], [], timeout)[0]``: ``None`` waits without a limit,
    0 only looks; EOF and errors count as readable (the read then says which); a closed fd raises
    ``OSError(EBADF)``. A negative timeout is taken as 0 (``poll`` would wait forever).
    """
    poller = select.poll()
    by_fd: dict[int, Any] = {}
    for item in fds:
        fd = item if isinstance(item, int) else item.fileno()
        if fd < 0:
            raise ValueError(f"file descriptor cannot be a negative integer ({fd})")
        by_fd[fd] = item
        poller.register(fd, _READ)
    ms = None if timeout is None else max(0.0, timeout) * 1000
    events = dict(poller.poll(ms))
    if any(mask & select.POLLNVAL for mask in events.values()):
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))
    return [item for fd, item in by_fd.items() if events.get(fd, 0) & _READABLE]
