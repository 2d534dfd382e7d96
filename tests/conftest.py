"""Shared fixtures: fake credentials, moto with our extension, a tiny graph builder, a look at cyclic garbage."""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Every graph the suite builds is checked against the declared vocabulary as it is written (values' types
# included); the fixture below checks once more after each test, for data changed in place.
os.environ.setdefault("AUDITOR_STRICT_VOCABULARY", "1")

from auditor.graph import ResourceGraph  # noqa: E402
from auditor.model import CollectionError  # noqa: E402
from auditor_demo import moto_ext  # noqa: E402

ACCOUNT = "123456789012"
REGION = "us-east-1"


@pytest.fixture(autouse=True, scope="session")
def no_real_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Module- and session-scoped fixtures run audits too: the history goes to a tmp dir for the whole session."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state-session")))
        yield


@pytest.fixture(autouse=True)
def fake_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Never touch real AWS: fake credentials, no profile, a default region. Never the real home: the run
    history goes to a fresh state directory per test."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))
    for k in list(os.environ):
        if k.startswith("AWS_"):
            monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTTESTTESTTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key-do-not-leak")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "test-session-token-do-not-leak")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    """One demo audit per test session (exit code, report directory with report.json and snap.json): tests
    that only read its reports or re-evaluate its snapshot share it."""
    from auditor.cli import main

    out = tmp_path_factory.mktemp("demo")
    code = main(["--demo", "--output", str(out), "--quiet", "--save-snapshot", str(out / "snap.json")])
    return code, out


@pytest.fixture(autouse=True)
def graphs_keep_to_the_vocabulary(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """After each test, every ResourceGraph it built holds only declared attributes of their declared types."""
    built: list[ResourceGraph] = []
    init = ResourceGraph.__init__

    def tracking_init(self: ResourceGraph, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        built.append(self)

    monkeypatch.setattr(ResourceGraph, "__init__", tracking_init)
    yield
    problems = [p for g in built for p in g.vocabulary_problems()]
    assert not problems, f"graphs built by this test break the vocabulary: {problems[:5]}"


@pytest.fixture
def aws() -> Iterator[None]:
    from moto import mock_aws

    moto_ext.install()
    with mock_aws():
        yield


@contextlib.contextmanager
def cyclic_garbage() -> Iterator[Callable[[], list[Any]]]:
    """Automatic garbage collection off while the block runs; `found()` runs a full collection and returns what it
    found unreachable (kept to be looked at, not freed). Another thread of the test process may leave garbage of
    its own, so a test looks for its own objects in it."""
    gc.collect()
    was = gc.isenabled()
    gc.disable()

    def found() -> list[Any]:
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        return list(gc.garbage)

    try:
        yield found
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was:
            gc.enable()


def build_graph(spec: dict[str, Any]) -> ResourceGraph:
    """A graph from a compact dict: nodes (id, type, data, tags, errors, dangling), edges, listing errors."""
    g = ResourceGraph(meta={"account": ACCOUNT, "regions": [REGION],
                            "collected_at": spec.get("collected_at", "2026-11-25T12:00:00Z")})
    for n in spec.get("nodes", []):
        g.add_node(n["id"], n["type"], name=n.get("name", n["id"]), account=n.get("account", ACCOUNT),
                   region=n.get("region", REGION), data=n.get("data") or {},
                   tags=n.get("tags", {}), dangling=n.get("dangling", False))
        for facet, msg in (n.get("errors") or {}).items():
            g.set_error(n["id"], facet, msg)
    for src, label, dst in spec.get("edges", []):
        g.add_edge(src, label, dst)
    for e in spec.get("listing_errors", []):
        g.record(CollectionError(service=e.get("service", "svc"), operation=e.get("operation", "List"),
                                 code=e.get("code", "AccessDenied"), message="denied", account=ACCOUNT,
                                 region=REGION, affects=tuple(e["affects"])))
    return g


# Every run, CI's or a developer's, draws the same reproducible examples: a red test is red for everyone.
# HYPOTHESIS_EXPLORE=1 opts in to fresh random examples (with the example database) to hunt for new failures.
from hypothesis import settings as _hyp_settings  # noqa: E402

# no deadline: a loaded 2-core CI machine must not turn a slow example into a failure
_hyp_settings.register_profile("ci", derandomize=True, print_blob=True, database=None, deadline=None)
_hyp_settings.register_profile("explore", print_blob=True)
_hyp_settings.load_profile("explore" if os.environ.get("HYPOTHESIS_EXPLORE") else "ci")
