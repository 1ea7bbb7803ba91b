"""Files named by clients: only what Gradio itself wrote as an upload for this app is ever opened.

A Gradio event input of type file is a ``FileData`` object, ``{"path": ..., "meta": {"_type":
"gradio.FileData"}}``, whose ``path`` the *client* writes. Gradio's upload route stores a file in
its upload folder and tells the page that path; any other path (a host CSV, ``/proc/self/environ``,
``/dev/zero``, a URL the parent would fetch) is refused here, before Gradio copies, hashes or
reads anything. :func:`uploaded_file` is the one test; :func:`refused_paths` applies it to a
request body; :func:`read_upload` opens an upload without following links or blocking on special
files, and reads a bounded prefix; :func:`scan_upload` does the same and also counts the file's
lines by streaming the rest of it in fixed-size chunks, keeping none of it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["UploadRefused", "UploadScan", "file_paths", "read_upload", "refused_paths", "scan_upload", "upload_root",
           "uploaded_file"]


_PATH_MAX = os.pathconf("/", "PC_PATH_MAX")
"""The longest path the system resolves; a longer one is refused before any work on it."""


class UploadRefused(ValueError):
    """A client-named path that is not an upload of this app (the message says why, path cut)."""


def upload_root() -> Path:
    """Gradio's upload folder (``GRADIO_TEMP_DIR`` or ``<tmp>/gradio``), resolved."""
    from gradio.utils import get_upload_folder

    return Path(os.path.realpath(get_upload_folder()))


def _short(path: str, limit: int) -> str:
    return path if len(path) <= limit else path[: max(0, limit - 1)] + "…"


def uploaded_file(path: Any, root: Path, *, echo_chars: int = 200) -> Path:
    """``path`` resolved, if it names a regular file inside ``root``; else :class:`UploadRefused`.

    Resolution follows every link first, so a link out of the folder (or into ``/proc``) is judged
    by where it leads. Devices, FIFOs, sockets and directories are refused without being opened.
    """
    if not isinstance(path, str) or not path:
        raise UploadRefused("a file input carried no path")
    shown = _short(path, echo_chars)
    if len(path) > _PATH_MAX:
        raise UploadRefused(f"the path {shown!r} is {len(path)} characters long, over the system's {_PATH_MAX}")
    refused = UploadRefused(f"the file {shown!r} was not uploaded to this app: upload it with the page's file box")
    if "\x00" in path or not os.path.isabs(path):
        raise refused
    # Cheap lexical test first (linear): only a path under the folder is worth resolving.
    if not os.path.normpath(path).startswith(str(root) + os.sep):
        raise refused
    real = Path(os.path.realpath(path))
    if real != root and root not in real.parents:
        raise refused
    try:
        info = os.lstat(real)
    except OSError:
        raise UploadRefused(f"the uploaded file {shown!r} is gone; upload it again") from None
    if not stat.S_ISREG(info.st_mode):
        raise UploadRefused(f"the path {shown!r} is not a regular file")
    return real


def file_paths(value: Any, max_items: int) -> Iterator[Any]:
    """The ``path`` of every file object (a dict with a ``path`` key) in decoded JSON, iteratively."""
    stack = [value]
    seen = 0
    while stack and seen < max_items:
        item = stack.pop()
        seen += 1
        if isinstance(item, dict):
            if "path" in item:
                yield item["path"]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def refused_paths(value: Any, root: Path, *, max_items: int, echo_chars: int) -> list[str]:
    """Why each client-named path in ``value`` is refused (empty: every path is an upload)."""
    problems = []
    for path in file_paths(value, max_items):
        try:
            uploaded_file(path, root, echo_chars=echo_chars)
        except UploadRefused as exc:
            problems.append(str(exc))
    return problems


_CHUNK = 1 << 20
"""Bytes read at a time (the most of a file held at once beyond a prefix that is kept)."""


def _open_upload(path: str, root: Path) -> int:
    """A descriptor of the upload, opened without following links or blocking on special files."""
    real = uploaded_file(path, root)
    fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UploadRefused("the uploaded path is not a regular file")
    return fd


def _read_prefix(fd: int, max_bytes: int) -> bytes:
    chunks, left = [], max_bytes
    while left > 0:
        chunk = os.read(fd, min(left, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_upload(path: str, root: Path, max_bytes: int) -> bytes:
    """At most ``max_bytes`` of an uploaded file, opened without following links or blocking."""
    fd = _open_upload(path, root)
    try:
        return _read_prefix(fd, max_bytes)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class UploadScan:
    """An upload's first bytes and facts about the whole file, read once."""

    head: bytes
    """At most the requested prefix."""
    size: int
    """Bytes in the file (as read)."""
    newlines: int
    """``\\n`` bytes in the whole file."""
    ends_with_newline: bool

    @property
    def complete(self) -> bool:
        """Whether :attr:`head` is the whole file."""
        return len(self.head) == self.size


def scan_upload(path: str, root: Path, head_bytes: int) -> UploadScan:
    """The first ``head_bytes`` of an upload, plus its size and line count, streamed in fixed chunks.

    Opened as :func:`read_upload` opens it; past the head, each chunk is counted and dropped, so the
    parent holds at most ``head_bytes`` + one chunk whatever the file's size.
    """
    fd = _open_upload(path, root)
    try:
        head = _read_prefix(fd, head_bytes)
        size, newlines, last = len(head), head.count(b"\n"), head[-1:]
        while True:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                break
            size += len(chunk)
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
        return UploadScan(head=head, size=size, newlines=newlines, ends_with_newline=last == b"\n")
    finally:
        os.close(fd)
