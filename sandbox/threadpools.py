"""Thread-pool caps: the BLAS/OpenMP libraries are found once in the template, capped in each job child.

The scan's result is module state on purpose: the template scans after preloading, and every
child forked from it inherits the result instead of paying the ~15 ms scan again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["cap_thread_pools", "scan_thread_pools", "single_threaded"]

_controller: Any = None
"""threadpoolctl's view of the loaded BLAS/OpenMP libraries (None until scanned, or without threadpoolctl)."""
_limiter: Any = None
"""The applied cap, kept referenced for the job's life."""


def scan_thread_pools() -> None:
    """In the template, after preloading: find the thread-pool libraries once."""
    global _controller
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return
    _controller = ThreadpoolController()


def cap_thread_pools(threads: int) -> None:
    """In a job child: cap the pools of libraries already loaded (env vars cover later loads)."""
    global _limiter
    if _controller is None:
        scan_thread_pools()
    if _controller is not None:
        _limiter = _controller.limit(limits=threads)


@contextmanager
def single_threaded() -> Iterator[None]:
    """In the template, around its warm-up: every pool found now capped at one thread, then restored
    (a process that forks must start no thread)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1):
        yield
