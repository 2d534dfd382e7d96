"""Per-finding report context computed once from the graph: dependent endpoints and their environment."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from auditor.engine.conditions import Designation
from auditor.graph import ResourceGraph

ENDPOINT = "sagemaker.endpoint"
# Region membership is not a dependency: trails and region-wide rules are account-level rows, not every endpoint's.
NOT_DEPENDENCIES = frozenset({"in_region"})
PRODUCTION = "production"
NON_PRODUCTION = "non-production"


def dependents(graph: ResourceGraph) -> dict[str, set[str]]:
    """Every node reachable from an endpoint (variants, models, containers, artifacts, buckets, keys, roles…) ->
    the endpoints that depend on it; an endpoint maps to itself."""
    out: dict[str, set[str]] = {}
    succ = graph.g.succ
    for ep in graph.nodes_of_type(ENDPOINT):
        seen = {ep}
        stack = [ep]
        while stack:
            node = stack.pop()
            for dst, labels in succ[node].items():
                if dst not in seen and any(lbl not in NOT_DEPENDENCIES for lbl in labels):
                    seen.add(dst)
                    stack.append(dst)
        for node in seen:
            out.setdefault(node, set()).add(ep)
    return out


# What the report reads of the graph beyond the findings: each endpoint's tags, for its production designation
# (annotate). Collection reads these whatever the selected rules read.
READS = frozenset({("sagemaker.endpoint", "tags")})


def is_designated(graph: ResourceGraph, node_id: str, d: Designation) -> bool:
    tags = graph.attrs(node_id).get("tags") or {}
    actual = tags.get(d.tag)
    return actual is not None and str(actual).lower() in {v.lower() for v in d.values}


def annotate(arns: Iterable[str], graph: ResourceGraph, production: Designation | None
             ) -> dict[str, tuple[tuple[str, ...], str]]:
    """For each resource that serves endpoints: those endpoints (one tuple per resource, however many findings it
    has: a bucket behind 5,000 endpoints has many) and its environment (production if any of them is designated
    production)."""
    deps = dependents(graph)
    prod = {ep for ep in graph.nodes_of_type(ENDPOINT) if production and is_designated(graph, ep, production)}
    out: dict[str, tuple[tuple[str, ...], str]] = {}
    for arn in arns:
        if arn in out or arn not in deps:
            continue
        eps = tuple(sorted(deps[arn]))
        out[arn] = (eps, PRODUCTION if any(e in prod for e in eps) else NON_PRODUCTION)
    return out


def references_text(refs: Mapping[str, Any] | None) -> str:
    """Compliance references as one line: Security Hub controls, AWS Config rules, the policy section."""
    if not refs:
        return ""
    parts = [f"Security Hub {c}" for c in refs.get("security_hub", [])]
    parts += [f"AWS Config {c}" for c in refs.get("config_rules", [])]
    if refs.get("policy_section"):
        parts.append(f"Policy: {refs['policy_section']}")
    return "; ".join(parts)
