"""The self-contained HTML report: jinja2 with autoescape, inline CSS/JS/SVG, a CSP that allows only our script."""

from __future__ import annotations

import base64
import hashlib
from importlib import resources
from typing import Any

COLORS = {"pass": "#2e7d32", "fail": "#c62828", "error": "#b26a00", "exempt": "#1565c0"}
WORST = {"fail": 4, "error": 3, "exempt": 2, "pass": 1}
SEVRANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
MATRIX_ROWS = 400


def _matrix(findings: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    rows: dict[str, dict[str, Any]] = {}
    for f in findings:
        r = f["resource"]
        row = rows.setdefault(r["arn"], {"arn": r["arn"], "name": r["name"], "type": r["type"], "cells": {}})
        key = str(f["policy"])
        if WORST[f["status"]] > WORST.get(row["cells"].get(key, ""), 0):
            row["cells"][key] = f["status"]
    ordered = sorted(rows.values(), key=lambda r: (-max(WORST[s] for s in r["cells"].values()), r["type"], r["name"]))
    if len(ordered) > MATRIX_ROWS:
        bad = [r for r in ordered if any(s in ("fail", "error") for s in r["cells"].values())]
        return bad[:MATRIX_ROWS], True
    return ordered, False


def render(doc: dict[str, Any], drift: dict[str, Any] | None = None) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from auditor.resources import templates_dir

    # autoescape on for everything: resource names, tags and messages are attacker-controlled text.
    env = Environment(loader=FileSystemLoader(str(templates_dir())), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    script = resources.files("auditor.report").joinpath("filter.js").read_text()
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policies = [{"num": int(n), **p} for n, p in doc["summary"]["by_policy"].items()]
    matrix, truncated = _matrix(doc["findings"])
    findings = sorted(doc["findings"], key=lambda f: (-WORST[f["status"]], -SEVRANK[f["severity"]], f["policy"],
                                                      f["rule_id"], f["resource"]["arn"]))
    return env.get_template("report.html.j2").render(
        doc=doc, policies=policies, findings=findings, matrix=matrix, matrix_truncated=truncated,
        colors=COLORS, sevrank=SEVRANK, drift=drift, script=script, script_hash=f"sha256-{digest}",
    )

