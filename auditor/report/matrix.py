"""The endpoint-centred roll-up: per endpoint and policy the worst status over everything the endpoint depends on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auditor.model import ResourceRef

if TYPE_CHECKING:
    from auditor.report.model import ReportFinding

WORST = {"fail": 4, "error": 3, "exempt": 2, "pass": 1}
GLYPH = {"fail": "✗", "error": "?", "exempt": "⊘", "pass": "✓"}  # never colour alone: every status has a glyph
ENDPOINT = "sagemaker.endpoint"


@dataclass
class Row:
    """One matrix row: an endpoint, or a resource no endpoint depends on (trails, regions, unused buckets)."""

    arn: str
    name: str
    type: str
    account: str
    region: str
    environment: str = ""
    cells: dict[int, list[Any]] = field(default_factory=dict)  # policy -> [worst status, count at that status]
    endpoints: list[str] = field(default_factory=list)

    def add(self, policy: int, status: str) -> None:
        cell = self.cells.get(policy)
        if cell is None or WORST[status] > WORST[cell[0]]:
            self.cells[policy] = [status, 1]
        elif cell[0] == status:
            cell[1] += 1

    @property
    def worst(self) -> str:
        return max((c[0] for c in self.cells.values()), key=WORST.__getitem__, default="pass")


@dataclass
class Group:
    account: str
    region: str
    rows: list[Row]


@dataclass
class Matrix:
    endpoints: list[Group]
    shared: list[Row]  # resources several endpoints depend on, listed once with the endpoints they affect
    account_level: list[Group]

    @property
    def endpoint_count(self) -> int:
        return sum(len(g.rows) for g in self.endpoints)


def endpoints_of(f: ReportFinding) -> list[str]:
    """The endpoints a finding's resource serves (an endpoint serves itself, also in reports without the key)."""
    if f.endpoints:
        return list(f.endpoints)
    r = f.finding.resource
    return [r.arn] if r.type == ENDPOINT else []


def environment_of(f: ReportFinding) -> str:
    """The environment of the endpoints a finding's resource serves ("" when it serves none)."""
    return (f.environment or "") if f.endpoints else ""


def ref_from_arn(arn: str) -> ResourceRef:
    # arn:aws:sagemaker:REGION:ACCOUNT:endpoint/NAME, for endpoints only ever seen through their dependencies
    parts = arn.split(":", 5)
    name = parts[5].split("/", 1)[-1] if len(parts) == 6 else arn
    return ResourceRef(arn=arn, name=name, type=ENDPOINT, account=parts[4] if len(parts) == 6 else "",
                       region=parts[3] if len(parts) == 6 else "")


def _row(r: ResourceRef, env: str = "") -> Row:
    return Row(arn=r.arn, name=r.name, type=r.type, account=r.account, region=r.region, environment=env)


def _grouped(rows: list[Row], prod_first: bool) -> list[Group]:
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.account, row.region), []).append(row)
    return [Group(a, r, sorted(rs, key=lambda x: (prod_first and x.environment != "production",
                                                  -WORST[x.worst], x.name)))
            for (a, r), rs in sorted(groups.items())]


def build(findings: Iterable[ReportFinding]) -> Matrix:
    findings = list(findings)
    endpoints: dict[str, Row] = {}
    others: dict[str, Row] = {}
    for f in findings:
        r = f.finding.resource
        if r.type == ENDPOINT and r.arn not in endpoints:
            endpoints[r.arn] = _row(r, environment_of(f))
    for f in findings:
        if f.finding.advisory:
            continue  # advisory rules are shown apart, never in the compliance roll-up
        eps = endpoints_of(f)
        policy, status = f.finding.policy, f.status.value
        for ep in eps:
            row = endpoints.get(ep)
            if row is None:
                row = endpoints[ep] = _row(ref_from_arn(ep), environment_of(f))
            row.add(policy, status)
        r = f.finding.resource
        if r.type != ENDPOINT and len(eps) != 1:
            other = others.get(r.arn)
            if other is None:
                other = others[r.arn] = _row(r, environment_of(f))
                other.endpoints = sorted(eps)
            other.add(policy, status)
    shared = sorted((o for o in others.values() if o.endpoints),
                    key=lambda o: (-WORST[o.worst], -len(o.endpoints), o.name))
    return Matrix(endpoints=_grouped(list(endpoints.values()), prod_first=True), shared=shared,
                  account_level=_grouped([o for o in others.values() if not o.endpoints], prod_first=False))
