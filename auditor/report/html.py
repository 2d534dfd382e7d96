"""The self-contained HTML report: jinja2 with autoescape, the findings embedded once as data, our script by hash."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from auditor.model import Status
from auditor.report import matrix
from auditor.report.context import references_text
from auditor.report.model import Report

COLORS = {"pass": "#2e7d32", "fail": "#c62828", "error": "#b26a00", "exempt": "#1565c0"}
POLICY_COUNT = 15
PRINT_LIMIT = 2000  # violations rendered for print up front; above this only when the reader prints
DATA_OPEN = '<script type="application/json" id="report-data">'


def exemption_text(ex: Mapping[str, Any]) -> str:
    if not ex:
        return ""
    owner = f" · owner {ex['owner']}" if ex.get("owner") else ""
    expires = f" · expires {ex['expires']}" if ex.get("expires") else ""
    return f"{ex.get('kind', '')}: {ex.get('reason', '')}{owner}{expires}"


def payload(report: Report, m: matrix.Matrix) -> dict[str, Any]:
    """The findings as compact tables: rules and resources once each, a finding as a row of indices and text."""
    rules: dict[str, int] = {}
    rule_rows: list[list[Any]] = []
    res: dict[str, int] = {}
    res_rows: list[list[Any]] = []
    rows: list[list[Any]] = []
    for rf in report.findings:
        f = rf.finding
        rem = f.remediation or {}
        ri = rules.get(f.rule_id)
        if ri is None:
            ri = rules[f.rule_id] = len(rule_rows)
            rule_rows.append([f.rule_id, f.title, f.severity.value, f.policy, rem.get("remediator") or "",
                              rem.get("guidance", ""), references_text(rf.references)])
        r = f.resource
        xi = res.get(r.arn)
        if xi is None:
            xi = res[r.arn] = len(res_rows)
            res_rows.append([r.arn, r.type, r.name, r.account, r.region, matrix.environment_of(rf)])
        eps = matrix.endpoints_of(rf)  # ARNs for now: indices once every endpoint has a resource row
        rows.append([ri, f.status.value, xi, f.message, rf.drift or "", 1 if f.advisory else 0,
                     eps, f.evidence,
                     exemption_text(f.exemption or {}),
                     rem.get("outcome", ""),
                     rem.get("guidance", "") if rem.get("guidance", "") != rule_rows[ri][5] else None])
    # endpoints only reached through dependencies still need an identity for the endpoint filter
    for row in rows:
        for arn in row[6]:
            if arn not in res:
                ref = matrix.ref_from_arn(arn)
                res[arn] = len(res_rows)
                res_rows.append([arn, ref.type, ref.name, ref.account, ref.region, ""])
        row[6] = [res[a] for a in row[6]]
    return {"rules": rule_rows, "resources": res_rows, "findings": rows, "matrix": matrix_payload(m, res)}


def matrix_payload(m: matrix.Matrix, res: dict[str, int]) -> dict[str, Any]:
    """Rows as [resource index, environment, 15 cells "f3"/"p12"/""], groups as [account, region, rows]."""
    def row(r: matrix.Row) -> list[Any]:
        cells = [f"{c[0][0] if c[0] != 'exempt' else 'x'}{c[1]}" if (c := r.cells.get(p)) else ""
                 for p in range(1, POLICY_COUNT + 1)]
        return [res[r.arn], r.environment, cells]

    def groups(gs: list[matrix.Group]) -> list[list[Any]]:
        return [[g.account, g.region, [row(r) for r in g.rows]] for g in gs]

    return {"endpoints": groups(m.endpoints), "account_level": groups(m.account_level),
            "shared": [[res[r.arn], r.worst, [res[e] for e in r.endpoints]] for r in m.shared]}


def embed(data: dict[str, Any]) -> str:
    """gzip + base64: 10x smaller than the JSON, and no byte of attacker text can close the <script> element."""
    # ASCII-only JSON: the browser decodes it several times faster than UTF-8 with non-ASCII text in it
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode("ascii")


def embedded(page: str) -> dict[str, Any]:
    """The findings data of a rendered page (for tests and tools that read a report.html back)."""
    start = page.index(DATA_OPEN) + len(DATA_OPEN)
    raw = gzip.decompress(base64.b64decode(page[start:page.index("</script>", start)]))
    data: dict[str, Any] = json.loads(raw)
    return data


def view(report: Report) -> dict[str, Any]:
    """The plain data the template reads, built here and only here from the typed report (the findings reach the
    page through `payload`, never through the template)."""
    return {
        "tool": dict(report.tool), "scope": report.scope.to_json(), "complete": report.complete,
        "summary": report.summary.to_json(), "manual_checks": [m.to_json() for m in report.manual_checks],
        "expired_waivers": list(report.expired_waivers),
        "collection_errors": [e.to_dict() for e in report.collection_errors], "api_calls": report.api_calls,
        **{name: value for name in ("remediation", "drift", "history", "trends")
           if (value := getattr(report, name)) is not None},
    }


def render(report: Report) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from auditor.resources import templates_dir

    # autoescape on for everything: resource names, tags and messages are attacker-controlled text.
    env = Environment(loader=FileSystemLoader(str(templates_dir())), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    script = resources.files("auditor.report").joinpath("filter.js").read_text()
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    doc = view(report)
    policies = [{"num": int(n), **p} for n, p in doc["summary"]["by_policy"].items()]
    violations = sum(1 for f in report.findings if f.status in (Status.FAIL, Status.ERROR))
    m = matrix.build(report.findings)
    return env.get_template("report.html.j2").render(
        doc=doc, policies=policies, matrix=m, colors=COLORS,
        drift=report.drift, script=script, script_hash=f"sha256-{digest}", data=embed(payload(report, m)),
        print_eager=violations <= PRINT_LIMIT,
    )
