"""The built artefacts: a wheel that carries everything `audit` needs, installed non-editable, run from elsewhere."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import auditor

REPO = Path(__file__).resolve().parent.parent
INSTALL_SH = REPO / "deploy" / "docker" / "install.sh"


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None,
         timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`make wheel`'s command: the sdist, then the wheel built from that sdist (so both must be complete)."""
    out = tmp_path_factory.mktemp("dist")
    r = _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)], cwd=out)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return {"wheel": next(out.glob("*.whl")), "sdist": next(out.glob("*.tar.gz"))}


def test_wheel_carries_rules_templates_schemas_data_and_the_demo_package(dist: dict[str, Path]) -> None:
    names = set(zipfile.ZipFile(dist["wheel"]).namelist())
    rules = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "rules").rglob("*.yaml"))
    assert len(rules) > 40
    assert {f"auditor/{r}" for r in rules} <= names
    assert "auditor/report/templates/report.html.j2" in names
    assert "auditor/report/filter.js" in names
    for folder in ("auditor/schemas", "auditor/data"):
        assert {f"{folder}/{p.name}" for p in (REPO / folder).glob("*.json")} <= names
    assert {f"auditor_demo/{p.name}" for p in (REPO / "auditor_demo").glob("*.py")} <= names
    assert not any(n.startswith(("tests/", "bench/", "rules/", "reports/")) for n in names)


def test_wheel_version_comes_from_the_package_and_moto_only_from_the_demo_extra(dist: dict[str, Path]) -> None:
    assert dist["wheel"].name == f"sagemaker_auditor-{auditor.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(dist["wheel"]) as z:
        meta = z.read(f"sagemaker_auditor-{auditor.__version__}.dist-info/METADATA").decode()
    requires = [line.removeprefix("Requires-Dist: ") for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    moto = [r for r in requires if r.startswith("moto")]
    assert moto and all("; extra == " in r for r in moto)  # never a dependency of the product itself
    assert any(r.endswith("extra == 'demo'") for r in moto)
    assert re.search(r"^Provides-Extra: demo$", meta, re.M)


def _index_reachable() -> str | None:
    """None when pip can reach the package index; else why not (the install test is skipped, saying so)."""
    try:
        r = _run([sys.executable, "-m", "pip", "index", "versions", "pyyaml"], cwd=REPO, timeout=120)
    except subprocess.TimeoutExpired:
        return "the package index did not answer in 120 s"
    return None if r.returncode == 0 else f"the package index is unreachable: {r.stderr.strip()[-300:]}"


def _clean_env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHON"] = str(venv / "bin" / "python")
    # pip reads PIP_NO_COMPILE inverted ("0" means do not compile): skipping bytecode saves CPU in a throw-away venv.
    env["PIP_NO_COMPILE"] = "0"
    return env


def test_installed_wheel_audits_from_outside_the_checkout(dist: dict[str, Path], tmp_path: Path) -> None:
    reason = _index_reachable()
    if reason:
        pytest.skip(reason)
    venv, work = tmp_path / "venv", tmp_path / "elsewhere"
    work.mkdir()
    assert _run([sys.executable, "-m", "venv", str(venv)], cwd=work).returncode == 0
    env = _clean_env(venv)
    audit = str(venv / "bin" / "audit")

    # The image's install step with the Dockerfile's default EXTRAS (the product only): no moto, so no demo.
    extras = re.search(r'^ARG EXTRAS="([^"]*)"$', (REPO / "Dockerfile").read_text(), re.M)
    assert extras, "the Dockerfile declares ARG EXTRAS"
    r = _run(["sh", str(INSTALL_SH), str(dist["wheel"]), extras.group(1)], cwd=work, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    where = _run([env["PYTHON"], "-c", "import importlib.util as u, auditor.resources as r; "
                  "print(r.rules_dir(), r.templates_dir(), u.find_spec('moto') is None, sep='\\n')"], work, env)
    rules_dir, templates_dir, no_moto = where.stdout.split()
    assert Path(rules_dir).is_relative_to(venv) and Path(templates_dir).is_relative_to(venv), where.stdout
    assert no_moto == "True"
    assert _run([audit, "--version"], work, env).stdout.strip() == f"audit {auditor.__version__}"
    listed = _run([audit, "rules", "list"], work, env)
    assert listed.returncode == 0, listed.stderr
    assert {"SM-04-min-instances", "SM-14-idle-endpoint", "SM-12-bucket-encryption"} <= set(
        re.findall(r"SM-\d\d-[a-z0-9-]+", listed.stdout))
    no_demo = _run([audit, "--demo", "--output", "X"], work, env)
    assert no_demo.returncode == 2 and "sagemaker-auditor[demo]" in no_demo.stderr, no_demo.stderr

    # The same wheel with the demo extra: the whole audit, reports written where asked.
    r = _run(["sh", str(INSTALL_SH), str(dist["wheel"]), "demo"], cwd=work, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    demo = _run([audit, "--demo", "--output", "X", "--quiet"], work, env)
    assert demo.returncode == 3, demo.stderr  # the demo account has two undecidable resources, by design
    report = json.loads((work / "X" / "report.json").read_text())
    assert report["summary"]["rules_evaluated"] > 40 and report["findings"]
    assert "<html" in (work / "X" / "report.html").read_text()
