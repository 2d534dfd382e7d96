"""The HTML report in a real headless Chromium: our script runs, injected markup and scripts never do."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.engine.config import Config
from auditor.engine.evaluator import evaluate_rules
from auditor.engine.loader import load_rules
from auditor.report import html
from auditor.report.model import build_report
from tests.conftest import build_graph

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine: .ci/run installs Debian's "
                                "chromium; locally `apt-get install chromium` to run the browser tests")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAYLOADS = [
    '<img src=x onerror="document.title=\'PWNED\'">',
    '"><script>document.body.setAttribute("data-pwned","1")</script>',
    "</script><script>document.body.setAttribute('data-pwned','2')</script>",
    "<svg onload=\"document.body.setAttribute('data-pwned','3')\">",
]


def hostile_report(tmp_path: Path) -> Path:
    nodes = [{"id": f"arn:aws:s3:::b{i}", "type": "s3.bucket", "name": p, "tags": {"owner": p},
              "data": {"versioning_status": p, "default_encryption": None}} for i, p in enumerate(PAYLOADS)]
    graph = build_graph({"nodes": nodes})
    doc = build_report(evaluate_rules(graph, load_rules(), Config()), graph)
    path = tmp_path / "report.html"
    path.write_text(html.render(doc))
    return path


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_injected_markup_never_executes_but_our_script_does(tmp_path: Path) -> None:
    report = hostile_report(tmp_path)
    dom = chromium(tmp_path, "--dump-dom", report.as_uri()).stdout
    assert "<title>" in dom and "PWNED" not in dom.split("</title>")[0]
    assert "data-pwned" not in dom.split("<body")[1].split(">")[0]
    # our filter script ran (the CSP allows exactly its hash) and counted the findings
    assert re.search(r'id="f-count"[^>]*>\d+ of \d+ findings<', dom)
    for p in PAYLOADS:
        assert p not in dom


def test_screenshot_of_the_report(tmp_path: Path) -> None:
    report = hostile_report(tmp_path)
    shot = tmp_path / "top.png"
    chromium(tmp_path, "--window-size=1280,900", f"--screenshot={shot}", report.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
