"""End to end through the command line: demo account, snapshots, exit codes, bad flags."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from auditor import exitcodes
from auditor.cli import main
from auditor.report.schema import report_schema


def test_demo_audit_writes_reports_with_violations_under_every_policy(demo_run: tuple[int, Path]) -> None:
    code, out = demo_run
    doc = json.loads((out / "report.json").read_text())
    jsonschema.Draft202012Validator(report_schema()).validate(doc)
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")
    for n in range(1, 16):
        p = doc["summary"]["by_policy"][str(n)]
        assert p["fail"] > 0 and p["pass"] > 0, (n, p)
    # the private-registry image and the deleted model cannot be decided: the audit says it is incomplete
    assert doc["complete"] is False and code == exitcodes.INCOMPLETE
    assert doc["collection_errors"] == []  # every read of the demo account succeeds: the gaps are its design
    assert any(f["status"] == "exempt" and f["rule_id"] == "SM-14-idle-endpoint" for f in doc["findings"])


def test_snapshot_re_evaluates_offline_to_the_same_findings(demo_run: tuple[int, Path], tmp_path: Path) -> None:
    _, out = demo_run
    code = main(["--snapshot", str(out / "snap.json"), "--output", str(tmp_path), "--quiet", "--format", "json"])
    assert code == exitcodes.INCOMPLETE
    first = json.loads((out / "report.json").read_text())["findings"]
    again = json.loads((tmp_path / "report.json").read_text())["findings"]
    assert again == first


def test_audit_snapshot_reads_everything_an_audits_snapshot_marks_what_its_rules_left_out(
        demo_run: tuple[int, Path], tmp_path: Path) -> None:
    from auditor.graph import ResourceGraph

    assert main(["snapshot", "--demo", "--output", str(tmp_path / "all.json"), "--quiet"]) == exitcodes.OK
    full, lean = ResourceGraph.load(tmp_path / "all.json"), ResourceGraph.load(demo_run[1] / "snap.json")
    for g, left_out in ((full, set()), (lean, {"schedule_expression", "last_execution_status"})):
        schedules = g.nodes_of_type("sagemaker.monitoring_schedule")
        assert schedules and all(set(g.attrs(s)["errors"]) == left_out for s in schedules)
    assert all(full.attrs(b)["tags"] is not None for b in full.nodes_of_type("s3.bucket"))
    assert all(lean.attrs(b)["tags"] is None for b in lean.nodes_of_type("s3.bucket"))


def test_a_rule_selection_that_reads_no_endpoint_tag_still_reports_each_findings_environment(
        demo_run: tuple[int, Path], tmp_path: Path) -> None:
    """The report reads the endpoints' production tag itself: collection must read it whatever the rules read."""
    from auditor.app import collect_options
    from auditor.engine.config import Config
    from auditor.engine.loader import load_rules

    observability = [r for r in load_rules() if r.policy == 7]
    assert ("sagemaker.endpoint", "tags") in collect_options(observability, Config())["reads"]
    main(["--demo", "--policy", "7", "--output", str(tmp_path), "--format", "json", "--quiet"])
    narrow = json.loads((tmp_path / "report.json").read_text())["findings"]
    full = {(f["rule_id"], f["resource"]["arn"]): f.get("environment")
            for f in json.loads((demo_run[1] / "report.json").read_text())["findings"]}
    assert narrow and {f.get("environment") for f in narrow} == {"production", "non-production"}
    assert all(f.get("environment") == full[(f["rule_id"], f["resource"]["arn"])] for f in narrow)


def test_exit_codes_follow_fail_on_and_rule_selection(demo_run: tuple[int, Path], tmp_path: Path) -> None:
    snap = str(demo_run[1] / "snap.json")
    base = ["--snapshot", snap, "--output", str(tmp_path), "--quiet", "--format", "json"]
    assert main([*base, "--rules", "SM-11-cloudtrail-data-events"]) == exitcodes.OK
    # (rules the demo decides everywhere: its Marketplace package leaves the S3 artifact rules undecided)
    assert main([*base, "--rules", "SM-06-auto-rollback"]) == exitcodes.VIOLATIONS
    # violations of low severity only; failing on high and above passes
    assert main([*base, "--rules", "SM-13-instance-tier", "--fail-on", "high"]) == exitcodes.OK
    assert main([*base, "--rules", "SM-13-instance-tier", "--fail-on", "low"]) == exitcodes.VIOLATIONS


