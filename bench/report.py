"""HTML report benchmark, run on demand (`make bench-report`): page size, first render and filter time in Chromium.

    python bench/report.py                          # 1,000 and 10,000 endpoints
    python bench/report.py --endpoints 1000 --keep /tmp/r1000.html

Synthesizes a report document directly (no collection): per endpoint one finding per rule of the loaded rule set
on its endpoint, variant, model, container, artifact and package (about 38), a bucket shared by 40 endpoints,
region-level findings; 10 accounts x 4 regions, 40 % production, about 20 % failing. Renders it with the current
HTML writer, opens it in headless Chromium through Playwright (Debian's /usr/bin/chromium) and reports the file
size, the time until the findings count is shown (first render) and the time of a filter change (until the next
frame after the count changes).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ACCOUNTS = [f"1000000000{i:02d}" for i in range(10)]
REGIONS = ["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"]
STATUS_WEIGHTS = [("pass", 75), ("fail", 20), ("error", 3), ("exempt", 2)]


def synthesize(n: int, seed: int = 7) -> dict[str, Any]:
    """A report document for n endpoints, shaped like build_report's output."""
    from auditor.engine.loader import load_rules
    from auditor.report.model import assemble

    rng = random.Random(seed)
    rules = [r for r in load_rules() if not r.manual]
    by_type: dict[str, list[Any]] = {}
    for r in rules:
        by_type.setdefault(r.resource, []).append(r)
    statuses = [s for s, w in STATUS_WEIGHTS for _ in range(w)]
    findings: list[dict[str, Any]] = []

    def add(rule: Any, arn: str, rtype: str, name: str, account: str, region: str, eps: list[str],
            env: str | None) -> None:
        status = rng.choice(statuses)
        f: dict[str, Any] = {
            "rule_id": rule.id, "policy": rule.policy, "title": rule.title, "severity": rule.severity.value,
            "status": status, "resource": {"arn": arn, "type": rtype, "name": name, "account": account,
                                           "region": region},
            "message": f"{name}: {rule.title.lower()} — observed value differs from the expected one",
            "evidence": {"basis": "proven", "checks": [
                {"resource": f"{rtype.split('.')[-1]} {name}", "check": "current_instance_count", "op": "ge",
                 "actual": rng.randint(0, 4), "expected": 2, "result": status == "pass"}]},
            "remediation": {"remediator": (rule.remediation or {}).get("remediator"),
                            "guidance": (rule.remediation or {}).get("guidance", "")},
        }
        if status == "error":
            f["evidence"]["unknown"] = ["AccessDenied: sagemaker:DescribeEndpointConfig"]
        if status == "exempt":
            f["exemption"] = {"kind": "waiver", "reason": "accepted risk until Q3", "owner": "ml-platform"}
        if eps:
            f["endpoints"] = eps
            f["environment"] = env
        if rule.references:
            f["references"] = rule.references
        findings.append(f)

    by_bucket: dict[tuple[str, str, str], list[str]] = {}  # a bucket is shared by up to 40 endpoints
    for i in range(n):
        account, region = ACCOUNTS[i % len(ACCOUNTS)], REGIONS[(i // len(ACCOUNTS)) % len(REGIONS)]
        name = f"model-{i:05d}-{'prod' if i % 5 < 2 else 'staging'}"
        env = "production" if i % 5 < 2 else "non-production"
        ep = f"arn:aws:sagemaker:{region}:{account}:endpoint/{name}"
        base = f"arn:aws:sagemaker:{region}:{account}"
        res = {"sagemaker.endpoint": (ep, name),
               "sagemaker.variant": (f"{ep}/variant/AllTraffic", f"{name}/AllTraffic"),
               "sagemaker.model": (f"{base}:model/{name}-model", f"{name}-model"),
               "sagemaker.container": (f"{base}:model/{name}-model/container/0", f"{name}-model#0"),
               "s3.object": (f"arn:aws:s3:::artifacts-{account}/{name}/model.tar.gz", f"{name}/model.tar.gz")}
        if i % 2 == 0:
            res["sagemaker.model_package"] = (f"{base}:model-package/{name}/3", f"{name}/3")
        for rtype, (arn, rname) in res.items():
            for rule in by_type.get(rtype, []):
                add(rule, arn, rtype, rname, account, region, [ep], env)
        bucket = f"artifacts-{account}-{region}-{i // 40}"
        by_bucket.setdefault((account, region, bucket), []).append(ep)
    for (account, region, bucket), eps in by_bucket.items():
        for rule in by_type.get("s3.bucket", []):
            add(rule, f"arn:aws:s3:::{bucket}", "s3.bucket", bucket, account, region, eps, "production")
    for account in ACCOUNTS:
        for region in REGIONS:
            for rule in by_type.get("aws.region", []):
                add(rule, f"aws:{account}:{region}", "aws.region", f"{account}/{region}", account, region, [], None)
    scope = {"accounts": ACCOUNTS, "regions": REGIONS, "coverage": [], "collected_at": "2026-11-30T00:00:00Z",
             "evaluated_at": "2026-11-30T00:00:00Z", "source": "synthetic (bench/report.py)"}
    return assemble(findings=findings, errors=[], rules_evaluated=len(rules), scope=scope, manual_checks=[],
                    rules_by_policy={str(p): sorted({r.id for r in rules if r.policy == p}) for p in range(1, 16)},
                    expired_waivers=[], api_calls={"total": 0})


FIRST_RENDER = """() => { const c = document.getElementById('f-count'); return !!(c && c.textContent.trim()); }"""
FILTER = """async (value) => {
  const sel = document.getElementById('f-severity');
  const count = document.getElementById('f-count');
  const before = count.textContent;
  const t0 = performance.now();
  sel.value = value;
  sel.dispatchEvent(new Event('input', {bubbles: true}));
  sel.dispatchEvent(new Event('change', {bubbles: true}));
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return [performance.now() - t0, before !== count.textContent];
}"""


def measure(path: Path, timeout_s: float) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    out: dict[str, Any] = {"bytes": path.stat().st_size}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        t0 = time.perf_counter()
        try:
            page.goto(path.as_uri(), wait_until="commit", timeout=timeout_s * 1000)
            page.wait_for_function(FIRST_RENDER, timeout=timeout_s * 1000, polling=20)
            out["first_render_s"] = round(time.perf_counter() - t0, 3)
            # a reader changes a filter after the page has settled, not within its first frames
            page.evaluate("() => new Promise(r => requestIdleCallback(() => r(), {timeout: 2000}))")
            # median of several changes: a loaded machine makes single figures noisy
            runs = [page.evaluate(FILTER, v) for v in ("critical", "high", "medium", "low", "")]
            out["filter_ms"] = round(statistics.median(t for t, _ in runs), 1)
            out["filter_ms_max"] = round(max(t for t, _ in runs), 1)
            out["filter_changed_count"] = all(changed for _, changed in runs)
        except Exception as exc:  # noqa: BLE001 - a page that never opens is a result, not a crash
            out["first_render_s"] = f"did not finish within {timeout_s:.0f} s ({type(exc).__name__})"
        browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoints", default="1000,10000", help="comma-separated fleet sizes")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for a page to open")
    ap.add_argument("--keep", type=Path, help="also write the (last) rendered page here")
    a = ap.parse_args(argv)
    from auditor.report.html import render

    for n in (int(x) for x in a.endpoints.split(",")):
        doc = synthesize(n)
        t = time.perf_counter()
        page = render(doc, None)
        render_s = time.perf_counter() - t
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "report.html"
            path.write_text(page)
            if a.keep:
                shutil.copyfile(path, a.keep)
            result = {"endpoints": n, "findings": len(doc["findings"]), "render_s": round(render_s, 2),
                      **measure(path, a.timeout)}
        result["mb"] = round(result["bytes"] / 1e6, 2)
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
