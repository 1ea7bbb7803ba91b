"""Give freed heap memory back to the system (glibc's ``malloc_trim``), so the parent's RSS stays flat.

Request bodies of several MB (decoded by Gradio, scanned, re-encoded) and results pass through
the parent from many threads; glibc keeps the freed pages of each thread's arena, so without a
trim the RSS ratchets up by the size of the largest bodies seen. Not glibc: nothing to do.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

__all__ = ["fix_mmap_threshold", "release_free_memory"]

_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024
"""Bytes from which glibc serves an allocation with its own mmap (its default starting value)."""


def _load_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


_malloc_trim = _load_trim()


def fix_mmap_threshold() -> bool:
    """Keep glibc's mmap threshold at :data:`MMAP_THRESHOLD` for good (the parent calls this at start).

    By default glibc raises the threshold to the size of each large block freed (up to 32 MB), so
    after the first 4 MB request body every later one is carved from the heap, whose freed pages
    fragment and stay: the parent's RSS grew ~90 MB over 100 hostile requests. Fixed, a large body
    is always its own mapping and goes back to the system when freed (~35 MB over the same mix).
    """
    try:
        return bool(ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):
        return False


def release_free_memory() -> None:
    """Return the free pages of every arena to the system (a few ms; call it off the event loop)."""
    if _malloc_trim is not None:
        _malloc_trim(0)
