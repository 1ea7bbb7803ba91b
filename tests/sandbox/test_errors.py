"""limit_error: which exceptions mean a limit was hit, found through wrappers, and which do not."""

from __future__ import annotations

import errno

import pytest

from sandbox import ProcessLimitExceeded
from sandbox.errors import limit_error


class _Wrapper(Exception):
    """An error of the caller's own, as an engine node raises it."""


def _wrapped(inner: BaseException, text: str = "training failed") -> BaseException:
    try:
        raise inner
    except BaseException as exc:
        outer = _Wrapper(f"{text}: {type(exc).__name__}: {exc}")
        outer.__cause__ = exc
        return outer


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (MemoryError(), "memory"),
        (RuntimeError("std::bad_alloc"), "memory"),
        (OSError(errno.EFBIG, "File too large"), "file_size"),
        (ProcessLimitExceeded("fork failed"), "tasks"),
        (RuntimeError("can't start new thread"), "tasks"),
        (_wrapped(MemoryError()), "memory"),
        (_wrapped(RuntimeError("can't start new thread")), "tasks"),
        (_wrapped(_wrapped(OSError(errno.EFBIG, "File too large"))), "file_size"),
        (OSError(errno.ENOENT, "gone"), None),
        (RuntimeError("kaboom"), None),
        (KeyError("bad_alloc"), None),  # a user's column name is not an allocation failure
        (_Wrapper("column \"can't start new thread\" not found"), None),  # nor is a message that quotes one
        (_wrapped(ValueError("no")), None),
    ],
)
def test_limit_errors_are_found_through_their_wrappers(exc: BaseException, kind: str | None) -> None:
    hit = limit_error(exc)
    assert (hit[0] if hit else None) == kind
    if hit:
        assert not isinstance(hit[1], _Wrapper)  # the root cause is named, not the wrapper
