"""Shared fixtures: fake credentials, moto with our extension, and a tiny graph builder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from auditor.graph import ResourceGraph
from auditor.model import CollectionError
from auditor_demo import moto_ext

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


@pytest.fixture
def aws() -> Iterator[None]:
    from moto import mock_aws

    moto_ext.install()
    with mock_aws():
        yield


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


# CI runs a fixed, reproducible set of examples; developers get fresh random ones every run.
from hypothesis import settings as _hyp_settings  # noqa: E402

_hyp_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    _hyp_settings.load_profile("ci")
