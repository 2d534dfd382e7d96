"""deploy/kubernetes/: valid manifests (offline schema check), shards that add up, memory sized from the benchmark."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "kubernetes"
MIB = {"Mi": 1, "Gi": 1024}


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _manifest(name: str) -> dict[str, Any]:
    (doc,) = _docs(K8S / name)
    return doc


def _pod(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc["spec"]["jobTemplate"]["spec"] if doc["kind"] == "CronJob" else doc["spec"]
    return dict(spec["template"]["spec"])


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


@pytest.mark.parametrize("path", sorted(K8S.glob("*.yaml")), ids=lambda p: p.name)
def test_every_manifest_passes_the_strict_kubernetes_schema(path: Path) -> None:
    import kubernetes_validate  # dev extra; schemas ship inside the package, so this runs offline

    for doc in _docs(path):
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_the_schema_check_rejects_a_misspelt_field() -> None:
    import kubernetes_validate

    doc = _manifest("shards-job.yaml")
    doc["spec"]["completion"] = doc["spec"].pop("completions")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_indexed_job_runs_one_shard_per_completion_and_merge_expects_as_many() -> None:
    shards, merge = _manifest("shards-job.yaml"), _manifest("merge-job.yaml")
    assert shards["spec"]["completionMode"] == "Indexed"
    (audit,) = _pod(shards)["containers"]
    assert int(_env(audit)["SHARDS"]) == shards["spec"]["completions"]
    assert '--shard "$JOB_COMPLETION_INDEX/$SHARDS"' in audit["args"][0]
    (merger,) = _pod(merge)["containers"]
    assert int(_env(merger)["SHARDS"]) == shards["spec"]["completions"]
    assert "audit merge" in merger["args"][0]


def _benchmark_peak_rss_at_1000_endpoints() -> int:
    # Read by column name from the README's benchmark tables of the current code (first column "endpoints";
    # before/after comparisons start with "source"), so a new table or column cannot shift what is read here.
    peaks: list[float] = []
    header: list[str] | None = None
    for line in (REPO / "README.md").read_text().splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif header[0] == "endpoints" and "peak RSS MiB" in header and cells[header.index("endpoints")] == "1000":
            # a measurement ("334") or the range of repeated runs ("199 to 201"): the highest counts
            peaks += [float(x) for x in cells[header.index("peak RSS MiB")].split(" to ")]
    assert peaks, "the README has no benchmark table with 1,000-endpoint rows and a 'peak RSS MiB' column"
    return int(max(peaks))


@pytest.mark.parametrize("name", ["cronjob.yaml", "shards-job.yaml", "merge-job.yaml"])
def test_pods_are_sized_from_the_benchmark_and_locked_down(name: str) -> None:
    pod = _pod(_manifest(name))
    (container,) = pod["containers"]
    request = container["resources"]["requests"]["memory"]
    limit = container["resources"]["limits"]["memory"]
    mib = {k: int(v[:-2]) * MIB[v[-2:]] for k, v in (("request", request), ("limit", limit))}
    assert _benchmark_peak_rss_at_1000_endpoints() * 1.25 <= mib["request"] <= mib["limit"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["restartPolicy"] == "Never"


def _fake_audit(tmp_path: Path, code: int) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "audit"
    fake.write_text(f'#!/bin/sh\necho "$@" > "{tmp_path}/argv"\nexit {code}\n')
    fake.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def _run_script(name: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The manifest's container script as its pod runs it (/bin/sh -c), with /reports moved under tmp_path."""
    (container,) = _pod(_manifest(name))["containers"]
    assert container["command"] == ["/bin/sh", "-c"]
    script = str(container["args"][0]).replace("/reports", str(tmp_path / "reports"))
    return subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize(("code", "expected"), [(0, 0), (1, 0), (3, 0), (2, 2), (8, 8)])
def test_a_shard_succeeds_when_it_wrote_its_report_and_fails_otherwise(tmp_path: Path, code: int,
                                                                       expected: int) -> None:
    stale = tmp_path / "reports" / "shards" / "shard-5"
    stale.mkdir(parents=True)
    (stale / "report.json").write_text("{}")
    env = {**_fake_audit(tmp_path, code), "JOB_COMPLETION_INDEX": "5", "SHARDS": "8", "ROLE_NAME": "R",
           "EXTERNAL_ID": "x"}
    r = _run_script("shards-job.yaml", tmp_path, env)
    assert r.returncode == expected, r.stderr
    assert not (stale / "report.json").exists()  # last night's report never survives into tonight's merge
    argv = (tmp_path / "argv").read_text().split()
    assert argv[argv.index("--shard") + 1] == "5/8" and argv[argv.index("--output") + 1] == str(stale)


@pytest.mark.parametrize("present", [7, 9])
def test_merge_refuses_unless_every_shard_reported(tmp_path: Path, present: int) -> None:
    for i in range(present):
        (tmp_path / "reports" / "shards" / f"shard-{i}").mkdir(parents=True)
        (tmp_path / "reports" / "shards" / f"shard-{i}" / "report.json").write_text("{}")
    env = {**_fake_audit(tmp_path, 0), "SHARDS": "8"}
    r = _run_script("merge-job.yaml", tmp_path, env)
    assert r.returncode == 2 and f"expected 8 shard reports, found {present}" in r.stderr
    assert not (tmp_path / "argv").exists()


def test_merge_merges_all_shards_into_one_report(tmp_path: Path) -> None:
    for i in range(8):
        (tmp_path / "reports" / "shards" / f"shard-{i}").mkdir(parents=True)
        (tmp_path / "reports" / "shards" / f"shard-{i}" / "report.json").write_text("{}")
    env = {**_fake_audit(tmp_path, 1), "SHARDS": "8"}
    r = _run_script("merge-job.yaml", tmp_path, env)
    assert r.returncode == 1  # the merged run's own exit code: violations
    argv = (tmp_path / "argv").read_text().split()
    assert argv[0] == "merge" and len([a for a in argv if a.endswith("report.json")]) == 8
    assert argv[-2:] == ["--output", str(tmp_path / "reports" / "merged")]
