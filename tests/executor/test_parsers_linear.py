"""Every parser of a user string is linear and length-capped; every echo of one is cut.

Finding reproduced: ``hidden_layer_sizes = "1  1  1 … 1x"`` (numbers separated by runs of spaces,
ending with a bad character) made the old regular expression backtrack exponentially; two
~120-byte requests held both job slots for a minute. The parser is now one hand-written pass, and
any string longer than ``[request] max_param_chars`` is refused before it is parsed. These tests
assert outcomes, never wall time: a parser that backtracked again would not finish them.
"""

from __future__ import annotations

import math
import random
import re
import uuid
from typing import Any

import pytest

from executor.echo import ELLIPSIS, capped, clip, listing, shown, tag, text_limits, text_limits_in_force
from executor.limits import TextLimits
from executor.params import Param, ParamError, parse_batch_size, parse_hidden_layer_sizes
from executor.preprocess.vocab import OpParamError, normalise_op

LIMITS = TextLimits()
REDOS = "1  " * 40 + "1x"
"""The attacker's string: ~120 bytes, many numbers, runs of spaces, an invalid last character."""

LAYER_CASES: list[tuple[str, Any, Any]] = [
    # (name, value, expected sizes, or a fragment of the ParamError)
    ("the ReDoS string", REDOS, "must be layer sizes"),
    ("the ReDoS string, past max_param_chars", "1  " * 2000 + "1x", "max_param_chars"),
    ("a run of spaces then a bad char", "1" + " " * 250 + "x", "must be layer sizes"),
    ("runs of comma-space separators", "1" + ", " * 100 + "x", "must be layer sizes"),
    ("separators of every kind", "1\t\n2\r\n3 ,\u00a04", (1, 2, 3, 4)),
    ("only spaces", " " * 200, "must be layer sizes"),
    ("only spaces, past the cap", " " * 10_000, "max_param_chars"),
    ("nested brackets", "(" * 100 + "1" + ")" * 100, "must be layer sizes"),
    ("nested brackets, past the cap", "[" * 5000 + "1" + "]" * 5000, "max_param_chars"),
    ("10k digits", "9" * 10_000, "max_param_chars"),
    ("250 digits", "9" * 250, (int("9" * 250),)),
    ("arabic-indic digits", "(١٢٨, ٦٤)", (128, 64)),
    ("devanagari digits", "१०", (10,)),
    ("fullwidth digits", "\uff11\uff10\uff10", (100,)),
    ("a superscript is a digit but not a decimal", "²", "must be layer sizes"),
    ("a roman numeral", "Ⅻ", "must be layer sizes"),
    ("mixed brackets (the old grammar took them)", "(100]", (100,)),
    ("a closing bracket alone", "100)", (100,)),
    ("a trailing comma after spaces", "1 2 ,", (1, 2)),
    ("a double comma", "1,,2", "must be layer sizes"),
    ("a leading comma", "(,1)", "must be layer sizes"),
    ("empty brackets", "()", "must be layer sizes"),
    ("zero", "(0,)", "positive integer"),
    ("code", "__import__('os').getpid() and (7,)", "must be layer sizes"),
    ("infinity", math.inf, "positive integer"),
    ("NaN in a list", [math.nan], "positive integer"),
]


