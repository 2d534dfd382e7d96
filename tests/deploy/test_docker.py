"""The Dockerfile: the wheel built from the same sources as `make wheel`, installed by the tested install script."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _stages() -> list[list[str]]:
    """Instructions per stage, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (REPO / "Dockerfile").read_text())
    stages: list[list[str]] = [[]]
    for line in (x.strip() for x in text.splitlines()):
        if line.startswith("FROM "):
            stages.append([])
        if line and not line.startswith("#"):
            stages[-1].append(line)
    return stages[1:]


def _copied(stage: list[str]) -> set[str]:
    return {src.rstrip("/") for line in stage if line.startswith("COPY ") and "--from=" not in line
            for src in line.split()[1:-1]}


def test_builder_copies_everything_the_wheel_is_built_from() -> None:
    builder, _ = _stages()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = {"pyproject.toml", project["project"]["readme"], *wheel["packages"],
              *(src.split("/")[0] for src in wheel["force-include"])}
    assert needed <= _copied(builder)
    assert any(line.startswith("RUN python -m build --no-isolation --wheel") for line in builder)


def test_dockerignore_lets_in_every_copied_path() -> None:
    allowed = {line[1:].rstrip("/") for line in (REPO / ".dockerignore").read_text().splitlines()
               if line.startswith("!")}
    for stage in _stages():
        assert _copied(stage) <= allowed


def test_final_stage_installs_the_wheel_with_the_tested_script_as_a_non_root_user() -> None:
    _, final = _stages()
    assert "COPY deploy/docker/install.sh /tmp/install.sh" in final
    assert any(line.startswith('RUN sh /tmp/install.sh /tmp/dist/*.whl "$EXTRAS"') for line in final)
    assert 'ARG EXTRAS=""' in final  # the product alone by default; tests/test_packaging.py installs the same
    user = next(line.split()[1] for line in final if line.startswith("USER "))
    assert user not in ("root", "0")
    assert json.loads(next(line[len("ENTRYPOINT "):] for line in final if line.startswith("ENTRYPOINT "))) == ["audit"]
    assert any(line.startswith("VOLUME") and "/reports" in line for line in final)


def test_final_stage_has_no_build_tools() -> None:
    _, final = _stages()
    run = " ".join(line for line in final if line.startswith("RUN "))
    for tool in ("apt-get", "gcc", "build-essential", "hatchling", "pip install build"):
        assert tool not in run
