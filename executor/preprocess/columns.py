"""Column selectors (``all_numeric``, ``all_categorical``, ``all``, a name or a list) resolved on a frame."""

from __future__ import annotations

from typing import Any

import pandas as pd

from executor.echo import listing

__all__ = ["ColumnsNotFound", "categorical_columns", "numeric_columns", "resolve_columns"]


class ColumnsNotFound(KeyError):
    """Named columns that are not in the data; the message lists the available ones."""

    def __init__(self, missing: list[str], available: list[str]) -> None:
        self.missing = missing
        self.available = available
        super().__init__(f"column(s) {listing(missing, quote=True)} not found (available: {listing(available)})")

    def __str__(self) -> str:
        return str(self.args[0])


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """Numeric, non-boolean columns."""
    return [c for c in frame.columns
            if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])]


def categorical_columns(frame: pd.DataFrame) -> list[str]:
    """String, object, category and boolean columns."""
    numeric = set(numeric_columns(frame))
    return [c for c in frame.columns if c not in numeric and not pd.api.types.is_datetime64_any_dtype(frame[c])]


def resolve_columns(selector: Any, frame: pd.DataFrame, *, exclude: str | None = None,
                    default: Any = "all_numeric") -> list[str]:
    """The columns ``selector`` names in ``frame``; the target (``exclude``) is never included.

    None or an empty list means ``default``. An explicit name missing from the frame raises
    :class:`ColumnsNotFound`.
    """
    if selector is None or (isinstance(selector, list) and not selector) or selector == "":
        selector = default
    if selector is None or (isinstance(selector, list) and not selector):
        return []
    if selector == "all_numeric":
        cols = numeric_columns(frame)
    elif selector == "all_categorical":
        cols = categorical_columns(frame)
    elif selector == "all":
        cols = list(frame.columns)
    else:
        names = [selector] if isinstance(selector, str) else list(selector)
        missing = [n for n in names if n not in frame.columns and n != exclude]
        if missing:
            raise ColumnsNotFound(missing, [str(c) for c in frame.columns if c != exclude])
        cols = names
    return [c for c in cols if c != exclude]
