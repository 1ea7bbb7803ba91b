"""Files a caller passes to one job: plain names checked, sources copied into the job's own dir.

    Sandbox.run(files={"upload-0.csv": "/path/the/caller/checked"})
        check_files ── a bad name or a source that is not a regular file ──▶ FilesRefused
        copy_files  ── shutil.copyfile into the job's dir, before the job starts

The job child may read only its own dir (``landlock_fs``), so a copy there is what it can read; the
dir, copies included, is removed after the job like everything else in it. A name is a plain file
name (:data:`FILE_NAME`): no slash, no ``..``, no leading dot, not the payload's own name. The
sandbox copies whatever source the caller names: deciding which paths may be passed (e.g. only
uploads the caller has checked) is the caller's job, never a client's.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["FILE_NAME", "FilesRefused", "check_file_name", "check_files", "copy_files"]

FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A name a job file may have: letters, digits, ``.``, ``_``, ``-``; 1-64 characters, no leading dot."""


class FilesRefused(ValueError):
    """A ``files`` argument the sandbox will not act on (the message names the entry and why)."""


def check_file_name(name: Any, *, reserved: str = "") -> str:
    """``name`` if it is a plain job file name other than ``reserved``; else :class:`FilesRefused`."""
    shown = repr(name)[:80]
    if not isinstance(name, str) or not FILE_NAME.fullmatch(name) or ".." in name:
        raise FilesRefused(f"the job file name {shown} is not a plain file name (1-64 characters of letters, "
                           "digits, '.', '_' and '-', not starting with '.', no '..')")
    if name == reserved:
        raise FilesRefused(f"the job file name {shown} is the payload's own name")
    return name


def check_files(files: Mapping[str, Any] | None, *, reserved: str) -> list[tuple[str, Path]]:
    """(name, source) for each entry of ``files``, checked: names plain, sources regular files."""
    if not files:
        return []
    if not isinstance(files, Mapping):
        raise FilesRefused(f"files must be a mapping of file names to paths, not {type(files).__name__}")
    out = []
    for name, source in files.items():
        check_file_name(name, reserved=reserved)
        if not isinstance(source, (str, os.PathLike)) or not str(source):
            raise FilesRefused(f"the source of job file {name!r} is not a path")
        path = Path(source)
        try:
            info = os.stat(path)
        except OSError as exc:
            raise FilesRefused(f"the source of job file {name!r} cannot be read: {exc.strerror or exc}") from None
        if not stat.S_ISREG(info.st_mode):
            raise FilesRefused(f"the source of job file {name!r} is not a regular file")
        out.append((name, path))
    return out


def copy_files(files: list[tuple[str, Path]], tmpdir: Path) -> int:
    """Copy each checked source to ``tmpdir / name``; returns the bytes copied.

    A source gone since :func:`check_files` is :class:`FilesRefused`; any other OSError (a full
    disk) is the sandbox's own failure and propagates.
    """
    total = 0
    for name, source in files:
        dest = tmpdir / name
        try:
            shutil.copyfile(source, dest)
        except FileNotFoundError:
            if dest.parent.is_dir():
                raise FilesRefused(f"the source of job file {name!r} is gone") from None
            raise
        total += dest.stat().st_size
    return total
