"""The fault sweep: audit the demo account with one operation answered badly, compare with the clean audit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditor.app import collect_options, exit_code
from auditor.collect import collect
from auditor.engine.config import Config
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import load_rules
from auditor.model import Severity
from auditor.report.model import Report, build_report
from auditor.session import SessionFactory
from tests.collect.faults import Hooks, inject, recorder

RULES = load_rules()
OPTIONS = collect_options(RULES, Config())


@dataclass
class Audit:
    statuses: dict[tuple[str, str], str]  # (rule id, resource ARN) -> status
    complete: bool
    exit: int
    errors: list[str]
    operations: set[str] = field(default_factory=set)
    account_failed: bool = False  # the account itself could not be reached: the report's coverage says so


def audit(regions: list[str], hooks: Hooks | None = None) -> Audit:
    """Collect and evaluate as `audit` does (one attempt per call, so a fault is not retried away)."""
    seen: set[str] = set()
    factory = SessionFactory(region=regions[0], max_attempts=1, hooks=(hooks or []) + recorder(seen))
    graph = collect(factory, regions, OPTIONS)  # the CLI's options: only the reads the rules need
    doc = build_report(evaluate_rules(graph, RULES), graph)
    return Audit({(f["rule_id"], f["resource"]["arn"]): f["status"] for f in doc["findings"]}, doc["complete"],
                 exit_code(Report.from_json(doc), Severity.LOW), [f"{e.operation}: {e.code}" for e in graph.errors], seen,
                 any(c["status"] == "failed" for c in doc["scope"]["coverage"]))


# An empty answer is a real account state, not always a fault: under these, the rule rightly passes.
EMPTY_IS_A_STATE = {
    ("application-auto-scaling.DescribeScalableTargets", "SM-04-min-instances"):
        "no scalable target: no autoscaling minimum can scale the variant below 2 instances",
    ("resource-groups-tagging-api.GetResources", "SM-15-batch-workload"):
        "GetResources lists only tagged resources: an endpoint absent from it has no tags, so no batch tag",
    ("iam.ListRolePolicies", "SM-11-execution-role"):
        "no inline policy: the role's permissions are its attached (scoped) policies only",
    ("sagemaker.DescribeModel", "SM-03-model-exists"):
        "an answer to DescribeModel says the model exists (the clean run's model was deleted)",
}


def problems(clean: Audit, faulty: Audit, kind: str, operation: str = "") -> list[str]:
    """How the faulty audit broke the promise: a pass the clean run did not have, or an unannounced gap."""
    out = [f"{rule} on {arn}: pass, clean run said {clean.statuses[(rule, arn)]}"
           for (rule, arn), status in sorted(faulty.statuses.items())
           if status == "pass" and clean.statuses.get((rule, arn)) in ("fail", "error")
           and not (kind == "empty" and (operation, rule) in EMPTY_IS_A_STATE)]
    undecided = any(s == "error" for s in faulty.statuses.values()) or faulty.errors
    if undecided and (faulty.complete or faulty.exit != 3):
        out.append(f"undecidable findings but complete={faulty.complete}, exit {faulty.exit}")
    errored = {rule for (rule, _), status in faulty.statuses.items() if status == "error"}
    gone = sorted(k for k in clean.statuses if k not in faulty.statuses and k[0] not in errored)
    # an empty answer may truly mean "none"; a refused one never does. With the account unreachable no resource
    # is known to carry an error: its coverage entry is `failed` and the audit incomplete instead.
    if kind != "empty" and gone and not faulty.account_failed:
        out.append(f"{len(gone)} findings vanished with no error for their rule, e.g. {gone[0]}")
    if kind != "empty" and faulty.complete and faulty.statuses != clean.statuses:
        # a refused or unreadable answer either shows in the report or changes nothing (read another way)
        changed = sorted(k for k in clean.statuses.keys() | faulty.statuses.keys()
                         if clean.statuses.get(k) != faulty.statuses.get(k))
        out.append(f"findings changed ({len(changed)}, e.g. {changed[0]}) but the audit says it is complete")
    return out


def sweep(regions: list[str], clean: Audit, cases: list[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    """{(operation, fault kind): problems} for every case."""
    return {(op, kind): problems(clean, audit(regions, inject(kind, op)), kind, op) for op, kind in cases}


def table(results: dict[tuple[str, str], list[str]]) -> str:
    """One line per case: operation, kind, OK or the problems."""
    return "\n".join(f"{op:<60} {kind:<9} {'ok' if not found else '; '.join(found)[:300]}"
                     for (op, kind), found in sorted(results.items()))


def summary(results: dict[tuple[str, str], Any]) -> str:
    ops = {op for op, _ in results}
    bad = sum(1 for found in results.values() if found)
    return f"{len(ops)} operations x faults = {len(results)} cases, {bad} with problems"
