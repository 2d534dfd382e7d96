"""The resource graph: typed nodes keyed by ARN, labelled edges, errors as data, JSON save/load."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # networkx costs ~100 ms to import: only commands that build a graph pay for it
    import networkx as nx

from auditor import __version__
from auditor.model import CollectionError
from auditor.vocabulary import READS, bad_facet, data_problems, undeclared

# Tests (and anyone debugging a collector) set this to also check every value's declared type as it is written.
STRICT = os.environ.get("AUDITOR_STRICT_VOCABULARY", "") == "1"

SNAPSHOT_FORMAT = "sagemaker-auditor-snapshot"
SNAPSHOT_VERSION = 1
MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024

NODE_TYPES: dict[str, str] = {
    "aws.region": "An account-region pair (holds region-wide resources such as trails)",
    "sagemaker.endpoint": "A SageMaker real-time or serverless endpoint",
    "sagemaker.endpoint_config": "An endpoint configuration",
    "sagemaker.variant": "A production variant of an endpoint (config + runtime state)",
    "sagemaker.model": "A SageMaker model",
    "sagemaker.container": "One container of a model (image, artifact, package)",
    "sagemaker.model_package": "A versioned model package in the model registry",
    "sagemaker.model_package_group": "A model package group (registry entry)",
    "sagemaker.monitoring_schedule": "A Model Monitor schedule",
    "sagemaker.monitoring_job_definition": "A data/model quality, bias or explainability job definition",
    "sagemaker.transform_job": "A Batch Transform job",
    "s3.bucket": "An S3 bucket holding model artifacts",
    "s3.object": "A model artifact object (or prefix) in S3",
    "kms.key": "A KMS key",
    "ec2.vpc": "A VPC",
    "ec2.subnet": "A subnet (with its Availability Zone)",
    "ec2.security_group": "A security group",
    "ec2.vpc_endpoint": "A VPC endpoint",
    "iam.role": "An IAM role (model execution role) with its policies",
    "cloudtrail.trail": "A CloudTrail trail with status and event selectors",
    "cloudwatch.alarm": "A CloudWatch metric or composite alarm",
    "cloudwatch.dashboard": "A CloudWatch dashboard",
    "logs.log_group": "A CloudWatch Logs log group",
    "events.rule": "An EventBridge rule",
    "autoscaling.target": "An Application Auto Scaling scalable target",
    "autoscaling.policy": "An Application Auto Scaling scaling policy",
}


@dataclass(frozen=True)
class EdgeType:
    label: str
    sources: frozenset[str]
    target: str
    doc: str
    # A target has at most one source by this label (a variant belongs to one endpoint): a walk backwards that
    # found it has found them all, whatever other sources' reads failed.
    one_source: bool = False


def _e(label: str, sources: Iterable[str], target: str, doc: str, one_source: bool = False) -> EdgeType:
    return EdgeType(label, frozenset(sources), target, doc, one_source)


EDGE_TYPES: dict[str, EdgeType] = {
    e.label: e
    for e in [
        _e("uses_config", ["sagemaker.endpoint"], "sagemaker.endpoint_config", "endpoint -> its endpoint config"),
        _e("has_variant", ["sagemaker.endpoint"], "sagemaker.variant", "endpoint -> production variants",
           one_source=True),
        _e("serves_model", ["sagemaker.variant"], "sagemaker.model", "variant -> model"),
        _e("has_container", ["sagemaker.model"], "sagemaker.container", "model -> containers", one_source=True),
        _e("from_package", ["sagemaker.container"], "sagemaker.model_package", "container -> registry package"),
        _e("in_group", ["sagemaker.model_package"], "sagemaker.model_package_group", "package -> group"),
        _e("artifact", ["sagemaker.container", "sagemaker.model_package"], "s3.object", "-> model artifact"),
        _e("stored_in", ["s3.object"], "s3.bucket", "artifact -> bucket"),
        _e("encrypted_by", ["s3.bucket", "s3.object", "sagemaker.endpoint_config"], "kms.key", "-> KMS key"),
        _e("in_subnet", ["sagemaker.model"], "ec2.subnet", "model VpcConfig -> subnets"),
        _e("has_security_group", ["sagemaker.model"], "ec2.security_group", "model VpcConfig -> SGs"),
        _e("in_vpc", ["ec2.subnet", "ec2.security_group"], "ec2.vpc", "-> VPC"),
        _e("has_vpc_endpoint", ["ec2.vpc"], "ec2.vpc_endpoint", "VPC -> its VPC endpoints"),
        _e("runs_as", ["sagemaker.model"], "iam.role", "model -> execution role"),
        _e("scaled_by", ["sagemaker.variant"], "autoscaling.target", "variant -> scalable target", one_source=True),
        _e("has_policy", ["autoscaling.target"], "autoscaling.policy", "target -> scaling policies", one_source=True),
        _e("monitored_by", ["sagemaker.endpoint"], "sagemaker.monitoring_schedule", "endpoint -> schedules",
           one_source=True),
        _e("uses_job_definition", ["sagemaker.monitoring_schedule"], "sagemaker.monitoring_job_definition",
           "schedule -> job definition"),
        _e("alarmed_by", ["sagemaker.endpoint"], "cloudwatch.alarm", "endpoint -> alarms watching its metrics"),
        _e("rollback_alarm", ["sagemaker.endpoint"], "cloudwatch.alarm", "endpoint -> auto-rollback alarms"),
        _e("shown_on", ["sagemaker.endpoint"], "cloudwatch.dashboard", "endpoint -> dashboards showing it"),
        _e("logs_to", ["sagemaker.endpoint"], "logs.log_group", "endpoint -> its log group", one_source=True),
        _e("in_region", ["sagemaker.endpoint", "sagemaker.model"], "aws.region", "-> account-region"),
        _e("has_trail", ["aws.region"], "cloudtrail.trail", "region -> trails logging it"),
        _e("has_event_rule", ["aws.region"], "events.rule", "region -> EventBridge rules"),
        _e("has_transform_job", ["aws.region"], "sagemaker.transform_job", "region -> transform jobs"),
    ]
}


class GraphError(ValueError):
    """A snapshot file or graph operation that cannot be honoured."""


def region_id(account: str, region: str) -> str:
    return f"aws:{account}:{region}"


class ResourceGraph:
    """A labelled multigraph of AWS resources; nodes keep attributes, tags and per-facet read errors."""

    def __init__(self, meta: dict[str, Any] | None = None) -> None:
        import networkx

        self.g: nx.MultiDiGraph = networkx.MultiDiGraph()
        self.meta: dict[str, Any] = dict(meta or {})
        self.errors: list[CollectionError] = []
        self._by_type: dict[str, set[str]] = {}  # evaluation asks "all nodes of type T" once per rule

    # -- building -------------------------------------------------------
    def add_node(
        self,
        node_id: str,
        type_: str,
        *,
        name: str = "",
        account: str = "",
        region: str = "",
        data: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        dangling: bool = False,
    ) -> str:
        if type_ not in NODE_TYPES:
            raise GraphError(f"unknown node type {type_!r}")
        if data:
            _check_data(node_id, type_, data)
        if node_id in self.g:
            attrs = self.g.nodes[node_id]
            if attrs["type"] != type_:
                raise GraphError(f"node {node_id} is {attrs['type']}, not {type_}")
            attrs["data"].update(data or {})
            if tags is not None:
                attrs["tags"] = dict(tags)
            attrs["name"] = attrs["name"] or name
            attrs["dangling"] = dangling
            return node_id
        self._by_type.setdefault(type_, set()).add(node_id)
        self.g.add_node(
            node_id,
            type=type_,
            name=name or node_id,
            account=account,
            region=region,
            data=dict(data or {}),
            tags=None if tags is None else dict(tags),
            errors={},
            dangling=dangling,
            origin={},
        )
        return node_id

    def add_edge(self, src: str, label: str, dst: str) -> None:
        et = EDGE_TYPES.get(label)
        if et is None:
            raise GraphError(f"unknown edge label {label!r}")
        for nid, allowed in ((src, et.sources), (dst, {et.target})):
            if nid not in self.g:
                raise GraphError(f"edge {label}: node {nid} does not exist")
            if self.g.nodes[nid]["type"] not in allowed:
                raise GraphError(f"edge {label}: {nid} has type {self.g.nodes[nid]['type']}")
        if not self.g.has_edge(src, dst, key=label):
            self.g.add_edge(src, dst, key=label)

    def set_data(self, node_id: str, **values: Any) -> None:
        node = self.g.nodes[node_id]
        _check_data(node_id, node["type"], values)
        node["data"].update(values)

    def set_read(self, node_id: str, read: str, **values: Any) -> None:
        """Set attributes that come from `read` (a facet other than the node's own describe): they stay known
        when the describe fails and become unknown when `read` fails (see set_error)."""
        node = self.g.nodes[node_id]
        _check_data(node_id, node["type"], values)
        if read not in READS.get(node["type"], ()):
            raise GraphError(f"node {node_id}: {read!r} is not a declared read of {node['type']} (vocabulary.READS)")
        node["data"].update(values)
        node["origin"].update(dict.fromkeys(values, read))

    def set_tags(self, node_id: str, tags: dict[str, str]) -> None:
        self.g.nodes[node_id]["tags"] = dict(tags)

    def set_error(self, node_id: str, facet: str, message: str) -> None:
        """Record that `facet` of a node (an attribute, `tags`, `describe`, or `rel:<label>`) could not be read."""
        node = self.g.nodes[node_id]
        problem = bad_facet(node["type"], facet, EDGE_TYPES)
        if problem is not None:
            raise GraphError(f"node {node_id}: {problem}")
        node["errors"][facet] = message

    def record(self, err: CollectionError) -> None:
        self.errors.append(err)

    # -- querying -------------------------------------------------------
    def __contains__(self, node_id: object) -> bool:
        return node_id in self.g

    def node(self, node_id: str) -> dict[str, Any]:
        return dict(self.g.nodes[node_id])

    def attrs(self, node_id: str) -> dict[str, Any]:
        """The live attribute dict of a node (not a copy)."""
        # networkx's node-attribute mapping, read directly: this is the evaluator's hottest call.
        return self.g._node[node_id]

    def nodes_of_type(self, type_: str) -> list[str]:
        return sorted(self._by_type.get(type_, ()))

    def related(self, node_id: str, label: str) -> list[str]:
        # _succ[n] maps each successor to {edge key: attrs}; our edge keys are the labels. Read directly (not
        # through networkx's views): evaluation asks this for every related condition of every resource.
        return sorted([dst for dst, keys in self.g._succ[node_id].items() if label in keys])

    def incoming(self, node_id: str, label: str) -> list[str]:
        return sorted([src for src, keys in self.g._pred[node_id].items() if label in keys])

    def listing_errors(self, type_: str, account: str, region: str) -> list[CollectionError]:
        """Collection-wide errors that make the set of `type_` nodes in this account-region incomplete."""
        return [
            e for e in self.errors
            if (type_ in e.affects or "*" in e.affects)
            and e.account in ("", account) and e.region in ("", "global", region)
        ]

    def edges(self) -> Iterator[tuple[str, str, str]]:
        for src, dst, key in self.g.edges(keys=True):
            yield src, key, dst

    def vocabulary_problems(self) -> list[str]:
        """Every attribute, value type and error facet in the graph that the vocabulary does not declare."""
        out = []
        for nid, a in self.g.nodes(data=True):
            out += [f"node {nid}: {p}" for p in data_problems(a["type"], a["data"])]
            out += [f"node {nid}: {p}" for f in a["errors"] if (p := bad_facet(a["type"], f, EDGE_TYPES))]
        return out

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, t in self.g.nodes(data="type"):
            out[t] = out.get(t, 0) + 1
        return dict(sorted(out.items()))

    def merge(self, other: ResourceGraph) -> None:
        """Fold another graph (another account or region) into this one, taking over its nodes' attributes: `other`
        is consumed (collection merges each account-region's graph once and drops it), so nothing is copied. A
        deep copy through JSON here cost ~1.5 s of a 1,000-endpoint audit's ~15 s of CPU; the data is already
        JSON-exact (collectors store `normalize`d answers, and STRICT mode checks every write)."""
        for nid, attrs in other.g.nodes(data=True):
            if nid in self.g:
                mine = self.g.nodes[nid]
                mine["data"].update(attrs["data"])
                mine["errors"].update(attrs["errors"])
                mine["origin"].update(attrs["origin"])
                if attrs["tags"] is not None:
                    mine["tags"] = attrs["tags"]
            else:
                self.g.add_node(nid, **attrs)
                self._by_type.setdefault(attrs["type"], set()).add(nid)
        for src, dst, key in other.g.edges(keys=True):
            if not self.g.has_edge(src, dst, key=key):
                self.g.add_edge(src, dst, key=key)
        self.errors.extend(other.errors)
        # Consumed: empty it now. A networkx graph refers to itself (a cycle), so its node and edge dicts would
        # otherwise wait for a full garbage collection, or, with the run's heap frozen, for the end of the run.
        other.g.clear()
        other._by_type.clear()

    # -- persistence ----------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        nodes = []
        for nid in sorted(self.g.nodes):
            a = self.g.nodes[nid]
            node = {"id": nid, **_copy_attrs(a)}
            if not node["origin"]:
                del node["origin"]  # most nodes have every attribute from their own describe: say nothing
            nodes.append(node)
        edges = sorted([src, key, dst] for src, dst, key in self.g.edges(keys=True))
        return {
            "format": SNAPSHOT_FORMAT,
            "version": SNAPSHOT_VERSION,
            "tool_version": __version__,
            "meta": self.meta,
            "nodes": nodes,
            "edges": edges,
            "errors": [e.to_dict() for e in self.errors],
        }

    @classmethod
    def from_dict(cls, doc: Any) -> ResourceGraph:
        if not isinstance(doc, dict) or doc.get("format") != SNAPSHOT_FORMAT:
            raise GraphError("not an auditor snapshot (missing or wrong 'format')")
        if doc.get("version") != SNAPSHOT_VERSION:
            raise GraphError(
                f"snapshot format version {doc.get('version')!r} is not supported (this tool reads {SNAPSHOT_VERSION})"
            )
        try:
            meta = doc.get("meta") or {}
            if not isinstance(meta, dict):
                raise TypeError("meta must be an object")
            graph = cls(meta=meta)
            for n in doc["nodes"]:
                nid = n["id"]
                graph.add_node(
                    nid, n["type"], name=n.get("name", ""), account=n.get("account", ""),
                    region=n.get("region", ""), data=n.get("data") or {}, tags=n.get("tags"),
                    dangling=bool(n.get("dangling", False)),
                )
                for facet, message in dict(n.get("errors") or {}).items():
                    graph.set_error(nid, facet, message)
                graph.attrs(nid)["origin"] = {str(k): str(v) for k, v in (n.get("origin") or {}).items()}
            for src, label, dst in doc["edges"]:
                graph.add_edge(src, label, dst)
            graph.errors = [CollectionError.from_dict(e) for e in doc.get("errors", [])]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise GraphError(f"malformed snapshot: {type(exc).__name__}: {exc}") from None
        return graph

    def save(self, path: str | Path) -> None:
        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=1, sort_keys=True, default=str))

    @classmethod
    def load(cls, path: str | Path) -> ResourceGraph:
        from auditor.yamlsafe import InputError, load_json

        p = Path(path)
        try:
            doc = load_json(p, "snapshot", MAX_SNAPSHOT_BYTES)
        except InputError as exc:
            raise GraphError(str(exc)) from None
        try:
            return cls.from_dict(doc)
        except GraphError as exc:
            raise GraphError(f"{p}: {exc}") from None


def _check_data(node_id: str, type_: str, data: dict[str, Any]) -> None:
    """Collectors write only declared attributes (a cheap set difference); in STRICT mode, of the declared type."""
    bad = undeclared(type_, data)
    problems = data_problems(type_, data) if bad or STRICT else []
    if STRICT and not problems and not _json_exact(data):
        problems = [f"{type_} data does not survive a JSON round trip (a datetime, tuple, set or bytes value)"]
    if problems:
        raise GraphError(f"node {node_id}: {'; '.join(problems)}")


def _json_exact(data: dict[str, Any]) -> bool:
    """Whether a snapshot saved and loaded again gives back exactly this data (what a live run evaluates must be
    what an offline re-evaluation of its snapshot evaluates)."""
    try:
        return bool(json.loads(json.dumps(data)) == data)
    except (TypeError, ValueError):
        return False


def _copy_attrs(a: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": a["type"],
        "name": a["name"],
        "account": a["account"],
        "region": a["region"],
        "data": json.loads(json.dumps(a["data"], default=str)),
        "tags": None if a["tags"] is None else dict(a["tags"]),
        "errors": dict(a["errors"]),
        "dangling": a["dangling"],
        "origin": dict(a["origin"]),
    }


def stage_text(path: Path, text: str | Iterable[str]) -> Path:
    """Write `text` (or its chunks, so a large report is never one string) to a fsynced temporary file beside
    `path` (normal permissions); commit it with os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", buffering=1 << 20) as fh:
            if isinstance(text, str):
                fh.write(text)
            else:
                fh.writelines(text)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file normal permissions
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename: a crash never leaves half a file."""
    tmp = stage_text(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
