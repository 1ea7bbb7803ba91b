"""Length-prefixed frames between the job child, its runner and the parent.

A frame is ``<4-byte big-endian length><1-byte kind><body>``; the length counts the body only.
Kinds: ``J`` an orjson object (control messages, events), ``R`` raw result bytes.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import Any

import orjson

__all__ = ["FrameTooLarge", "FrameReader", "KIND_JSON", "KIND_RESULT", "dumps", "write_frame", "write_json"]

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
