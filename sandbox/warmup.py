"""The job child's warm-up: the caller's ``module:function`` run while the child waits for its job.

It runs while the child is idle, so the job's own first calls are warm. When the job arrives
first, the runner sends :data:`WARMUP_STOP` and the warm-up stops at once (it unwinds like a
KeyboardInterrupt, so its ``finally`` and ``with`` blocks run); the job never waits for it.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import tempfile
import warnings
from types import FrameType

from .waiting import wait_readable

__all__ = ["WARMUP_STOP", "warm_up"]

WARMUP_STOP = signal.SIGUSR1
"""Sent by the runner to its job child when the job arrives: a warm-up still running stops."""


class _Stopped(BaseException):
    """Raised inside the warm-up when its job has arrived."""


class _Interruptible:
    """The stop signal's handler: raises only while the warm-up runs, and only once (the signal
    may be handled late, after the warm-up ended)."""

    def __init__(self) -> None:
        self.running = False

    def stop(self, signum: int, frame: FrameType | None) -> None:
        if self.running:
            self.running = False
            raise _Stopped


def warm_up(target: str, go_r: int, tmpdir: str) -> None:
    """Job child, before its job: run ``target`` (no arguments) unless the job is already waiting on ``go_r``.

    It is the caller's code, never the job's; whatever it does or raises is silenced (its output
    goes to /dev/null), and the job child is used as usual afterwards. Its CPU time is not charged
    to the job (see :mod:`sandbox.child`). Its temporary files go to ``tmpdir``
    (``tempfile.gettempdir()`` while it runs), which the runner removes.
    """
    if not target:
        return
    state = _Interruptible()
    saved = os.dup(1), os.dup(2)
    saved_filters = list(warnings.filters)  # a stop inside catch_warnings.__exit__ would leave them changed
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        tempfile.tempdir = tmpdir
        module_name, _, func_name = target.partition(":")
        state.running = True  # before the check: a stop signal from here on interrupts the warm-up
        signal.signal(WARMUP_STOP, state.stop)
        if wait_readable([go_r], 0):
            return  # the job came first (the runner signals only after sending it)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            getattr(importlib.import_module(module_name), func_name)()
    except BaseException:  # noqa: S110 - a failed or stopped warm-up only means a colder job
        pass
    finally:
        state.running = False
        tempfile.tempdir = None
        warnings.filters[:] = saved_filters
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)
