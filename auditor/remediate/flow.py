"""`audit --remediate`: select -> plan (re-reading state) -> show -> confirm -> apply with journal -> verify.
It reads the typed Report and returns a new one (the outcomes on its findings, the remediation section set)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.model import Status
from auditor.remediate.execute import apply_plan, error_code
from auditor.remediate.journal import open_journal
from auditor.remediate.plan_view import (
    APPLIED_FAILING,
    APPLIED_VERIFIED,
    FAILED,
    PLANNED,
    SKIPPED,
    cap_text,
    counts,
    plan_entry,
    print_plan,
    prompt_text,
    serving_calls,
)
from auditor.remediate.plan_view import REFUSED as REFUSED  # re-exported: callers read outcomes from here
from auditor.remediate.registry import Plan, RemediatorSpec, Target, load_builtin, owning_endpoint
from auditor.report.model import Report, ReportFinding

STOP = "stop-idle-endpoint"


@dataclass
class RemediationOptions:
    yes: bool = False
    dry_run: bool = False
    max_changes: int = 10
    only: list[str] = field(default_factory=list)
    policies: list[int] = field(default_factory=list)
    journal: Path | None = None
    include_always_on: bool = False  # also redeploy/resize always-on endpoints (never stop them)
    plan_out: Path | None = None  # write the plan here and change nothing
    plan_in: Path | None = None  # `audit apply`: apply only the changes of this reviewed plan
    run_id: str | None = None  # the audit run's id: stamped on what a stop leaves behind, journalled with each change


@dataclass
class Change:
    key: tuple[str, str]  # (remediator, resource arn)
    findings: list[ReportFinding]
    spec: RemediatorSpec
    params: dict[str, Any]
    plan: Plan | None = None
    outcome: str = ""
    detail: str = ""

    @property
    def rules(self) -> list[str]:
        return sorted({f.rule_id for f in self.findings})

    @property
    def actionable(self) -> bool:
        return self.plan is not None and bool(self.plan.calls) and not self.plan.skip_reason and not self.outcome


@dataclass
class Result:
    """What a remediation run decided: its changes, what it skipped and why, and whether it was refused."""

    changes: list[Change]
    skipped: list[tuple[ReportFinding, str]]
    mode: str = "apply"  # apply | dry-run | refused
    refused: str | None = None
    over_cap: dict[str, int] | None = None
    unmatched: list[dict[str, Any]] = field(default_factory=list)  # reviewed-plan changes not found any more


class RemediationRefused(Exception):
    """The plan is larger than --max-changes, or confirmation was not given."""


def _always_on(graph: Any, arn: str, designation: Any) -> bool:
    from auditor.engine.compiled import evaluate
    from auditor.engine.conditions import EvalContext
    from auditor.engine.grammar import DesignationCond

    endpoint = owning_endpoint(graph, arn)
    if endpoint not in graph or graph.attrs(endpoint)["type"] != "sagemaker.endpoint":
        return False
    ctx = EvalContext(graph=graph, params={}, designations={"always_on": designation}, now=None)  # type: ignore[arg-type]
    return evaluate(ctx, DesignationCond("always_on"), endpoint).value is not False  # unknown counts as always-on


def select(report: Report, rules: list[Any], config: Any, graph: Any, opts: RemediationOptions
           ) -> tuple[list[Change], list[tuple[ReportFinding, str]]]:
    """Failing findings with a remediator, grouped so one remediator touches one resource once."""
    import fnmatch

    from auditor.engine.evaluator import rule_params

    specs = load_builtin()
    by_id = {r.id: r for r in rules}
    changes: dict[tuple[str, str], Change] = {}
    skipped: list[tuple[ReportFinding, str]] = []
    for f in report.findings:
        rule = by_id.get(f.rule_id)
        name = (f.finding.remediation or {}).get("remediator")
        if f.status is not Status.FAIL or rule is None or not name:
            continue
        if opts.only and not any(fnmatch.fnmatchcase(f.rule_id, p) for p in opts.only):
            continue
        if opts.policies and f.finding.policy not in opts.policies:
            continue
        if name == STOP and _always_on(graph, f.arn, config.designations["always_on"]):
            skipped.append((f, "designated always-on (or its designation could not be read): never stopped"))
            continue
        spec = specs[name]
        params = dict(spec.params)
        params.update({k: v for k, v in rule_params(rule, config).items() if k in spec.params})
        params.update(rule.remediation.get("params") or {})
        params.update(config.remediation.get(name, {}))
        if "always_on" in spec.params:  # re-checked at apply time: the configured designation, as plain data
            d = config.designations["always_on"]
            params["always_on"] = {"tag": d.tag, "values": list(d.values)}
        key = (name, f.arn)
        if key in changes:
            changes[key].findings.append(f)
        else:
            changes[key] = Change(key, [f], spec, params)
    return list(changes.values()), skipped


def content_id(ch: Change, plan: Plan) -> str:
    """The change's id from what it is: remediator, resource, rules, parameters, the state it was planned from and
    its calls (service, operation, region: not their parameters, which carry when and by which run it is applied).
    A dry run, a saved plan and the real run of the same change share it; a changed resource does not."""
    body = {"remediator": ch.spec.name, "resource": ch.key[1], "rules": ch.rules, "params": ch.params,
            "before": plan.before, "calls": [[c.service, c.operation, c.region] for c in plan.calls]}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:12]


def plan_all(changes: list[Change], graph: Any, client_for: Callable[[str, str], Any], run_id: str | None = None
             ) -> None:
    for ch in changes:
        target = Target(ch.findings[0], graph, ch.params, client_for, ch.findings, run_id)
        try:
            ch.plan = ch.spec.plan(target)
            ch.plan.change_id = content_id(ch, ch.plan)
        except Exception as exc:  # noqa: BLE001 - a plan that cannot be made is reported, never applied
            ch.outcome, ch.detail = FAILED, f"could not read the current state: {error_code(exc)}: {exc}"[:400]


def always_on_block(ch: Change, plan: Plan, graph: Any, config: Any, opts: RemediationOptions) -> str | None:
    """Why this change must not run on an always-on endpoint (it redeploys or resizes it), or None."""
    touching = serving_calls(plan.calls)
    if opts.include_always_on or not touching or not _always_on(graph, ch.key[1], config.designations["always_on"]):
        return None
    return (f"always-on endpoint: this change redeploys or resizes it ({', '.join(sorted(set(touching)))}); "
            "pass --include-always-on to include it")


def _settle(changes: list[Change], graph: Any, config: Any, opts: RemediationOptions) -> None:
    """Decide, before anything is shown, which planned changes will not run and why."""
    stopping = {c.key[1] for c in changes if c.spec.name == STOP and c.actionable}
    for c in changes:
        if c.plan is None or c.outcome:
            continue
        if c.spec.name != STOP and owning_endpoint(graph, c.key[1]) in stopping:
            # no alarms, dashboards or scaling for an endpoint this run deletes as idle
            c.plan.skip_reason = "the endpoint is being stopped as idle in this run"
        blocked = None if c.plan.skip_reason else always_on_block(c, c.plan, graph, config, opts)
        if blocked:
            c.plan.skip_reason = blocked
        if c.plan.skip_reason or not c.plan.calls:
            c.outcome, c.detail = SKIPPED, c.plan.skip_reason or "nothing to do"


def confirm(actionable: list[Change], opts: RemediationOptions, console: Any) -> None:
    if opts.yes:
        return
    if not sys.stdin.isatty():
        raise RemediationRefused("not confirmed: pass --yes to apply without a prompt (or --dry-run to only plan)")
    console.print(prompt_text(actionable), end="", markup=False, highlight=False)
    if sys.stdin.readline().strip().lower() != "yes":
        raise RemediationRefused("not confirmed: nothing was changed")


def remediate(report: Report, rules: list[Any], config: Any, graph: Any, opts: RemediationOptions,
              client_for: Callable[[str, str], Any], console: Any, quiet: bool = False) -> Result:
    changes, skipped = select(report, rules, config, graph, opts)
    plan_all(changes, graph, client_for, opts.run_id)
    result = Result(changes, skipped)
    if opts.plan_in is not None:  # first: a change nobody reviewed must not shape the others (e.g. a new idle stop)
        from auditor.remediate.planfile import match

        result.unmatched = match(changes, opts.plan_in, graph.meta.get("account"))
    _settle(changes, graph, config, opts)
    actionable = [c for c in changes if c.actionable]
    if not quiet:
        print_plan(changes, skipped, console)
    if opts.plan_out is not None:
        from auditor.remediate.planfile import write

        write(opts.plan_out, changes, graph)
        if not quiet:
            console.print(f"plan written to {opts.plan_out} (apply it with: audit apply {opts.plan_out})",
                          markup=False, highlight=False)
    if len(actionable) > opts.max_changes and opts.plan_in is None:  # a reviewed plan was its own approval
        result.over_cap = {"changes": len(actionable), "max_changes": opts.max_changes,
                           "over": len(actionable) - opts.max_changes}
    if opts.dry_run or opts.plan_out is not None:
        result.mode = "dry-run"
        for c in actionable:
            c.outcome = PLANNED
        if result.over_cap and not quiet:
            console.print(f"a real run would be refused: {cap_text(actionable, opts.max_changes)}", markup=False,
                          highlight=False)
        return result
    try:
        if result.over_cap:
            raise RemediationRefused(cap_text(actionable, opts.max_changes))
        if actionable and opts.plan_in is None:
            confirm(actionable, opts, console)
    except RemediationRefused as exc:
        result.mode, result.refused = "refused", str(exc)
        return result
    if actionable:
        _apply(actionable, graph, config, opts, client_for)
    return result


def _apply(actionable: list[Change], graph: Any, config: Any, opts: RemediationOptions,
           client_for: Callable[[str, str], Any]) -> None:
    journal = open_journal(opts.journal or Path("remediation-journal.jsonl"), client_for)  # local or s3://
    for c in actionable:
        # Re-read right before acting: an earlier change (or someone else) may have changed the resource.
        fresh = Target(c.findings[0], graph, c.params, client_for, c.findings, opts.run_id)
        try:
            plan = c.spec.plan(fresh)
        except Exception as exc:  # noqa: BLE001
            c.outcome, c.detail = FAILED, f"could not re-read the resource: {error_code(exc)}"
            continue
        blocked = always_on_block(c, plan, graph, config, opts)
        if plan.skip_reason or not plan.calls or blocked:
            c.outcome, c.detail = SKIPPED, blocked or plan.skip_reason or "nothing to do any more"
            continue
        plan.change_id = c.plan.change_id if c.plan else content_id(c, plan)
        c.plan = plan
        status, why = apply_plan(plan, journal, client_for)
        c.outcome, c.detail = (FAILED, why or "") if status == "failed" else ("applied", "")
        journal.append({"change_id": plan.change_id, "event": "outcome", "outcome": c.outcome, "detail": c.detail})


def verify(changes: list[Change], fresh: Report) -> None:
    """After a fresh audit: every finding a change targeted must now pass (or be out of scope)."""
    now = {f.key: f.status for f in fresh.findings}
    open_ = (Status.FAIL, Status.ERROR)
    for c in changes:
        if c.outcome == SKIPPED and c.plan is not None and c.plan.calls:
            # planned with calls, but nothing left to do at apply time: an earlier change fixed it; check that
            if all(now.get(f.key) not in open_ for f in c.findings):
                c.detail = f"{c.detail} (verified compliant: fixed by an earlier change)"
            continue
        if c.outcome != "applied":
            continue
        still = [f.rule_id for f in c.findings if now.get(f.key) in open_]
        c.outcome = APPLIED_FAILING if still else APPLIED_VERIFIED
        c.detail = f"still failing: {', '.join(still)}" if still else ""


def _with_outcome(f: ReportFinding, c: Change | None) -> ReportFinding:
    """The finding with its change's outcome (and change id) in its remediation, or as it was."""
    if c is None:
        return f
    rem = {**f.finding.remediation, "outcome": c.outcome + (f": {c.detail}" if c.detail else "")}
    if c.plan is not None:
        rem["change_id"] = c.plan.change_id
    return dataclasses.replace(f, finding=f.finding._replace(remediation=rem))