@pytest.mark.parametrize(("argv", "message"), [
    (["--format", "xml"], "unknown format xml; allowed: json, html"),
    (["--policy", "16"], "policy numbers run from 1 to 15"),
    (["--policy", "four"], "not a comma-separated list"),
    (["--fail-on", "urgent"], "unknown severity 'urgent'; allowed: critical, high, medium, low, info"),
    (["--demo", "--snapshot", "x.json"], "exclusive"),
    (["--snapshot", "/nonexistent/snap.json"], "cannot read snapshot"),
    (["--rules-dir", "/nonexistent/rules", "--demo"], "no such rule file or directory"),
    (["--rules", "SM-99-*", "--demo"], "matches no rule"),
    (["--config", "/nonexistent/audit.yaml", "--demo"], "cannot read"),
    (["--workers", "0", "--demo"], "--workers 0: allowed 1 to 64"),
    (["--shard", "4/4"], "expected I/N with 0 <= I < N"),
    (["--accounts", "12345,org"], "is not a 12-digit account id"),
    (["--role-name", "Audit"], "--role-name and --external-id go with --accounts"),
    (["--demo", "--accounts", "org"], "--accounts does not apply"),
    (["--region", "all,us-east-1"], "cannot be combined"),
    (["--accounts", "111111111111", "--role-name", "R", "--remediate"], "changes one account at a time"),
])
def test_bad_input_is_a_clear_error_with_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    assert main([*argv, "--output", str(tmp_path)]) == exitcodes.INVALID_INPUT
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "report.json").exists()


def test_rules_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "list"]) == 0
    assert "SM-14-idle-endpoint" in capsys.readouterr().out
    assert main(["rules", "show", "SM-04-min-instances"]) == 0
    assert "min_instances: 2" in capsys.readouterr().out
    assert main(["rules", "validate"]) == 0
    assert main(["rules", "show", "SM-00-nope"]) == exitcodes.INVALID_INPUT


def test_permissions_cover_every_collector_call(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["permissions"]) == 0
    doc = json.loads(capsys.readouterr().out)
    actions = doc["Statement"][0]["Action"]
    assert "sagemaker:ListEndpoints" in actions and "cloudwatch:GetMetricData" in actions
    assert all(":" in a and not a.endswith(":*") for a in actions)


def test_published_schemas_match_the_code() -> None:
    from auditor.permissions import schema_documents

    folder = Path(__file__).parent.parent / "auditor" / "schemas"
    for name, doc in schema_documents().items():
        assert json.loads((folder / name).read_text()) == doc, f"{name} is stale: run `audit schemas`"


def test_generated_docs_are_in_sync() -> None:
    from auditor.docs import permissions_block, rules_markdown

    root = Path(__file__).parent.parent
    assert (root / "docs" / "rules.md").read_text() == rules_markdown(), "run python -m auditor.docs"
    assert permissions_block() in (root / "README.md").read_text(), "run python -m auditor.docs"


