"""The finding model: the evaluator's fast constructor makes the same frozen Finding as the dataclass's own."""

from __future__ import annotations

import dataclasses

import pytest

from auditor.model import CollectionError, Finding, ResourceRef, Severity, Status, collection_problems, new_finding


def _values() -> tuple[object, ...]:
    ref = ResourceRef(arn="arn:aws:sagemaker:us-east-1:1:endpoint/e", type="sagemaker.endpoint", name="e",
                      account="1", region="us-east-1")
    return ("SM-01-x", 1, "title", Severity.HIGH, Status.FAIL, ref, "message", {"checks": []},
            {"remediator": None}, {"kind": "waiver"}, True)


def test_new_finding_sets_every_field_as_the_dataclass_does() -> None:
    values = _values()
    # one value per field, in order: a field added to Finding without new_finding knowing fails here
    assert len(values) == len(dataclasses.fields(Finding))
    fast, slow = new_finding(*values), Finding(*values)  # type: ignore[arg-type]
    assert fast == slow
    for f in dataclasses.fields(Finding):
        assert getattr(fast, f.name) is getattr(slow, f.name)


def test_new_finding_is_still_frozen() -> None:
    fast = new_finding(*_values())  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.message = "changed"  # type: ignore[misc]
    assert dataclasses.replace(fast, status=Status.PASS).status is Status.PASS


@pytest.mark.parametrize(("codes", "text"), [
    ((), "0 API call(s) failed"),
    (("AccessDenied", "Throttling"), "2 API call(s) failed"),
    (("NotCollected",), "1 read(s) left out by the collection"),
    (("AccessDenied", "NotCollected", "NotCollected"), "1 API call(s) failed, 2 read(s) left out by the collection"),
])
def test_an_incomplete_audit_tells_failed_calls_from_reads_left_out(codes: tuple[str, ...], text: str) -> None:
    errors = [CollectionError("s", "Op", code, "m", "1", "r") for code in codes]
    assert collection_problems(errors) == text