def annotate(report: Report, result: Result, before: Report | None = None) -> Report:
    """`report` with each change's outcome on its findings and the remediation section set. `before` is the
    audit the plan was made from when `report` is the fresh audit after remediation."""
    changes = result.changes
    by_key = {f.key: c for c in changes for f in c.findings}
    findings = [_with_outcome(f, by_key.get(f.key)) for f in report.findings]
    section: dict[str, Any] = {
        "mode": result.mode, "refused": {"reason": result.refused} if result.refused else None,
        "over_cap": result.over_cap,
        "counts": counts([c for c in changes if c.plan is not None and c.plan.calls and not c.plan.skip_reason]),
        "plan": [plan_entry(c) for c in changes],
        "skipped": [{"rule_id": f.rule_id, "resource": f.arn, "reason": why} for f, why in result.skipped],
        "changes": [{
            "change_id": c.plan.change_id if c.plan else None, "remediator": c.spec.name, "rules": c.rules,
            "resource": c.key[1], "outcome": c.outcome, "detail": c.detail,
            "calls": [f"{x.service}:{x.operation}" for x in (c.plan.calls if c.plan else [])],
        } for c in changes] + result.unmatched,
    }
    if before is not None:
        targeted = {f.key for c in changes for f in c.findings}
        section["before"] = {
            "complete": before.complete,
            "summary": {"by_status": dict(before.summary.by_status), "score": before.summary.score},
            "findings": [{"rule_id": f.rule_id, "resource": f.arn, "status": f.status.value}
                         for f in before.findings if f.key in targeted],
            "api_calls": before.api_calls}
    return report.with_findings(findings, remediation=section)
