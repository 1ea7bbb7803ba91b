"""Where the engine's guards live, for the sabotage switch, and attacker-side helpers.

The names below are looked up, not imported: a name missing from the engine makes the sabotage of
that guard patch nothing, and .ci/sabotage then reports the guard's deny tests as unable to fail.
"""

from __future__ import annotations

from typing import Any

SAMPLE_LOADERS: list[tuple[str, str]] = []
"""(module, function) that turn a dataset id into a frame."""

URL_CHECKERS: list[tuple[str, str]] = []
"""(module, function) that refuse a URL or an address (raise on refusal, return on success)."""


def dataset_id_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    for value in (*args, *kwargs.values()):
        if isinstance(value, str):
            return value
        ident = getattr(value, "dataset_id", None)
        if isinstance(ident, str):
            return ident
    return None


def wrap_frame(original: Any, args: Any, kwargs: Any, frame: Any) -> Any:
    return frame
