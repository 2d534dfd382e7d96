"""The report: a typed, immutable Report built once from an evaluation; `to_json` is its one serializer and
`Report.from_json` its one parser (baselines, shards to merge, history)."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from auditor import __version__
from auditor.engine.conditions import Designation
from auditor.engine.config import DEFAULT_DESIGNATIONS
from auditor.engine.evaluator import Evaluation
from auditor.graph import ResourceGraph
from auditor.model import CollectionError, Finding, ResourceRef, Severity, Status
from auditor.policies import POLICIES
from auditor.report.context import annotate

SCHEMA_VERSION = "1.0"
TOOL = {"name": "sagemaker-auditor", "version": __version__}
STATUSES = [s.value for s in Status]
# Sections later stages add to a report, in the order they are added (and serialized).
SECTIONS = ("timings", "remediation", "drift", "history", "trends", "security_hub")


class ReportError(ValueError):
    """A saved report that is not an auditor report.json of schema 1.x."""


def score(counts: Mapping[str, int]) -> float | None:
    """Compliance score: passes over decided-or-undecidable findings; exempt findings are left out."""
    denom = counts.get("pass", 0) + counts.get("fail", 0) + counts.get("error", 0)
    return round(100.0 * counts.get("pass", 0) / denom, 1) if denom else None


class FindingRows:
    """A report's findings as report.json rows, each serialized only when iterated (streaming writers read them one
    at a time); a sized iterable, not a list: json_report and the history's encoder stream it."""

    __slots__ = ("_findings",)

    def __init__(self, findings: tuple[ReportFinding, ...]) -> None:
        self._findings = findings

    def __len__(self) -> int:
        return len(self._findings)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (f.to_json() for f in self._findings)


@dataclass(frozen=True, slots=True)
class ReportFinding:
    """A finding as reported: the engine's Finding plus what the report knows about it (the endpoints its
    resource serves, their environment, the rule's references) and, from the history, drift and first_seen."""

    finding: Finding
    endpoints: tuple[str, ...] = ()
    environment: str | None = None
    references: Mapping[str, Any] | None = None
    drift: str | None = None  # new / still_failing / resolved, against a baseline
    first_seen: str | None = None
    extra: tuple[tuple[str, Any], ...] = ()  # keys of a saved finding this version does not model, kept as read

    # The fields every consumer reads, straight from the finding.
    @property
    def rule_id(self) -> str:
        return self.finding.rule_id

    @property
    def status(self) -> Status:
        return self.finding.status

    @property
    def severity(self) -> Severity:
        return self.finding.severity

    @property
    def arn(self) -> str:
        return self.finding.resource.arn

    @property
    def key(self) -> tuple[str, str]:
        """What identifies a finding across runs: its rule and resource."""
        return (self.finding.rule_id, self.finding.resource.arn)

    @property
    def violation(self) -> bool:
        """A failure that counts: advisory findings never decide anything."""
        return self.finding.status is Status.FAIL and not self.finding.advisory

    def to_json(self) -> dict[str, Any]:
        out = self.finding.to_dict()
        if self.endpoints:
            out["endpoints"] = list(self.endpoints)
            out["environment"] = self.environment
        if self.references:
            out["references"] = self.references
        if self.drift is not None:
            out["drift"] = self.drift
        if self.first_seen is not None:
            out["first_seen"] = self.first_seen
        for k, v in self.extra:
            out.setdefault(k, v)
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ReportFinding:
        r = d["resource"]
        finding = Finding(
            rule_id=d["rule_id"], policy=int(d["policy"]), title=d.get("title", ""),
            severity=Severity(d["severity"]), status=Status(d["status"]),
            resource=ResourceRef(arn=r["arn"], type=r["type"], name=r["name"], account=r["account"],
                                 region=r["region"]),
            message=d.get("message", ""), evidence=dict(d.get("evidence") or {}),
            remediation=dict(d.get("remediation") or {}), exemption=d.get("exemption"),
            advisory=bool(d.get("advisory", False)))
        return cls(finding, endpoints=tuple(d.get("endpoints") or ()), environment=d.get("environment"),
                   references=d.get("references"), drift=d.get("drift"), first_seen=d.get("first_seen"),
                   extra=tuple((k, v) for k, v in d.items() if k not in _FINDING_KEYS))

    def order(self) -> tuple[int, int, str, str]:
        return self.finding.sort_key()


