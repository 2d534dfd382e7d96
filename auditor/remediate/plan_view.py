"""How a plan is shown (remediation, undo, restore: one table): every call in full, what each disruptive call does in
words, counts, prompts."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor.remediate.registry import WAIT, Call

if TYPE_CHECKING:
    from auditor.report.model import ReportFinding

DESTRUCTIVE, DISRUPTIVE, CAPACITY = "destructive", "disruptive", "capacity"
# Calls that touch serving. Their kind decides the marker in the plan and whether an always-on endpoint may get
# them; the text says in words what happens (filled from the call's parameters).
IMPACT: dict[str, tuple[str, str]] = {
    "delete_endpoint": (DESTRUCTIVE, "endpoint {EndpointName} deleted; config, model and tags kept; "
                                     "`audit restore {EndpointName}` brings it back"),
    "update_endpoint": (DISRUPTIVE, "endpoint {EndpointName} redeployed with config {EndpointConfigName}; the "
                                    "previous config is kept and undo switches back"),
    "update_endpoint_weights_and_capacities": (CAPACITY, "running instance counts or traffic weights of "
                                                         "{EndpointName} change now"),
    "register_scalable_target": (CAPACITY, "autoscaling keeps {ResourceId} between {MinCapacity} and "
                                           "{MaxCapacity} instances"),
    "deregister_scalable_target": (CAPACITY, "autoscaling of {ResourceId} removed"),
    "put_scaling_policy": (CAPACITY, "scaling policy {PolicyName} decides when {ResourceId} adds or removes "
                                     "instances"),
    "delete_scaling_policy": (CAPACITY, "scaling policy {PolicyName} of {ResourceId} removed"),
    "stop_monitoring_schedule": (DISRUPTIVE, "monitoring schedule {MonitoringScheduleName} stopped until restore"),
}
SERVING = (DESTRUCTIVE, DISRUPTIVE, CAPACITY)
# What became of a change, as the outcome table, the report and the reviewed-plan check say it.
APPLIED_VERIFIED = "applied and verified"
APPLIED_FAILING = "applied but still failing"
FAILED = "failed"
SKIPPED = "skipped"
PLANNED = "planned (dry run)"
REFUSED = "refused"


def api_name(call: Call) -> str:
    """`sagemaker:DeleteEndpoint`: the name AWS documents (and IAM uses), not boto3's snake case."""
    if call.operation == WAIT:
        return f"{call.service}:wait {call.params.get('waiter', '')}"
    return f"{call.service}:{''.join(w.capitalize() for w in call.operation.split('_'))}"


def impact(call: Call) -> tuple[str, str] | None:
    """(kind, what happens in words) for a call that touches serving; None for additive calls."""
    found = IMPACT.get(call.operation)
    if found is None:
        return None
    kind, text = found

    class Missing(dict[str, Any]):
        def __missing__(self, key: str) -> str:
            return "?"

    return kind, text.format_map(Missing({k: v for k, v in call.params.items() if isinstance(v, (str, int))}))


def serving_calls(calls: list[Call]) -> list[str]:
    """The calls of a plan that redeploy, resize or delete: what an always-on endpoint is spared."""
    return [api_name(c) for c in calls if impact(c) is not None]


def params_text(params: dict[str, Any]) -> str:
    # Compact JSON, whole: the plan is what the operator approves, so nothing in it is ever shortened.
    return json.dumps(params, default=str, separators=(",", ":"), sort_keys=True)


def counts(changes: list[Any]) -> dict[str, dict[str, int]]:
    """Changes per remediator and per resource (by name, with its region), for the plan, the prompt and the cap."""
    by_rem = Counter(c.spec.name for c in changes)
    by_res = Counter(f"{c.findings[0].finding.resource.name} ({c.findings[0].finding.resource.region})"
                     for c in changes)
    return {"by_remediator": dict(sorted(by_rem.items())), "by_resource": dict(sorted(by_res.items()))}


def count_text(n: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(n.items(), key=lambda kv: (-kv[1], kv[0])))


def clean(text: Any) -> str:
    """The terminal cleaning of names and parameters (no escapes, no bidi), without the summary's length bound: the
    plan is what the operator approves, so it is shown whole."""
    from auditor.textsafe import clean as safe

    return safe(text, limit=None)


@dataclass(frozen=True)
class PlanRow:
    """One row of a plan table: a call of a change, or (no call) what happens to the change instead."""

    change: str  # the change: id, remediator, rules
    account: str
    region: str
    resource: str  # its name
    call: Call | None = None
    why: str = ""  # a call: why it runs (default: its description); no call: what is said in its place
    state: str = ""  # no call: "skipped", "cannot plan", "note"
    state_style: str = "dim"
    why_style: str = "dim"


