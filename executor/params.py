"""Safe parsing of hyperparameter values sent by the UI: declared constraints, coercion, no eval.

Every string is parsed in one linear pass by hand-written code (no regular expression), and only
after its length is checked against limits.toml ``[request] max_param_chars``; every value a
message quotes is cut by :func:`executor.echo.shown`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from executor.echo import shown, too_long

__all__ = [
    "NONE_STRINGS",
    "Param",
    "ParamError",
    "is_none",
    "parse_batch_size",
    "parse_hidden_layer_sizes",
]

NONE_STRINGS = frozenset({"none", "null", "nan", ""})
"""Strings (case-insensitive, stripped) the UI or the backend use to mean "no value"."""

_OPEN = "(["
_CLOSE = ")]"


class ParamError(ValueError):
    """A value that no normalisation can turn into a valid hyperparameter."""


def is_none(value: Any) -> bool:
    """True for None and the strings that mean None ("none", "None", "null", "")."""
    return value is None or (isinstance(value, str) and value.strip().lower() in NONE_STRINGS)


def _check_length(value: Any, name: str) -> None:
    """Refuse a string longer than ``[request] max_param_chars`` before anything parses it."""
    if isinstance(value, str):
        reason = too_long(value, name)
        if reason is not None:
            raise ParamError(reason)


def _to_number(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise ParamError(f"must be a number. Got {shown(value)} instead.")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ParamError(f"must be a number. Got {shown(value)} instead.")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.strip().lower() in ("true", "1", "yes")
    raise ParamError(f"must be true or false. Got {shown(value)} instead.")


@dataclass(frozen=True)
class Param:
    """One hyperparameter's declared constraint, in the spirit of scikit-learn's ``_parameter_constraints``.

    ``kind`` is "int", "float", "bool" or "str". Numbers must lie in [``low``, ``high``]
    (``low_open``/``high_open`` make an end exclusive). ``options`` lists the accepted strings
    (compared case-insensitively); ``aliases`` maps other strings onto them (``"auto"`` → None).
    ``none_ok`` says None is a meaningful value (e.g. ``max_depth``: no limit); otherwise a null
    or "none" value falls back to ``default`` with a note. ``also`` lets a numeric parameter also
    accept some strings (``gamma``: "scale"/"auto").
    """

    kind: str
    default: Any
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    options: tuple[str, ...] = ()
    aliases: tuple[tuple[str, Any], ...] = ()
    none_ok: bool = False
    also: tuple[str, ...] = ()

    def describe(self) -> str:
        """The constraint in words, for error messages."""
        parts: list[str] = []
        if self.kind in ("int", "float"):
            lo = "-inf" if self.low is None else f"{self.low:g}"
            hi = "inf" if self.high is None else f"{self.high:g}"
            br = ("(" if self.low_open else "[") + f"{lo}, {hi}" + (")" if self.high_open else "]")
            parts.append(f"{'an int' if self.kind == 'int' else 'a float'} in {br}")
        elif self.kind == "bool":
            parts.append("true or false")
        if self.options or self.also:
            parts.append("one of " + ", ".join(repr(o) for o in (*self.options, *self.also)))
        if self.none_ok:
            parts.append("null")
        return " or ".join(parts)

    def coerce(self, value: Any, name: str) -> tuple[Any, list[str]]:
        """The clean value and notes about normalisation; raises ParamError when invalid.

        A string longer than ``[request] max_param_chars`` is refused before it is looked at.
        """
        _check_length(value, name)
        notes: list[str] = []
        if isinstance(value, str):
            key = value.strip().lower()
            for alias, target in self.aliases:
                if key == alias:
                    return target, notes
        if is_none(value) or (isinstance(value, float) and math.isnan(value)):
            if self.none_ok:
                return None, notes
            if value is not None and self.kind == "str" and not value.strip():
                raise ParamError(f"must be {self.describe()}. Got {shown(value)} instead.")
            notes.append(f"hyperparameter {shown(name)} was empty; the default {shown(self.default)} is used")
            return self.default, notes
        if self.kind == "bool":
            return _to_bool(value), notes
        if self.kind == "str" or (isinstance(value, str) and self.also):
            if isinstance(value, str):
                key = value.strip()
                for opt in (*self.options, *self.also):
                    if key.lower() == opt.lower():
                        return opt, notes
                if self.kind == "str":
                    raise ParamError(f"must be {self.describe()}. Got {shown(value)} instead.")
            elif self.kind == "str":
                raise ParamError(f"must be {self.describe()}. Got {shown(value)} instead.")
        try:
            number = _to_number(value, name)
        except ParamError:
            raise ParamError(f"must be {self.describe()}. Got {shown(value)} instead.") from None
        if not math.isfinite(number):
            raise ParamError(f"must be {self.describe()}. Got {shown(value)} instead.")
        out: Any = number
        if self.kind == "int":
            out = int(round(number))
            if out != number:
                notes.append(f"hyperparameter {shown(name)} must be a whole number; {shown(value)} was rounded to {out}")
        self._check_range(out, value)
        return out, notes

    def _check_range(self, number: float, raw: Any) -> None:
        low_bad = self.low is not None and (number <= self.low if self.low_open else number < self.low)
        high_bad = self.high is not None and (number >= self.high if self.high_open else number > self.high)
        if low_bad or high_bad:
            raise ParamError(f"must be {self.describe()}. Got {shown(raw)} instead.")


_LAYERS_HINT = "must be layer sizes such as '(100,)' or '(100, 50)'"


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _layer_tokens(text: str) -> list[str] | None:
    """The digit runs of a layer-sizes string, or None when the string is anything else.

    Grammar (spaces = any Unicode whitespace, digits = any Unicode decimal digit)::

        spaces [ "(" | "[" ] spaces  number { separator number }  spaces [","] spaces  [ ")" | "]" ] spaces
        separator = spaces "," spaces | one or more spaces

    One left-to-right pass; each character is looked at a bounded number of times, so the cost
    is linear in the length whatever the string holds (no regular expression, no backtracking).
    """
    n = len(text)
    i = _skip_space(text, 0)
    if i < n and text[i] in _OPEN:
        i = _skip_space(text, i + 1)
    numbers: list[str] = []
    while i < n and text[i].isdecimal():
        start = i
        while i < n and text[i].isdecimal():
            i += 1
        numbers.append(text[start:i])
        i = _skip_space(text, i)
        if i < n and text[i] == ",":  # a separator, or the trailing comma of "(100,)"
            i = _skip_space(text, i + 1)
    if i < n and text[i] in _CLOSE:
        i = _skip_space(text, i + 1)
    return numbers if numbers and i == n else None


def parse_hidden_layer_sizes(value: Any) -> tuple[int, ...]:
    """Layer sizes from "(100,)", "(100, 50)", "100,50", "100 50", a list, a tuple or an int.

    Only digits, separators and brackets are accepted; nothing is ever evaluated, so an
    expression such as ``"__import__('os').getpid() and (7,)"`` is refused as text. A string
    longer than ``[request] max_param_chars`` is refused before it is parsed, and the parse is
    one linear pass (:func:`_layer_tokens`).
    """
    sizes: list[Any]
    if isinstance(value, bool):
        raise ParamError(f"{_LAYERS_HINT}. Got {shown(value)} instead.")
    if isinstance(value, (int, float)):
        sizes = [value]
    elif isinstance(value, (list, tuple)):
        sizes = list(value)
    elif isinstance(value, str):
        _check_length(value, "hidden_layer_sizes")
        tokens = _layer_tokens(value)
        if tokens is None:
            raise ParamError(f"{_LAYERS_HINT}. Got {shown(value)} instead.")
        try:
            sizes = [int(tok) for tok in tokens]
        except ValueError:  # more digits than Python converts (sys.int_info.str_digits_check_threshold)
            raise ParamError(f"every layer size must be a positive integer. Got {shown(value)} instead.") from None
    else:
        raise ParamError(f"{_LAYERS_HINT}. Got {shown(value)} instead.")
    return _positive_ints(sizes, value)


def _positive_ints(items: Iterable[Any], raw: Any) -> tuple[int, ...]:
    out: list[int] = []
    for item in items:
        if (isinstance(item, bool) or not isinstance(item, (int, float)) or not math.isfinite(item)
                or item != int(item) or item < 1):
            raise ParamError(f"every layer size must be a positive integer. Got {shown(raw)} instead.")
        out.append(int(item))
    if not out:
        raise ParamError(f"needs at least one layer size. Got {shown(raw)} instead.")
    return tuple(out)


def parse_batch_size(value: Any) -> int | str:
    """``"auto"`` or a positive integer (a digit string such as "64" becomes 64)."""
    _check_length(value, "batch_size")
    if is_none(value):
        return "auto"
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "auto":
            return "auto"
        if text.isdecimal():  # isdecimal: only characters int() reads ("²" is a digit, not a decimal)
            try:
                number = int(text)
            except ValueError:  # more digits than Python converts
                number = 0
            if number >= 1:
                return number
    elif (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
          and value == int(value) and value >= 1):
        return int(value)
    raise ParamError(f"must be 'auto' or a positive integer. Got {shown(value)} instead.")
