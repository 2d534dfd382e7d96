"""Remediator registry and plan types: a remediator turns one failing finding into exact API calls plus their undo."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from auditor.graph import ResourceGraph

if TYPE_CHECKING:
    from auditor.report.model import ReportFinding


@dataclass(frozen=True)
class Call:
    """One AWS API call, in boto3 terms, with the call that reverses it (None: nothing to reverse)."""

    service: str
    operation: str
    params: dict[str, Any]
    region: str
    description: str
    undo: tuple[Call, ...] = ()  # the calls that reverse this one, in order
    # errors that mean "already in the wanted state" (e.g. deleting what is gone): treated as success
    ok_errors: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Call:
        return cls(service=d["service"], operation=d["operation"], params=d["params"], region=d["region"],
                   description=d["description"], undo=tuple(cls.from_dict(u) for u in d.get("undo") or ()),
                   ok_errors=tuple(d.get("ok_errors", ())))


WAIT = "__wait__"  # pseudo-operation: a boto3 waiter (params: waiter name plus its arguments)


def wait_in_service(endpoint: str, region: str) -> Call:
    return Call("sagemaker", WAIT, {"waiter": "endpoint_in_service", "EndpointName": endpoint}, region,
                f"wait until endpoint {endpoint} is InService")


@dataclass
class Plan:
    """What one remediator would do for one finding, computed from the resource's current (re-read) state."""

    rule_id: str
    resource: dict[str, Any]
    remediator: str
    description: str
    calls: list[Call] = field(default_factory=list)
    before: dict[str, Any] = field(default_factory=dict)
    skip_reason: str | None = None
    change_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    notes: list[str] = field(default_factory=list)
    run_id: str | None = None  # the audit run that planned it (journalled; not part of the change id)


@dataclass
class Target:
    """The finding to fix, the graph it came from, the remediator's parameters and a client factory."""

    finding: ReportFinding
    graph: ResourceGraph
    params: dict[str, Any]
    client: Callable[[str, str], Any]  # (service, region) -> boto3 client
    # every selected, non-waived finding this change answers (one remediator, one resource): a remediator that
    # fixes several rules at once acts only for these
    findings: list[ReportFinding] = field(default_factory=list)
    run_id: str | None = None  # the audit run acting: what the stop's marker tags name

    def rule_ids(self) -> set[str]:
        return {f.rule_id for f in (self.findings or [self.finding])}

    @property
    def arn(self) -> str:
        return self.finding.finding.resource.arn

    @property
    def region(self) -> str:
        return self.finding.finding.resource.region

    @property
    def name(self) -> str:
        return self.finding.finding.resource.name

    def plan(self, remediator: str, description: str) -> Plan:
        """An empty plan for this finding; the remediator adds calls, before-state and notes (its resource as plain
        data: plans are journalled and written to plan files)."""
        return Plan(rule_id=self.finding.rule_id, resource=self.finding.finding.resource.to_dict(),
                    remediator=remediator, description=description, run_id=self.run_id)

    def data(self, node_id: str | None = None) -> dict[str, Any]:
        return self.graph.attrs(node_id or self.arn)["data"]


def owning_endpoint(graph: ResourceGraph, arn: str) -> str:
    """The endpoint a finding is about: the resource itself, or the endpoint that has this variant."""
    if arn in graph and graph.attrs(arn)["type"] == "sagemaker.variant":
        owners = graph.incoming(arn, "has_variant")
        return owners[0] if owners else arn
    return arn


PlanFn = Callable[[Target], Plan]
Bind = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]  # (forward params, before-state) -> undo params


@dataclass(frozen=True)
class UndoOp:
    """One call undo may make for a forward call: `bind` derives the parameters that name what it acts on (and any
    constants) from the recorded forward call and before-state; `free` lists the only other parameters it may carry,
    the recorded state it puts back (counts, policy bodies, tags)."""

    operation: str  # "service:operation" in boto3 terms ("sagemaker:__wait__" for the endpoint waiter)
    bind: Bind
    free: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inverse:
    """A forward call a remediator makes and the calls that may reverse it (none: nothing to reverse)."""

    forward: str  # "service:operation"
    undo: tuple[UndoOp, ...] = ()


def wait_op(name_key: str = "EndpointName") -> UndoOp:
    """Undo may wait for the endpoint the forward call named to be InService again."""
    return UndoOp(f"sagemaker:{WAIT}", lambda f, _b: {"waiter": "endpoint_in_service", "EndpointName": f[name_key]})


@dataclass(frozen=True)
class RemediatorSpec:
    name: str
    permissions: tuple[str, ...]
    params: dict[str, Any]
    doc: str
    example: str
    plan: PlanFn
    inverses: dict[str, Inverse] = field(default_factory=dict)  # forward "service:operation" -> its inverse


REMEDIATORS: dict[str, RemediatorSpec] = {}


def remediator(name: str, permissions: list[str], params: dict[str, Any] | None = None,
               example: str = "", inverses: tuple[Inverse, ...] = ()) -> Callable[[PlanFn], PlanFn]:
    """Register a remediator: its IAM actions, its parameters (with defaults), a plan function, and every forward
    call it makes with the calls that may reverse it (the allowlist undo and restore are held to)."""

    def wrap(fn: PlanFn) -> PlanFn:
        if name in REMEDIATORS:
            raise ValueError(f"remediator {name!r} registered twice")
        REMEDIATORS[name] = RemediatorSpec(name, tuple(sorted(permissions)), dict(params or {}),
                                           (fn.__doc__ or "").strip(), example, fn,
                                           {i.forward: i for i in inverses})
        return fn

    return wrap


def catalogue() -> dict[str, tuple[str, ...]]:
    """Remediator name -> its parameter names: what the engine checks rule files and the config against."""
    return {name: tuple(spec.params) for name, spec in load_builtin().items()}


def load_builtin() -> dict[str, RemediatorSpec]:
    """Import the built-in remediators (registration happens on import)."""
    from auditor.remediate import builtin  # noqa: F401

    return REMEDIATORS
