"""Evaluate rules over the graph into findings: pass, fail, error (could not tell) or exempt, with evidence."""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.engine.compiled import Fn, VFn, compiled, evaluate, shared_value
from auditor.engine.conditions import EvalCache, EvalContext, label_of
from auditor.engine.config import DEFAULT_DESIGNATIONS, Config, Waiver
from auditor.engine.grammar import (
    AllCond,
    AnyCond,
    AttrCond,
    AttrRef,
    Condition,
    Count,
    DesignationCond,
    Distinct,
    Each,
    Exists,
    NoneOf,
    NotCond,
    Quantifier,
    RelatedCond,
    Some,
    TagCond,
    nodes,
)
from auditor.engine.loader import Rule
from auditor.engine.messages import name_pieces
from auditor.engine.reads import reads_beyond_resource, rule_reads
from auditor.graph import EDGE_TYPES, NODE_TYPES, ResourceGraph, region_id
from auditor.model import Finding, ResourceRef, Severity, Status
from auditor.yamlsafe import InputError

__all__ = ["DEFAULT_DESIGNATIONS", "Evaluation", "evaluate_rules", "select_rules", "rule_params"]


@dataclass
class Evaluation:
    findings: list[Finding]
    rules: list[Rule]
    manual: list[Rule] = field(default_factory=list)
    expired_waivers: list[dict[str, Any]] = field(default_factory=list)
    evaluated_at: str = ""


def select_rules(rules: list[Rule], config: Config, ids: list[str] | None = None, policies: list[int] | None = None,
                 severity: Severity | None = None) -> list[Rule]:
    """Narrow by id/glob, policy and minimum severity (flags override the config file)."""
    ids = ids or config.rules
    policies = policies or config.policies
    severity = severity or config.severity
    out = []
    for r in rules:
        if ids and not any(fnmatch.fnmatchcase(r.id, p) for p in ids):
            continue
        if any(fnmatch.fnmatchcase(r.id, p) for p in config.exclude_rules):
            continue
        if policies and r.policy not in policies:
            continue
        if severity and r.severity.rank < severity.rank:
            continue
        out.append(r)
    return out


def rule_params(rule: Rule, config: Config) -> dict[str, Any]:
    params = dict(rule.params)
    for k, v in config.parameters.items():
        if k in params:
            params[k] = v
    for k, v in config.rule_parameters.get(rule.id, {}).items():
        if k not in params:
            raise InputError(config.source or "config", None,
                             f"rule_parameters.{rule.id}.{k}: the rule declares no parameter {k!r} "
                             f"(it declares: {', '.join(sorted(params)) or 'none'})")
        params[k] = v
    return params


