"""bench/evaluate.py's digest, which bench/compiled.py trusts to say two builds give the same findings."""

from __future__ import annotations

import dataclasses
import re

import pytest

import bench.evaluate as bench_evaluate
from auditor.engine.loader import load_rules


def test_the_digest_is_stable_and_counts_the_findings() -> None:
    first = bench_evaluate.digest(3)
    assert re.fullmatch(r"[1-9][0-9]* [0-9a-f]{64}", first)
    assert bench_evaluate.digest(3) == first


def test_the_digest_changes_when_one_finding_does(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = bench_evaluate.digest(3)
    rules = load_rules()
    # one rule's title reworded: the same number of findings, so only the hash can tell
    reworded = [dataclasses.replace(r, title=r.title + "!") if r.id == "SM-07-log-group" else r for r in rules]
    assert any(r.title.endswith("!") for r in reworded)
    monkeypatch.setattr(bench_evaluate, "load_rules", lambda: reworded)
    changed = bench_evaluate.digest(3)
    assert changed.split()[0] == whole.split()[0]
    assert changed != whole
