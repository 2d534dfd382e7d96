"""Failures a cron job can tell apart: one exit code per kind, one line on stderr, the last good report intact."""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import pytest

from auditor import exitcodes
from auditor.cli import main
from auditor.engine.config import load_waivers
from auditor.report.tabular import render_csv
from auditor.yamlsafe import InputError, load_yaml
from tests.history.factories import typed

README = Path(__file__).resolve().parents[1] / "README.md"


def _snap(demo_run: tuple[int, Path]) -> str:
    return str(demo_run[1] / "snap.json")


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_readme_exit_code_table_is_the_one_in_the_code() -> None:
    assert exitcodes.markdown_table() in README.read_text()
    assert len(set(exitcodes.DOC)) == len(exitcodes.DOC) and exitcodes.VIOLATIONS == 1


# -- output that cannot be written ------------------------------------------------------------------------------
def test_output_path_that_is_a_file_fails_before_collecting(demo_run: tuple[int, Path], tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "reports"
    blocker.write_text("not a directory")
    code = main(["--snapshot", _snap(demo_run), "--output", str(blocker), "-q"])
    assert code == exitcodes.OUTPUT_FAILED
    assert "is not a directory" in _one_line(capsys.readouterr().err)
    assert blocker.read_text() == "not a directory"


def test_full_disk_keeps_every_previous_report(demo_run: tuple[int, Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    base = ["--snapshot", _snap(demo_run), "--output", str(out), "-q", "--format", "json,html,csv"]
    assert main(base) == exitcodes.INCOMPLETE
    capsys.readouterr()
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    from auditor import graph

    real = graph.stage_text
    calls = []

    def full_disk(path: Path, text: str) -> Path:
        calls.append(path.name)
        if len(calls) == 2:  # the first format staged fine, the second hits ENOSPC
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, text)

    monkeypatch.setattr("auditor.report.writers.stage_text", full_disk)
    assert main([*base, "--rules", "SM-04-*"]) == exitcodes.OUTPUT_FAILED
    line = _one_line(capsys.readouterr().err)
    assert "No space left on device" in line and "previous reports" in line
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no mix of old and new, no temp files


def test_read_only_output_directory(demo_run: tuple[int, Path], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ro"
    out.mkdir()
    (out / "report.json").write_text("last night's report")

    def read_only(*args: object, **kwargs: object) -> None:  # root ignores chmod: the kernel's answer, simulated
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(out))

    monkeypatch.setattr("tempfile.NamedTemporaryFile", read_only)
    code = main(["--snapshot", _snap(demo_run), "--output", str(out), "-q"])
    assert code == exitcodes.OUTPUT_FAILED
    assert "Read-only file system" in _one_line(capsys.readouterr().err)
    assert (out / "report.json").read_text() == "last night's report"


def test_no_credentials_is_a_hint_not_an_empty_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    (tmp_path / "report.json").write_text("last good report")
    code = main(["--region", "us-east-1", "--output", str(tmp_path), "-q"])
    assert code == exitcodes.NO_CREDENTIALS
    line = _one_line(capsys.readouterr().err)
    assert "Unable to locate credentials" in line and "audit --demo" in line
    assert (tmp_path / "report.json").read_text() == "last good report"
    assert main(["snapshot", "--region", "us-east-1", "--output", str(tmp_path / "s.json")]) == \
        exitcodes.NO_CREDENTIALS


def test_unexpected_failure_is_one_line_and_its_own_code(demo_run: tuple[int, Path], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr("auditor.engine.evaluator.evaluate_rules", broken)
    argv = ["--snapshot", _snap(demo_run), "--output", str(tmp_path), "-q"]
    assert main(argv) == exitcodes.INTERNAL_ERROR
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("audit: internal error: KeyError") and "--debug" in line
    assert main([*argv, "--debug"]) == exitcodes.INTERNAL_ERROR
    err = capsys.readouterr().err
    assert "Traceback" in err and "a bug" in err


def test_quiet_still_says_why_the_audit_is_incomplete(demo_run: tuple[int, Path], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--snapshot", _snap(demo_run), "--output", str(tmp_path), "-q"]) == exitcodes.INCOMPLETE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert _one_line(captured.err).startswith("audit incomplete: 0 API call(s) failed, 8 finding(s) undecided")


@pytest.mark.parametrize("name", ["out[/]put", "[prod]", "[bold]x[/bold]"])
def test_paths_with_markup_print_literally(demo_run: tuple[int, Path], tmp_path: Path, name: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / name
    code = main(["--snapshot", _snap(demo_run), "--output", str(out), "--format", "json", "--rules", "SM-04-*"])
    assert code == exitcodes.VIOLATIONS
    assert f"wrote {out / 'report.json'}" in capsys.readouterr().out.replace("\n", "")


# -- hostile input: refused with file and line, in bounded time -------------------------------------------------
@pytest.mark.parametrize(("text", "problem"), [
    ("x: " + "[" * 20000 + "]" * 20000 + "\n", "nesting deeper than 64 levels"),
    ("x: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n", "nesting deeper than 64 levels"),
    ("".join(" " * i + f"k{i}:\n" for i in range(300)) + " " * 300 + "v: 1\n", "nesting deeper than 64 levels"),
    ("id: x\nv: " + "1" * 5000 + "\n", "invalid value: Exceeds the limit"),
])
def test_hostile_yaml_is_refused_quickly_with_its_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    started = time.perf_counter()
    with pytest.raises(InputError) as info:
        load_yaml(path)
    assert problem in info.value.message and info.value.line is not None
    # not a timing test of our code's speed: a guard against the quadratic parser path (143 s for 200 KB)
    assert time.perf_counter() - started < 30


def test_duplicate_keys_are_an_error_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text("waivers:\n  - rule: SM-14-*\n    resource: arn:a\n    resource: arn:b\n"
                    "    reason: r\n    expires: 2030-01-01\n")
    with pytest.raises(InputError) as info:
        load_waivers(path)
    assert info.value.line == 4 and "duplicate key 'resource' (first at line 3)" in info.value.message


def test_overflowing_durations_are_input_errors(demo_run: tuple[int, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "audit.yaml"
    config.write_text("parameters:\n  idle_window: 99999999999999999999h\n")
    argv = ["--snapshot", _snap(demo_run), "--output", str(tmp_path / "o"), "-q"]
    assert main([*argv, "--config", str(config)]) == exitcodes.INVALID_INPUT
    assert "10-year limit" in _one_line(capsys.readouterr().err)
    rules = tmp_path / "rules"
    rules.mkdir()
    src = Path(__file__).resolve().parents[1] / "rules/p14-idle-endpoints/SM-14-idle-endpoint.yaml"
    (rules / "r.yaml").write_text(src.read_text().replace("idle_window: 24h", "idle_window: 99999999999999999999h"))
    assert main([*argv, "--rules-dir", str(rules)]) == exitcodes.INVALID_INPUT
    err = capsys.readouterr().err
    assert "r.yaml:12: duration" in err and "Traceback" not in err


@pytest.mark.parametrize(("edit", "problem"), [
    (lambda s: "[" * 100000 + "]" * 100000, "nests deeper than 200 levels"),
    (lambda s: s.replace('"version": 1', '"version": ' + "1" * 5000, 1), "a value Python refuses"),
    (lambda s: s.replace('"name": "', '"name": "\\ud800', 1), "lone surrogate"),
    (lambda s: s[: len(s) // 2], "not valid JSON"),
])
def test_hostile_snapshots_are_one_line_errors(demo_run: tuple[int, Path], tmp_path: Path, edit: object,
                                               problem: str, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "snap.json"
    bad.write_text(edit(Path(_snap(demo_run)).read_text()))  # type: ignore[operator]
    assert main(["--snapshot", str(bad), "--output", str(tmp_path / "o"), "-q"]) == exitcodes.INVALID_INPUT
    assert problem in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "o" / "report.json").exists()


# -- output hygiene ----------------------------------------------------------------------------------------------
def test_csv_quotes_carriage_returns_and_defuses_indented_formulas() -> None:
    import csv
    import io

    finding = {"rule_id": "SM-1", "policy": 1, "severity": "high", "status": "fail",
               "resource": {"arn": "arn:x", "type": "t", "name": "a\rb", "account": "1", "region": "r"},
               "message": "  =HYPERLINK(\"http://evil\")", "remediation": {"guidance": "\t@SUM(1)"}}
    text = render_csv(typed({"findings": [finding]}))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 2  # the bare CR stayed inside its quoted field
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["resource_name"] == "a\rb"
    assert row["message"].startswith("'") and row["guidance"].startswith("'")


# -- merge refuses what would double or corrupt findings -------------------------------------------------------
@pytest.mark.parametrize(("edit", "problem"), [
    (lambda d: d.update(manual_checks=["oops"]), "manual_checks[0] is not a manual check"),
    (lambda d: d["scope"].pop("coverage"), "no scope.coverage block"),
    (lambda d: d["findings"][0]["resource"].update(account="999999999999"), "does not list as audited"),
    (lambda d: d["findings"].pop(), "do not match"),
])
def test_merge_refuses_inconsistent_reports(demo_run: tuple[int, Path], tmp_path: Path, edit: object,
                                            problem: str, capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads((demo_run[1] / "report.json").read_text())
    edit(doc)  # type: ignore[operator]
    for shard in ("a", "b"):
        (tmp_path / shard).mkdir()
        (tmp_path / shard / "report.json").write_text(json.dumps(doc))
    code = main(["merge", str(tmp_path / "a"), str(tmp_path / "b"), "--output", str(tmp_path / "m")])
    assert code == exitcodes.INVALID_INPUT
    assert problem in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "m").exists()
