"""Safe parsing helpers: layer sizes, batch size, the None strings and declared constraints."""

from __future__ import annotations

import pytest

from executor.params import Param, ParamError, is_none, parse_batch_size, parse_hidden_layer_sizes


@pytest.mark.parametrize("value, expected", [
    ("(100,)", (100,)), ("(100, 50)", (100, 50)), ("(128, 64, 32)", (128, 64, 32)), ("[64, 32]", (64, 32)),
    ("100,50", (100, 50)), ("100 50", (100, 50)), (" 7 ", (7,)), ([10, 5], (10, 5)), ((3,), (3,)),
    (30, (30,)), (30.0, (30,)),
])
def test_layer_sizes_are_parsed_from_every_accepted_form(value, expected):
    assert parse_hidden_layer_sizes(value) == expected


@pytest.mark.parametrize("value", [
    "__import__('os').getpid() and (7,)", "(100,) + (5,)", "()", "(-1,)", "(0,)", "1e3", "abc", "[[1]]",
    [1.5], [], True, None, {"a": 1}, "(100,);import os",
])
def test_anything_else_is_refused_as_text(value):
    with pytest.raises(ParamError):
        parse_hidden_layer_sizes(value)


@pytest.mark.parametrize("value, expected", [("auto", "auto"), ("AUTO", "auto"), ("64", 64), (32, 32), (128.0, 128),
                                             (None, "auto"), ("none", "auto")])
def test_batch_size_is_auto_or_an_int(value, expected):
    assert parse_batch_size(value) == expected


@pytest.mark.parametrize("value", ["0", "-3", "3.5", "big", 0, True])
def test_bad_batch_sizes_are_refused(value):
    with pytest.raises(ParamError, match="'auto' or a positive integer"):
        parse_batch_size(value)


@pytest.mark.parametrize("value", [None, "none", "None", "null", "NULL", " none "])
def test_none_strings_mean_none(value):
    assert is_none(value)


@pytest.mark.parametrize("param, value, expected, note", [
    (Param("int", 5, low=1), 5.0, 5, None),
    (Param("int", 5, low=1), 5.5, 6, "rounded to 6"),
    (Param("int", 5, low=1), "7", 7, None),
    (Param("int", 5, low=1), None, 5, "was empty"),
    (Param("int", 5, low=1, none_ok=True), None, None, None),
    (Param("int", 5, low=1, none_ok=True), "None", None, None),
    (Param("float", 1.0, low=0), 0, 0.0, None),
    (Param("bool", True), "false", False, None),
    (Param("str", "a", options=("a", "B")), "b", "B", None),
    (Param("float", None, also=("sqrt",), none_ok=True, aliases=(("auto", None),)), "auto", None, None),
])
def test_declared_constraints_coerce_ui_values(param, value, expected, note):
    got, notes = param.coerce(value, "x")
    assert got == expected
    assert (note is None and not notes) or any(note in n for n in notes)


@pytest.mark.parametrize("param, value, match", [
    (Param("int", 5, low=1), 0, r"an int in \[1, inf\]. Got 0 instead"),
    (Param("float", 1, low=0, low_open=True), 0, r"\(0, inf\]"),
    (Param("float", 1, low=0, high=1), float("nan"), None),
    (Param("int", 5), True, "Got True instead"),
    (Param("str", "a", options=("a",)), 3, "one of 'a'"),
])
def test_declared_constraints_refuse_bad_values(param, value, match):
    if match is None:  # NaN counts as empty: falls back to the default
        assert param.coerce(value, "x")[0] == 1
        return
    with pytest.raises(ParamError, match=match):
        param.coerce(value, "x")
