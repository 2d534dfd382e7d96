"""The resource graph: typed nodes, validated edges, exact JSON round trip, clear errors on bad snapshots."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor import vocabulary as v
from auditor.graph import EDGE_TYPES, NODE_TYPES, GraphError, ResourceGraph
from auditor.model import CollectionError
from tests.conftest import cyclic_garbage

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
_SCALARS = {
    v.STRING: st.text(max_size=12), v.TIMESTAMP: st.text(max_size=12), v.BOOLEAN: st.booleans(),
    v.INTEGER: st.integers(-10**6, 10**6),
    v.NUMBER: st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False),
}


def values(decl: v.Attr) -> st.SearchStrategy[object]:
    """A value of the declared type (or None), nested as the declaration says."""
    if decl.type in _SCALARS:
        return st.none() | _SCALARS[decl.type]
    fields = st.fixed_dictionaries({}, optional={f.name: values(f) for f in decl.fields})
    if decl.type == v.LIST:
        return st.none() | st.lists(fields if decl.fields else json_values, max_size=3)
    if decl.type == v.MAP:
        return st.none() | st.dictionaries(st.text(max_size=6), values(decl.of) if decl.of else json_values,
                                           max_size=3)
    if decl.type == v.API:  # as AWS returned it: undeclared keys may come along
        return st.none() | st.tuples(fields, st.dictionaries(st.text("XYZ", min_size=1, max_size=4), json_values,
                                                             max_size=2)).map(lambda p: {**p[1], **p[0]})
    return st.none() | fields


def node_data(type_: str) -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries({}, optional={a.name: values(a) for a in v.VOCABULARY[type_].values()})


@st.composite
def graphs(draw) -> ResourceGraph:  # type: ignore[no-untyped-def]
    g = ResourceGraph(meta={"account": "123456789012", "regions": ["us-east-1"], "collected_at": "2026-11-25T00:00:00Z"})
    n = draw(st.integers(1, 12))
    ids = []
    for i in range(n):
        t = draw(st.sampled_from(sorted(NODE_TYPES)))
        nid = f"arn:{t}:{i}:" + draw(st.text(max_size=6))
        g.add_node(nid, t, name=draw(st.text(max_size=10)), data=draw(node_data(t)),
                   tags=draw(st.none() | st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3)),
                   dangling=draw(st.booleans()))
        if draw(st.booleans()):
            facets = ["describe", "tags", *sorted(v.VOCABULARY[t])]
            g.set_error(nid, draw(st.sampled_from(facets)), draw(st.text(max_size=20)))
        ids.append((nid, t))
    for label, et in EDGE_TYPES.items():
        for src, st_ in ids:
            for dst, dt_ in ids:
                if st_ in et.sources and dt_ == et.target and draw(st.booleans()):
                    g.add_edge(src, label, dst)
    if draw(st.booleans()):
        g.record(CollectionError("s3", "GetBucketVersioning", "AccessDenied", "no", "123456789012", "us-east-1",
                                 ("s3.bucket",), None))
    return g


@settings(max_examples=60, deadline=None)
@given(graphs())
def test_snapshot_save_load_round_trips_exactly(tmp_path_factory: pytest.TempPathFactory, g: ResourceGraph) -> None:
    path = tmp_path_factory.mktemp("snap") / "s.json"
    g.save(path)
    again = ResourceGraph.load(path)
    assert again.to_dict() == g.to_dict()
    assert sorted(again.edges()) == sorted(g.edges())


def test_edges_are_checked_against_their_types() -> None:
    g = ResourceGraph()
    g.add_node("e", "sagemaker.endpoint")
    g.add_node("m", "sagemaker.model")
    with pytest.raises(GraphError, match="unknown edge label"):
        g.add_edge("e", "has_variants", "m")
    with pytest.raises(GraphError, match="has type sagemaker.model"):
        g.add_edge("e", "has_variant", "m")
    with pytest.raises(GraphError, match="does not exist"):
        g.add_edge("e", "uses_config", "nope")
    with pytest.raises(GraphError, match="unknown node type"):
        g.add_node("x", "sagemaker.whatever")


def test_listing_errors_scope_by_type_account_and_region() -> None:
    g = ResourceGraph()
    g.record(CollectionError("cloudwatch", "DescribeAlarms", "AccessDenied", "m", "111", "us-east-1",
                             ("cloudwatch.alarm",)))
    assert g.listing_errors("cloudwatch.alarm", "111", "us-east-1")
    assert not g.listing_errors("cloudwatch.alarm", "111", "eu-west-1")
    assert not g.listing_errors("cloudwatch.alarm", "222", "us-east-1")
    assert not g.listing_errors("logs.log_group", "111", "us-east-1")


@pytest.mark.parametrize(("content", "problem"), [
    ('{"format": "sagemaker-auditor-snapshot", "version": 1, "nodes": [', "not valid JSON"),
    ('{"format": "sagemaker-auditor-snapshot", "version": 99, "nodes": [], "edges": []}', "version 99 is not supported"),
    ('{"format": "something-else"}', "not an auditor snapshot"),
    ('[1, 2, 3]', "not an auditor snapshot"),
    ('{"format": "sagemaker-auditor-snapshot", "version": 1, "nodes": [{"id": "x"}], "edges": []}', "malformed snapshot"),
    ('{"format": "sagemaker-auditor-snapshot", "version": 1, "nodes": [], "edges": [["a", "b"]]}', "malformed snapshot"),
    ('{"format": "sagemaker-auditor-snapshot", "version": 1, "nodes": [], "edges": [["a", "uses_config", "b"]]}',
     "does not exist"),
    ('{"format": "sagemaker-auditor-snapshot", "version": 1, "edges": [], "nodes": [{"id": "v", "type": '
     '"sagemaker.variant", "data": {"serverles": true}}]}', "has no attribute 'serverles'; did you mean 'serverless'"),
    ('{"format": "sagemaker-auditor-snapshot", "version": 1, "edges": [], "nodes": [{"id": "v", "type": '
     '"sagemaker.variant", "errors": {"rel:nope": "denied"}}]}', "error facet 'rel:nope': no such edge label"),
])
def test_bad_snapshot_files_are_clear_errors(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(GraphError, match=problem):
        ResourceGraph.load(path)


def test_missing_snapshot_file(tmp_path: Path) -> None:
    with pytest.raises(GraphError, match="cannot read snapshot"):
        ResourceGraph.load(tmp_path / "nope.json")


def test_atomic_save_leaves_previous_file_when_serialisation_fails(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    g = ResourceGraph(meta={"account": "1"})
    g.save(path)
    before = path.read_text()
    g.meta["bad"] = object()  # default=str makes this serialisable; force a failure instead

    class Boom:
        def __str__(self) -> str:
            raise RuntimeError("disk full")

    g.meta["bad"] = Boom()
    with pytest.raises(RuntimeError):
        g.save(path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]
    assert json.loads(before)["meta"] == {"account": "1"}


@pytest.mark.parametrize("bad", [
    {"vpc_config": {"Subnets": ("subnet-1",)}},  # a tuple: loads back as a list
    {"vpc_config": {"Extra": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}},  # an undeclared API member that is no JSON
])
def test_strict_mode_refuses_data_a_snapshot_would_not_give_back(bad: dict[str, Any]) -> None:
    # merge takes a part's data over without copying it, so the live graph is the snapshot's only if every write
    # is JSON-exact; tests run in STRICT mode (conftest), which checks that
    g = ResourceGraph()
    with pytest.raises(GraphError, match="JSON round trip"):
        g.add_node("m", "sagemaker.model", data=bad)
    g.add_node("m", "sagemaker.model", data={"vpc_config": {"Subnets": ["subnet-1"]}})
    with pytest.raises(GraphError, match="JSON round trip"):
        g.set_data("m", **bad)


def test_merge_takes_over_a_parts_nodes_and_edges_as_they_are() -> None:
    part = ResourceGraph()
    part.add_node("e", "sagemaker.endpoint", account="111", region="us-east-1", data={"status": "InService"})
    part.add_node("c", "sagemaker.endpoint_config", data={"kms_key_id": "k"})
    part.add_edge("e", "uses_config", "c")
    part.set_error("e", "tags", "denied")
    merged = ResourceGraph()
    merged.add_node("c", "sagemaker.endpoint_config")
    merged.merge(part)
    assert merged.attrs("e")["data"] == {"status": "InService"}
    assert merged.attrs("e")["errors"] == {"tags": "denied"}
    assert merged.attrs("c")["data"] == {"kms_key_id": "k"}
    assert sorted(merged.edges()) == [("e", "uses_config", "c")]
    assert merged.nodes_of_type("sagemaker.endpoint") == ["e"]
    assert ResourceGraph.from_dict(merged.to_dict()).to_dict() == merged.to_dict()


def test_a_merged_part_is_consumed_and_leaves_nothing_for_the_cyclic_collector() -> None:
    """networkx graphs refer to themselves once their edge view is used (merge uses it): a merged-away part left
    its node and edge dicts to a full garbage collection, which an audit with its heap frozen only runs at the
    end (about 58,000 objects after a replayed 1,000-endpoint audit)."""
    part = ResourceGraph()
    for i in range(200):
        part.add_node(f"e{i}", "sagemaker.endpoint", data={"status": "InService"})
        part.add_node(f"c{i}", "sagemaker.endpoint_config")
        part.add_edge(f"e{i}", "uses_config", f"c{i}")
    merged = ResourceGraph()
    with cyclic_garbage() as found:
        merged.merge(part)
        assert part.g.number_of_nodes() == 0 and part.nodes_of_type("sagemaker.endpoint") == []
        del part
        # no node's or edge's dicts (another thread of the test process may leave garbage of its own)
        assert [o for o in found() if type(o) is dict and ("dangling" in o or "uses_config" in o)] == []
    assert len(merged.nodes_of_type("sagemaker.endpoint")) == 200 and len(list(merged.edges())) == 200
