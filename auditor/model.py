"""Small immutable result types shared by every layer: Status, Severity, Finding, CollectionError."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple


class Status(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    FAIL = "fail"
    ERROR = "error"  # the data needed could not be read: never a pass
    EXEMPT = "exempt"


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls(text.strip().lower())
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {text!r}; allowed: {allowed}") from None


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


@dataclass(frozen=True, slots=True)  # one per resource, shared by its findings
class ResourceRef:
    """Identity of the resource a finding is about."""

    arn: str
    type: str
    name: str
    account: str
    region: str

    def to_dict(self) -> dict[str, str]:
        return {"arn": self.arn, "type": self.type, "name": self.name, "account": self.account, "region": self.region}


class Finding(NamedTuple):
    """One rule's verdict on one resource. Immutable, and a named tuple rather than a frozen dataclass: the
    evaluator makes one for every rule and resource (hundreds of thousands at scale), and a tuple is made in one
    step (`tuple.__new__(Finding, fields)`) where a frozen dataclass's 11 fields are set one by one (the tuple
    takes 9 % off evaluation's instructions)."""

    rule_id: str
    policy: int
    title: str
    severity: Severity
    status: Status
    resource: ResourceRef
    message: str
    evidence: dict[str, Any]
    remediation: dict[str, Any]
    exemption: dict[str, Any] | None = None
    advisory: bool = False  # the policy text does not require it: never a violation, counted apart

    def sort_key(self) -> tuple[int, int, str, str]:
        return (self.policy, -self.severity.rank, self.rule_id, self.resource.arn)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule_id": self.rule_id,
            "policy": self.policy,
            "title": self.title,
            "severity": self.severity.value,
            "status": self.status.value,
            "resource": self.resource.to_dict(),
            "message": self.message,
            "evidence": self.evidence,
            "remediation": dict(self.remediation),  # one dict per rule is shared by its findings: a copy to annotate
        }
        if self.exemption is not None:
            out["exemption"] = self.exemption
        if self.advisory:
            out["advisory"] = True
        return out


@dataclass(frozen=True)
class CollectionError:
    """An API call that failed during collection; recorded, never fatal."""

    service: str
    operation: str
    code: str
    message: str
    account: str
    region: str
    affects: tuple[str, ...] = ()  # node types whose listing is incomplete because of it
    resource: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "operation": self.operation,
            "code": self.code,
            "message": self.message,
            "account": self.account,
            "region": self.region,
            "affects": list(self.affects),
            "resource": self.resource,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CollectionError:
        return cls(
            service=d["service"],
            operation=d["operation"],
            code=d["code"],
            message=d["message"],
            account=d["account"],
            region=d["region"],
            affects=tuple(d.get("affects", ())),
            resource=d.get("resource"),
        )


NOT_COLLECTED_CODE = "NotCollected"  # a read the collection left out by design, not a call that failed


def collection_problems(errors: Iterable[CollectionError]) -> str:
    """'2 API call(s) failed', '4 read(s) left out by the collection' or both: what made an audit incomplete."""
    errors = list(errors)
    left = sum(e.code == NOT_COLLECTED_CODE for e in errors)
    parts = [f"{len(errors) - left} API call(s) failed"] if len(errors) > left or not left else []
    return ", ".join(parts + ([f"{left} read(s) left out by the collection"] if left else []))
