"""CSV (one row per finding) and JUnit XML (one test case per rule x resource) writers."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections import Counter
from typing import Any

from auditor.model import Status
from auditor.policies import title
from auditor.report.context import references_text
from auditor.report.model import Report, ReportFinding

CSV_COLUMNS = ["rule_id", "policy", "policy_title", "severity", "status", "drift", "resource_arn", "resource_type",
               "resource_name", "account", "region", "message", "remediator", "guidance", "exempt_reason", "references"]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_XML_BAD = re.compile(r"[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _cell(value: Any) -> str:
    """Spreadsheet-safe text: attacker-controlled names must not become formulas (CSV injection). Spreadsheets
    skip leading white space before evaluating, so " =cmd()" is a formula too: test after stripping it."""
    s = "" if value is None else str(value)
    return "'" + s if s.lstrip(" \t\r\n\f\v").startswith(_FORMULA) or s.startswith(_FORMULA) else s


def render_csv(report: Report) -> str:
    buf = io.StringIO()
    # RFC 4180 line ends: the writer quotes any field holding a character of the line terminator, so with CRLF a
    # bare "\r" inside a name is quoted too (with "\n" alone it was written raw and split the row).
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(CSV_COLUMNS)
    for rf in report.findings:
        f, r = rf.finding, rf.finding.resource
        w.writerow([_cell(x) for x in (
            f.rule_id, f.policy, title(f.policy), f.severity.value, f.status.value, rf.drift or "", r.arn,
            r.type, r.name, r.account, r.region, f.message, f.remediation.get("remediator") or "",
            f.remediation.get("guidance", ""), (f.exemption or {}).get("reason", ""),
            references_text(rf.references))])
    return buf.getvalue()


def _x(text: Any) -> str:
    return _XML_BAD.sub("\N{REPLACEMENT CHARACTER}", str(text))


def _advisory_fail(f: ReportFinding) -> bool:
    return f.finding.advisory and f.status is Status.FAIL


def render_junit(report: Report) -> str:
    """Policies are suites; fail -> <failure>, error -> <error>, exempt and advisory fail -> <skipped>, pass -> an
    empty case."""
    root = ET.Element("testsuites", name="sagemaker-auditor")
    by_policy: dict[int, list[ReportFinding]] = {}
    for rf in report.findings:
        by_policy.setdefault(rf.finding.policy, []).append(rf)
    totals: Counter[str] = Counter()
    for n in sorted(by_policy):
        items = by_policy[n]
        c = Counter("exempt" if _advisory_fail(rf) else rf.status.value for rf in items)
        suite = ET.SubElement(root, "testsuite", name=_x(f"policy {n}: {title(n)}"), tests=str(len(items)),
                              failures=str(c["fail"]), errors=str(c["error"]), skipped=str(c["exempt"]))
        totals.update({"tests": len(items), "failures": c["fail"], "errors": c["error"], "skipped": c["exempt"]})
        for rf in items:
            f = rf.finding
            case = ET.SubElement(suite, "testcase", classname=_x(f"policy{n}.{f.rule_id}"),
                                 name=_x(f"{f.rule_id} {f.resource.name}"))
            if _advisory_fail(rf):  # not a violation: the policy text does not require it
                ET.SubElement(case, "skipped", message=_x(f"advisory: {f.message[:480]}"))
            elif f.status is Status.FAIL:
                el = ET.SubElement(case, "failure", message=_x(f.message[:500]), type=f.severity.value)
                el.text = _x(f"{f.resource.arn}\n{f.message}\n{f.remediation.get('guidance', '')}\n"
                             f"{references_text(rf.references)}".rstrip())
            elif f.status is Status.ERROR:
                el = ET.SubElement(case, "error", message=_x(f.message[:500]), type="could-not-tell")
                el.text = _x("\n".join(f.evidence.get("unknown", [])))
            elif f.status is Status.EXEMPT:
                ET.SubElement(case, "skipped", message=_x((f.exemption or {}).get("reason", "exempt")))
    for k, v in totals.items():
        if k != "skipped":  # <testsuites> has no skipped count in the Jenkins/GitLab schema; each suite has one
            root.set(k, str(v))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
