"""Operator registry: each operator compares an attribute's actual value with the rule's expected value."""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import operator as operator_
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Operator:
    name: str
    func: Callable[[Any, Any, dt.datetime], bool]
    needs_value: bool
    doc: str
    example: str


OPERATORS: dict[str, Operator] = {}


def operator(name: str, doc: str, example: str, needs_value: bool = True) -> Callable[..., Any]:
    def wrap(func: Callable[[Any, Any, dt.datetime], bool]) -> Callable[[Any, Any, dt.datetime], bool]:
        if name in OPERATORS:
            raise ValueError(f"operator {name!r} registered twice")
        OPERATORS[name] = Operator(name, func, needs_value, doc, example)
        return func
    return wrap


def _num(x: Any) -> float | None:
    kind = x.__class__
    if kind is float:  # the common cases first: a comparison asks this of every value it meets
        return x
    if kind is int:
        return float(x)
    if isinstance(x, bool) or x is None:
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def _cmp(pred: Callable[[float, float], bool]) -> Callable[[Any, Any, dt.datetime], bool]:
    def f(actual: Any, expected: Any, _now: dt.datetime) -> bool:
        a = _num(actual)
        if a is None:
            return False
        e = _num(expected)
        return e is not None and pred(a, e)
    return f


def _norm(x: Any) -> Any:
    return x.lower() if isinstance(x, str) else x


for _name, _pred, _doc in [
    ("lt", operator_.lt, "actual < value (numbers)"),
    ("le", operator_.le, "actual <= value (numbers)"),
    ("gt", operator_.gt, "actual > value (numbers)"),
    ("ge", operator_.ge, "actual >= value (numbers)"),
]:
    operator(_name, _doc, f"{{attr: current_instance_count, op: {_name}, value: 2}}")(_cmp(_pred))


@operator("eq", "actual equals value (strings compare case-sensitively)", "{attr: status, op: eq, value: InService}")
def _eq(actual: Any, expected: Any, _now: dt.datetime) -> bool:
    a = _num(actual)
    if a is not None:
        e = _num(expected)
        if e is not None:
            return a == e
    return bool(actual == expected)


@operator("ne", "actual differs from value", "{attr: status, op: ne, value: Failed}")
def _ne(actual: Any, expected: Any, now: dt.datetime) -> bool:
    return not _eq(actual, expected, now)


@operator("in", "actual is one of the listed values", "{attr: instance_type, op: in, value: [ml.m5.large]}")
def _in(actual: Any, expected: Any, _now: dt.datetime) -> bool:
    return isinstance(expected, list) and actual in expected


@operator("not-in", "actual is none of the listed values", "{attr: approval_status, op: not-in, value: [Rejected]}")
def _not_in(actual: Any, expected: Any, now: dt.datetime) -> bool:
    return isinstance(expected, list) and actual not in expected


@operator("in-ci", "actual is one of the values, ignoring case", "{tag: environment, op: in-ci, value: [prod]}")
def _in_ci(actual: Any, expected: Any, _now: dt.datetime) -> bool:
    return isinstance(expected, list) and _norm(actual) in [_norm(e) for e in expected]


@operator("regex", "actual (a string) matches the regular expression from its start",
          "{attr: key, op: regex, value: '^models/'}")
def _regex(actual: Any, expected: Any, _now: dt.datetime) -> bool:
    if not isinstance(actual, str) or not isinstance(expected, str):
        return False
    try:
        return re.match(expected, actual) is not None
    except re.error:  # literal patterns are checked at load time; this guards overridden parameters
        return False


@operator("glob-any", "actual matches any of the shell-style patterns",
          "{attr: image_location, op: glob-any, value: ['123456789012.dkr.ecr.*.amazonaws.com/ml/*']}")
def _glob_any(actual: Any, expected: Any, _now: dt.datetime) -> bool:
    if not isinstance(actual, str) or not isinstance(expected, list):
        return False
    return any(fnmatch.fnmatchcase(actual, str(p)) for p in expected)


@operator("present", "the attribute exists and is not null, empty or false", "{attr: vpc_config, op: present}",
          needs_value=False)
