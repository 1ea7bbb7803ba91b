"""A linear scan of JSON text that bounds what decoding it would build, before anything is decoded.

A request body is client bytes. Decoding 4 MB of ``[{},{},...]`` builds over a million objects
(~200 MB) and 4 MB of ``[[[[...`` recurses two million levels, so the caps of ``[request]`` are
checked on the text first, with C-speed bytes operations only (no regex, no Python loop per
character):

1. escape pairs (``\\\\`` then ``\\"``, left to right as a JSON lexer reads them) are overwritten
   by two placeholder bytes, so every remaining ``"`` opens or closes a string and every string
   keeps its escaped length (never less than its decoded length);
2. splitting on ``"`` gives, alternately, text outside strings and the strings' bodies;
3. outside strings, ``{`` + ``[`` count the containers and ``,`` the members after the first of
   each container, so ``values <= commas + containers + 1`` (exact for valid JSON without empty
   containers); the nesting depth is the running maximum of opens minus closes (numpy, only when
   there are more containers than ``max_depth``).

Invalid JSON may pass the scan (it only bounds sizes); the decoder then refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["JsonShape", "scan"]

_BRACKETS_ONLY = bytes(c for c in range(256) if c not in b"{}[]")


@dataclass(frozen=True)
class JsonShape:
    """What the scan measured (upper bounds for valid JSON)."""

    size: int
    values: int
    longest_string: int
    depth: int
    """Exact when the text has more containers than the depth limit given, else the container count."""
    terminated: bool
    """False when a string is left open (the decoder will refuse the text)."""


def _depth(outside: bytes) -> int:
    import numpy as np

    brackets = np.frombuffer(outside.translate(None, _BRACKETS_ONLY), dtype=np.uint8)
    if brackets.size == 0:
        return 0
    steps = np.where((brackets == ord("{")) | (brackets == ord("[")), 1, -1).astype(np.int64)
    return int(np.cumsum(steps).max())


def scan(text: bytes, *, max_depth: int) -> JsonShape:
    """Measure ``text`` in time linear in its length; the depth only when it could exceed ``max_depth``."""
    stripped = text.replace(b"\\\\", b"__").replace(b"\\\"", b"__")
    parts = stripped.split(b'"')
    outside = b"".join(parts[0::2])
    bodies = parts[1::2]
    containers = outside.count(b"{") + outside.count(b"[")
    values = outside.count(b",") + containers + 1
    longest = max(map(len, bodies), default=0)
    depth = _depth(outside) if containers > max_depth else containers
    return JsonShape(
        size=len(text),
        values=values,
        longest_string=longest,
        depth=depth,
        terminated=len(parts) % 2 == 1,
    )
