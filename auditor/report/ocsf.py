"""OCSF 1.x Detection Finding events (class 2004), one per finding: what Prowler emits and Security Lake ingests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from auditor import __version__
from auditor.model import Status
from auditor.policies import POLICIES
from auditor.report.model import Report, ReportFinding

OCSF_VERSION = "1.5.0"
CLASS_UID, CATEGORY_UID, ACTIVITY_CREATE = 2004, 2, 1
SEVERITY_ID = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
STATUS_CODE = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "exempt": "EXEMPT"}
STATUS_NEW, STATUS_SUPPRESSED, STATUS_OTHER = 1, 3, 99
AWS_ACCOUNT = 10  # OCSF account.type_id "AWS Account"


def epoch_ms(stamp: str | None) -> int:
    if not stamp:
        return 0
    return int(dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


def partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def _status(status: Status) -> tuple[int, str]:
    # an undecided finding is neither new nor resolved: "Other", with the reason in status_detail
    if status is Status.EXEMPT:
        return STATUS_SUPPRESSED, "Suppressed"
    if status is Status.ERROR:
        return STATUS_OTHER, "Could not tell"
    return STATUS_NEW, "New"


def event(rf: ReportFinding, evaluated_at: str | None) -> dict[str, Any]:
    f, r = rf.finding, rf.finding.resource
    refs = rf.references or {}
    status_id, status = _status(f.status)
    severity = f.severity.value
    section, policy_title = POLICIES.get(f.policy, ("", ""))
    detail = f.message
    if f.status is Status.ERROR and f.evidence.get("unknown"):
        detail += " — could not read: " + "; ".join(f.evidence["unknown"])
    if f.status is Status.EXEMPT:
        detail += " — exempt: " + (f.exemption or {}).get("reason", "")
    out: dict[str, Any] = {
        "activity_id": ACTIVITY_CREATE, "activity_name": "Create",
        "category_uid": CATEGORY_UID, "category_name": "Findings",
        "class_uid": CLASS_UID, "class_name": "Detection Finding",
        "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE, "type_name": "Detection Finding: Create",
        "time": epoch_ms(evaluated_at),
        "severity_id": SEVERITY_ID[severity], "severity": severity.capitalize(),
        "status_id": status_id, "status": status, "status_code": STATUS_CODE[f.status.value],
        "status_detail": detail, "message": f.message,
        "metadata": {
            "version": OCSF_VERSION, "event_code": f.rule_id, "profiles": ["cloud"],
            "product": {"name": "sagemaker-auditor", "vendor_name": "sagemaker-auditor", "version": __version__,
                        "uid": "sagemaker-auditor"},
        },
        "finding_info": {
            "uid": f"sagemaker-auditor/{f.rule_id}/{r.arn}", "title": f.title,
            "desc": f"Policy {f.policy} ({section}: {policy_title}): {f.title}",
            "types": [f"policy {f.policy}: {policy_title}"],
        },
        "cloud": {"provider": "AWS", "region": r.region,
                  "account": {"uid": r.account, "name": r.account, "type_id": AWS_ACCOUNT,
                              "type": "AWS Account"}},
        "resources": [{"uid": r.arn, "name": r.name, "type": r.type, "region": r.region,
                       "cloud_partition": partition(r.region),
                       "labels": [f"endpoint:{e}" for e in rf.endpoints]
                       + ([f"environment:{rf.environment}"] if rf.endpoints and rf.environment else [])}],
        "remediation": {"desc": (f.remediation or {}).get("guidance") or "See the rule's rationale.",
                        "references": list(refs.get("aws_docs", []))},
        "unmapped": {"compliance": {"policy": f.policy, "policy_section": refs.get("policy_section", ""),
                                    "security_hub": list(refs.get("security_hub", [])),
                                    "config_rules": list(refs.get("config_rules", []))},
                     "evidence_basis": f.evidence.get("basis", "")},
    }
    if f.exemption:
        out["unmapped"]["exemption"] = f.exemption
    return out


def render(report: Report) -> list[dict[str, Any]]:
    stamp = report.scope.evaluated_at
    return [event(f, stamp) for f in report.findings]