def test_merge_refuses_what_it_cannot_merge(demo_run: tuple[int, Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    _, out = demo_run
    assert main(["merge", str(tmp_path / "missing"), "--output", str(tmp_path / "m")]) == exitcodes.INVALID_INPUT
    assert "no such file or directory" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text('{"schema_version": "1.0"}')
    assert main(["merge", str(tmp_path / "bad.json"), "--output", str(tmp_path / "m")]) == exitcodes.INVALID_INPUT
    assert "not a valid report" in capsys.readouterr().err
    # another rule selection: merging would not be a single run's result
    other = tmp_path / "policy4"
    main(["--snapshot", str(out / "snap.json"), "--policy", "4", "--output", str(other), "-q", "--format", "json"])
    assert main(["merge", str(out), str(other), "--output", str(tmp_path / "m")]) == exitcodes.INVALID_INPUT
    assert "different rule selection" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_merging_one_report_reproduces_it(demo_run: tuple[int, Path], tmp_path: Path) -> None:
    code, out = demo_run
    assert main(["merge", str(out), "--output", str(tmp_path), "-q"]) == code
    a, b = (json.loads((d / "report.json").read_text()) for d in (out, tmp_path))
    for key in ("findings", "summary", "complete", "collection_errors", "manual_checks", "expired_waivers",
                "api_calls"):
        assert a[key] == b[key], key
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_cli_and_a_snapshot_audit_import_neither_moto_nor_the_demo_package(
    demo_run: tuple[int, Path], tmp_path: Path
) -> None:
    import subprocess
    import sys

    _, out = demo_run
    probe = (
        "import sys\n"
        "import auditor.cli\n"
        "assert 'moto' not in sys.modules and 'auditor_demo' not in sys.modules, 'imported by auditor.cli'\n"
        f"code = auditor.cli.main(['--snapshot', {str(out / 'snap.json')!r}, '--output', {str(tmp_path)!r}, '-q'])\n"
        "leaked = sorted(m for m in sys.modules if m == 'moto' or m.startswith(('moto.', 'auditor_demo')))\n"
        "print(code, leaked)\n"
    )
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    code, leaked = res.stdout.split(" ", 1)
    assert leaked.strip() == "[]"
    assert int(code) == exitcodes.INCOMPLETE and (tmp_path / "report.json").exists()


def test_demo_model_in_the_custom_dynamodb_registry_counts_as_registered(demo_run: tuple[int, Path]) -> None:
    doc = json.loads((demo_run[1] / "report.json").read_text())
    got = {(f["rule_id"], f["resource"]["name"]): f["status"] for f in doc["findings"]}
    assert got[("SM-03-registered", "churn-model-prod")] == "pass"
    assert got[("SM-03-custom-registry-metadata", "churn-model-prod-model#0")] == "pass"
    assert got[("SM-03-registered", "fraud-detector-prod-eu")] == "fail"  # in neither registry


def test_an_audit_leaves_the_garbage_collector_as_it_found_it(demo_run: tuple[int, Path], tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The run freezes what it has settled and collects fully less often (app._long_lived_settled); a caller in
    the same process gets its collector back unchanged, after a failed run too. Only the process's own command
    line (main() without arguments) leaves the heap frozen, as it exits."""
    import gc

    snap = str(demo_run[1] / "snap.json")
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    seen: list[tuple[int, tuple[int, int, int]]] = []

    from auditor.engine import evaluator

    real = evaluator.evaluate_rules

    def spy(*args: object, **kwargs: object) -> object:
        seen.append((gc.get_freeze_count(), gc.get_threshold()))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(evaluator, "evaluate_rules", spy)
    code = main(["--snapshot", snap, "--output", str(tmp_path / "a"), "-q", "--format", "json", "--no-history"])
    assert code == exitcodes.INCOMPLETE
    assert seen and seen[0][0] > frozen and seen[0][1][2] == threshold[2] * 10  # in effect during the run
    assert gc.get_freeze_count() == frozen and gc.get_threshold() == threshold

    def boom(*args: object, **kwargs: object) -> object:
        raise RuntimeError("evaluation failed")

    monkeypatch.setattr(evaluator, "evaluate_rules", boom)
    code = main(["--snapshot", snap, "--output", str(tmp_path / "b"), "-q", "--format", "json", "--no-history"])
    assert code not in (exitcodes.OK, exitcodes.VIOLATIONS)
    assert gc.get_freeze_count() == frozen and gc.get_threshold() == threshold

    monkeypatch.setattr(evaluator, "evaluate_rules", real)
    monkeypatch.setattr("sys.argv", ["audit", "--version"])
    try:
        assert main() == exitcodes.OK
        assert gc.get_freeze_count() > frozen  # the process's own command line: frozen for the exit
    finally:
        gc.unfreeze()
