"""The HTML report in a real headless Chromium: our script runs, injected markup and scripts never do, and the
triage view (filters, sorting, URL fragment, CSV export, matrix clicks) and the printed document work."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.engine.config import Config
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import load_rules
from auditor.report import html
from auditor.report.drift import classify
from auditor.report.model import ReportFinding, assemble, build_report
from tests.conftest import build_graph
from tests.history.factories import typed
from tests.report.test_matrix import report as fleet_report

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine: .ci/run installs Debian's "
                                "chromium; locally `apt-get install chromium` to run the browser tests")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=15000"]  # the findings are decoded asynchronously: let the page finish first
PAYLOADS = [
    '<img src=x onerror="document.title=\'PWNED\'">',
    '"><script>document.body.setAttribute("data-pwned","1")</script>',
    "</script><script>document.body.setAttribute('data-pwned','2')</script>",
    "<svg onload=\"document.body.setAttribute('data-pwned','3')\">",
]
A, B = "111111111111", "222222222222"


def hostile_report(tmp_path: Path) -> Path:
    nodes = [{"id": f"arn:aws:s3:::b{i}", "type": "s3.bucket", "name": p, "tags": {"owner": p},
              "data": {"versioning_status": p, "default_encryption": None}} for i, p in enumerate(PAYLOADS)]
    graph = build_graph({"nodes": nodes})
    doc = build_report(evaluate_rules(graph, load_rules(), Config()), graph)
    path = tmp_path / "report.html"
    path.write_text(html.render(typed(doc)))
    return path


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_injected_markup_never_executes_but_our_script_does(tmp_path: Path) -> None:
    report = hostile_report(tmp_path)
    assert "</script><script>" not in report.read_text()
    dom = chromium(tmp_path, "--dump-dom", report.as_uri()).stdout
    assert "<title>" in dom and "PWNED" not in dom.split("</title>")[0]
    assert "data-pwned" not in dom.split("<body")[1].split(">")[0]
    # our script ran (the CSP allows exactly its hash), decoded the findings and counted them
    assert re.search(r'id="f-count"[^>]*>\d+ of \d+ findings<', dom)
    for p in PAYLOADS:
        assert p not in dom
    assert "&lt;img src=x onerror=" in dom  # the hostile names are shown, as text


def test_printed_report_has_every_endpoint_and_policy_column(tmp_path: Path) -> None:
    pdftotext, pdfinfo = shutil.which("pdftotext"), shutil.which("pdfinfo")
    if not pdftotext or not pdfinfo:
        pytest.skip("pdftotext (poppler-utils) is not installed: `apt-get install poppler-utils`")
    doc = fleet_report()
    page = tmp_path / "report.html"
    page.write_text(html.render(typed(doc)))
    pdf = tmp_path / "report.pdf"
    chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri())
    text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    header = next(line for line in text.splitlines() if line.strip().startswith("Endpoint "))
    assert header.split()[1:] == [str(n) for n in range(1, 16)]  # all 15 policy columns, none cut off
    rows = {line.split()[0]: line for line in text.splitlines() if line.split()[:1] in (["prod-ep"], ["dev-ep"])}
    assert set(rows) == {"prod-ep", "dev-ep"} and "PROD" in rows["prod-ep"]
    assert all(len(re.findall(r"[✗?⊘✓]\d+|·", line)) == 15 for line in rows.values())  # a glyph per cell
    assert "Violations and findings that could not be decided" in text and "Remediation:" in text
    assert "✗ fail" in text and "Passing findings are counted per policy" in text
    pages = subprocess.run([pdfinfo, str(pdf)], capture_output=True, text=True, check=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", pages).group(1)) <= 12  # type: ignore[union-attr]


# -- the triage view, driven through Playwright -------------------------------------------------------------------


def finding(rule: str, policy: int, severity: str, status: str, account: str, region: str, name: str,
            env: str | None, rtype: str = "sagemaker.endpoint", **extra: Any) -> dict[str, Any]:
    arn = f"arn:aws:sagemaker:{region}:{account}:endpoint/{name}"
    f: dict[str, Any] = {
        "rule_id": rule, "policy": policy, "title": f"title of {rule}", "severity": severity, "status": status,
        "resource": {"arn": arn, "type": rtype, "name": name, "account": account, "region": region},
        "message": f"{name} {status} {rule}", "evidence": {"basis": "proven", "checks": [
            {"resource": f"endpoint {name}", "check": "instance_count", "op": "ge", "expected": 2, "actual": 1,
             "result": status == "pass"}]},
        "remediation": {"remediator": None, "guidance": "do the right thing"},
        "references": {"security_hub": ["SageMaker.4"], "policy_section": f"section {policy}"}, **extra}
    if env:
        f["endpoints"], f["environment"] = [arn], env
    return f


FINDINGS = [
    finding("SM-04-min-instances", 4, "high", "fail", A, "us-east-1", "alpha-prod", "production"),
    finding("SM-02-bucket-versioning", 2, "low", "fail", B, "eu-west-1", "=HYPERLINK(1)", "non-production"),
    finding("SM-06-auto-rollback", 6, "critical", "error", A, "eu-west-1", "gamma-dev", "non-production"),
    finding("SM-04-multi-az", 4, "high", "fail", B, "us-east-1", "delta-dev", "non-production"),
    finding("SM-04-multi-az", 4, "medium", "pass", A, "us-east-1", "alpha-prod", "production"),
    finding("SM-13-right-size", 13, "medium", "exempt", A, "us-east-1", "alpha-prod", "production",
            exemption={"kind": "waiver", "reason": "accepted"}),
    finding("SM-11-trail", 11, "high", "fail", A, "us-east-1", "trail-region", None, rtype="aws.region"),
    finding("SM-09-ab-testing", 9, "medium", "fail", A, "us-east-1", "epsilon-adv", "non-production", advisory=True),
]
DEFAULT = ["gamma-dev", "alpha-prod", "delta-dev", "trail-region", "=HYPERLINK(1)"]  # severity, then production


@pytest.fixture(scope="module")
def page_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    # drift as a run with --baseline marks it: only =HYPERLINK(1) failed before
    marked, _ = classify([ReportFinding.from_json(f) for f in FINDINGS], [FINDINGS[1]])
    findings = [f.to_json() for f in marked]
    doc = assemble(findings=findings, errors=[], rules_by_policy={}, rules_evaluated=7,
                   scope={"accounts": [A, B], "regions": ["eu-west-1", "us-east-1"], "collected_at": "t",
                          "evaluated_at": "t"}, manual_checks=[], expired_waivers=[], api_calls={})
    path = tmp_path_factory.mktemp("triage") / "report.html"
    path.write_text(html.render(typed(doc)))
    return path.as_uri()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed: pip install playwright")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, page_url: str) -> Iterator[Any]:
    ctx = browser.new_context(accept_downloads=True)
    pg = ctx.new_page()
    pg.goto(page_url)
    pg.wait_for_selector("body[data-ready='1']")
    yield pg
    ctx.close()


def names(page: Any) -> list[str]:
    return [t.split("\n")[0] for t in page.locator("#findings tbody tr td:nth-child(6)").all_inner_texts()]


def choose(page: Any, control: str, value: str) -> None:
    if control == "f-text":
        page.fill("#f-text", value)
    else:
        page.select_option(f"#{control}", value)


def test_default_view_is_violations_and_undecided_most_severe_and_production_first(page: Any) -> None:
    assert names(page) == DEFAULT
    assert page.inner_text("#f-count") == f"5 of {len(FINDINGS)} findings"
    assert "1 passing hidden; 1 advisory shown apart" in page.inner_text("#f-scope")
    page.click("#f-passes")
    assert len(names(page)) == len(FINDINGS) and "st=all" in page.evaluate("location.hash")
    # status is never colour alone: each status cell carries its glyph and word
    statuses = {t.split("\n")[0] for t in page.locator("#findings tbody td:first-child").all_inner_texts()}
    assert statuses == {"✗ fail", "? could not tell", "⊘ exempt", "✓ pass", "✗ advisory fail"}


@pytest.mark.parametrize(("control", "value", "expected"), [
    ("f-status", "exempt", ["alpha-prod"]),
    ("f-status", "error", ["gamma-dev"]),
    ("f-status", "advisory", ["epsilon-adv"]),  # advisory rules are shown apart from violations
    ("f-status", "fail", ["alpha-prod", "delta-dev", "trail-region", "=HYPERLINK(1)"]),
    ("f-severity", "high", ["alpha-prod", "delta-dev", "trail-region"]),
    ("f-env", "production", ["alpha-prod"]),
    ("f-env", "none", ["trail-region"]),
    ("f-policy", "4", ["alpha-prod", "delta-dev"]),
    ("f-rule", "SM-06-auto-rollback", ["gamma-dev"]),
    ("f-account", B, ["delta-dev", "=HYPERLINK(1)"]),
    ("f-region", "eu-west-1", ["gamma-dev", "=HYPERLINK(1)"]),
    ("f-drift", "new", ["alpha-prod", "delta-dev", "trail-region"]),
    ("f-drift", "still_failing", ["=HYPERLINK(1)"]),
    ("f-text", "DELTA", ["delta-dev"]),
])
def test_each_filter_narrows_the_view(page: Any, control: str, value: str, expected: list[str]) -> None:
    choose(page, control, value)
    assert names(page) == expected
    assert page.inner_text("#f-count") == f"{len(expected)} of {len(FINDINGS)} findings"


def test_sorting_shows_its_direction_and_toggles(page: Any) -> None:
    th = page.locator("#findings th[data-k=policy]")
    th.click()
    assert th.get_attribute("aria-sort") == "ascending"
    policies = [int(x) for x in page.locator("#findings tbody td:nth-child(4)").all_inner_texts()]
    assert policies == sorted(policies) and policies[0] == 2
    th.click()
    assert th.get_attribute("aria-sort") == "descending"
    assert [int(x) for x in page.locator("#findings tbody td:nth-child(4)").all_inner_texts()][0] == 11
    assert page.locator("#findings th[data-k=severity]").get_attribute("aria-sort") == "none"


def test_url_fragment_reproduces_the_view(page: Any, browser: Any, page_url: str) -> None:
    choose(page, "f-account", A)
    choose(page, "f-severity", "high")
    page.locator("#findings th[data-k=resource]").click()
    fragment = page.evaluate("location.hash")
    assert "acct=" + A in fragment and "sev=high" in fragment and "sort=resource" in fragment
    again = browser.new_page()
    again.goto(page_url + fragment)
    again.wait_for_selector("body[data-ready='1']")
    assert names(again) == names(page) == ["alpha-prod", "trail-region"]
    assert again.input_value("#f-severity") == "high" and again.input_value("#f-account") == A
    assert again.locator("#findings th[data-k=resource]").get_attribute("aria-sort") == "ascending"
    again.close()


def test_export_this_view_writes_the_filtered_rows_with_formulas_defused(page: Any, tmp_path: Path) -> None:
    choose(page, "f-account", B)
    with page.expect_download() as dl:
        page.click("#f-export")
    path = tmp_path / "view.csv"
    dl.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [r["resource_name"] for r in rows] == ["delta-dev", "'=HYPERLINK(1)"]
    assert {r["account"] for r in rows} == {B}
    assert rows[0]["references"] == "Security Hub SageMaker.4; Policy: section 4"


def test_matrix_row_and_cell_open_that_endpoints_findings(page: Any) -> None:
    cells = page.locator("#matrix tr[data-ep*='alpha-prod'] td").all_inner_texts()
    assert cells[0].startswith("alpha-prod") and "PROD" in cells[0]
    assert cells[4] == "✗1" and cells[13] == "⊘1" and cells[1] == "·"  # worst of fail and pass on policy 4
    page.locator("#matrix tr[data-ep*='alpha-prod'] td").nth(4).click()
    assert names(page) == ["alpha-prod", "alpha-prod"]  # policy 4: the failure and the pass
    assert page.input_value("#f-policy") == "4" and "ep=" in page.evaluate("location.hash")
    page.locator("#account-level tr[data-res] td").first.click()
    assert names(page) == ["trail-region"]


def test_console_links_are_region_aware(page: Any) -> None:
    choose(page, "f-region", "eu-west-1")
    hrefs = page.locator("#findings tbody a").evaluate_all("as => as.map(a => a.href)")
    assert hrefs and all(h.startswith("https://eu-west-1.console.aws.amazon.com/sagemaker/home?region=eu-west-1")
                         for h in hrefs)
    assert any(h.endswith("#/endpoints/%3DHYPERLINK(1)") for h in hrefs)
