"""Length-prefixed frames between the job child, its runner and the parent, and their messages.

A frame is ``<4-byte big-endian length><1-byte kind><body>``; the length counts the body only.
Kinds: ``J`` an orjson object (control messages, events), ``R`` raw result bytes.

    parent ─J RunnerSpec, J JobSpec─▶ runner ─J JobSpec (the same bytes, never decoded)─▶ child
    child ─J baseline / event / error, J result header + R result─▶ runner
    runner ─J started / event / exit (ExitReport), R result─▶ parent

A result travels as two frames: a header ``{"type": "result", "status": ...}`` holding the value's
``status`` member (see :func:`result_status`) and nothing else, then the value's JSON bytes, so the
parent can tell what kind of result it holds without decoding it.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from typing import Any

import orjson

__all__ = [
    "KIND_JSON",
    "KIND_RESULT",
    "RESULT_STATUS_CHARS",
    "ExitReport",
    "FrameReader",
    "RunnerSpec",
    "FrameTooLarge",
    "dumps",
    "result_status",
    "write_frame",
    "write_json",
    "write_result",
]

KIND_JSON = b"J"
KIND_RESULT = b"R"
_HEADER = struct.Struct(">IB")
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


class FrameTooLarge(Exception):
    """A frame announced a body larger than the reader accepts."""

    def __init__(self, kind: bytes, size: int, limit: int) -> None:
        super().__init__(f"frame of {size} bytes over the limit of {limit}")
        self.kind = kind
        self.size = size
        self.limit = limit


def dumps(obj: Any) -> bytes:
    """Serialise with orjson (numpy values allowed)."""
    return orjson.dumps(obj, option=_JSON_OPTIONS)


def write_frame(fd: int, kind: bytes, body: bytes) -> None:
    """Write one whole frame to a blocking file descriptor."""
    data = memoryview(_HEADER.pack(len(body), kind[0]) + body)
    while data:
        written = os.write(fd, data)
        data = data[written:]


def write_json(fd: int, obj: Any) -> None:
    write_frame(fd, KIND_JSON, dumps(obj))


RESULT_STATUS_CHARS = 64
"""Longest ``status`` a result header carries (a longer one is not a status: the header says None)."""


def result_status(value: Any) -> str | None:
    """A result's header: the value's ``status`` member when the value is an object whose status
    is a short string, else None."""
    status = value.get("status") if isinstance(value, dict) else None
    return status if isinstance(status, str) and len(status) <= RESULT_STATUS_CHARS else None


def write_result(fd: int, body: bytes, status: str | None) -> None:
    """Send a result: its header, then its JSON bytes."""
    write_json(fd, {"type": "result", "status": status})
    write_frame(fd, KIND_RESULT, body)


@dataclass(frozen=True)
class RunnerSpec:
    """What the runner itself needs of a job's limits (it passes the JobSpec on without reading it)."""

    log_tail_bytes: int
    """Bytes of the child's output it keeps, for the log tail."""
    max_result_bytes: int
    """Largest result frame it accepts from the child; 0 = no cap."""

    def to_message(self) -> dict[str, Any]:
        return {"type": "runner", **asdict(self)}

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> RunnerSpec:
        return cls(int(message["log_tail_bytes"]), int(message["max_result_bytes"]))


@dataclass(frozen=True)
class ExitReport:
    """The runner's last word on its job: how the child ended, what it used, what it sent."""

    exit_code: int | None = None
    signal: int | None = None
    """The signal that killed the child, or None when it exited."""
    cpu_seconds: float = 0.0
    """CPU time of the job (its warm-up's excluded)."""
    max_rss_kb: int = 0
    wall_seconds: float = 0.0
    child_error: dict[str, str] | None = None
    """The ``error`` message the child sent: code, message, exc_type, traceback."""
    has_result: bool = False
    result_status: str | None = None
    """The result's header (see :func:`result_status`); None without a result."""
    result_too_large: int | None = None
    """Size in bytes of a result refused for being over the cap."""
    invalid_frames: str | None = None
    """What was wrong with what the child sent, if anything."""
    processes_killed: int = 0
    data_growth_mb: float = 0.0
    """Growth of the child's data size (what RLIMIT_DATA counts) since its job began."""
    log_tail: str = ""

    def to_message(self) -> dict[str, Any]:
        return {"type": "exit", **asdict(self)}

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> ExitReport:
        return cls(**{f.name: message[f.name] for f in fields(cls) if f.name in message})


class FrameReader:
    """Incremental frame parser for non-blocking reads.

    ``max_body`` caps result frames (``R``) only; JSON frames are small control messages and are
    capped by ``max_json``. Past a cap, :meth:`frames` raises :class:`FrameTooLarge` before the
    body is buffered.
    """

    def __init__(self, *, max_body: int = 0, max_json: int = 1 << 20) -> None:
        self._buf = bytearray()
        self._max_body = max_body
        self._max_json = max_json
        self.bytes_seen = 0

    def feed(self, data: bytes) -> None:
        self._buf += data
        self.bytes_seen += len(data)

    def frames(self) -> Iterator[tuple[bytes, bytes]]:
        """Yield every complete ``(kind, body)`` buffered so far."""
        while len(self._buf) >= _HEADER.size:
            size, kind_byte = _HEADER.unpack_from(self._buf)
            kind = bytes([kind_byte])
            limit = self._max_body if kind == KIND_RESULT else self._max_json
            if limit and size > limit:
                raise FrameTooLarge(kind, size, limit)
            end = _HEADER.size + size
            if len(self._buf) < end:
                return
            body = bytes(self._buf[_HEADER.size : end])
            del self._buf[:end]
            yield kind, body

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame still buffered."""
        return len(self._buf)
