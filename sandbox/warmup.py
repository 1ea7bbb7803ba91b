"""The warm-up: the caller's ``module:function`` run once in the template, before it forks anything.

Every job child is forked from the template, so whatever the warm-up leaves behind (first-call
caches, lazily imported modules, fonts and text layouts, compiled paths) every job starts with,
for nothing: no job child warms itself, so no readiness work ever runs beside a job (a warm-up
per child cost ~0.25 s of CPU per request, on the CPUs the running job needed).

The template forks, so the warm-up must leave no thread behind (a thread's locks would be held
forever in every child): it runs with every thread pool capped at one thread (threadpoolctl;
OpenMP, BLAS), and the template refuses to start if a thread is still running after it. Its
output goes to /dev/null; its temp files go to a dir of its own under the sandbox's root,
removed after it; an exception in it only means colder jobs, and is reported, never raised.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
import time
import warnings
from typing import Any

from .linux import read_proc_status
from .threadpools import single_threaded

__all__ = ["warm_template"]


def warm_template(target: str) -> dict[str, Any]:
    """Run ``target`` (no arguments) once, single-threaded and silenced; what the ready message
    reports: its seconds, its error (None when it ran), and the threads left (must be 1)."""
    started = time.monotonic()
    error: str | None = None
    tmpdir = tempfile.mkdtemp(prefix="warmup-")  # under the sandbox's root (the template's TMPDIR)
    saved = os.dup(1), os.dup(2)
    saved_filters = list(warnings.filters)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        tempfile.tempdir = tmpdir
        module_name, _, func_name = target.partition(":")
        with single_threaded(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            getattr(importlib.import_module(module_name), func_name)()
    except BaseException as exc:  # noqa: BLE001 - a failed warm-up only means colder jobs
        error = f"{type(exc).__name__}: {exc}"[:500]
    finally:
        tempfile.tempdir = None
        warnings.filters[:] = saved_filters
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)
        shutil.rmtree(tmpdir, ignore_errors=True)
    return {"seconds": round(time.monotonic() - started, 3), "error": error, "threads": read_proc_status().threads}