_FINDING_KEYS = frozenset({"rule_id", "policy", "title", "severity", "status", "resource", "message", "evidence",
                           "remediation", "exemption", "advisory", "endpoints", "environment", "references", "drift",
                           "first_seen"})


@dataclass(frozen=True, slots=True)
class ManualCheck:
    rule_id: str
    policy: int
    title: str
    rationale: str
    guidance: str

    def to_json(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "policy": self.policy, "title": self.title, "rationale": self.rationale,
                "guidance": self.guidance}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ManualCheck:
        return cls(d["rule_id"], int(d.get("policy", 0)), d.get("title", ""), d.get("rationale", ""),
                   d.get("guidance", ""))


@dataclass(frozen=True, slots=True)
class Scope:
    """What was audited: accounts, regions, per-account coverage, when, from what source."""

    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    coverage: tuple[Mapping[str, Any], ...]
    collected_at: str | None
    evaluated_at: str | None
    source: str
    shard: str | None = None
    merged_from: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"accounts": list(self.accounts), "regions": list(self.regions),
                               "coverage": list(self.coverage), "collected_at": self.collected_at,
                               "evaluated_at": self.evaluated_at, "source": self.source}
        if self.shard:
            out["shard"] = self.shard
        if self.merged_from is not None:
            out["merged_from"] = list(self.merged_from)
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Scope:
        merged = d.get("merged_from")
        return cls(accounts=tuple(d.get("accounts") or ()), regions=tuple(d.get("regions") or ()),
                   coverage=tuple(d.get("coverage") or ()), collected_at=d.get("collected_at"),
                   evaluated_at=d.get("evaluated_at"), source=d.get("source", "aws"), shard=d.get("shard"),
                   merged_from=tuple(merged) if merged is not None else None)


