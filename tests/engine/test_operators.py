"""Operators: each compares as documented, and none raises on odd input."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.engine.operators import OPERATORS, parse_duration

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def op(name: str, actual: Any, expected: Any = None) -> bool:
    return OPERATORS[name].func(actual, expected, NOW)


@pytest.mark.parametrize(("name", "actual", "expected", "result"), [
    ("eq", 2, 2.0, True), ("eq", "Enabled", "enabled", False), ("ne", "a", "b", True),
    ("ge", 2, 2, True), ("ge", 1, 2, False), ("ge", None, 2, False), ("ge", True, 0, False),
    ("lt", "3", 4, True), ("between", 70, [65, 75], True), ("between", 17.5, [65, 75], False),
    ("in", "ml.m5.large", ["ml.m5.large"], True), ("not-in", "Rejected", ["Approved"], True),
    ("in-ci", "PROD", ["prod"], True), ("regex", "models/a/v1.0.0/x", r"^models/", True),
    ("regex", None, ".*", False), ("glob-any", "123.dkr.ecr.us-east-1.amazonaws.com/a", ["123.dkr.ecr.*/a"], True),
    ("contains", ["ModelLatency"], "ModelLatency", True), ("contains-all", ["p50", "p99"], ["p50", "p95"], False),
    ("older-than", "2026-11-20T00:00:00Z", "24h", True), ("older-than", "2026-11-25T06:00:00Z", "24h", False),
    ("newer-than", "2026-11-25T06:00:00+00:00", "1d", True), ("older-than", "not a time", "1h", False),
    ("official-registry-for", "763104351884", "us-east-1", True),
    ("official-registry-for", "123456789012", "us-east-1", False),
    ("official-registry-for", "683313688378", "eu-west-1", False),
])
def test_operator_semantics(name: str, actual: Any, expected: Any, result: bool) -> None:
    assert op(name, actual, expected) is result


# Every comparison at its threshold and just past it: `ge` written as `gt` (or a window off by one) must fail here.
BOUNDARIES = [
    ("ge", 2, 2, True), ("ge", 1.999, 2, False), ("gt", 2, 2, False), ("gt", 2.001, 2, True),
    ("le", 2, 2, True), ("le", 2.001, 2, False), ("lt", 2, 2, False), ("lt", 1.999, 2, True),
    ("between", 65, [65, 75], True), ("between", 75, [65, 75], True), ("between", 64.999, [65, 75], False),
    ("between", 75.001, [65, 75], False),
    ("older-than", "2026-11-24T12:00:00Z", "24h", False), ("older-than", "2026-11-24T11:59:59Z", "24h", True),
    ("newer-than", "2026-11-24T12:00:00Z", "24h", True), ("newer-than", "2026-11-24T11:59:59Z", "24h", False),
]


@pytest.mark.parametrize(("name", "actual", "expected", "result"), BOUNDARIES)
def test_comparisons_at_and_just_past_the_threshold(name: str, actual: Any, expected: Any, result: bool) -> None:
    assert op(name, actual, expected) is result


def test_every_operator_has_semantic_cases() -> None:
    import inspect

    source = inspect.getsource(inspect.getmodule(test_every_operator_has_semantic_cases))  # type: ignore[arg-type]
    missing = [name for name in OPERATORS if f'("{name}", ' not in source]
    assert not missing, f"operators without a semantics case: {missing}"


@pytest.mark.parametrize(("name", "actual", "result"), [
    ("present", {"a": 1}, True), ("present", {}, False), ("present", 0, True), ("present", False, False),
    ("absent", None, True), ("absent", "", True), ("true", True, True), ("true", "true", False),
    ("false", False, True), ("false", None, False),
])
def test_valueless_operators(name: str, actual: Any, result: bool) -> None:
    assert op(name, actual) is result


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "400")))
@given(st.sampled_from(sorted(OPERATORS)),
       st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20),
                 st.lists(st.text(max_size=5), max_size=3), st.dictionaries(st.text(max_size=3), st.integers())),
       st.one_of(st.none(), st.integers(), st.text(max_size=10), st.lists(st.integers(), max_size=3)))
def test_operators_return_bool_and_never_raise_on_odd_values(name: str, actual: Any, expected: Any) -> None:
    if name in ("older-than", "newer-than", "regex") and isinstance(expected, str):
        expected = "1h" if name != "regex" else "^x"
    if name in ("older-than", "newer-than") and not isinstance(expected, str):
        expected = "1h"
    got = op(name, actual, expected)
    assert isinstance(got, bool)
    # ... and each operator keeps its meaning on odd values: complements are complements, bounds nest.
    if name in COMPLEMENT:
        assert op(COMPLEMENT[name], actual, expected) is (not got), (COMPLEMENT[name], actual, expected)
    if name in ("lt", "gt") and got:
        assert op(name[0] + "e", actual, expected) and not op("eq", actual, expected)
    if name in ("lt", "le", "gt", "ge") and got:
        assert actual is not None and not isinstance(actual, bool) and not isinstance(expected, bool | type(None))
    if name == "in" and got:
        assert isinstance(expected, list) and actual in expected and op("in-ci", actual, expected)


# Pairs whose answers are each other's negation on any input (not-in is in's complement only for a list value).
COMPLEMENT = {"eq": "ne", "ne": "eq", "present": "absent", "absent": "present"}


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "400")))
@given(st.one_of(st.integers(-5, 5), st.floats(-5, 5, allow_nan=False)),
       st.one_of(st.integers(-5, 5), st.floats(-5, 5, allow_nan=False)))
def test_numeric_comparisons_agree_with_python_on_numbers(a: float, e: float) -> None:
    assert (op("lt", a, e), op("le", a, e), op("gt", a, e), op("ge", a, e), op("eq", a, e)) == (
        a < e, a <= e, a > e, a >= e, a == e)
    assert op("in", a, [e]) is (a == e) and op("not-in", a, [e]) is (a != e)


def test_durations() -> None:
    assert parse_duration("24h") == dt.timedelta(hours=24)
    assert parse_duration("14d") == dt.timedelta(days=14)
    with pytest.raises(ValueError, match="bad duration"):
        parse_duration("forever")


def test_a_duration_is_bounded_in_length_and_in_size() -> None:
    """Rule parameters can be overridden: a long or huge duration is refused with its text, never overflows."""
    assert parse_duration("0" * 38 + "1h") == dt.timedelta(hours=1)  # 40 characters: read
    with pytest.raises(ValueError) as exc:
        parse_duration("0" * 39 + "1h")  # 41: refused, and the message quotes at most 40
    assert str(exc.value) == f"bad duration {'0' * 39 + '1'!r}: use a number and m/h/d/w, e.g. 24h or 14d"
    assert parse_duration("3650d") == dt.timedelta(days=3650)  # exactly the 10-year limit
    with pytest.raises(ValueError) as exc:
        parse_duration(" 3651d ")
    assert str(exc.value) == "duration '3651d' is longer than the 10-year limit"


def test_a_timestamp_without_a_zone_is_utc_and_an_offset_is_honoured() -> None:
    """Collectors hand over naive, Z and offset timestamps alike; all are instants, compared in UTC."""
    hour_before = (NOW - dt.timedelta(hours=1)).astimezone(dt.UTC)
    naive = hour_before.replace(tzinfo=None).isoformat()
    zulu = hour_before.isoformat().replace("+00:00", "Z")
    offset = hour_before.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat()
    for stamp in (naive, zulu, offset):
        assert op("older-than", stamp, "59m") and not op("older-than", stamp, "1h"), stamp
        assert op("newer-than", stamp, "1h") and not op("newer-than", stamp, "59m"), stamp
    assert not op("older-than", "yesterday", "1h") and not op("newer-than", 1700000000, "1h")