@pytest.mark.parametrize("name, value, expected", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_layer_sizes_parse_or_a_coded_refusal(name: str, value: Any, expected: Any) -> None:
    if isinstance(expected, tuple):
        assert parse_hidden_layer_sizes(value) == expected
        return
    with pytest.raises(ParamError, match=expected) as exc:
        parse_hidden_layer_sizes(value)
    assert len(str(exc.value)) <= 2 * LIMITS.max_echo_chars + 200, "the refusal echoes the whole value"


def test_an_over_long_layer_string_names_parameter_value_and_limit() -> None:
    value = "1  " * 2000 + "1x"
    with pytest.raises(ParamError) as exc:
        parse_hidden_layer_sizes(value)
    text = str(exc.value)
    assert "hidden_layer_sizes" in text and f"{len(value)} characters" in text
    assert f"limit of {LIMITS.max_param_chars}" in text and "[request] max_param_chars" in text
    assert "'1  1" in text and ELLIPSIS in text  # the value, cut


def test_the_parser_stays_linear_far_past_the_default_cap() -> None:
    """With the cap raised to its maximum, 90 KB of the attack pattern is still refused in one pass."""
    with text_limits_in_force(TextLimits(max_param_chars=100_000)):
        with pytest.raises(ParamError, match="must be layer sizes"):
            parse_hidden_layer_sizes("1  " * 30_000 + "1x")
        assert parse_hidden_layer_sizes(" 1," * 30_000) == (1,) * 30_000
        with pytest.raises(ParamError, match="positive integer"):  # past Python's int digit limit
            parse_hidden_layer_sizes("9" * 50_000)


OLD_GRAMMAR = re.compile(r"^\s*[\(\[]?\s*(\d+(?:\s*[,\s]\s*\d+)*)?\s*,?\s*[\)\]]?\s*$")
"""The removed (backtracking) pattern, kept here only as the reference for what was accepted.
It is run on strings of at most 10 characters, where backtracking costs nothing."""


def _old_parse(text: str) -> tuple[int, ...] | None:
    match = OLD_GRAMMAR.match(text)
    if match is None or match.group(1) is None:
        return None
    sizes = tuple(int(tok) for tok in re.split(r"[,\s]+", match.group(1).strip()))
    return sizes if all(s >= 1 for s in sizes) else None


def test_every_form_the_old_grammar_accepted_is_still_accepted_and_nothing_more() -> None:
    alphabet = ["1", "2", "0", "٣", " ", "\t", "\u00a0", ",", "(", ")", "[", "]", "x", "²", "-", "."]
    rng = random.Random(20240601)
    for _ in range(30_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        try:
            got: tuple[int, ...] | None = parse_hidden_layer_sizes(text)
        except ParamError:
            got = None
        assert got == _old_parse(text), repr(text)


BATCH_CASES: list[tuple[str, Any, Any]] = [
    ("auto", " AUTO ", "auto"),
    ("digits", "64", 64),
    ("arabic-indic digits", "٣٢", 32),
    ("a superscript (int() cannot read it)", "²", "positive integer"),
    ("the ReDoS string", REDOS, "positive integer"),
    ("past max_param_chars", "9" * 300, "max_param_chars"),
    ("NaN", math.nan, "positive integer"),
    ("infinity", math.inf, "positive integer"),
]


@pytest.mark.parametrize("name, value, expected", BATCH_CASES, ids=[c[0] for c in BATCH_CASES])
def test_batch_size_parse_or_a_coded_refusal(name: str, value: Any, expected: Any) -> None:
    if not isinstance(expected, str) or expected == "auto":
        assert parse_batch_size(value) == expected
        return
    with pytest.raises(ParamError, match=expected):
        parse_batch_size(value)


PARAM_CASES: list[tuple[str, Param, Any, Any]] = [
    ("a number past the cap", Param("float", 1.0, low=0), "1" * 300, "max_param_chars"),
    ("an option past the cap", Param("str", "a", options=("a",)), "a" * 300, "max_param_chars"),
    ("the ReDoS string as a number", Param("float", 1.0), REDOS, "must be a float"),
    ("a spaced number", Param("int", 5, low=1), "  7  ", 7),
    ("a bool past the cap", Param("bool", True), "true" + " " * 300, "max_param_chars"),
]


@pytest.mark.parametrize("name, param, value, expected", PARAM_CASES, ids=[c[0] for c in PARAM_CASES])
def test_declared_constraints_cap_strings_before_parsing(name: str, param: Param, value: Any, expected: Any) -> None:
    if not isinstance(expected, str):
        assert param.coerce(value, "x")[0] == expected
        return
    with pytest.raises(ParamError, match=expected) as exc:
        param.coerce(value, "alpha")
    if expected == "max_param_chars":
        assert "alpha" in str(exc.value)


OP_CASES: list[tuple[str, str, dict[str, Any], Any]] = [
    # (name, op type, params, expected params subset, or (field, fragment) of the OpParamError)
    ("quantiles as text", "binning_quantile", {"quantiles": "0.25, 0.5"}, {"quantiles": [0.25, 0.5]}),
    ("quantiles past the cap", "binning_quantile", {"quantiles": "0.1," * 100}, ("quantiles", "max_param_chars")),
    ("quantiles of separators", "binning_quantile", {"quantiles": ", " * 100 + "x"}, ("quantiles", "numbers")),
    ("a suffix past the cap", "log_transform", {"suffix": "_" * 300}, ("suffix", "max_param_chars")),
    ("a choice past the cap", "fill_missing", {"strategy": "mean" + " " * 300}, ("strategy", "max_param_chars")),
    ("a long column name is a name, not parsed", "drop_columns", {"columns": ["c" * 5000]},
     {"columns": ["c" * 5000]}),
    ("an unknown op", "x" * 10_000, {}, ("type", "unknown preprocessing operation")),
]


@pytest.mark.parametrize("name, op_type, params, expected", OP_CASES, ids=[c[0] for c in OP_CASES])
def test_op_params_parse_or_a_coded_refusal(name: str, op_type: str, params: dict[str, Any], expected: Any) -> None:
    if isinstance(expected, dict):
        op = normalise_op(op_type, params)
        assert {k: op.params[k] for k in expected} == expected
        return
    field, fragment = expected
    with pytest.raises(OpParamError, match=fragment) as exc:
        normalise_op(op_type, params)
    assert exc.value.field == field
    assert len(str(exc.value)) <= 2 * LIMITS.max_echo_chars + 200


def test_an_op_type_padded_with_spaces_is_named_by_its_registry_key() -> None:
    op = normalise_op(" " * 10_000 + "SCALE_Standard\t", {})
    assert op.source == "scale_standard"


def test_the_valid_op_list_is_a_hint_said_apart_from_the_message() -> None:
    with pytest.raises(OpParamError) as exc:
        normalise_op("bogus", {})
    assert "Valid operations" not in str(exc.value)
    assert exc.value.hint is not None and exc.value.hint.startswith("Valid operations: ")
    assert f"{ELLIPSIS} and " in exc.value.hint  # the list itself is cut to max_problems names


UUID_CASES = [
    (str(uuid.UUID(int=1)), True),
    (str(uuid.UUID(int=2**128 - 1)).upper(), True),
    ("g" + str(uuid.UUID(int=3))[1:], False),
    (str(uuid.UUID(int=4)).replace("-", "_"), False),
    ("-" * 36, False),
    ("a" * 36, False),
    ("١" * 36, False),
    ("a-" * 100_000, False),
    ("iris", False),
]


@pytest.mark.parametrize("text, expected", UUID_CASES, ids=[f"uuid{i}" for i in range(len(UUID_CASES))])
def test_user_dataset_ids_are_recognised_without_a_regex(text: str, expected: bool) -> None:
    from executor.datasets import _is_uuid

    assert _is_uuid(text) is expected


# -- the echo helpers -----------------------------------------------------------------------------

SMALL = TextLimits(max_problems=3, max_echo_chars=16, max_param_chars=16)


@pytest.mark.parametrize("call, expected", [
    (lambda: clip("a" * 100), "a" * 15 + ELLIPSIS),
    (lambda: clip("short"), "short"),
    (lambda: shown("b" * 10**6), "'" + "b" * 14 + ELLIPSIS),
    (lambda: shown(12), "12"),
    (lambda: shown(None), "None"),
    (lambda: tag("n" * 7000), "[" + "n" * 15 + ELLIPSIS + "]"),
    (lambda: listing(["x", "y"]), "x, y"),
    (lambda: listing(range(10)), f"0, 1, 2, {ELLIPSIS} and 7 more"),
    (lambda: listing(["q" * 50], quote=True), "'" + "q" * 14 + ELLIPSIS),
    (lambda: capped(list(range(10))), ([0, 1, 2], 7)),
], ids=["clip", "clip-short", "shown-str", "shown-int", "shown-none", "tag", "listing", "listing-more",
        "listing-quoted", "capped"])
def test_echo_helpers_cut_to_the_limits_in_force(call: Any, expected: Any) -> None:
    with text_limits_in_force(SMALL):
        assert call() == expected
    assert text_limits() == TextLimits()  # restored after the block


def test_shown_reads_only_what_it_shows_of_huge_or_deep_values() -> None:
    deep: Any = "x"
    for _ in range(10_000):
        deep = [deep]
    value = {"k": list(range(10**6)), "deep": deep}
    with text_limits_in_force(SMALL):
        assert len(shown(value)) <= SMALL.max_echo_chars
        assert shown(10**5000) == "<int>"  # past Python's int-to-text digit limit: named, never a crash
