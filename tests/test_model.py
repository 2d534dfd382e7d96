"""The finding model: the evaluator makes its findings as the class makes them, and they are immutable."""

from __future__ import annotations

import pytest

from auditor.engine.config import Config
from auditor.engine.evaluator import evaluate_rules
from auditor.model import CollectionError, Finding, ResourceRef, Severity, Status, collection_problems
from tests.conftest import build_graph
from tests.engine.test_evaluator import CASES, RULES


def test_the_evaluators_findings_have_every_field_as_the_class_makes_them() -> None:
    # the evaluator makes findings from a tuple of their fields: a field added to Finding without it knowing fails
    made = [f for _, spec in CASES for f in evaluate_rules(build_graph(spec), RULES, Config()).findings]
    assert {f.status for f in made} == set(Status)  # every kind of finding, each made its own way
    for f in made:
        assert type(f) is Finding and len(f) == len(Finding._fields)
        assert f == Finding(**f._asdict()) and f.to_dict() == Finding(**f._asdict()).to_dict()


def test_a_finding_is_immutable() -> None:
    ref = ResourceRef(arn="arn:aws:sagemaker:us-east-1:1:endpoint/e", type="sagemaker.endpoint", name="e",
                      account="1", region="us-east-1")
    f = Finding("SM-01-x", 1, "title", Severity.HIGH, Status.FAIL, ref, "message", {"checks": []},
                {"remediator": None})
    with pytest.raises(AttributeError):
        f.message = "changed"  # type: ignore[misc]
    changed = f._replace(status=Status.PASS)
    assert changed.status is Status.PASS and f.status is Status.FAIL
    assert (f.exemption, f.advisory) == (None, False)


@pytest.mark.parametrize(("codes", "text"), [
    ((), "0 API call(s) failed"),
    (("AccessDenied", "Throttling"), "2 API call(s) failed"),
    (("NotCollected",), "1 read(s) left out by the collection"),
    (("AccessDenied", "NotCollected", "NotCollected"), "1 API call(s) failed, 2 read(s) left out by the collection"),
])
def test_an_incomplete_audit_tells_failed_calls_from_reads_left_out(codes: tuple[str, ...], text: str) -> None:
    errors = [CollectionError("s", "Op", code, "m", "1", "r") for code in codes]
    assert collection_problems(errors) == text