def _present(actual: Any, _expected: Any, _now: dt.datetime) -> bool:
    if actual is None or actual is False:
        return False
    return not (isinstance(actual, (str, list, dict)) and len(actual) == 0)


@operator("absent", "the attribute is missing, null or empty", "{attr: failure_reason, op: absent}",
          needs_value=False)
def _absent(actual: Any, expected: Any, now: dt.datetime) -> bool:
    return not _present(actual, expected, now)


@operator("true", "the attribute is boolean true", "{attr: enable_network_isolation, op: 'true'}", needs_value=False)
def _true(actual: Any, _expected: Any, _now: dt.datetime) -> bool:
    return actual is True


@operator("false", "the attribute is boolean false", "{attr: enable_network_isolation, op: 'false'}", needs_value=False)
def _false(actual: Any, _expected: Any, _now: dt.datetime) -> bool:
    return actual is False


@operator("contains", "a list/string/mapping contains the value", "{attr: metric_names, op: contains, value: X}")
def _contains(actual: Any, expected: Any, _now: dt.datetime) -> bool:
    if isinstance(actual, str):
        return isinstance(expected, str) and expected in actual
    if isinstance(actual, (list, dict)):
        try:
            return expected in actual
        except TypeError:  # an unhashable value asked of a mapping
            return False
    return False


@operator("contains-all", "a list contains every listed value", "{attr: stats, op: contains-all, value: [p50, p99]}")
def _contains_all(actual: Any, expected: Any, _now: dt.datetime) -> bool:
    return isinstance(actual, list) and isinstance(expected, list) and all(e in actual for e in expected)


@operator("between", "value[0] <= actual <= value[1]", "{attr: target_per_unit, op: between, value: [65, 75]}")
def _between(actual: Any, expected: Any, _now: dt.datetime) -> bool:
    a = _num(actual)
    if a is None or not isinstance(expected, list) or len(expected) != 2:
        return False
    lo, hi = _num(expected[0]), _num(expected[1])
    return lo is not None and hi is not None and lo <= a <= hi


DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_DURATION_SECONDS = 3650 * 86400


def parse_duration(text: Any) -> dt.timedelta:
    return _duration(str(text))


@lru_cache(maxsize=256)  # a rule's window is one parameter, asked again for every resource it judges
def _duration(text: str) -> dt.timedelta:
    m = DURATION.match(text.strip()[:40])
    if not m:
        raise ValueError(f"bad duration {text[:40]!r}: use a number and m/h/d/w, e.g. 24h or 14d")
    seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if seconds > MAX_DURATION_SECONDS:  # timedelta overflows past ~2.7 million years; no window needs a decade
        raise ValueError(f"duration {m.group(0)!r} is longer than the 10-year limit")
    return dt.timedelta(seconds=seconds)


def _timestamp(x: Any) -> dt.datetime | None:
    return _parse_timestamp(x) if isinstance(x, str) else None


@lru_cache(maxsize=8192)  # half the comparisons at 1,000 endpoints repeat a timestamp another rule parsed
def _parse_timestamp(x: str) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(x.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


@operator("older-than", "a timestamp lies further in the past than the duration (age)",
          "{attr: creation_time, op: older-than, value: 24h}")
def _older(actual: Any, expected: Any, now: dt.datetime) -> bool:
    t = _timestamp(actual)
    return t is not None and now - t > parse_duration(expected)


@operator("newer-than", "a timestamp lies within the duration before now",
          "{attr: creation_time, op: newer-than, value: 7d}")
def _newer(actual: Any, expected: Any, now: dt.datetime) -> bool:
    t = _timestamp(actual)
    return t is not None and now - t <= parse_duration(expected)


@cache
def official_registries() -> dict[str, list[str]]:
    text = resources.files("auditor.data").joinpath("official_registries.json").read_text()
    return json.loads(text)["registries"]


@operator("official-registry-for", "actual (an ECR registry account) is an official SageMaker/DLC registry of the "
          "region given as value", "{attr: image_registry_account, op: official-registry-for, "
          "value: {attr: image_region}}")
def _official(actual: Any, expected: Any, _now: dt.datetime) -> bool:
    return isinstance(actual, str) and actual in official_registries().get(str(expected), [])
