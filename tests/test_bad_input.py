"""Hostile and malformed input files: always a clear error, never a traceback or code execution; Ctrl-C is clean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.cli import main
from auditor.engine.config import load_config, load_waivers
from auditor.graph import GraphError, ResourceGraph
from auditor.yamlsafe import InputError

HOSTILE_YAML = [
    "!!python/object/apply:os.system ['touch /tmp/auditor-pwned']\n",
    "a: !!python/name:os.system\n",
    "a: &x [1]\nb: *x\n",
    "{" * 5000,
    "\x00\x01binary",
    "parameters: [1, 2\n",
    "- just\n- a list\n",
]


@pytest.mark.parametrize("text", HOSTILE_YAML)
def test_hostile_config_and_waiver_files_are_clear_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    for loader in (load_config, load_waivers):
        with pytest.raises(InputError) as info:
            loader(path)
        assert str(path) in str(info.value)
    assert not Path("/tmp/auditor-pwned").exists()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_config_and_waiver_loaders_never_crash(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    for loader in (load_config, load_waivers):
        try:
            loader(path)
        except InputError:
            pass


json_like = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                         lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                      max_size=4), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({"format": st.just("sagemaker-auditor-snapshot"), "version": st.just(1)},
                             optional={"nodes": json_like, "edges": json_like, "errors": json_like,
                                       "meta": json_like}))
def test_snapshot_loader_never_crashes(doc: dict[str, Any]) -> None:
    try:
        ResourceGraph.from_dict(doc)
    except GraphError:
        pass


def test_bad_snapshot_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for content in ('{"format": "sagemaker-auditor-snapshot", "version": 2}', "[]", "{", "\x00"):
        snap = tmp_path / "s.json"
        snap.write_text(content)
        assert main(["--snapshot", str(snap), "--output", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert "s.json" in err and "Traceback" not in err


def test_ctrl_c_during_collection_leaves_no_partial_report(aws: None, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import auditor.session as session_mod

    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text('{"previous": true}')

    def interrupt(**_: Any) -> None:
        raise KeyboardInterrupt

    real = session_mod.SessionFactory.__init__

    def with_interrupt(self: Any, *a: Any, **kw: Any) -> None:
        real(self, *a, **{**kw, "hooks": [("before-call.sagemaker.ListTransformJobs", interrupt)]})

    monkeypatch.setattr(session_mod.SessionFactory, "__init__", with_interrupt)
    snap = tmp_path / "snap.json"
    assert main(["--region", "us-east-1", "--output", str(out), "--save-snapshot", str(snap), "--quiet"]) == 130
    assert json.loads((out / "report.json").read_text()) == {"previous": True}  # the previous report survives
    assert not snap.exists()
    assert sorted(p.name for p in out.iterdir()) == ["report.json"]  # no temporary or half-written file


def test_ctrl_c_inside_the_call_pool_ends_a_concurrent_run(aws: None, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """An interrupt raised in a pool thread (a per-endpoint describe) ends the run with 130."""
    import boto3

    import auditor.session as session_mod

    sm = boto3.client("sagemaker", region_name="us-east-1")
    sm.create_model(ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
                    PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/x:1"})
    sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[
        {"VariantName": "v", "ModelName": "m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    for i in range(12):  # production: the built-in rules read their deployment, so each is described
        sm.create_endpoint(EndpointName=f"e{i}", EndpointConfigName="c",
                           Tags=[{"Key": "environment", "Value": "production"}])
    calls: list[str] = []

    def interrupt(**_: Any) -> None:
        calls.append("describe")
        if len(calls) == 3:
            raise KeyboardInterrupt

    real = session_mod.SessionFactory.__init__

    def with_interrupt(self: Any, *a: Any, **kw: Any) -> None:
        real(self, *a, **{**kw, "hooks": [("before-call.sagemaker.DescribeEndpoint", interrupt)]})

    monkeypatch.setattr(session_mod.SessionFactory, "__init__", with_interrupt)
    assert main(["--region", "us-east-1", "--output", str(tmp_path / "out"), "--quiet", "--workers", "4"]) == 130
    assert not (tmp_path / "out" / "report.json").exists()
