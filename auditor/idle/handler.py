"""Lambda entry point: audit the idle rule for this account-region and stop idle, non-always-on endpoints."""

# Same remediator, safety belts and journal as `audit --remediate --only SM-14-idle-endpoint --yes`: the endpoint is
# re-checked as idle right before it is stopped, always-on endpoints are never stopped, more idle endpoints than
# MAX_CHANGES refuses the whole run, and the journal and report go to S3 (Lambda's disk does not survive).
# Configuration comes from the function's environment only; the event is not read (it is data, not instructions).

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

RULE = "SM-14-idle-endpoint"
log = logging.getLogger("auditor.idle")


def settings(env: dict[str, str]) -> dict[str, Any]:
    """The function's settings, validated: a bad value fails the invocation with a one-line reason."""
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    bucket = env.get("JOURNAL_BUCKET", "")
    if not region or not bucket:
        raise ValueError("AWS_REGION and JOURNAL_BUCKET must be set in the function's environment")
    try:
        max_changes = int(env.get("MAX_CHANGES", "5"))
    except ValueError:
        raise ValueError(f"MAX_CHANGES={env.get('MAX_CHANGES')!r}: a whole number from 1 to 1000") from None
    if not 1 <= max_changes <= 1000:
        raise ValueError(f"MAX_CHANGES={max_changes}: a whole number from 1 to 1000")
    dry = env.get("DRY_RUN", "false").lower()
    if dry not in ("true", "false"):
        raise ValueError(f"DRY_RUN={env.get('DRY_RUN')!r}: true or false")
    prefix = env.get("JOURNAL_PREFIX", "idle-stop/")
    return {"region": region, "bucket": bucket, "prefix": prefix if prefix.endswith("/") or not prefix
            else prefix + "/", "max_changes": max_changes, "dry_run": dry == "true"}


def handler(event: Any, context: Any) -> dict[str, Any]:
    from rich.console import Console

    from auditor.app import AuditOptions, run_audit
    from auditor.remediate.flow import RemediationOptions
    from auditor.session import SessionFactory

    cfg = settings(dict(os.environ))
    run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    key = f"{cfg['prefix']}{cfg['region']}/{run_id}"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        journal = out / "remediation-journal.jsonl"
        opts = AuditOptions(regions=[cfg["region"]], rule_ids=[RULE], output=out, formats=["json"], quiet=True,
                            remediate=True, workers=4)
        opts.remediation = RemediationOptions(yes=True, dry_run=cfg["dry_run"], max_changes=cfg["max_changes"],
                                              only=[RULE], journal=journal, run_id=run_id)
        try:
            code = run_audit(opts, Console(file=io.StringIO()))
        finally:  # whatever happened, what was journalled is kept where the next run (and restore) can read it
            s3 = SessionFactory(region=cfg["region"]).client("s3", region=cfg["region"])
            for name in ("remediation-journal.jsonl", "report.json"):
                if (out / name).is_file():
                    s3.put_object(Bucket=cfg["bucket"], Key=f"{key}/{name}", Body=(out / name).read_bytes(),
                                  ServerSideEncryption="AES256")
        doc = json.loads((out / "report.json").read_text())
    rem = doc.get("remediation") or {}
    changes = rem.get("changes", [])
    result = {
        "run": run_id, "region": cfg["region"], "exit_code": code, "dry_run": cfg["dry_run"],
        "stopped": sorted(c["resource"] for c in changes if c["outcome"].startswith("applied")),
        "planned": sorted(c["resource"] for c in changes if c["outcome"] == "planned (dry run)"),
        "failed": sorted(f"{c['resource']}: {c['detail']}" for c in changes if c["outcome"] == "failed"),
        "skipped": [f"{s['resource']}: {s['reason']}" for s in rem.get("skipped", [])],
        "refused": (rem.get("refused") or {}).get("reason"),
        "journal": f"s3://{cfg['bucket']}/{key}/remediation-journal.jsonl",
    }
    log.warning("idle-stop %s", json.dumps(result, sort_keys=True))  # one line for CloudWatch Logs
    if result["failed"]:  # the invocation fails, so the function's error metric and alarms see it
        raise RuntimeError(f"idle-stop: {len(result['failed'])} stop(s) failed: {'; '.join(result['failed'])}")
    return result
