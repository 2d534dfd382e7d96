"""OCSF 1.x Detection Finding events (class 2004), one per finding: what Prowler emits and Security Lake ingests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from auditor import __version__
from auditor.policies import POLICIES

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


def _status(f: dict[str, Any]) -> tuple[int, str]:
    # an undecided finding is neither new nor resolved: "Other", with the reason in status_detail
    if f["status"] == "exempt":
        return STATUS_SUPPRESSED, "Suppressed"
    if f["status"] == "error":
        return STATUS_OTHER, "Could not tell"
    return STATUS_NEW, "New"


def event(f: dict[str, Any], evaluated_at: str | None) -> dict[str, Any]:
    r = f["resource"]
    refs = f.get("references") or {}
    status_id, status = _status(f)
    section, policy_title = POLICIES.get(f["policy"], ("", ""))
    detail = f["message"]
    if f["status"] == "error" and f["evidence"].get("unknown"):
        detail += " — could not read: " + "; ".join(f["evidence"]["unknown"])
    if f["status"] == "exempt":
        detail += " — exempt: " + (f.get("exemption") or {}).get("reason", "")
    out: dict[str, Any] = {
        "activity_id": ACTIVITY_CREATE, "activity_name": "Create",
        "category_uid": CATEGORY_UID, "category_name": "Findings",
        "class_uid": CLASS_UID, "class_name": "Detection Finding",
        "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE, "type_name": "Detection Finding: Create",
        "time": epoch_ms(evaluated_at),
        "severity_id": SEVERITY_ID[f["severity"]], "severity": f["severity"].capitalize(),
        "status_id": status_id, "status": status, "status_code": STATUS_CODE[f["status"]],
        "status_detail": detail, "message": f["message"],
        "metadata": {
            "version": OCSF_VERSION, "event_code": f["rule_id"], "profiles": ["cloud"],
            "product": {"name": "sagemaker-auditor", "vendor_name": "sagemaker-auditor", "version": __version__,
                        "uid": "sagemaker-auditor"},
        },
        "finding_info": {
            "uid": f"sagemaker-auditor/{f['rule_id']}/{r['arn']}", "title": f["title"],
            "desc": f"Policy {f['policy']} ({section}: {policy_title}): {f['title']}",
            "types": [f"policy {f['policy']}: {policy_title}"],
        },
        "cloud": {"provider": "AWS", "region": r["region"],
                  "account": {"uid": r["account"], "name": r["account"], "type_id": AWS_ACCOUNT,
                              "type": "AWS Account"}},
        "resources": [{"uid": r["arn"], "name": r["name"], "type": r["type"], "region": r["region"],
                       "cloud_partition": partition(r["region"]),
                       "labels": [f"endpoint:{e}" for e in f.get("endpoints", [])]
                       + ([f"environment:{f['environment']}"] if f.get("environment") else [])}],
        "remediation": {"desc": (f.get("remediation") or {}).get("guidance") or "See the rule's rationale.",
                        "references": list(refs.get("aws_docs", []))},
        "unmapped": {"compliance": {"policy": f["policy"], "policy_section": refs.get("policy_section", ""),
                                    "security_hub": list(refs.get("security_hub", [])),
                                    "config_rules": list(refs.get("config_rules", []))},
                     "evidence_basis": f["evidence"].get("basis", "")},
    }
    if f.get("exemption"):
        out["unmapped"]["exemption"] = f["exemption"]
    return out


def render(doc: dict[str, Any]) -> list[dict[str, Any]]:
    stamp = doc.get("scope", {}).get("evaluated_at")
    return [event(f, stamp) for f in doc["findings"]]