def render(title: str, rows: list[PlanRow], console: Any) -> None:
    """The plan table (remediation, undo and restore alike): one row per API call, numbered within its change, with
    account and region on every row; what it does in words; parameters folded over lines, never cut. Every string
    is cleaned (it may come from AWS or a journal) and printed as text, never as markup."""
    from rich.table import Table
    from rich.text import Text

    t = Table(title=title, header_style="bold", show_lines=True)
    t.add_column("change", overflow="fold", ratio=2)
    t.add_column("account", overflow="fold", min_width=12)
    t.add_column("region", overflow="fold", min_width=9)
    t.add_column("resource", overflow="fold", ratio=2)
    t.add_column("call", overflow="fold", ratio=3)
    t.add_column("parameters", overflow="fold", ratio=4)
    step, last = 0, None
    for r in rows:
        where = (Text(clean(r.change)), Text(clean(r.account)), Text(clean(r.region)), Text(clean(r.resource)))
        if r.call is None:
            t.add_row(*where, Text(clean(r.state), style=r.state_style), Text(clean(r.why), style=r.why_style))
            continue
        step = step + 1 if r.change == last else 1
        last = r.change
        what = impact(r.call)
        label = Text(clean(f"{step}. {api_name(r.call)}"))
        if what is not None:
            label.append(f"\n{what[0].upper()}: ", style="bold red" if what[0] == DESTRUCTIVE else "bold yellow")
            label.append(clean(what[1]))
        label.append(clean(f"\n# {r.why or r.call.description}"), style="dim")
        t.add_row(*where, label, Text(clean(params_text(r.call.params))))
    console.print(t)


def print_plan(changes: list[Any], skipped: list[tuple[ReportFinding, str]], console: Any) -> None:
    """The remediation plan: its table, what was skipped, and the counts."""
    from rich.text import Text

    rows = []
    for ch in changes:
        res = ch.findings[0].finding.resource
        head = f"{ch.plan.change_id if ch.plan else '-'}\n{ch.spec.name}\n{', '.join(ch.rules)}"
        at = (head, res.account, res.region, res.name)
        if ch.plan is None or ch.plan.skip_reason or not ch.plan.calls:
            why = ch.detail if ch.plan is None else ch.plan.skip_reason or "nothing to do"
            rows.append(PlanRow(*at, why=why, state="cannot plan" if ch.plan is None else "skipped",
                                state_style="red" if ch.plan is None else "dim"))
            continue
        rows += [PlanRow(head, res.account, call.region, res.name, call) for call in ch.plan.calls]
        rows += [PlanRow(*at, why=note, state="note", state_style="", why_style="") for note in ch.plan.notes]
    render("Remediation plan", rows, console)
    for f, why in skipped:
        r = f.finding.resource
        console.print(Text(clean(f"skipped {f.rule_id} on {r.name} ({r.region}): {why}"), style="dim"))
    actionable = [c for c in changes if c.plan is not None and c.plan.calls and not c.plan.skip_reason]
    if actionable:
        n = counts(actionable)
        console.print(Text(clean(f"{len(actionable)} change(s) per remediator: {count_text(n['by_remediator'])}")))
        console.print(Text(clean(f"per resource: {count_text(n['by_resource'])}")))


def prompt_text(actionable: list[Any]) -> str:
    """What the confirmation names: account(s), regions, counts, and how many calls delete or redeploy."""
    accounts = sorted({c.findings[0].finding.resource.account for c in actionable})
    regions = sorted({call.region for c in actionable for call in c.plan.calls})
    calls = [call for c in actionable for call in c.plan.calls if call.operation != WAIT]
    kinds = Counter(k[0] for k in (impact(c) for c in calls) if k is not None)
    marked = "".join(f", {kinds[k]} {k}" for k in SERVING if kinds[k])
    return (f"Apply {len(actionable)} change(s) ({len(calls)} API calls{marked}) to account {', '.join(accounts)} "
            f"in {', '.join(regions)} ({count_text(counts(actionable)['by_remediator'])})? Type 'yes' to proceed: ")


def cap_text(actionable: list[Any], max_changes: int) -> str:
    n = len(actionable)
    return (f"the plan has {n} changes and --max-changes is {max_changes} ({n - max_changes} over): "
            f"{count_text(counts(actionable)['by_remediator'])}; narrow it with --only RULE or --policy N, "
            "or raise --max-changes")


def plan_entry(ch: Any) -> dict[str, Any]:
    """One change of the plan as report/plan-file data: every call with every parameter and its impact."""
    res = ch.findings[0].finding.resource.to_dict()
    plan = ch.plan
    calls = []
    for c in plan.calls if plan else []:
        what = impact(c)
        calls.append({"api": api_name(c), "service": c.service, "operation": c.operation, "region": c.region,
                      "params": c.params, "description": c.description,
                      "impact": {"kind": what[0], "text": what[1]} if what else None})
    return {"change_id": plan.change_id if plan else None, "remediator": ch.spec.name, "rules": ch.rules,
            "resource": {k: res[k] for k in ("arn", "type", "name", "account", "region")},
            "params": ch.params, "before": plan.before if plan else None,
            "skip_reason": (plan.skip_reason if plan else ch.detail) or None,
            "notes": list(plan.notes) if plan else [], "calls": calls}