def _same_kind(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def check_config_parameters(rules: list[Rule], config: Config) -> None:
    """Every overridden parameter exists and has the kind of value its default has (list, number, text)."""
    for r in rules:
        for k, v in list(config.parameters.items()) + list(config.rule_parameters.get(r.id, {}).items()):
            if k in r.params and not _same_kind(r.params[k], v):
                raise InputError(config.source or "config", None,
                                 f"parameter {k} of {r.id} must be a {type(r.params[k]).__name__} like "
                                 f"{r.params[k]!r}, not {v!r}")
            if k in ("idle_window", "utilisation_window") and k in r.params:
                from auditor.engine.operators import parse_duration

                try:
                    parse_duration(v)
                except ValueError as exc:
                    raise InputError(config.source or "config", None, f"parameter {k}: {exc}") from None
    declared = {k for r in rules for k in r.params}
    for k in config.parameters:
        if k not in declared:
            raise InputError(config.source or "config", None,
                             f"parameters.{k}: no rule declares this parameter (known: {', '.join(sorted(declared))})")
    ids = {r.id for r in rules}
    for rid in config.rule_parameters:
        if rid not in ids:
            raise InputError(config.source or "config", None, f"rule_parameters: unknown rule id {rid}")


def _now(graph: ResourceGraph) -> dt.datetime:
    # Evaluate against the snapshot's own time so that re-evaluating a saved snapshot gives the same answer.
    stamp = graph.meta.get("collected_at")
    if isinstance(stamp, str):
        try:
            return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            pass
    return dt.datetime.now(dt.UTC)


def evaluate_rules(graph: ResourceGraph, rules: list[Rule], config: Config | None = None,
                   today: dt.date | None = None) -> Evaluation:
    # Evaluation builds hundreds of thousands of small acyclic objects over a graph of as many: the cyclic collector
    # would rescan that heap again and again for nothing (a sixth of the time at 10,000 endpoints).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _evaluate_rules(graph, rules, config, today)
    finally:
        if was_enabled:
            gc.enable()


def _evaluate_rules(graph: ResourceGraph, rules: list[Rule], config: Config | None,
                    today: dt.date | None) -> Evaluation:
    config = config or Config()
    now = _now(graph)
    today = today or dt.datetime.now(dt.UTC).date()
    findings: list[Finding] = []
    expired: dict[str, dict[str, Any]] = {}
    manual = [r for r in rules if r.manual]
    hidden = hiding_nodes(graph)
    cache = EvalCache()
    live: dict[str, list[tuple[str, ResourceRef]]] = {}  # resource type -> its resources (not dangling), by id
    # Rules in the order findings are reported, and each rule's nodes in id order: the findings come out sorted
    # without sorting hundreds of thousands of them (only a rule with hidden nodes sorts its own few).
    for rule in sorted(rules, key=lambda r: (r.policy, -r.severity.rank, r.id)):
        if rule.manual:
            continue
        ctx = EvalContext(graph=graph, params=rule_params(rule, config), designations=config.designations, now=now,
                          cache=cache)
        nodes = live.get(rule.resource)
        if nodes is None:
            # a dangling node is not a resource: the rules of whatever references it report the broken reference
            nodes = live[rule.resource] = [(n, _ref(graph, n, cache)) for n in graph.nodes_of_type(rule.resource)
                                           if not graph.attrs(n)["dangling"]]
        first = len(findings)
        judge = _Judge(ctx, rule)
        try:
            judge.judge_all(nodes, config.waivers, today, expired, findings)
            for node_id, reason in hidden.get(rule.resource, []):
                findings.append(judge.make(_ref(graph, node_id), Status.ERROR, [], [reason],
                                           prefix=f"cannot tell which {rule.resource} resources this rule applies "
                                                  "to: "))
        finally:
            ctx.release()
        if rule.resource in hidden:
            findings[first:] = sorted(findings[first:], key=Finding.sort_key)
    cache.release()
    return Evaluation(findings=findings, rules=rules, manual=manual, expired_waivers=list(expired.values()),
                      evaluated_at=now.isoformat().replace("+00:00", "Z"))


# Node types that exist in a snapshot only because an endpoint led the collectors to them.
ENDPOINT_DERIVED = {
    "sagemaker.endpoint", "sagemaker.endpoint_config", "sagemaker.variant", "sagemaker.model",
    "sagemaker.container", "sagemaker.model_package", "sagemaker.model_package_group", "s3.object", "s3.bucket",
    "kms.key", "iam.role", "ec2.subnet", "ec2.security_group", "ec2.vpc",
}


def needs_regions_without_endpoints(rules: list[Rule], config: Config | None = None) -> bool:
    """Whether any rule could give a finding in a region that has no endpoint.

    Decided per rule: its resource type is endpoint-derived, or (for a region-level rule) its scope, evaluated on
    an empty region, is definitely False. Only when no rule needs them may collection skip such regions.
    """
    config = config or Config()
    probe = ResourceGraph(meta={"collected_at": "2000-01-01T00:00:00Z"})
    region = "arn:aws:::probe-region"
    probe.add_node(region, "aws.region", name="probe", account="000000000000", region="probe")
    for rule in rules:
        if rule.manual or rule.resource in ENDPOINT_DERIVED:
            continue
        if rule.resource != "aws.region" or rule.scope is None:
            return True
        if _scope_may_take(rule.scope, rule_params(rule, config), config, probe, region, _now(probe)):
            return True
    return False


def _scope_may_take(scope: Condition, params: dict[str, Any], config: Config, probe: ResourceGraph, node_id: str,
                    now: dt.datetime) -> bool:
    """Whether a scope, evaluated on a probe graph's node, may take it in (is not definitely False)."""
    ctx = EvalContext(graph=probe, params=params, designations=config.designations, now=now)
    return evaluate(ctx, scope, node_id).value is not False


# What a listing tells of a resource before it is described: its reference and its tags.
_LISTED = frozenset({"id", "name", "account", "region", "type"})
NeedsRead = Callable[[str, str, str, str, dict[str, str], dt.datetime], bool]


def read_needed(rules: list[Rule], config: Config | None, type_: str, facets: frozenset[str]) -> NeedsRead | None:
    """Which `type_` resources some rule reads `facets` of, told from what a listing shows (ARN, name, account,
    region, tags): `needed(arn, name, account, region, tags, now)`. None when that cannot be told, so every
    resource needs them: a rule reads the facets on other nodes than the one it judges, or its scope asks more
    than the listing shows (a related node, a described attribute).

    A resource no such rule's scope takes in gets no finding from those rules, so the read serving only them can
    be left out for it (the collector marks the facets not collected: a later evaluation asking gets `error`).
    """
    config = config or Config()
    # A facet left out is an unread edge: what it leads to may be hidden (see hiding_nodes), so a rule about such a
    # resource would get `error` where a full collection decides.
    hidden = _reachable(tuple(f[4:] for f in sorted(facets) if f.startswith("rel:")))
    if any(not rule.manual and rule.resource in hidden for rule in rules):
        return None
    scopes: list[tuple[Condition, dict[str, Any]]] = []  # each reader's scope, with its parameters
    for rule in rules:
        reads = rule_reads([rule]) if not rule.manual else frozenset()
        if not any((type_, f) in reads for f in facets):
            continue
        beyond = reads_beyond_resource(rule)
        if rule.resource != type_ or rule.scope is None or not _listed_only(rule.scope) or \
                any((type_, f) in beyond for f in facets):
            return None
        scopes.append((rule.scope, rule_params(rule, config)))

    def needed(arn: str, name: str, account: str, region: str, tags: dict[str, str], now: dt.datetime) -> bool:
        probe = ResourceGraph(meta={"collected_at": now.isoformat()})
        probe.add_node(arn, type_, name=name, account=account, region=region)
        probe.set_tags(arn, tags)
        return any(_scope_may_take(scope, params, config, probe, arn, now) for scope, params in scopes)
    return needed


def _listed_only(cond: Condition) -> bool:
    """Whether the condition reads nothing but a resource's reference and tags (all a listing shows)."""
    if isinstance(cond, AllCond | AnyCond):
        return all(_listed_only(c) for c in cond.parts)
    if isinstance(cond, NotCond):
        return _listed_only(cond.inner)
    if isinstance(cond, DesignationCond):
        return True
    if isinstance(cond, TagCond):
        return not isinstance(cond.value, AttrRef) or cond.value.path in _LISTED
    if isinstance(cond, AttrCond):
        return cond.path in _LISTED and (not isinstance(cond.value, AttrRef) or cond.value.path in _LISTED)
    return False


# Region nodes exist for every collected account-region; no failed read can hide one.
NEVER_HIDDEN = {"aws.region"}


def hiding_nodes(graph: ResourceGraph) -> dict[str, list[tuple[str, str]]]:
    """For each resource type, the known nodes whose failed read may hide resources of that type, with why.

    A failed listing hides the listed types in its account-region (reported on the region); a node whose
    describe failed hides everything its edges would have led to; a failed `rel:<label>` facet hides what that
    edge leads to. The types reachable from there (through the edge schema) cannot be listed,
    so each rule about such a type reports `error` on the node we know about instead of vanishing.
    """
    out: dict[str, dict[str, str]] = {}  # type -> hiding node -> the first reason (one finding per rule and node)
    for err in graph.errors:  # a failed listing hides the listed types (and what they lead to) in its region
        region = region_id(err.account, err.region)
        if not err.affects or region not in graph:
            continue
        listed = set(NODE_TYPES) if "*" in err.affects else {t for t in err.affects if t in NODE_TYPES}
        reason = (f"{label_of(graph.attrs(region), region)}: {err.service}:{err.operation} failed: {err.code}, so "
                  f"its {' / '.join(sorted(err.affects))} resources are unknown: {err.message}")
        for type_ in sorted((listed | _reachable_from(listed)) - NEVER_HIDDEN):
            _add(out, type_, region, reason)
    # a node without a failed read hides nothing: only the few that have one are sorted (not every node)
    for node_id in sorted(n for n, a in graph.g._node.items() if a["errors"] and not a["dangling"]):
        node = graph.attrs(node_id)
        for facet, msg in sorted(node["errors"].items()):
            if facet == "describe":
                labels = [e.label for e in EDGE_TYPES.values() if node["type"] in e.sources]
            elif facet.startswith("rel:") and facet[4:] in EDGE_TYPES:
                labels = [facet[4:]]
            else:
                continue
            what = "it could not be read" if facet == "describe" else f"its {facet[4:]} could not be read"
            for type_ in sorted(_reachable(tuple(labels)) - NEVER_HIDDEN - {node["type"]}):
                _add(out, type_, node_id, f"{label_of(node, node_id)}: {what}, so any {type_} reached through it "
                                          f"is unknown: {msg}")
    return {type_: list(hits.items()) for type_, hits in out.items()}


def _add(out: dict[str, dict[str, str]], type_: str, node_id: str, reason: str) -> None:
    # a dict per type, not a list searched each time: a narrow run leaves thousands of artifacts unread
    out.setdefault(type_, {}).setdefault(node_id, reason)


def _reachable_from(types: set[str]) -> frozenset[str]:
    return _reachable(tuple(e.label for e in EDGE_TYPES.values() if e.sources & types))


@functools.cache
def _reachable(labels: tuple[str, ...]) -> frozenset[str]:
    """Node types reachable by following `labels` and then any edge onwards, in the edge schema (which is fixed:
    worked out once per set of labels, not once per node)."""
    seen: set[str] = set()
    todo = [EDGE_TYPES[lb].target for lb in labels]
    while todo:
        t = todo.pop()
        if t not in seen:
            seen.add(t)
            todo += [e.target for e in EDGE_TYPES.values() if t in e.sources]
    return frozenset(seen)


def _ref(graph: ResourceGraph, node_id: str, cache: EvalCache | None = None) -> ResourceRef:
    """The resource's identity, made once per evaluation and shared by every rule's finding about it."""
    hit = cache.refs.get(node_id) if cache is not None else None
    if hit is None:
        node = graph.attrs(node_id)
        hit = ResourceRef(arn=node_id, type=node["type"], name=node["name"], account=node["account"],
                          region=node["region"])
        if cache is not None:
            cache.refs[node_id] = hit
    return hit


_STATUS = {True: Status.PASS, False: Status.FAIL, None: Status.ERROR}


class _Judge:
    """One rule's findings in one evaluation: its conditions compiled over its context (the assertion with
    evidence; the scope, exemption and guards first as values alone, their evidence only kept when they say
    so), and what every one of its findings shares, built once."""

    def __init__(self, ctx: EvalContext, rule: Rule) -> None:
        self.ctx, self.rule = ctx, rule

        def both(cond: Condition | None) -> tuple[Fn | None, VFn | None]:
            return (None, None) if cond is None else (compiled(ctx, cond), shared_value(ctx, cond))
        gone = rule.out_of_scope.when if rule.out_of_scope is not None else None
        guard = rule.undecidable.when if rule.undecidable is not None else None
        self.scope, self.scope_value = both(rule.scope)
        self.gone, self.gone_value = both(gone)
        self.guard, self.guard_value = both(guard)
        assert rule.assertion is not None
        self.assertion = compiled(ctx, rule.assertion)
        self.exempt_value = shared_value(ctx, rule.exempt_when.condition) if rule.exempt_when is not None else None
        # Each status's message, its parameters filled in, cut at the resource's {name} (the title, used where a
        # rule gives no message, is text, not a template).
        heads = {s: name_pieces(rule.messages[k], ctx.params) if rule.messages.get(k) else (rule.title,)
                 for s, k in ((Status.PASS, "pass"), (Status.FAIL, "fail"), (Status.ERROR, "error"))}
        self.heads = {**heads, Status.EXEMPT: heads[Status.FAIL]}
        # Every finding of the rule holds the same two (read-only) dicts rather than a copy each (they are most of
        # a passing finding's size).
        self.params = {k: ctx.params[k] for k in sorted(rule.params)} if rule.params else None
        self.remediation = {"remediator": rule.remediation.get("remediator"),
                            "guidance": rule.remediation.get("guidance", "")}
        self.may_infer = any(_may_name_basis(c) for c in (rule.scope, rule.assertion, gone, guard))
        self.basis = rule.basis
        self.fields = (rule.id, rule.policy, rule.title, rule.severity, rule.advisory)  # what each finding repeats

    def judge_all(self, nodes: list[tuple[str, ResourceRef]], waivers: list[Waiver], today: dt.date,
                  expired: dict[str, dict[str, Any]], out: list[Finding]) -> None:
        """Append the rule's finding (if any) for each node, in order. One loop for all of a rule's nodes, with
        what every node needs bound once (this runs for every rule and resource)."""
        scope_value, gone_value, guard_value = self.scope_value, self.gone_value, self.guard_value
        assertion, make, append, fail = self.assertion, self.make, out.append, Status.FAIL
        for node_id, ref in nodes:
            if scope_value is not None:
                applies = scope_value(node_id)
                if applies is False:
                    continue
                if applies is None:
                    assert self.scope is not None
                    _, evidence, unknown = self.scope(node_id)
                    append(make(ref, Status.ERROR, evidence, unknown, prefix="cannot tell whether this rule applies: "))
                    continue
            if gone_value is not None and gone_value(node_id) is True:
                append(self._out_of_scope(node_id, ref))
                continue
            if guard_value is not None and guard_value(node_id) is not False:
                append(self._undecidable(node_id, ref))
                continue
            value, evidence, unknown = assertion(node_id)
            status = _STATUS[value]
            if status is not fail:
                append(make(ref, status, evidence, unknown))
            else:
                append(self._failed(node_id, ref, evidence, unknown, waivers, today, expired))

    def _out_of_scope(self, node_id: str, ref: ResourceRef) -> Finding:
        assert self.rule.out_of_scope is not None and self.gone is not None
        _, evidence, unknown = self.gone(node_id)  # not judged, but said: the evidence shows why
        return self.make(ref, Status.EXEMPT, evidence, unknown,
                         exemption={"kind": "out_of_scope", "reason": self.rule.out_of_scope.reason.strip()})

    def _undecidable(self, node_id: str, ref: ResourceRef) -> Finding:
        assert self.rule.undecidable is not None and self.guard is not None
        _, evidence, unknown = self.guard(node_id)
        reasons = unknown or [f"{ref.name}: {self.rule.undecidable.reason.strip()}"]
        return self.make(ref, Status.ERROR, evidence, reasons)

    def _failed(self, node_id: str, ref: ResourceRef, evidence: list[dict[str, Any]], unknown: Sequence[str],
                waivers: list[Waiver], today: dt.date, expired: dict[str, dict[str, Any]]) -> Finding:
        """A failing assertion: exempt by designation or a live waiver, else a failure (naming expired waivers)."""
        rule = self.rule
        exemption = None
        if self.exempt_value is not None and self.exempt_value(node_id) is True:
            assert rule.exempt_when is not None
            exemption = {"kind": "designation", "reason": rule.exempt_when.reason}
        stale: list[Waiver] = []
        if exemption is None:
            for w in waivers:
                if not w.matches(rule.id, rule.policy, node_id, ref.name):
                    continue
                if w.expired(today):
                    expired[f"{w.source}"] = dict(w.to_dict(), expired=True)
                    stale.append(w)
                    continue
                exemption = {"kind": "waiver", **w.to_dict()}
                break
        if exemption is not None:
            return self.make(ref, Status.EXEMPT, evidence, unknown, exemption=exemption)
        finding = self.make(ref, Status.FAIL, evidence, unknown)
        if stale:  # only gathered for failures that no live waiver covers
            finding.evidence["expired_waivers"] = [w.to_dict() for w in stale]
        return finding

    def make(self, ref: ResourceRef, status: Status, checks: list[dict[str, Any]], unknown: Sequence[str],
             prefix: str = "", exemption: dict[str, Any] | None = None) -> Finding:
        name = ref.name
        head = (name if name.__class__ is str else str(name)).join(self.heads[status])
        if status is _PASS:
            message = head
        elif status is _ERROR:
            detail = "; ".join(dict.fromkeys(unknown)) or "the data needed could not be read"
            message = f"{head} — could not tell: {prefix}{detail}"
        elif exemption and exemption["kind"] == "out_of_scope":
            held = [_describe(e) for e in checks if e.get("result") is True and "check" in e]
            message = f"{ref.name} is out of scope: {exemption['reason']}" + (f" ({'; '.join(held)})" if held else "")
        else:
            failing = []
            for e in checks:  # a loop, not a comprehension (a function call of its own in Python 3.11)
                if e.get("result") is False:
                    failing.append(_describe(e))
            message = f"{head} — {'; '.join(dict.fromkeys(failing))}" if failing else head
            if exemption:
                message = f"{message} [exempt: {exemption['reason']}]"
        # A check on an attribute named *_basis that reads "inferred" (e.g. a registry link matched by content)
        # makes the finding rest on inference, whatever the rule's own basis.
        basis = self.basis
        if self.may_infer and any(e.get("actual") == "inferred" and str(e.get("check", "")).endswith("_basis")
                                  for e in checks):
            basis = "inferred"
        # the evidence's keys in one order (basis, checks, unknown, params), made whole rather than grown
        params = self.params
        if unknown:
            evidence: dict[str, Any] = {"basis": basis, "checks": checks, "unknown": list(dict.fromkeys(unknown))}
            if params is not None:
                evidence["params"] = params
        elif params is not None:
            evidence = {"basis": basis, "checks": checks, "params": params}
        else:
            evidence = {"basis": basis, "checks": checks}
        rule_id, policy, title, severity, advisory = self.fields
        # made from its fields in one step, without the named tuple's own __new__ (a Python call)
        return _tuple_new(Finding, (rule_id, policy, title, severity, status, ref, message, evidence,
                                    self.remediation, exemption, advisory))


_PASS, _ERROR = Status.PASS, Status.ERROR
_tuple_new = tuple.__new__


def _may_name_basis(cond: Condition | None) -> bool:
    """Whether any check of the condition could be named *_basis (its evidence then needs looking at)."""
    return cond is not None and any(_names_basis(n) for n in nodes(cond))


def _names_basis(n: Condition | Quantifier) -> bool:
    """Whether this node's own check could be named *_basis (evidence names a check by its path, tag, designation,
    or the last edge of a related path)."""
    if isinstance(n, AttrCond):
        return n.path.endswith("_basis")
    if isinstance(n, TagCond):
        return n.key.endswith("_basis")
    if isinstance(n, DesignationCond):
        return n.name.endswith("_basis")
    if isinstance(n, RelatedCond):
        return n.labels[-1].endswith("_basis")
    if isinstance(n, Distinct):
        return n.path.endswith("_basis")
    if isinstance(n, AllCond | AnyCond | NotCond | Each | Some | NoneOf | Count | Exists):
        return False  # named by their parts, or by the related condition they quantify
    return True  # a form added later: look, to be safe


def _describe(ev: dict[str, Any]) -> str:
    if "note" in ev:
        return f"{ev['resource']}: {ev['note']}"
    if "op" in ev:
        exp = f" {ev['expected']!r}" if "expected" in ev else ""
        if "explain" in ev:
            return f"{ev['resource']}: {ev['explain']} (expected {ev['check']} {ev['op']}{exp})"
        return f"{ev['resource']}: {ev['check']} is {ev.get('actual')!r}, expected {ev['op']}{exp}"
    return f"{ev['resource']}: {ev['check']}"