@dataclass(frozen=True, slots=True)
class PolicySummary:
    section: str
    title: str
    counts: Mapping[str, int]  # by status, judged (non-advisory) findings only
    advisory_fail: int
    rules: tuple[str, ...]

    @property
    def score(self) -> float | None:
        return score(self.counts)

    def to_json(self) -> dict[str, Any]:
        return {"section": self.section, "title": self.title, **self.counts, "score": score(self.counts),
                "advisory_fail": self.advisory_fail, "rules": list(self.rules)}


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts derived from the findings, never stored apart from them."""

    total: int
    by_status: Mapping[str, int]
    advisory_by_status: Mapping[str, int]
    failing_by_severity: Mapping[str, int]
    by_policy: Mapping[str, PolicySummary]
    rules_evaluated: int
    collection_errors: int

    @classmethod
    def of(cls, findings: Iterable[ReportFinding], errors: int, rules_by_policy: Mapping[str, Iterable[str]],
           rules_evaluated: int) -> Summary:
        by_status: Counter[str] = Counter()
        advisory: Counter[str] = Counter()
        failing: Counter[str] = Counter()
        per_policy: dict[int, Counter[str]] = {n: Counter() for n in POLICIES}
        advisory_fail: Counter[int] = Counter()
        total = 0
        # Advisory findings (the policy text does not require them) are counted apart: they never decide a
        # policy's counts and score, the audit's completeness or the exit code.
        for rf in findings:
            f = rf.finding
            total += 1
            if f.advisory:
                advisory[f.status.value] += 1
                if f.status is Status.FAIL:
                    advisory_fail[f.policy] += 1
                continue
            by_status[f.status.value] += 1
            if f.status is Status.FAIL:
                failing[f.severity.value] += 1
            if f.policy in per_policy:
                per_policy[f.policy][f.status.value] += 1
        return cls(
            total=total,
            by_status={s: by_status.get(s, 0) for s in STATUSES},
            advisory_by_status={s: advisory.get(s, 0) for s in STATUSES},
            failing_by_severity={s.value: failing.get(s.value, 0) for s in Severity},
            by_policy={str(n): PolicySummary(section, title, {s: per_policy[n].get(s, 0) for s in STATUSES},
                                             advisory_fail[n], tuple(rules_by_policy.get(str(n), ())))
                       for n, (section, title) in POLICIES.items()},
            rules_evaluated=rules_evaluated, collection_errors=errors)

    @property
    def score(self) -> float | None:
        return score(self.by_status)

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_status": dict(self.by_status),
            "advisory": {"total": sum(self.advisory_by_status.values()), "by_status": dict(self.advisory_by_status)},
            "failing_by_severity": dict(self.failing_by_severity),
            "score": score(self.by_status),
            "by_policy": {n: p.to_json() for n, p in self.by_policy.items()},
            "rules_evaluated": self.rules_evaluated,
            "collection_errors": self.collection_errors,
        }


@dataclass(frozen=True)
class Report:
    """One audit's (or one merge's) result. Build it with `Report.build`, read one back with `from_json`, write
    it with `to_json`; later stages (drift, history, remediation) return a new Report with their section set."""

    scope: Scope
    findings: tuple[ReportFinding, ...]
    collection_errors: tuple[CollectionError, ...]
    manual_checks: tuple[ManualCheck, ...]
    expired_waivers: tuple[Mapping[str, Any], ...]
    api_calls: Mapping[str, Any]
    rules_by_policy: Mapping[str, tuple[str, ...]]
    rules_evaluated: int
    summary: Summary
    schema_version: str = SCHEMA_VERSION
    tool: Mapping[str, str] = dataclasses.field(default_factory=lambda: dict(TOOL))
    timings: Mapping[str, Any] | None = None
    remediation: Mapping[str, Any] | None = None
    drift: Mapping[str, Any] | None = None
    history: Mapping[str, Any] | None = None
    trends: Mapping[str, Any] | None = None
    security_hub: Mapping[str, Any] | None = None
    extra: tuple[tuple[str, Any], ...] = ()  # top-level keys of a saved report this version does not model

    @classmethod
    def build(cls, findings: Iterable[ReportFinding], errors: Iterable[CollectionError],
              rules_by_policy: Mapping[str, Iterable[str]], rules_evaluated: int, scope: Scope,
              manual_checks: Iterable[ManualCheck], expired_waivers: Iterable[Mapping[str, Any]],
              api_calls: Mapping[str, Any], **sections: Any) -> Report:
        """The report from its parts, in report order; a single run and `audit merge` both build it here."""
        ordered = tuple(sorted(findings, key=ReportFinding.order))
        errs = tuple(sorted(errors, key=lambda e: json.dumps(e.to_dict(), sort_keys=True)))
        waivers = tuple(sorted(expired_waivers, key=lambda w: json.dumps(w, sort_keys=True)))
        by_policy = {n: tuple(r) for n, r in rules_by_policy.items()}
        return cls(scope=scope, findings=ordered, collection_errors=errs, manual_checks=tuple(manual_checks),
                   expired_waivers=waivers, api_calls=api_calls, rules_by_policy=by_policy,
                   rules_evaluated=rules_evaluated,
                   summary=Summary.of(ordered, len(errs), by_policy, rules_evaluated), **sections)

    @property
    def complete(self) -> bool:
        """Everything needed was read: no collection error and no undecided finding."""
        return not self.collection_errors and self.summary.by_status.get("error", 0) == 0

    def with_findings(self, findings: Iterable[ReportFinding], **sections: Any) -> Report:
        """The same report with its findings annotated (same findings, same order: counts do not change)."""
        return dataclasses.replace(self, findings=tuple(findings), **sections)

    def with_sections(self, **sections: Any) -> Report:
        return dataclasses.replace(self, **sections)

    def to_json(self, *, lazy_findings: bool = False) -> dict[str, Any]:
        """The report.json document (auditor/schemas/report.schema.json): the one serializer.

        lazy_findings: "findings" is a FindingRows that serializes each finding as it is iterated, for the writers
        that stream (a 5,000-endpoint report's findings as dicts all at once are over 100 MiB)."""
        out: dict[str, Any] = {
            "schema_version": self.schema_version,
            "tool": dict(self.tool),
            "scope": self.scope.to_json(),
            "complete": self.complete,
            "summary": self.summary.to_json(),
            "findings": FindingRows(self.findings) if lazy_findings else [f.to_json() for f in self.findings],
            "manual_checks": [m.to_json() for m in self.manual_checks],
            "expired_waivers": list(self.expired_waivers),
            "collection_errors": [e.to_dict() for e in self.collection_errors],
            "api_calls": self.api_calls,
        }
        for name in SECTIONS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        for k, v in self.extra:
            out.setdefault(k, v)
        return out

    @classmethod
    def from_json(cls, doc: Any, what: str = "report") -> Report:
        """A saved report.json read back. Its summary is recomputed from its findings (the same function wrote
        it); ReportError when it is not a report of schema 1.x or a finding is malformed."""
        if not isinstance(doc, Mapping) or not str(doc.get("schema_version", "")).startswith("1.") \
                or not isinstance(doc.get("findings"), list):
            raise ReportError(f"{what} is not an auditor report.json (schema_version 1.x)")
        try:
            summary = doc.get("summary") or {}
            rules_by_policy = {n: tuple(p.get("rules") or ()) for n, p in (summary.get("by_policy") or {}).items()}
            known = {"schema_version", "tool", "scope", "complete", "summary", "findings", "manual_checks",
                     "expired_waivers", "collection_errors", "api_calls", *SECTIONS}
            return cls.build(
                findings=[ReportFinding.from_json(f) for f in doc["findings"]],
                errors=[CollectionError.from_dict(e) for e in doc.get("collection_errors") or ()],
                rules_by_policy=rules_by_policy, rules_evaluated=int(summary.get("rules_evaluated", 0)),
                scope=Scope.from_json(doc.get("scope") or {}),
                manual_checks=[ManualCheck.from_json(m) for m in doc.get("manual_checks") or ()],
                expired_waivers=list(doc.get("expired_waivers") or ()), api_calls=doc.get("api_calls") or {},
                schema_version=str(doc["schema_version"]), tool=dict(doc.get("tool") or TOOL),
                extra=tuple((k, v) for k, v in doc.items() if k not in known),
                **{name: doc[name] for name in SECTIONS if doc.get(name) is not None})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ReportError(f"{what}: a malformed entry ({type(exc).__name__}: {exc})") from None


def report_of(ev: Evaluation, graph: ResourceGraph, designations: dict[str, Designation] | None = None) -> Report:
    """The typed report of one evaluation over one graph."""
    meta = graph.meta
    scope = Scope(
        accounts=tuple(meta.get("accounts") or sorted({meta.get("account", "")} - {""}) or ["unknown"]),
        regions=tuple(meta.get("regions", [])),
        coverage=tuple(meta.get("coverage", [])),
        collected_at=meta.get("collected_at"),
        evaluated_at=ev.evaluated_at,
        source=meta.get("source", "aws"),
        shard=meta.get("shard") or None,
    )
    context = annotate([f.resource.arn for f in ev.findings], graph,
                       (designations or DEFAULT_DESIGNATIONS).get("production"))
    references = {r.id: r.references for r in ev.rules}
    findings = []
    for f in ev.findings:
        eps, env = context.get(f.resource.arn, ((), None))
        findings.append(ReportFinding(f, endpoints=eps, environment=env, references=references.get(f.rule_id) or None))
    return Report.build(
        findings=findings,
        errors=graph.errors,
        rules_by_policy={str(n): sorted({r.id for r in ev.rules if r.policy == n}) for n in POLICIES},
        rules_evaluated=len([r for r in ev.rules if not r.manual]),
        scope=scope,
        manual_checks=[ManualCheck(r.id, r.policy, r.title, r.rationale, r.remediation.get("guidance", ""))
                       for r in ev.manual],
        expired_waivers=ev.expired_waivers,
        api_calls=meta.get("api_calls", {}),
    )


def build_report(ev: Evaluation, graph: ResourceGraph, extra: dict[str, Any] | None = None,
                 designations: dict[str, Designation] | None = None) -> dict[str, Any]:
    """The report.json document of one evaluation (report_of, serialized)."""
    doc = report_of(ev, graph, designations).to_json()
    if extra:
        doc.update(extra)
    return doc


def assemble(findings: list[dict[str, Any]], errors: list[dict[str, Any]], rules_by_policy: dict[str, list[str]],
             rules_evaluated: int, scope: dict[str, Any], manual_checks: list[dict[str, Any]],
             expired_waivers: list[Any], api_calls: dict[str, Any]) -> dict[str, Any]:
    """The report document from saved parts (finding and error dicts): parsed, built, serialized."""
    return Report.build(
        findings=[ReportFinding.from_json(f) for f in findings],
        errors=[CollectionError.from_dict(e) for e in errors],
        rules_by_policy=rules_by_policy, rules_evaluated=rules_evaluated, scope=Scope.from_json(scope),
        manual_checks=[ManualCheck.from_json(m) for m in manual_checks], expired_waivers=expired_waivers,
        api_calls=api_calls).to_json()
