"""`audit --remediate`: select -> plan (re-reading state) -> show -> confirm -> apply with journal -> verify."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.remediate.execute import apply_plan, error_code
from auditor.remediate.journal import open_journal
from auditor.remediate.registry import Plan, RemediatorSpec, Target, load_builtin, owning_endpoint

APPLIED_VERIFIED = "applied and verified"
APPLIED_FAILING = "applied but still failing"
FAILED = "failed"
SKIPPED = "skipped"
PLANNED = "planned (dry run)"


@dataclass
class RemediationOptions:
    yes: bool = False
    dry_run: bool = False
    max_changes: int = 10
    only: list[str] = field(default_factory=list)
    policies: list[int] = field(default_factory=list)
    journal: Path | None = None


@dataclass
class Change:
    key: tuple[str, str]  # (remediator, resource arn)
    findings: list[dict[str, Any]]
    spec: RemediatorSpec
    params: dict[str, Any]
    plan: Plan | None = None
    outcome: str = ""
    detail: str = ""


class RemediationRefused(Exception):
    """The plan is larger than --max-changes, or confirmation was not given."""


def _always_on(graph: Any, arn: str, designation: Any) -> bool:
    from auditor.engine.conditions import EvalContext, evaluate
    from auditor.engine.grammar import DesignationCond

    endpoint = owning_endpoint(graph, arn)
    if graph.attrs(endpoint)["type"] != "sagemaker.endpoint":
        return False
    ctx = EvalContext(graph=graph, params={}, designations={"always_on": designation}, now=None)  # type: ignore[arg-type]
    return evaluate(ctx, DesignationCond("always_on"), endpoint).value is not False  # unknown counts as always-on


def select(doc: dict[str, Any], rules: list[Any], config: Any, graph: Any, opts: RemediationOptions
           ) -> tuple[list[Change], list[tuple[dict[str, Any], str]]]:
    """Failing findings with a remediator, grouped so one remediator touches one resource once."""
    import fnmatch

    from auditor.engine.evaluator import rule_params

    specs = load_builtin()
    by_id = {r.id: r for r in rules}
    changes: dict[tuple[str, str], Change] = {}
    skipped: list[tuple[dict[str, Any], str]] = []
    for f in doc["findings"]:
        rule = by_id.get(f["rule_id"])
        name = (f.get("remediation") or {}).get("remediator")
        if f["status"] != "fail" or rule is None or not name:
            continue
        if opts.only and not any(fnmatch.fnmatchcase(f["rule_id"], p) for p in opts.only):
            continue
        if opts.policies and f["policy"] not in opts.policies:
            continue
        if _always_on(graph, f["resource"]["arn"], config.designations["always_on"]):
            skipped.append((f, "designated always-on (or its designation could not be read)"))
            continue
        spec = specs[name]
        params = dict(spec.params)
        params.update({k: v for k, v in rule_params(rule, config).items() if k in spec.params})
        params.update(rule.remediation.get("params") or {})
        params.update(config.remediation.get(name, {}))
        if "always_on" in spec.params:  # re-checked at apply time: the configured designation, as plain data
            d = config.designations["always_on"]
            params["always_on"] = {"tag": d.tag, "values": list(d.values)}
        key = (name, f["resource"]["arn"])
        if key in changes:
            changes[key].findings.append(f)
        else:
            changes[key] = Change(key, [f], spec, params)
    return list(changes.values()), skipped


def plan_all(changes: list[Change], graph: Any, client_for: Callable[[str, str], Any]) -> None:
    for ch in changes:
        target = Target(ch.findings[0], graph, ch.params, client_for, ch.findings)
        try:
            ch.plan = ch.spec.plan(target)
        except Exception as exc:  # noqa: BLE001 - a plan that cannot be made is reported, never applied
            ch.outcome, ch.detail = FAILED, f"could not read the current state: {error_code(exc)}: {exc}"[:400]


def print_plan(changes: list[Change], skipped: list[tuple[dict[str, Any], str]], console: Any) -> None:
    from rich.table import Table
    from rich.text import Text

    from auditor.report.terminal import clean

    t = Table(title="Remediation plan", header_style="bold", show_lines=True)
    for col in ("change", "rule(s)", "resource", "API calls"):
        t.add_column(col, overflow="fold")
    for ch in changes:
        rules = ", ".join(sorted({f["rule_id"] for f in ch.findings}))
        if ch.plan is None:
            body = Text(clean(f"cannot plan: {ch.detail}"), style="red")
        elif ch.plan.skip_reason:
            body = Text(clean(f"nothing to do: {ch.plan.skip_reason}"), style="dim")
        else:
            lines = [f"{i + 1}. {c.service}:{c.operation} {_short(c.params)}  # {c.description}"
                     for i, c in enumerate(ch.plan.calls)]
            lines += [f"note: {n}" for n in ch.plan.notes]
            body = Text(clean("\n".join(lines)).replace("\N{REPLACEMENT CHARACTER}", ""))
        t.add_row(ch.plan.change_id if ch.plan else "-", rules, Text(clean(ch.findings[0]["resource"]["name"])), body)
    console.print(t)
    for f, why in skipped:
        console.print(Text(clean(f"skipped {f['rule_id']} on {f['resource']['name']}: {why}"), style="dim"))


def _short(params: dict[str, Any]) -> str:
    import json

    text = json.dumps(params, default=str, separators=(",", ":"))
    return text if len(text) <= 400 else text[:397] + "..."


def confirm(n: int, opts: RemediationOptions, console: Any) -> None:
    if opts.yes:
        return
    if not sys.stdin.isatty():
        raise RemediationRefused("not confirmed: pass --yes to apply without a prompt (or --dry-run to only plan)")
    console.print(f"Apply {n} change(s)? Type 'yes' to proceed: ", end="")
    if sys.stdin.readline().strip().lower() != "yes":
        raise RemediationRefused("not confirmed: nothing was changed")


def remediate(doc: dict[str, Any], rules: list[Any], config: Any, graph: Any, opts: RemediationOptions,
              client_for: Callable[[str, str], Any], console: Any, quiet: bool = False) -> list[Change]:
    changes, skipped = select(doc, rules, config, graph, opts)
    plan_all(changes, graph, client_for)
    actionable = [c for c in changes if c.plan is not None and not c.plan.skip_reason and c.plan.calls]
    stopping = {c.findings[0]["resource"]["arn"] for c in changes if c.spec.name == "stop-idle-endpoint"
                and c.plan is not None and c.plan.calls and not c.plan.skip_reason}
    for c in changes:
        owner = owning_endpoint(graph, c.findings[0]["resource"]["arn"])
        if c.spec.name != "stop-idle-endpoint" and owner in stopping and c.plan is not None:
            # no alarms, dashboards or scaling for an endpoint this run deletes as idle
            c.plan.skip_reason = "the endpoint is being stopped as idle in this run"
        if c.plan is not None and (c.plan.skip_reason or not c.plan.calls):
            c.outcome, c.detail = SKIPPED, c.plan.skip_reason or "nothing to do"
    actionable = [c for c in actionable if c.outcome != SKIPPED]
    if not quiet:
        print_plan(changes, skipped, console)
    if len(actionable) > opts.max_changes:
        raise RemediationRefused(f"the plan has {len(actionable)} changes and --max-changes is {opts.max_changes}: "
                                 "narrow it with --only RULE or --policy N, or raise --max-changes")
    if opts.dry_run or not actionable:
        for c in actionable:
            c.outcome = PLANNED
        return changes
    confirm(len(actionable), opts, console)
    journal = open_journal(opts.journal or Path("remediation-journal.jsonl"), client_for)  # local or s3://
    for c in actionable:
        # Re-read right before acting: an earlier change (or someone else) may have changed the resource.
        fresh = Target(c.findings[0], graph, c.params, client_for, c.findings)
        try:
            plan = c.spec.plan(fresh)
        except Exception as exc:  # noqa: BLE001
            c.outcome, c.detail = FAILED, f"could not re-read the resource: {error_code(exc)}"
            continue
        if plan.skip_reason or not plan.calls:
            c.outcome, c.detail = SKIPPED, plan.skip_reason or "nothing to do any more"
            continue
        plan.change_id = c.plan.change_id if c.plan else plan.change_id
        c.plan = plan
        status, why = apply_plan(plan, journal, client_for)
        c.outcome, c.detail = (FAILED, why or "") if status == "failed" else ("applied", "")
        journal.append({"change_id": plan.change_id, "event": "outcome", "outcome": c.outcome, "detail": c.detail})
    return changes


def verify(changes: list[Change], fresh_doc: dict[str, Any]) -> None:
    """After a fresh audit: every finding a change targeted must now pass (or be out of scope)."""
    now = {(f["rule_id"], f["resource"]["arn"]): f["status"] for f in fresh_doc["findings"]}
    for c in changes:
        if c.outcome == SKIPPED and c.plan is not None and c.plan.calls:
            # planned with calls, but nothing left to do at apply time: an earlier change fixed it; check that
            if all(now.get((f["rule_id"], f["resource"]["arn"])) not in ("fail", "error") for f in c.findings):
                c.detail = f"{c.detail} (verified compliant: fixed by an earlier change)"
            continue
        if c.outcome != "applied":
            continue
        still = [f["rule_id"] for f in c.findings if now.get((f["rule_id"], f["resource"]["arn"])) in ("fail",
                                                                                                        "error")]
        c.outcome = APPLIED_FAILING if still else APPLIED_VERIFIED
        c.detail = f"still failing: {', '.join(still)}" if still else ""


def annotate(doc: dict[str, Any], changes: list[Change]) -> None:
    """Put each change's outcome on its findings (remediation.outcome) and a summary in the report."""
    by_key = {(f["rule_id"], f["resource"]["arn"]): c for c in changes for f in c.findings}
    for f in doc["findings"]:
        c = by_key.get((f["rule_id"], f["resource"]["arn"]))
        if c is not None:
            f["remediation"]["outcome"] = c.outcome + (f": {c.detail}" if c.detail else "")
            if c.plan is not None:
                f["remediation"]["change_id"] = c.plan.change_id
    doc["remediation"] = [{
        "change_id": c.plan.change_id if c.plan else None, "remediator": c.spec.name,
        "rules": sorted({f["rule_id"] for f in c.findings}), "resource": c.findings[0]["resource"]["arn"],
        "outcome": c.outcome, "detail": c.detail,
        "calls": [f"{x.service}:{x.operation}" for x in (c.plan.calls if c.plan else [])],
    } for c in changes]
